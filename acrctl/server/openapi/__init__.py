"""The OpenAPI 3 document of the management API, served at `/openapi.json` (public).

Generated from THE route table (acrctl.server.routes.ROUTES) plus request/response JSON
schemas, keyed by (method, handler). A route without a spec is still listed (with a generic
object schema) and named in `x-acrctl-undescribed`, which a test keeps empty. `{scope:path}`
routes (role definitions and assignments) are expanded into one path per scope kind (root,
subscription, resource group, registry), as OpenAPI path parameters cannot span segments.

Layout: one module per handler group (`registries`, `webhooks`, `authz`, ...), each with
`specs()` -> {(method, handler): spec(...)} for its routes and, where it has any, `schemas()`
-> its components.schemas; `base` holds the helpers (obj, arr, ok, spec, lro_put, ...),
`parameters` the shared parameters, `build` the assembly (GROUPS lists the modules).
To describe a new route: add `("METHOD", handler): spec(...)` to `specs()` of the group module
that covers its handler module (each module's docstring names them; usually the same name), and
its body/response schemas to that module's `schemas()`. A new handler module gets a new group
module, listed in build.GROUPS (and build.SCHEMA_GROUPS if it has schemas).

This package is imported only when /openapi.json is requested (routes.openapi_document).
"""

from __future__ import annotations

from acrctl.server.openapi.build import document, serve

__all__ = ["document", "serve"]
