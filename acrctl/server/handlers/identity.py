"""The identity provider on the ARM port: the parts of Microsoft Entra ID that the Azure CLI
(through MSAL) and the Azure SDKs' credentials call, so that `az login --service-principal`
and `az login --identity` work against `acrctl server` (docs/azure-cli.md).

* `GET /{tenant}/v2.0/.well-known/openid-configuration`: where the token endpoint is.
* `POST /{tenant}/oauth2/v2.0/token` (and v1's `/{tenant}/oauth2/token`): the
  client-credentials grant; client_id = a principal's appId, client_secret = its token
  (`acrctl ad sp create-for-rbac`'s password), checked against the stored SHA-256 hash.
* `GET /msi/token`: App Service's managed-identity protocol (api-version 2019-08-01, the
  X-IDENTITY-HEADER secret): tokens of the principal the server's settings name.

All are public (no bearer token; the secret is the credential) and answer errors in the
format of the service they stand in for (OAuth 2 / Entra for the token endpoint, App
Service's {statusCode, message} for the managed identity), which MSAL turns into az's
messages. Tokens are JWTs (acrctl.backend.jwt_tokens)."""

from __future__ import annotations

import hmac
from typing import Any
from urllib.parse import parse_qs

from acrctl.backend import jwt_tokens
from acrctl.backend.credentials import ClientAuthError, check_client_secret
from acrctl.server.http import Ctx, Response

MI_API_VERSION = "2019-08-01"
MI_HEADER = "x-identity-header"
DEFAULT_SUFFIX = "/.default"


def _base(c: Ctx) -> str:
    return c.req.base_url.rstrip("/")


def _tenant(c: Ctx) -> str | None:
    """The path's tenant when it is one of the server's (a subscription's tenantId)."""
    want = c.p["tenant"].lower()
    for sub in c.b.list_subscriptions():
        tenant = str(sub.get("tenantId") or sub["subscriptionId"])
        if tenant.lower() == want:
            return tenant
    return None


def issuer(c: Ctx, tenant: str) -> str:
    return f"{_base(c)}/{tenant}/v2.0"


def aad_error(c: Ctx, status: int, error: str, code: int, description: str) -> Response:
    """An error as Entra's token service answers it (MSAL shows error_description)."""
    request_id = str(c.req.meta.get("request_id", ""))
    return Response(
        status,
        {
            "error": error,
            "error_description": description,
            "error_codes": [code],
            "timestamp": c.b.clock.iso(),
            "trace_id": request_id,
            "correlation_id": c.header("client-request-id") or request_id,
        },
    )


def _no_tenant(c: Ctx) -> Response:
    return aad_error(
        c,
        400,
        "invalid_tenant",
        90002,
        f"AADSTS90002: Tenant '{c.p['tenant'][:100]}' not found. Check to make "
        "sure you have the correct tenant ID and are signing into the correct "
        "cloud: acrctl server's tenant is its subscription's tenantId (acrctl "
        "account show --query tenantId -o tsv).",
    )


# -- discovery -------------------------------------------------------------------------------
def openid_configuration(c: Ctx) -> Response:
    """OpenID Connect discovery for a tenant (what MSAL reads before asking for a token)."""
    tenant = _tenant(c)
    if tenant is None:
        return _no_tenant(c)
    base = f"{_base(c)}/{tenant}"
    return Response(
        200,
        {
            "issuer": issuer(c, tenant),
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "token_endpoint_auth_methods_supported": ["client_secret_post"],
            "grant_types_supported": ["client_credentials"],
            "response_types_supported": ["token"],
            "response_modes_supported": ["query"],
            "scopes_supported": [a + DEFAULT_SUFFIX for a in jwt_tokens.AUDIENCES],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": [jwt_tokens.ALGORITHM],
            "claims_supported": ["aud", "iss", "iat", "nbf", "exp", "tid", "oid", "sub", "appid"],
            "request_uri_parameter_supported": False,
            "tenant_region_scope": None,
            "cloud_instance_name": c.req.base_url.split("://", 1)[-1].rstrip("/"),
        },
    )


def authorize(c: Ctx) -> Response:
    """Interactive sign-in is not offered: say what is."""
    return aad_error(
        c,
        400,
        "unsupported_response_type",
        900561,
        "AADSTS900561: acrctl server signs in service principals (az login "
        "--service-principal) and its managed identity (az login --identity) "
        "only; interactive and device-code sign-in are not supported.",
    )


# -- the token endpoint ------------------------------------------------------------------------
def _form(c: Ctx) -> dict[str, str]:
    try:
        parsed = parse_qs(c.req.body.decode("utf-8"))  # at most MAX_BODY (the app's)
    except (UnicodeDecodeError, ValueError):
        return {}
    return {k: v[0] for k, v in parsed.items() if v}


def _requested_audience(c: Ctx, form: dict[str, str], tenant: str) -> str | Response:
    """The resource a token is asked for: v2's `scope` (<resource>/.default) or v1's
    `resource`; it must be one this server accepts (jwt_tokens.AUDIENCES)."""
    scope = form.get("scope", "").split(" ")[0]
    if scope:
        if not scope.endswith(DEFAULT_SUFFIX):
            return aad_error(
                c,
                400,
                "invalid_scope",
                1002012,
                f"AADSTS1002012: The provided value for scope {scope[:200]} is "
                "not valid. Client credential flows must have a scope value with "
                "/.default suffixed to the resource identifier (application ID "
                "URI).",
            )
        resource = scope[: -len(DEFAULT_SUFFIX)]
    else:
        resource = form.get("resource", "")
    if not resource:
        return _missing(c, "scope")
    if not jwt_tokens.audience_ok(resource):
        return aad_error(
            c,
            400,
            "invalid_resource",
            500011,
            f"AADSTS500011: The resource principal named {resource[:200]} was not "
            f"found in the tenant named {tenant}. acrctl server issues tokens "
            f"for {', '.join(jwt_tokens.AUDIENCES)} only (its management API).",
        )
    return resource


def _missing(c: Ctx, name: str) -> Response:
    return aad_error(
        c,
        400,
        "invalid_request",
        900144,
        f"AADSTS900144: The request body must contain the following parameter: '{name}'.",
    )


def token(c: Ctx) -> Response:
    """POST /{tenant}/oauth2/v2.0/token: grant_type=client_credentials."""
    tenant = _tenant(c)
    if tenant is None:
        return _no_tenant(c)
    form = _form(c)
    grant = form.get("grant_type", "")
    if not grant:
        return _missing(c, "grant_type")
    if grant != "client_credentials":
        return aad_error(
            c,
            400,
            "unsupported_grant_type",
            70003,
            f"AADSTS70003: The app requested an unsupported grant type "
            f"'{grant[:100]}'. acrctl server supports client_credentials.",
        )
    if not form.get("client_id"):
        return _missing(c, "client_id")
    if not form.get("client_secret"):
        return aad_error(
            c,
            401,
            "invalid_client",
            7000216,
            "AADSTS7000216: 'client_assertion', 'client_secret' or 'request' is "
            "required for the 'client_credentials' grant type.",
        )
    audience = _requested_audience(c, form, tenant)
    if isinstance(audience, Response):
        return audience
    try:
        doc, credential, ends = check_client_secret(
            c.b, form["client_id"], form["client_secret"], tenant
        )
    except ClientAuthError as exc:
        return aad_error(
            c, 401 if exc.error == "invalid_client" else 400, exc.error, exc.code, exc.description
        )
    access, exp, now = jwt_tokens.issue(
        c.b, doc, tenant, audience, issuer(c, tenant), ends, credential
    )
    lifetime = max(0, exp - now)  # from the token's own iat: no second clock read
    return Response(
        200,
        {
            "token_type": "Bearer",
            "expires_in": lifetime,
            "ext_expires_in": lifetime,
            "access_token": access,
        },
    )


def token_v1(c: Ctx) -> Response:
    """POST /{tenant}/oauth2/token: v1's endpoint (`resource=` instead of `scope=`)."""
    return token(c)


# -- the managed identity ----------------------------------------------------------------------
def mi_error(status: int, message: str) -> Response:
    """App Service's error body (MSAL reports "<statusCode>, <message>")."""
    return Response(status, {"statusCode": status, "message": message})


def managed_identity(c: Ctx) -> Response:
    """GET /msi/token?api-version=2019-08-01&resource=<audience> with X-IDENTITY-HEADER."""
    s = c.b.settings
    secret = str(s.managed_identity_header or "")
    if not secret or not str(s.managed_identity_principal or "").strip():
        return mi_error(
            404,
            "The managed identity endpoint is off: set "
            "managed_identity_header and managed_identity_principal in the "
            "server's [settings] (docs/azure-cli.md).",
        )
    given = c.header(MI_HEADER) or ""
    if not hmac.compare_digest(given.encode(), secret.encode()):
        return mi_error(
            401,
            "The X-IDENTITY-HEADER header is missing or does not match the "
            "server's managed_identity_header.",
        )
    problem = _mi_request_problem(c)
    if problem:
        return mi_error(400, problem)
    pid = jwt_tokens.managed_identity(c.b)
    doc = c.b.rbac.principal(pid) if pid else None
    if doc is None:
        return mi_error(
            400,
            f"The managed identity principal "
            f"'{str(s.managed_identity_principal)[:100]}' does not exist.",
        )
    wanted = [
        c.req.query[k] for k in ("client_id", "object_id", "principal_id") if c.req.query.get(k)
    ]
    if any(w.lower() != doc["id"].lower() for w in wanted):
        return mi_error(
            400,
            f"No managed identity with the id '{wanted[0][:100]}': this server's is '{doc['id']}'.",
        )
    tenant = _first_tenant(c)
    resource = c.req.query["resource"]
    access, exp, _ = jwt_tokens.issue(c.b, doc, tenant, resource, issuer(c, tenant), None)
    return Response(
        200,
        {
            "access_token": access,
            "expires_on": str(exp),
            "resource": resource,
            "token_type": "Bearer",
            "client_id": doc["id"],
        },
    )


def _mi_request_problem(c: Ctx) -> str | None:
    q = c.req.query
    if q.get("api-version") != MI_API_VERSION:
        return (
            f"The api-version '{str(q.get('api-version', ''))[:40]}' is not supported: use "
            f"{MI_API_VERSION}."
        )
    if q.get("mi_res_id"):
        return "mi_res_id is not supported: name the identity by client_id."
    resource = q.get("resource", "")
    if not resource:
        return "The resource query parameter is required."
    if not jwt_tokens.audience_ok(resource):
        return (
            f"The resource '{resource[:200]}' is not one this server issues tokens for: "
            f"{', '.join(jwt_tokens.AUDIENCES)}."
        )
    return None


def _first_tenant(c: Ctx) -> str:
    subs: list[dict[str, Any]] = c.b.list_subscriptions()
    return str(subs[0].get("tenantId") or subs[0]["subscriptionId"]) if subs else ""
