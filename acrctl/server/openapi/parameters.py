"""Path, query and header parameters of the document (components.parameters)."""

from __future__ import annotations

from acrctl.server.http import ACR_API_VERSIONS
from acrctl.server.openapi.base import STR, Schema, enum

NAME_PATTERN = {"type": "string", "minLength": 5, "maxLength": 50, "pattern": "^[a-zA-Z0-9]*$"}
PATH_PARAMS: dict[str, tuple[str, Schema]] = {
    "sub": ("The subscription id.", {"type": "string", "format": "uuid"}),
    "rg": (
        "The resource group name (case-insensitive).",
        {"type": "string", "minLength": 1, "maxLength": 90, "pattern": r"^[-\w._()]+$"},
    ),
    "registry": ("The registry name.", NAME_PATTERN),
    "replication": ("The replication name (by convention the region).", NAME_PATTERN),
    "webhook": ("The webhook name.", NAME_PATTERN),
    "op": ("The operation id.", {"type": "string", "format": "uuid"}),
    "location": ("The region of the operation.", {"type": "string", "minLength": 1}),
    "id": (
        "The role definition or assignment name (a GUID).",
        {"type": "string", "format": "uuid"},
    ),
    "deployment": (
        "The deployment name.",
        {"type": "string", "minLength": 1, "maxLength": 64, "pattern": r"^[-\w._()]+$"},
    ),
    "drill": (
        "The drill name.",
        {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$"},
    ),
}


def components_parameters() -> dict[str, Schema]:
    from acrctl.server.openapi import discovery

    out: dict[str, Schema] = {}
    for name, (desc, schema) in PATH_PARAMS.items():
        out[f"path.{name}"] = {
            "name": name,
            "in": "path",
            "required": True,
            "description": desc,
            "schema": schema,
        }
    out["ApiVersionAcr"] = {
        "name": "api-version",
        "in": "query",
        "required": True,
        "description": "The API version (Microsoft.ContainerRegistry).",
        "schema": enum(*ACR_API_VERSIONS),
    }
    out["ApiVersion"] = {
        "name": "api-version",
        "in": "query",
        "required": True,
        "description": "The API version (any YYYY-MM-DD[-preview]).",
        "schema": {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}(-preview)?$"},
    }
    out["SkipToken"] = {
        "name": "$skipToken",
        "in": "query",
        "required": False,
        "description": "The continuation token of a nextLink (opaque).",
        "schema": {"type": "string", "pattern": "^[0-9]{1,18}$"},
    }
    out["Top"] = {
        "name": "$top",
        "in": "query",
        "required": False,
        "description": "The page size (capped at 1000).",
        "schema": {"type": "integer", "minimum": 1, "maximum": 1000},
    }
    out["Filter"] = {
        "name": "$filter",
        "in": "query",
        "required": False,
        "description": "OData filter: roleName eq '...' / principalId eq '...'.",
        "schema": STR,
    }
    out.update(discovery.parameters())
    out["Image"] = {
        "name": "image",
        "in": "query",
        "required": False,
        "description": "One image, repository:tag.",
        "schema": STR,
    }
    out["IfMatch"] = {
        "name": "If-Match",
        "in": "header",
        "required": False,
        "description": "The ETag the resource must have ('*': it must exist).",
        "schema": STR,
    }
    out["IfNoneMatch"] = {
        "name": "If-None-Match",
        "in": "header",
        "required": False,
        "description": "'*': the resource must not exist.",
        "schema": STR,
    }
    return out
