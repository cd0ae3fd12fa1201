"""The identity provider, the cloud metadata and the discovery routes that let the real az
run against acrctl server (issue 13), in-process and over HTTP (the `api` fixture): OpenID
discovery, the client-credentials token endpoint and its Entra errors, the JWTs it issues
and how the server verifies them, the managed-identity endpoint, /metadata/endpoints,
/subscriptions/{sub}/resources and the resource providers."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import jwt
import pytest
from click.testing import CliRunner

pytest.register_assert_rewrite("api_harness")
pytest_plugins = ("api_harness",)

from api_harness import ACR, NO_TOKEN, READER, Api, Principal, _inprocess  # noqa: E402

from acrctl.backend import credentials, jwt_tokens  # noqa: E402
from acrctl.server.http import ACR_API_VERSIONS  # noqa: E402

ARM = "https://management.core.windows.net/"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
MI_SECRET = "mi-header-secret-7f3a"


@pytest.fixture
def local(tmp_path: Path) -> Iterator[Api]:
    """In-process only: its FakeClock moves time for the expiry tests."""
    yield from _inprocess(tmp_path)


def token_request(
    api: Api, form: dict[str, str], tenant: str | None = None, path: str = "oauth2/v2.0/token"
) -> httpx.Response:
    return api.request(
        "POST",
        f"/{tenant or api.sub}/{path}",
        token=NO_TOKEN,
        api_version=None,
        content=urlencode(form).encode(),
        headers=FORM,
    )


def credentials_form(
    p: Principal, secret: str | None = None, scope: str = ARM + "/.default"
) -> dict[str, str]:
    return {
        "grant_type": "client_credentials",
        "client_id": p.id,
        "client_secret": p.token if secret is None else secret,
        "scope": scope,
    }


def access_token(api: Api, p: Principal) -> str:
    resp = token_request(api, credentials_form(p))
    assert resp.status_code == 200, resp.text
    return str(resp.json()["access_token"])


def claims(token: str) -> dict[str, Any]:
    return dict(jwt.decode(token, options={"verify_signature": False}))


def aad(resp: httpx.Response) -> tuple[int, str, list[int], str]:
    body = resp.json()
    assert set(body) == {
        "error",
        "error_description",
        "error_codes",
        "timestamp",
        "trace_id",
        "correlation_id",
    }, body
    return resp.status_code, body["error"], body["error_codes"], body["error_description"]


def arm_error(resp: httpx.Response) -> tuple[int, str, str]:
    return resp.status_code, resp.json()["error"]["code"], resp.json()["error"]["message"]


# == /metadata/endpoints =====================================================================


def expected_metadata(api: Api) -> dict[str, Any]:
    base = api.base_url + "/"
    return {
        "name": "acrctl",
        "authentication": {
            "loginEndpoint": base,
            "audiences": list(jwt_tokens.AUDIENCES),
            "tenant": "common",
            "identityProvider": "AAD",
        },
        "resourceManager": base,
        "suffixes": {"acrLoginServer": "azurecr.io"},
    }


def test_metadata_endpoints_name_this_server_for_arm_and_sign_in(api: Api) -> None:
    resp = api.get("/metadata/endpoints", token=NO_TOKEN, api_version="2022-09-01")
    assert resp.status_code == 200, resp.text
    assert resp.json() == expected_metadata(api)


def test_metadata_endpoints_answer_at_the_double_slash_path_az_requests(api: Api) -> None:
    resp = api.get(f"{api.base_url}//metadata/endpoints", token=NO_TOKEN, api_version="2022-09-01")
    assert resp.status_code == 200, resp.text
    assert resp.json() == expected_metadata(api)


def test_with_a_data_plane_the_login_suffix_is_its_domain(api: Api) -> None:
    api.set_settings(login_server_suffix="acrctl.test")
    api.create_group()
    reg = api.create_registry("suffixreg2")
    suffix = api.get("/metadata/endpoints", token=NO_TOKEN).json()["suffixes"]["acrLoginServer"]
    assert (suffix, reg["properties"]["loginServer"]) == ("acrctl.test", "suffixreg2.acrctl.test")


def test_the_acr_login_suffix_is_the_one_registries_get(api: Api) -> None:
    api.create_group()
    reg = api.create_registry("suffixreg1")
    suffix = api.get("/metadata/endpoints", token=NO_TOKEN).json()["suffixes"]["acrLoginServer"]
    assert reg["properties"]["loginServer"] == f"suffixreg1.{suffix}"


# == OpenID discovery ==========================================================================


def test_openid_configuration_points_at_the_token_endpoint(api: Api) -> None:
    resp = api.get(
        f"/{api.sub}/v2.0/.well-known/openid-configuration", token=NO_TOKEN, api_version=None
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    base = f"{api.base_url}/{api.sub}"
    assert (body["issuer"], body["authorization_endpoint"], body["token_endpoint"]) == (
        f"{base}/v2.0",
        f"{base}/oauth2/v2.0/authorize",
        f"{base}/oauth2/v2.0/token",
    )


def test_openid_configuration_of_an_unknown_tenant_is_aadsts90002(api: Api) -> None:
    other = str(uuid.uuid4())
    resp = api.get(
        f"/{other}/v2.0/.well-known/openid-configuration", token=NO_TOKEN, api_version=None
    )
    assert aad(resp) == (
        400,
        "invalid_tenant",
        [90002],
        (
            f"AADSTS90002: Tenant '{other}' not found. Check to make sure you have the correct "
            "tenant ID and are signing into the correct cloud: acrctl server's tenant is its "
            "subscription's tenantId (acrctl account show --query tenantId -o tsv)."
        ),
    )


# == the token endpoint ===========================================================================


def test_client_credentials_give_a_bearer_jwt(api: Api) -> None:
    p = api.principal("ci", "Reader")
    resp = token_request(api, credentials_form(p))
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert set(body) == {"token_type", "expires_in", "ext_expires_in", "access_token"}
    assert (body["token_type"], body["expires_in"], body["ext_expires_in"]) == (
        "Bearer",
        3600,
        3600,
    )
    c = claims(body["access_token"])
    assert (c["tid"], c["oid"], c["appid"], c["aud"], c["iss"], c["exp"] - c["iat"]) == (
        api.sub,
        p.id,
        p.id,
        ARM,
        f"{api.base_url}/{api.sub}/v2.0",
        3600,
    )
    assert jwt.get_unverified_header(body["access_token"])["alg"] == "HS256"


def test_the_jwt_is_accepted_by_arm_routes_as_its_principal(api: Api) -> None:
    p = api.principal("ci", "Reader")
    resp = api.get(
        "/providers/Microsoft.Authorization/whoami",
        token=access_token(api, p),
        api_version="2022-04-01",
    )
    assert resp.status_code == 200, resp.text
    assert (resp.json()["id"], resp.json()["displayName"]) == (p.id, "ci")


def test_the_jwt_carries_the_principals_roles(api: Api) -> None:
    p = api.principal("reader1", "Reader")
    resp = api.put(
        api.rg_path("rgx"),
        {"location": "westus"},
        token=access_token(api, p),
        api_version="2022-09-01",
    )
    assert arm_error(resp)[:2] == (403, "AuthorizationFailed")
    assert f"The client 'reader1' with object id '{p.id}'" in arm_error(resp)[2]


def test_a_wrong_secret_is_401_invalid_client_7000215(api: Api) -> None:
    p = api.principal("ci")
    resp = token_request(api, credentials_form(p, secret="acr_wrong"))
    assert aad(resp) == (
        401,
        "invalid_client",
        [7000215],
        (
            "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the "
            "request is the client secret value, not the client secret ID, for a secret added "
            f"to app '{p.id}'."
        ),
    )


def test_another_principals_secret_is_401_invalid_client(api: Api) -> None:
    p, other = api.principal("ci"), api.principal("other")
    resp = token_request(api, credentials_form(p, secret=other.token))
    assert aad(resp)[:3] == (401, "invalid_client", [7000215])


def test_an_unknown_client_is_400_unauthorized_client_700016(api: Api) -> None:
    ghost = Principal(str(uuid.uuid4()), "ghost", "acr_x")
    resp = token_request(api, credentials_form(ghost))
    status, error, codes, text = aad(resp)
    assert (status, error, codes) == (400, "unauthorized_client", [700016])
    assert text.startswith(
        f"AADSTS700016: Application with identifier '{ghost.id}' was not "
        f"found in the directory '{api.sub}'."
    )


def test_an_expired_secret_is_401_invalid_client_7000222(local: Api) -> None:
    assert local.clock is not None
    doc, secret = local.backend.rbac.create_principal(
        "shortlived", expires_on=local.clock.now() + 60
    )
    local.clock.advance(61)
    resp = token_request(local, credentials_form(Principal(doc["id"], "shortlived", secret)))
    status, error, codes, text = aad(resp)
    assert (status, error, codes) == (401, "invalid_client", [7000222])
    assert text.startswith(
        f"AADSTS7000222: The provided client secret keys for app '{doc['id']}' are expired"
    )


@pytest.mark.parametrize(
    ("form", "expected"),
    [
        (
            {"client_id": "x"},
            (
                400,
                "invalid_request",
                [900144],
                "AADSTS900144: The request body "
                "must contain the following parameter: 'grant_type'.",
            ),
        ),
        (
            {"grant_type": "password"},
            (
                400,
                "unsupported_grant_type",
                [70003],
                "AADSTS70003: The "
                "app requested an unsupported grant type 'password'. "
                "acrctl server supports client_credentials.",
            ),
        ),
        (
            {"grant_type": "client_credentials"},
            (
                400,
                "invalid_request",
                [900144],
                "AADSTS900144: The request body must contain the following parameter: 'client_id'.",
            ),
        ),
        (
            {"grant_type": "client_credentials", "client_id": "x"},
            (
                401,
                "invalid_client",
                [7000216],
                "AADSTS7000216: 'client_assertion', 'client_secret' "
                "or 'request' is required for the 'client_credentials' grant type.",
            ),
        ),
        (
            {
                "grant_type": "client_credentials",
                "client_id": "x",
                "client_secret": "y",
                "scope": ARM,
            },
            (
                400,
                "invalid_scope",
                [1002012],
                "AADSTS1002012: The provided value for "
                f"scope {ARM} is not valid. Client credential flows must have a scope "
                "value with /.default suffixed to the resource identifier (application "
                "ID URI).",
            ),
        ),
    ],
    ids=["no-grant", "password-grant", "no-client", "no-secret", "scope-without-default"],
)
def test_malformed_token_requests_answer_entras_errors(
    api: Api, form: dict[str, str], expected: tuple[Any, ...]
) -> None:
    assert aad(token_request(api, form)) == expected


def test_a_token_for_another_resource_is_refused_500011(api: Api) -> None:
    p = api.principal("ci")
    resp = token_request(api, credentials_form(p, scope="https://graph.microsoft.com/.default"))
    assert aad(resp) == (
        400,
        "invalid_resource",
        [500011],
        (
            "AADSTS500011: The resource principal named https://graph.microsoft.com was not found "
            f"in the tenant named {api.sub}. acrctl server issues tokens for "
            "https://management.core.windows.net/, https://management.azure.com/ only (its "
            "management API)."
        ),
    )


def test_the_v1_token_endpoint_takes_resource(api: Api) -> None:
    p = api.principal("ci")
    form = {
        "grant_type": "client_credentials",
        "client_id": p.id,
        "client_secret": p.token,
        "resource": "https://management.azure.com/",
    }
    resp = token_request(api, form, path="oauth2/token")
    assert resp.status_code == 200, resp.text
    assert claims(resp.json()["access_token"])["aud"] == "https://management.azure.com/"


def test_interactive_sign_in_is_refused_with_what_works(api: Api) -> None:
    resp = api.get(f"/{api.sub}/oauth2/v2.0/authorize", token=NO_TOKEN, api_version=None)
    assert aad(resp)[:3] == (400, "unsupported_response_type", [900561])


# == how the server verifies a JWT =================================================================


def test_an_expired_jwt_is_401_expired_authentication_token(local: Api) -> None:
    assert local.clock is not None
    token = access_token(local, local.principal("ci", "Reader"))
    exp = claims(token)["exp"]
    local.clock.advance(3600)
    resp = local.get("/subscriptions", token=token, api_version="2022-09-01")
    clock = local.backend.clock
    assert arm_error(resp) == (
        401,
        "ExpiredAuthenticationToken",
        (
            f"The access token expiry UTC time '{clock.iso(exp)}' is earlier than current UTC "
            f"time '{clock.iso(clock.now())}'. Get a new access token (az does so by itself; "
            "else az account get-access-token)."
        ),
    )


def test_the_jwt_ends_with_its_secret(local: Api) -> None:
    assert local.clock is not None
    doc, secret = local.backend.rbac.create_principal(
        "shortlived", expires_on=local.clock.now() + 600
    )
    resp = token_request(local, credentials_form(Principal(doc["id"], "x", secret)))
    assert resp.json()["expires_in"] == 600


def test_the_access_token_lifetime_is_a_setting(api: Api) -> None:
    api.set_settings(access_token_lifetime_seconds=300)
    resp = token_request(api, credentials_form(api.principal("ci")))
    assert resp.json()["expires_in"] == 300


def test_instances_on_one_postgresql_database_share_the_signing_key() -> None:
    from pg_harness import pg_database

    from acrctl.backend.core import Backend
    from acrctl.backend.pg import PostgresStore

    with pg_database("jwt") as url:
        one, two = Backend(PostgresStore(url)), Backend(PostgresStore(url))
        try:
            sub, _ = one.bootstrap(admin_token="acr_jwt_pg_admin")
            doc, secret = one.rbac.create_principal("ci")
            principal, cid, ends = credentials.check_client_secret(
                two, doc["id"], secret, sub["subscriptionId"]
            )
            token, _, _ = jwt_tokens.issue(
                two, principal, sub["subscriptionId"], ARM, "iss", ends, cid
            )
            assert one.rbac.authenticate(token).id == doc["id"]
        finally:
            one.store.close()
            two.store.close()


def test_a_jwt_with_a_forged_signature_is_401(api: Api) -> None:
    token = access_token(api, api.principal("ci", "Reader"))
    head, body, _ = token.split(".")
    forged = jwt.encode(claims(token), b"k" * 32, algorithm="HS256").split(".")[2]
    resp = api.get("/subscriptions", token=f"{head}.{body}.{forged}", api_version="2022-09-01")
    assert arm_error(resp) == (
        401,
        "InvalidAuthenticationToken",
        "The access token is invalid: its signature does not verify.",
    )


def test_an_unsigned_jwt_is_401(api: Api) -> None:
    token = access_token(api, api.principal("ci", "Reader"))
    head = base64.urlsafe_b64encode(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    unsigned = f"{head.decode().rstrip('=')}.{token.split('.')[1]}."
    resp = api.get("/subscriptions", token=unsigned, api_version="2022-09-01")
    assert arm_error(resp) == (
        401,
        "InvalidAuthenticationToken",
        "The access token is invalid: it is not a well-formed token of this server.",
    )


def test_a_jwt_for_another_audience_is_401(api: Api) -> None:
    p = api.principal("ci", "Reader")
    doc = api.backend.rbac.principal(p.id)
    assert doc is not None
    token, _, _ = jwt_tokens.issue(
        api.backend, doc, api.sub, "https://graph.microsoft.com/", "iss", None, "cid"
    )
    resp = api.get("/subscriptions", token=token, api_version="2022-09-01")
    assert arm_error(resp) == (
        401,
        "InvalidAuthenticationTokenAudience",
        (
            "The access token has been obtained for wrong audience or resource "
            "'https://graph.microsoft.com/'. It should exactly match with one of the allowed "
            "audiences 'https://management.core.windows.net/','https://management.core.windows."
            "net','https://management.azure.com/','https://management.azure.com'."
        ),
    )


def test_resetting_the_secret_revokes_its_jwts(api: Api) -> None:
    p = api.principal("ci", "Reader")
    token = access_token(api, p)
    credentials.reset_credential(api.backend, p.id)
    resp = api.get("/subscriptions", token=token, api_version="2022-09-01")
    assert arm_error(resp) == (
        401,
        "InvalidAuthenticationToken",
        "The access token is invalid: it has been revoked.",
    )


def test_deleting_the_principal_revokes_its_jwts(api: Api) -> None:
    p = api.principal("ci", "Reader")
    token = access_token(api, p)
    credentials.delete_principal(api.backend, p.id)
    resp = api.get("/subscriptions", token=token, api_version="2022-09-01")
    assert arm_error(resp) == (
        401,
        "InvalidAuthenticationToken",
        "The access token is invalid: it has been revoked.",
    )


def test_opaque_tokens_keep_working_beside_jwts(api: Api) -> None:
    p = api.principal("ci", "Reader")
    access_token(api, p)
    assert api.get("/subscriptions", token=p, api_version="2022-09-01").status_code == 200


# == the managed identity =========================================================================


def mi_request(api: Api, header: str | None = MI_SECRET, **query: str) -> httpx.Response:
    params = {"api-version": "2019-08-01", "resource": ARM, **query}
    headers = {"Metadata": "true"}
    if header is not None:
        headers["X-IDENTITY-HEADER"] = header
    return api.request(
        "GET", "/msi/token", token=NO_TOKEN, api_version=None, params=params, headers=headers
    )


def managed(api: Api) -> Principal:
    p = api.principal("app-identity", "Reader")
    api.set_settings(managed_identity_header=MI_SECRET, managed_identity_principal=p.name)
    return p


def test_the_managed_identity_endpoint_is_off_by_default(api: Api) -> None:
    resp = mi_request(api)
    assert (resp.status_code, resp.json()) == (
        404,
        {
            "statusCode": 404,
            "message": (
                "The managed identity endpoint is off: set managed_identity_header and "
                "managed_identity_principal in the server's [settings] (docs/azure-cli.md)."
            ),
        },
    )


def test_a_wrong_identity_header_is_401(api: Api) -> None:
    managed(api)
    resp = mi_request(api, header="wrong")
    assert (resp.status_code, resp.json()["message"]) == (
        401,
        (
            "The X-IDENTITY-HEADER header is missing or does not match the server's "
            "managed_identity_header."
        ),
    )


def test_the_managed_identity_gets_a_token_of_its_principal(api: Api) -> None:
    p = managed(api)
    resp = mi_request(api)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    c = claims(body["access_token"])
    assert (body["resource"], body["token_type"], body["client_id"], body["expires_on"]) == (
        ARM,
        "Bearer",
        p.id,
        str(c["exp"]),
    )
    assert (c["tid"], c["oid"], c["aud"]) == (api.sub, p.id, ARM)
    who = api.get(
        "/providers/Microsoft.Authorization/whoami",
        token=body["access_token"],
        api_version="2022-04-01",
    )
    assert who.json()["id"] == p.id


def test_the_managed_identity_names_only_its_own_client_id(api: Api) -> None:
    p = managed(api)
    other = str(uuid.uuid4())
    resp = mi_request(api, client_id=other)
    assert (resp.status_code, resp.json()["message"]) == (
        400,
        (f"No managed identity with the id '{other}': this server's is '{p.id}'."),
    )


def test_the_managed_identity_speaks_api_version_2019_08_01(api: Api) -> None:
    managed(api)
    resp = mi_request(api, **{"api-version": "2018-02-01"})
    assert (resp.status_code, resp.json()["message"]) == (
        400,
        "The api-version '2018-02-01' is not supported: use 2019-08-01.",
    )


def test_a_managed_identity_token_dies_when_the_setting_names_another(api: Api) -> None:
    managed(api)
    token = mi_request(api).json()["access_token"]
    api.set_settings(managed_identity_principal=api.principal("successor").name)
    resp = api.get("/subscriptions", token=token, api_version="2022-09-01")
    assert arm_error(resp) == (
        401,
        "InvalidAuthenticationToken",
        "The access token is invalid: it has been revoked.",
    )


def test_print_config_masks_the_identity_header(tmp_path: Path) -> None:
    from acrctl.cli.main import cli

    config = tmp_path / "server.toml"
    config.write_text(f'[settings]\nmanaged_identity_header = "{MI_SECRET}"\n')
    out = CliRunner().invoke(cli, ["server", "--config", str(config), "--print-config"])
    assert out.exit_code == 0, out.output
    assert MI_SECRET not in out.output
    assert 'managed_identity_header = "******"  # config file' in out.output


# == /subscriptions/{sub}/resources ===============================================================


def world(api: Api) -> None:
    """rg1: regaye (Premium, westus; replica eastus; webhook hook1), regbee (eastus);
    rg2: regcee (westus)."""
    api.create_group("rg1")
    api.create_group("rg2")
    api.create_registry("regaye", sku="Premium")
    api.create_replication("eastus", registry="regaye")
    api.create_webhook("hook1", registry="regaye")
    api.create_registry("regbee", location="eastus")
    api.create_registry("regcee", rg="rg2")


def names(
    api: Api, flt: str | None = None, token: Principal | None = None, top: str | None = None
) -> list[str]:
    params = {k: v for k, v in (("$filter", flt), ("$top", top)) if v}
    items, _ = api.collect(f"{api.sub_path}/resources", params=params, token=token)
    return sorted(r["name"] for r in items)


def test_resources_list_registries_and_their_children(api: Api) -> None:
    world(api)
    assert names(api) == [
        "regaye",
        "regaye/eastus",
        "regaye/hook1",
        "regaye/westus",
        "regbee",
        "regcee",
    ]


def test_a_registry_as_a_generic_resource(api: Api) -> None:
    world(api)
    items, _ = api.collect(
        f"{api.sub_path}/resources",
        params={"$filter": f"name eq 'REGAYE' and resourceType eq '{ACR.lower()}/registries'"},
    )
    assert items == [
        {
            "id": f"{api.rg_path('rg1')}/providers/{ACR}/registries/regaye",
            "name": "regaye",
            "type": f"{ACR}/registries",
            "location": "westus",
            "sku": {"name": "Premium", "tier": "Premium"},
            "tags": {},
        }
    ]


def test_resources_filter_by_type(api: Api) -> None:
    world(api)
    assert names(api, f"resourceType eq '{ACR}/registries/webhooks'") == ["regaye/hook1"]


def test_resources_filter_by_group_and_location(api: Api) -> None:
    world(api)
    assert names(api, "resourceGroup eq 'rg1' and location eq 'East US'") == [
        "regaye/eastus",
        "regbee",
    ]


def test_resources_filter_on_another_type_is_empty(api: Api) -> None:
    world(api)
    assert names(api, "resourceType eq 'Microsoft.Compute/virtualMachines'") == []


def test_resources_page_with_top_and_next_link(api: Api) -> None:
    world(api)
    items, pages = api.collect(f"{api.sub_path}/resources", params={"$top": "2"})
    assert sorted(r["name"] for r in items) == [
        "regaye",
        "regaye/eastus",
        "regaye/hook1",
        "regaye/westus",
        "regbee",
        "regcee",
    ]
    assert pages == 4  # 2 + 2 + 2, then an empty last page


def test_resources_show_only_what_the_caller_may_read(api: Api) -> None:
    world(api)
    reader = api.principal("reader", READER, api.rg_path("rg2"))
    assert names(api, token=reader) == ["regcee"]


def test_an_unsupported_resources_filter_is_400(api: Api) -> None:
    resp = api.get(
        f"{api.sub_path}/resources", params={"$filter": "tagName eq 'x'"}, api_version="2022-09-01"
    )
    assert arm_error(resp) == (
        400,
        "InvalidFilterInQueryString",
        (
            "The $filter 'tagName eq 'x'' is not supported. Use resourceType eq '...', "
            "name eq '...', resourceGroup eq '...' or location eq '...', each at most once, "
            "joined with 'and'."
        ),
    )


def test_a_bad_resources_skip_token_is_400(api: Api) -> None:
    resp = api.get(
        f"{api.sub_path}/resources", params={"$skipToken": "7:1"}, api_version="2022-09-01"
    )
    assert arm_error(resp) == (
        400,
        "InvalidSkipToken",
        "The $skipToken query parameter is invalid.",
    )


# == resource providers ===========================================================================


def test_the_container_registry_provider_is_registered(api: Api) -> None:
    resp = api.get(f"{api.sub_path}/providers/{ACR.lower()}", api_version="2022-09-01")
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert (body["namespace"], body["registrationState"]) == (ACR, "Registered")
    types = {t["resourceType"]: t for t in body["resourceTypes"]}
    assert {"registries", "registries/replications", "registries/webhooks"} <= set(types)
    assert types["registries"]["apiVersions"] == list(ACR_API_VERSIONS)
    assert "West US" in types["registries"]["locations"]


def test_providers_lists_every_namespace_served(api: Api) -> None:
    resp = api.get(f"{api.sub_path}/providers", api_version="2022-09-01")
    assert [p["namespace"] for p in resp.json()["value"]] == [
        ACR,
        "Microsoft.Resources",
        "Microsoft.Authorization",
        "Microsoft.Insights",
    ]


def test_an_unknown_provider_is_404_invalid_resource_namespace(api: Api) -> None:
    resp = api.get(f"{api.sub_path}/providers/Microsoft.Compute", api_version="2022-09-01")
    assert arm_error(resp) == (
        404,
        "InvalidResourceNamespace",
        "The resource namespace 'Microsoft.Compute' is invalid.",
    )


def test_registering_the_container_registry_provider_answers_registered(api: Api) -> None:
    resp = api.post(f"{api.sub_path}/providers/{ACR}/register", api_version="2022-09-01")
    assert (resp.status_code, resp.json()["registrationState"]) == (200, "Registered")
