"""Cloud metadata, generic resources, providers and the identity provider: schemas, query
parameters and path specs (acrctl.server.handlers.discovery, .identity)."""

from __future__ import annotations

from acrctl.server.openapi.base import (
    STR,
    STR_MAP,
    Schema,
    Specs,
    arr,
    enum,
    list_of,
    obj,
    ok,
    spec,
)


def schemas() -> dict[str, Schema]:
    """Cloud metadata, generic resources, providers, and the identity provider's tokens and
    errors (Entra's OAuth 2 error body; App Service's {statusCode, message})."""
    int_: Schema = {"type": "integer"}
    return {
        "CloudMetadata": obj(
            {
                "name": STR,
                "resourceManager": STR,
                "authentication": obj(
                    {
                        "loginEndpoint": STR,
                        "audiences": arr(STR),
                        "tenant": STR,
                        "identityProvider": STR,
                    },
                    ("loginEndpoint", "audiences"),
                ),
                "suffixes": obj({"acrLoginServer": STR}, ("acrLoginServer",)),
            },
            ("name", "authentication", "resourceManager", "suffixes"),
        ),
        "OpenIdConfiguration": obj(
            {"issuer": STR, "authorization_endpoint": STR, "token_endpoint": STR},
            ("issuer", "authorization_endpoint", "token_endpoint"),
        ),
        "TokenRequest": obj(
            {
                "grant_type": enum("client_credentials"),
                "client_id": {**STR, "description": "The service principal's appId."},
                "client_secret": {
                    **STR,
                    "description": "Its password (acrctl ad sp create-for-rbac).",
                },
                "scope": {**STR, "description": "<audience>/.default"},
                "resource": {**STR, "description": "v1: the audience itself."},
            },
            ("grant_type", "client_id", "client_secret"),
        ),
        "TokenResponse": obj(
            {
                "token_type": enum("Bearer"),
                "expires_in": int_,
                "ext_expires_in": int_,
                "access_token": STR,
            },
            ("token_type", "expires_in", "access_token"),
        ),
        "AadError": obj(
            {
                "error": STR,
                "error_description": STR,
                "error_codes": arr(int_),
                "timestamp": STR,
                "trace_id": STR,
                "correlation_id": STR,
            },
            ("error", "error_description", "error_codes"),
        ),
        "ManagedIdentityToken": obj(
            {
                "access_token": STR,
                "expires_on": STR,
                "resource": STR,
                "token_type": enum("Bearer"),
                "client_id": STR,
            },
            ("access_token", "expires_on", "resource", "token_type"),
        ),
        "ManagedIdentityError": obj(
            {"statusCode": int_, "message": STR}, ("statusCode", "message")
        ),
        "GenericResource": obj(
            {
                "id": STR,
                "name": STR,
                "type": STR,
                "location": {**STR, "nullable": True},
                "sku": {"type": "object"},
                "tags": STR_MAP,
            },
            ("id", "name", "type"),
        ),
        "GenericResourceListResult": list_of("GenericResource"),
        "Provider": obj(
            {
                "id": STR,
                "namespace": STR,
                "registrationState": STR,
                "registrationPolicy": STR,
                "resourceTypes": arr(
                    obj(
                        {
                            "resourceType": STR,
                            "locations": arr(STR),
                            "apiVersions": arr(STR),
                            "capabilities": STR,
                        },
                        ("resourceType",),
                    )
                ),
            },
            ("id", "namespace", "registrationState", "resourceTypes"),
        ),
        "ProviderListResult": list_of("Provider", pageable=False),
    }


def parameters() -> dict[str, Schema]:
    def query(name: str, desc: str, schema: Schema, required: bool = False) -> Schema:
        return {
            "name": name,
            "in": "query",
            "required": required,
            "description": desc,
            "schema": schema,
        }

    return {
        "ResourceFilter": query(
            "$filter",
            "resourceType eq '...', name eq '...', "
            "resourceGroup eq '...', location eq '...', joined by and.",
            STR,
        ),
        "ResourceSkipToken": query(
            "$skipToken",
            "The continuation token of a nextLink.",
            {"type": "string", "pattern": "^[0-9]:[0-9]{1,18}$"},
        ),
        "MiResource": query("resource", "The audience of the token.", STR, True),
        "MiClientId": query("client_id", "The identity's appId (optional).", STR),
        "MiHeader": {
            "name": "X-IDENTITY-HEADER",
            "in": "header",
            "required": True,
            "description": "The server's managed_identity_header setting.",
            "schema": STR,
        },
    }


def specs() -> Specs:
    from acrctl.server.handlers import discovery, identity

    aad = {
        "400": ok(
            "AadError",
            "Refused (Entra's error body: unknown tenant or client, bad grant, scope or resource).",
        ),
        "401": ok("AadError", "Wrong, missing or expired client secret."),
    }
    mi = {
        "400": ok("ManagedIdentityError", "Bad api-version, resource or identity."),
        "401": ok("ManagedIdentityError", "Missing or wrong X-IDENTITY-HEADER."),
        "404": ok("ManagedIdentityError", "The managed identity endpoint is off."),
    }
    metadata = spec(
        "Metadata_Endpoints",
        "The cloud's endpoints (public; az cloud register).",
        "Discovery",
        {"200": ok("CloudMetadata")},
    )
    token = spec(
        "Identity_Token",
        "client_credentials: a JWT access token (public).",
        "Identity",
        {"200": ok("TokenResponse"), **aad},
        body="TokenRequest",
        media="application/x-www-form-urlencoded",
    )
    return {
        ("GET", discovery.metadata_endpoints): metadata,
        ("GET", identity.openid_configuration): spec(
            "Identity_OpenIdConfiguration",
            "OpenID Connect discovery of a tenant (public).",
            "Identity",
            {"200": ok("OpenIdConfiguration"), "400": ok("AadError", "Unknown tenant.")},
        ),
        ("GET", identity.authorize): spec(
            "Identity_Authorize",
            "Interactive sign-in: not supported (public; 400).",
            "Identity",
            {"400": ok("AadError", "Not supported.")},
        ),
        ("GET", discovery.metadata_endpoints_slash): spec(
            "Metadata_EndpointsDoubleSlash",
            "The same, at the path az asks for when the endpoint ends in a slash.",
            "Discovery",
            {"200": ok("CloudMetadata")},
        ),
        ("POST", identity.token): token,
        ("POST", identity.token_v1): spec(
            "Identity_TokenV1",
            "The same on v1's path (resource= instead of scope=).",
            "Identity",
            token["responses"],
            body="TokenRequest",
            media="application/x-www-form-urlencoded",
        ),
        ("GET", identity.managed_identity): spec(
            "Identity_ManagedIdentityToken",
            "App Service's managed-identity protocol "
            "(public; ?api-version=2019-08-01, the X-IDENTITY-HEADER secret).",
            "Identity",
            {"200": ok("ManagedIdentityToken"), **mi},
            extra=("MiResource", "MiClientId", "MiHeader"),
        ),
        ("GET", discovery.list_resources): spec(
            "Resources_List",
            "Generic resources the caller may read ($filter, paged).",
            "Resources",
            {"200": ok("GenericResourceListResult")},
            extra=("ResourceFilter", "ResourceSkipToken", "Top"),
        ),
        ("GET", discovery.list_providers): spec(
            "Providers_List", "Resource providers.", "Resources", {"200": ok("ProviderListResult")}
        ),
        ("GET", discovery.get_provider): spec(
            "Providers_Get", "One resource provider.", "Resources", {"200": ok("Provider")}
        ),
        ("POST", discovery.register_acr): spec(
            "Providers_Register",
            "Register Microsoft.ContainerRegistry (already is).",
            "Resources",
            {"200": ok("Provider")},
        ),
    }
