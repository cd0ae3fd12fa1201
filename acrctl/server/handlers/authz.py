"""Handlers for Microsoft.Authorization role definitions and assignments, principals,
and the admin endpoints (reset, settings) used by tests and operators."""

from __future__ import annotations

import re
from typing import Any

from acrctl.backend import ids
from acrctl.backend.errors import InvalidInput, NotFound
from acrctl.backend.rbac import ROLE_DEF
from acrctl.server.http import Ctx, Response


def _scope(c: Ctx) -> str:
    return c.p.get("scope") or "/"


def list_definitions(c: Ctx) -> Response:
    docs = c.b.rbac.list_role_definitions(_scope(c))
    name = _filter_value(c, "roleName")
    if name:
        docs = [d for d in docs if d["properties"]["roleName"].lower() == name.lower()]
    return c.ok({"value": docs})


def get_definition(c: Ctx) -> Response:
    doc = c.b.rbac.role_definition(c.p["id"])
    if doc is None:
        raise NotFound("RoleDefinitionDoesNotExist",
                       f"The role definition '{c.p['id']}' does not exist.")
    return c.ok(doc)


def put_definition(c: Ctx) -> Response:
    """The caller needs roleDefinitions/write at every scope the role is (or was) assignable
    at, not only at the URL's scope: otherwise rewriting a role assigned higher up widens
    the caller's own access there."""
    body = c.body()
    props = body.get("properties") or {}
    scopes = props.get("assignableScopes") if isinstance(props, dict) else None
    if scopes is None or scopes == []:
        scopes = [_scope(c)]
    if not isinstance(scopes, list) or not all(isinstance(s, str) and s for s in scopes):
        raise InvalidInput("InvalidRoleDefinition",
                           "assignableScopes must be a list of scopes.")
    current = c.b.store.get(ROLE_DEF, c.p["id"].lower())
    if current is not None:
        scopes = [*scopes, *current.doc["properties"].get("assignableScopes", [])]
    for scope in scopes:
        c.b.rbac.check(c.caller, "Microsoft.Authorization/roleDefinitions/write",
                       scope.rstrip("/") or "/")
    return c.ok(c.b.rbac.put_role_definition(_scope(c), c.p["id"], body), 201)


def _within(scope: str, target: str) -> bool:
    return ids.is_within(scope if scope != "/" else "", target)


def list_assignments(c: Ctx) -> Response:
    """Assignments at, above (inherited) or below the scope, as far as the caller may read
    them: those below need read at their own scope, inherited ones read at this scope."""
    scope = _scope(c)
    principal = _filter_value(c, "principalId")
    rbac, read = c.b.rbac, "Microsoft.Authorization/roleAssignments/read"
    docs = [a for a in rbac.list_assignments(principal)
            if (_within(scope, a["properties"]["scope"])
                and rbac.allowed(c.caller, read, a["properties"]["scope"]))
            or (_within(a["properties"]["scope"], scope)
                and rbac.allowed(c.caller, read, scope))]
    return c.ok({"value": docs})


def put_assignment(c: Ctx) -> Response:
    return c.ok(c.b.rbac.create_assignment(_scope(c), c.p["id"], c.body()), 201)


def get_assignment(c: Ctx) -> Response:
    return c.ok(c.b.rbac.get_assignment(c.p["id"], _scope(c)))


def delete_assignment(c: Ctx) -> Response:
    try:
        doc = c.b.rbac.get_assignment(c.p["id"], _scope(c))
    except NotFound:
        return Response(204)
    c.b.rbac.delete_assignment(c.p["id"])
    return c.ok(doc)


def create_principal(c: Ctx) -> Response:
    body = c.body()
    name = body.get("displayName")
    if not isinstance(name, str) or not name.strip():
        raise InvalidInput("InvalidPrincipal", "A principal needs a displayName.")
    kind = body.get("type", "Application")
    if kind not in ("User", "Application"):
        raise InvalidInput("InvalidPrincipal", "type must be 'User' or 'Application'.")
    doc, token = c.b.rbac.create_principal(name, kind)
    return c.ok({**doc, "token": token}, 201)


def list_principals(c: Ctx) -> Response:
    return c.ok({"value": c.b.rbac.list_principals()})


def whoami(c: Ctx) -> Response:
    return c.ok(c.b.rbac.principal(c.caller.id) or {"id": c.caller.id,
                                                      "displayName": c.caller.name})


def reset(c: Ctx) -> Response:
    if not c.b.settings.extra.get("allow_reset"):
        raise InvalidInput("ResetDisabled", "This server was not started with resets allowed.")
    token = c.b.settings.extra.get("admin_token")
    c.b.reset()
    c.b.bootstrap(admin_token=token, subscription=c.p["sub"])
    return Response(204)


def settings(c: Ctx) -> Response:
    body: dict[str, Any] = c.body()
    s = c.b.settings
    changes: dict[str, Any] = {}
    if "lroMode" in body:
        if body["lroMode"] not in ("immediate", "polls", "seconds"):
            raise InvalidInput("InvalidSetting", "lroMode must be immediate, polls or seconds.")
        changes["lro_mode"] = body["lroMode"]
    for key, attr, integral, low, high in SETTINGS:
        if key in body:
            value = body[key]
            if isinstance(value, bool) or not isinstance(value, int if integral else int | float):
                raise InvalidInput("InvalidSetting",
                                   f"{key} must be {'an integer' if integral else 'a number'}.")
            if not low <= value <= high:
                raise InvalidInput("InvalidSetting", f"{key} must be between {low} and {high}.")
            changes[attr] = value if integral else float(value)
    for attr, value in changes.items():  # all or nothing
        setattr(s, attr, value)
    return c.ok({"lroMode": s.lro_mode, "lroPolls": s.lro_polls, "lroSeconds": s.lro_seconds,
                 "retryAfter": s.retry_after, "pageSize": s.page_size})


# key, Settings attribute, integral, minimum, maximum
SETTINGS = (("lroPolls", "lro_polls", True, 0, 1000),
            ("lroSeconds", "lro_seconds", False, 0, 86400),
            ("retryAfter", "retry_after", True, 0, 3600),
            ("pageSize", "page_size", True, 1, 1000))


def health(c: Ctx) -> Response:
    return c.ok({"status": "ok"})


def _filter_value(c: Ctx, field: str) -> str | None:
    """The value of `field eq '...'` in $filter (OData: '' is a quote), or None."""
    flt = c.req.query.get("$filter", "")
    if not re.search(rf"\b{field}\s+eq\b", flt, re.IGNORECASE):
        return None
    m = re.search(rf"\b{field}\s+eq\s+'((?:[^']|'')*)'", flt, re.IGNORECASE)
    if m is None:
        raise InvalidInput("InvalidFilter",
                           f"The $filter '{flt[:100]}' is invalid: use {field} eq '<value>'.")
    return m.group(1).replace("''", "'")
