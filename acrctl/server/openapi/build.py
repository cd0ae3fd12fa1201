"""The document itself: THE route table (acrctl.server.routes.ROUTES) joined with the
path specs of each group module (GROUPS), plus the components."""

from __future__ import annotations

import copy
import functools
import re
from types import ModuleType
from typing import Any

from acrctl.server.http import Ctx, Response
from acrctl.server.openapi import (
    activity,
    authz,
    deployments,
    discovery,
    drills,
    health,
    portal,
    registries,
    replication_tools,
    replications,
    resources,
    webhooks,
)
from acrctl.server.openapi.base import (
    ERRORS,
    SCOPES,
    Schema,
    Spec,
    Specs,
    common_schemas,
    error,
    ok,
    ref,
    spec,
)
from acrctl.server.openapi.parameters import PATH_PARAMS, components_parameters

GROUPS: tuple[ModuleType, ...] = (
    health,
    resources,
    registries,
    replications,
    replication_tools,
    webhooks,
    authz,
    deployments,
    activity,
    drills,
    discovery,
    portal,
)
"""Every module with a `specs()`: (method, handler) -> Spec for the routes it describes."""

SCHEMA_GROUPS: tuple[ModuleType, ...] = (
    registries,
    replications,
    replication_tools,
    webhooks,
    resources,
    authz,
    health,
    deployments,
    drills,
    discovery,
    activity,
)
"""Every module with a `schemas()`, in the order of components.schemas."""


def schemas() -> dict[str, Schema]:
    out = common_schemas()
    for group in SCHEMA_GROUPS:
        out.update(group.schemas())
    return out


def _oa_path(template: str) -> str:
    return re.sub(r"\{(\w+)(:path)?\}", r"{\1}", template)


def _params_in(path: str) -> list[str]:
    return re.findall(r"\{(\w+)\}", path)


def _expand(template: str) -> list[tuple[str, str]]:
    """(OpenAPI path, operationId suffix) for a route template."""
    if "{scope:path}" not in template:
        return [(_oa_path(template), "")]
    return [
        (_oa_path(template.replace("{scope:path}", prefix)), suffix) for prefix, suffix in SCOPES
    ]


def _operation(route: Any, sp: Spec | None, path: str, suffix: str) -> Schema:
    if sp is None:
        op_id = f"{route.method.title()}{re.sub(r'[^A-Za-z0-9]', '', path.title())}"
        sp = spec(
            op_id,
            f"{route.method} {route.template}",
            "Undescribed",
            {"200": ok("object")},
            body="object" if route.method in ("PUT", "PATCH", "POST") else None,
            body_required=False,
        )
    op_id = str(sp["operationId"])
    if "{kind}" in op_id:
        op_id = op_id.replace("{kind}", sp["kind_of"](route.template))
    op_id = op_id.replace("{scope}", suffix) if "{scope}" in op_id else op_id + suffix
    params: list[Schema] = [
        {"$ref": f"#/components/parameters/path.{p}"}
        if p in PATH_PARAMS
        else {
            "name": p,
            "in": "path",
            "required": True,
            "schema": {"type": "string", "minLength": 1},
        }
        for p in _params_in(path)
    ]
    if not route.public:
        params.append(
            {"$ref": "#/components/parameters/" + ("ApiVersionAcr" if route.acr else "ApiVersion")}
        )
    if sp["paging"]:
        params += [
            {"$ref": "#/components/parameters/SkipToken"},
            {"$ref": "#/components/parameters/Top"},
        ]
    if sp["filters"]:
        params.append({"$ref": "#/components/parameters/Filter"})
    params += [{"$ref": f"#/components/parameters/{name}"} for name in sp["extra"]]
    if sp["conditional"]:
        params.append({"$ref": "#/components/parameters/IfMatch"})
        if route.method != "POST":
            params.append({"$ref": "#/components/parameters/IfNoneMatch"})
    responses: dict[str, Schema] = copy.deepcopy(sp["responses"])
    if not route.public:
        for code, text in ERRORS.items():
            responses.setdefault(code, error(text))
        if route.method in ("PUT", "PATCH", "POST"):
            responses.setdefault("413", error("The request body is over the size limit."))
        if sp["conditional"]:
            responses.setdefault("409", error("Conflict: name taken, operation in flight, quota."))
            responses.setdefault("412", error("If-Match / If-None-Match did not hold."))
        responses.setdefault("429", error("Throttled; retry after Retry-After seconds."))
        responses.setdefault("503", error("Unavailable; retry after Retry-After seconds."))
    responses["default"] = error("An ARM error.")
    out: Schema = {
        "operationId": op_id,
        "summary": sp["summary"],
        "tags": [sp["tag"]],
        "parameters": params,
        "responses": responses,
    }
    if route.action:
        out["x-acrctl-action"] = route.action
    if route.public:
        out["security"] = []
    body = sp["body"]
    if body is not None:
        out["requestBody"] = {
            "required": bool(sp["body_required"]),
            "content": {
                sp["media"]: {"schema": ref(body) if body[0].isupper() else {"type": body}}
            },
        }
    return out


@functools.cache
def document() -> dict[str, Any]:
    """The OpenAPI 3.0 document for every route of THE route table (without `servers`)."""
    from acrctl import __version__
    from acrctl.server.routes import ROUTES

    table: Specs = {}
    for group in GROUPS:
        table.update(group.specs())
    paths: dict[str, dict[str, Any]] = {}
    undescribed: list[str] = []
    for route in ROUTES:
        sp = table.get((route.method, route.handler))
        if sp is None:
            undescribed.append(f"{route.method} {route.template}")
        for path, suffix in _expand(route.template):
            paths.setdefault(path, {})[route.method.lower()] = _operation(route, sp, path, suffix)
    doc: dict[str, Any] = {
        "openapi": "3.0.3",
        "info": {
            "title": "acrctl management API",
            "version": __version__,
            "description": "ARM-compatible Microsoft.ContainerRegistry (registries, "
            "replications, webhooks), Microsoft.Resources (subscriptions, "
            "resource groups) and Microsoft.Authorization (roles, "
            "assignments), plus acrctl extensions (principals, admin). "
            "Long-running PUT/PATCH answer 200/201 with "
            "Azure-AsyncOperation and Retry-After; DELETE answers 202 "
            "with Location.",
        },
        "paths": paths,
        "components": {
            "schemas": schemas(),
            "parameters": components_parameters(),
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A principal's token (acrctl account login).",
                }
            },
        },
        "security": [{"bearer": []}],
    }
    if undescribed:
        doc["x-acrctl-undescribed"] = undescribed
    return doc


def serve(c: Ctx) -> Response:
    """GET /openapi.json (public)."""
    doc = dict(document())
    doc["servers"] = [{"url": c.req.base_url}]
    return c.ok(doc)
