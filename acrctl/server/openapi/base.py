"""Building blocks of the OpenAPI document: schema helpers, fragments shared by several
resources, response headers, the per-route `spec` and the ARM envelope's schemas."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pydantic import BaseModel

Schema = dict[str, Any]
JSON = "application/json"
ACR = "Microsoft.ContainerRegistry"
REG_PATH = (
    "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.ContainerRegistry/"
    "registries/{registry}"
)
SCOPES = (
    ("", "AtRoot"),
    ("/subscriptions/{sub}", "AtSubscription"),
    ("/subscriptions/{sub}/resourceGroups/{rg}", "AtResourceGroup"),
    (REG_PATH, "AtRegistry"),
)


# -- schema helpers -----------------------------------------------------------------------------
def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def obj(props: dict[str, Schema], required: tuple[str, ...] = (), **kw: Any) -> Schema:
    out: Schema = {"type": "object", "properties": props}
    if required:
        out["required"] = list(required)
    out.update(kw)
    return out


def arr(items: Schema, **kw: Any) -> Schema:
    return {"type": "array", "items": items, **kw}


def enum(*values: str, **kw: Any) -> Schema:
    return {"type": "string", "enum": list(values), **kw}


STR: Schema = {"type": "string"}
RO_STR: Schema = {"type": "string", "readOnly": True}
BOOL: Schema = {"type": "boolean"}
INT64: Schema = {"type": "integer", "format": "int64"}
DATETIME: Schema = {"type": "string", "format": "date-time"}
STR_MAP: Schema = {"type": "object", "additionalProperties": {"type": "string"}}


def list_of(item: str, pageable: bool = True) -> Schema:
    """A list wrapper: {"value": [...], "nextLink": "<absolute URL>"} (nextLink absent on the
    last page)."""
    props: dict[str, Schema] = {"value": arr(ref(item))}
    if pageable:
        props["nextLink"] = {"type": "string", "format": "uri", "nullable": True}
    return obj(props, ("value",))


def from_model(
    model: type[BaseModel], refine: dict[str, Schema] | None = None, **kw: Any
) -> Schema:
    """The components.schemas entry of a resource model of acrctl.models: its properties (by
    their wire names), which are required and which are nullable (required, yet `X | None`)
    come from the model; nested models become $refs to the component of the same name. An
    optional property is just not required: the server omits it rather than send null. The
    models are the client's lenient view (plain str where the server has an enum), so
    `refine` gives the schema of a property where the wire is stricter than the model
    (enums, formats, readOnly)."""
    raw = model.model_json_schema(by_alias=True, ref_template="#/components/schemas/{model}")
    required = tuple(raw.get("required", ()))
    props: dict[str, Schema] = {}
    for name, schema in raw["properties"].items():
        props[name] = (refine or {}).get(name) or _openapi(schema)
        if name in required and {"type": "null"} in schema.get("anyOf", ()):
            props[name] = {**props[name], "nullable": True}
    return obj(props, required, **kw)


def _openapi(schema: Schema) -> Schema:
    """One pydantic (JSON Schema 2020-12) property schema as OpenAPI 3.0 writes it."""
    schema = {k: v for k, v in schema.items() if k not in ("title", "default")}
    branches = schema.pop("anyOf", None)
    if branches is not None:
        present = [b for b in branches if b != {"type": "null"}]
        if len(present) != 1:
            raise ValueError(f"no OpenAPI 3.0 form for anyOf {branches}")
        schema.update(present[0])
    if "$ref" in schema:
        return {"$ref": schema["$ref"]}
    if "items" in schema:
        schema["items"] = _openapi(schema["items"])
    extra = schema.get("additionalProperties")
    if extra is True:
        del schema["additionalProperties"]  # dict[str, Any]: any object
    elif isinstance(extra, dict):
        schema["additionalProperties"] = _openapi(extra)
    return schema


def _regions() -> list[str]:
    from acrctl.backend import regions

    return sorted(regions.catalog())


# -- fragments shared by several resources ---------------------------------------------------------
STATUS: Schema = enum("enabled", "disabled")
PROVISIONING: Schema = enum("Creating", "Updating", "Deleting", "Succeeded", "Failed", "Canceled")
TAGS: Schema = {**STR_MAP, "maxProperties": 50}
ZONE: Schema = enum("Enabled", "Disabled")
RESOURCE_BASE: dict[str, Schema] = {
    "id": STR,
    "name": STR,
    "type": STR,
    "location": STR,
    "tags": STR_MAP,
    "systemData": ref("SystemData"),
}


def location_in() -> Schema:
    """A region in a request body (the catalog's names)."""
    return {
        "type": "string",
        "enum": _regions(),
        "description": "An Azure region name (display names such as 'West US' are accepted too).",
    }


def common_schemas() -> dict[str, Schema]:
    """The ARM envelope: errors, systemData, provisioning states, operation status."""
    from acrctl import models as m

    return {
        "ErrorDetail": obj(
            {
                "code": STR,
                "message": STR,
                "target": STR,
                "details": arr(ref("ErrorDetail")),
                "additionalInfo": arr(obj({"type": STR, "info": {"type": "object"}})),
            },
            ("code", "message"),
        ),
        "ErrorResponse": obj(
            {"error": ref("ErrorDetail")},
            ("error",),
            description="The ARM error body (common-types v6).",
        ),
        "SystemData": from_model(
            m.SystemData,
            {
                "createdByType": enum("User", "Application", "ManagedIdentity", "Key"),
                "createdAt": DATETIME,
                "lastModifiedByType": enum("User", "Application", "ManagedIdentity", "Key"),
                "lastModifiedAt": DATETIME,
            },
            readOnly=True,
        ),
        "ProvisioningState": PROVISIONING,
        "OperationStatus": obj(
            {
                "id": STR,
                "name": STR,
                "status": STR,
                "startTime": DATETIME,
                "endTime": DATETIME,
                "percentComplete": {"type": "number", "minimum": 0, "maximum": 100},
                "resourceId": STR,
                "error": ref("ErrorDetail"),
            },
            ("id", "status"),
        ),
    }


# -- responses and headers ------------------------------------------------------------------------
LRO_HEADERS = {
    "Azure-AsyncOperation": {
        "description": "Absolute URL of the operation status.",
        "required": True,
        "schema": {"type": "string", "format": "uri"},
    },
    "Retry-After": {
        "description": "Seconds to wait before polling.",
        "required": True,
        "schema": {"type": "integer", "minimum": 0},
    },
}
ETAG_HEADER = {"ETag": {"description": "The resource's entity tag.", "schema": {"type": "string"}}}
DELETE_HEADERS = {
    "Location": {
        "description": "Absolute URL to poll: 202 while running, then 204.",
        "required": True,
        "schema": {"type": "string", "format": "uri"},
    },
    **LRO_HEADERS,
}


def ok(
    schema: str | None, description: str = "OK", headers: dict[str, Any] | None = None
) -> Schema:
    out: Schema = {"description": description}
    if schema is not None:
        out["content"] = {
            JSON: {"schema": ref(schema) if schema[0].isupper() else {"type": schema}}
        }
    if headers:
        out["headers"] = headers
    return out


def error(description: str) -> Schema:
    return {"description": description, "content": {JSON: {"schema": ref("ErrorResponse")}}}


ERRORS = {
    "400": "Bad request: malformed body, invalid name or value, missing api-version.",
    "401": "No or invalid bearer token.",
    "403": "The caller lacks the action at the scope (AuthorizationFailed).",
    "404": "The resource or a parent does not exist.",
}


# -- per-route specs -------------------------------------------------------------------------------
class Spec(dict[str, Any]):
    """operationId, summary, tag, request body schema, responses (status -> response)."""


def spec(
    op: str,
    summary: str,
    tag: str,
    responses: dict[str, Schema],
    body: str | None = None,
    body_required: bool = True,
    paging: bool = False,
    conditional: bool = False,
    filters: bool = False,
    extra: tuple[str, ...] = (),
    media: str = JSON,
) -> Spec:
    """`extra`: names of components.parameters to add; `media`: the body's media type."""
    return Spec(
        operationId=op,
        summary=summary,
        tag=tag,
        responses=responses,
        body=body,
        body_required=body_required,
        paging=paging,
        conditional=conditional,
        filters=filters,
        extra=extra,
        media=media,
    )


def lro_put(kind: str) -> dict[str, Schema]:
    return {
        "200": ok(kind, "Updated; poll Azure-AsyncOperation.", {**LRO_HEADERS, **ETAG_HEADER}),
        "201": ok(kind, "Created; poll Azure-AsyncOperation.", {**LRO_HEADERS, **ETAG_HEADER}),
    }


def lro_delete() -> dict[str, Schema]:
    return {
        "202": ok(None, "Deleting; poll Location.", DELETE_HEADERS),
        "204": ok(None, "Nothing to delete."),
    }


Specs = dict[tuple[str, Callable[..., Any]], Spec]
"""(method, handler) -> its spec; each group module's `specs()` returns one."""
