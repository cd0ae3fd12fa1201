"""THE route table: method + ARM path template -> handler, with the RBAC action each route
requires and the scope it is checked at. Both adapters (ASGI, in-process) serve this list.

The rows are in three lists, in matching order: the public ones here, the ARM resources in
acrctl.server.routes_resources, authorization in acrctl.server.routes_authz; the path
templates and the row builder r() in acrctl.server.routes_paths."""

from __future__ import annotations

from acrctl.server import observability
from acrctl.server.handlers import authz, discovery, identity, portal
from acrctl.server.http import Ctx, Response
from acrctl.server.routes_authz import AUTHZ_ROUTES
from acrctl.server.routes_paths import (  # noqa: F401
    ACR,
    AUTHZ,
    DEP,
    DEPLOY,
    DRILLS,
    ELEVATE,
    HOOK,
    IDP,
    PRINCIPALS,
    REG,
    REPL,
    RES,
    RG,
    SUB,
    A,
    r,
)
from acrctl.server.routes_resources import RESOURCE_ROUTES
from acrctl.server.routing import Route


def openapi_document(c: Ctx) -> Response:
    """GET /openapi.json; the document's module loads only when someone asks for it."""
    from acrctl.server import openapi

    return openapi.serve(c)


PUBLIC_ROUTES: list[Route] = [
    # health (public)
    r("GET", "/healthz", authz.health, public=True),
    r("GET", "/readyz", observability.readyz, public=True),
    r("GET", "/metrics", observability.metrics, public=True),  # 404 unless enabled
    r("GET", "/openapi.json", openapi_document, public=True),
    # the portal's map page and its files (acrctl.portal; 404 when portal_enabled is off)
    r("GET", "/portal", portal.page, public=True),
    r("GET", "/portal/{asset}", portal.asset, public=True),
    # the cloud's endpoints (az cloud register; az asks for //metadata/endpoints when the
    # endpoint is given with its trailing slash) and the identity provider (public: the
    # client secret or the managed-identity header is the credential)
    r("GET", "/metadata/endpoints", discovery.metadata_endpoints, public=True),
    r("GET", "//metadata/endpoints", discovery.metadata_endpoints_slash, public=True),
    r(
        "GET",
        f"{IDP}/v2.0/.well-known/openid-configuration",
        identity.openid_configuration,
        public=True,
    ),
    r("GET", f"{IDP}/oauth2/v2.0/authorize", identity.authorize, public=True),
    r("POST", f"{IDP}/oauth2/v2.0/token", identity.token, public=True),
    r("POST", f"{IDP}/oauth2/token", identity.token_v1, public=True),
    r("GET", "/msi/token", identity.managed_identity, public=True),
]

ROUTES: list[Route] = [*PUBLIC_ROUTES, *RESOURCE_ROUTES, *AUTHZ_ROUTES]
