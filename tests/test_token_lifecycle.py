"""The token lifecycle (issue 11 item 8): credential reset (`--append` too), principal
delete, token expiry and a store reset that keeps the admin able to work. The API cases run
in-process and against the real session server (api_harness); the CLI cases run `acrctl`
through CliRunner with --endpoint against that server; the reset cases start servers of
their own (no bootstrap token configured)."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from acrctl.backend import credentials
from acrctl.backend.clock import FakeClock
from acrctl.backend.rbac import TOKEN
from acrctl.cli.main import cli
from acrctl.server.serve import ServerConfig, ThreadedServer

pytest.register_assert_rewrite("api_harness", "pg_harness")
pytest_plugins = ("api_harness",)

from api_harness import (  # noqa: E402
    ADMIN_API_VERSION,
    CONTRIBUTOR,
    OWNER,
    READER,
    Api,
    Principal,
)
from pg_harness import pg_database  # noqa: E402

AUTHZ = "providers/Microsoft.Authorization"
YEAR = 365 * 86400.0
server_only = pytest.mark.parametrize("api", ["server"], indirect=True)


# -- helpers -------------------------------------------------------------------------------------
def principals_path(api: Api, pid: str | None = None) -> str:
    base = f"{api.sub_path}/{AUTHZ}/principals"
    return f"{base}/{pid}" if pid else base


def reset_credential(
    api: Api, pid: str, token: str | Principal | None = None, **body: Any
) -> httpx.Response:
    return api.post(
        principals_path(api, pid) + "/resetCredential",
        body,
        token=token,
        api_version=ADMIN_API_VERSION,
    )


def delete_principal(api: Api, pid: str, token: str | Principal | None = None) -> httpx.Response:
    return api.delete(principals_path(api, pid), token=token, api_version=ADMIN_API_VERSION)


def whoami(api: Api, token: str | Principal) -> httpx.Response:
    return api.get(
        "/providers/Microsoft.Authorization/whoami", token=token, api_version=ADMIN_API_VERSION
    )


def error_of(resp: httpx.Response, status: int) -> tuple[str, str]:
    assert resp.status_code == status, (resp.status_code, resp.text)
    err = resp.json()["error"]
    return err["code"], err["message"]


def admin_id(api: Api) -> str:
    return api.backend.admin_principal_id() or ""


@pytest.fixture
def clock(api: Api, monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    """The clock the backend under test reads (the shared server's is put back after)."""
    if api.clock is not None:
        return api.clock
    fake = FakeClock(float(int(time.time())))  # whole seconds: ISO times round-trip exactly
    monkeypatch.setattr(api.backend, "clock", fake)
    return fake


def run(api: Api, *args: str, token: str | None = None) -> tuple[int, str, str]:
    """`acrctl --endpoint <server> ARGS` as `token` (default: the admin)."""
    result = CliRunner().invoke(
        cli, [*args, "--endpoint", api.base_url], env={"ACRCTL_TOKEN": token or api.admin_token}
    )
    return result.exit_code, result.stdout, result.stderr


# == credential reset ============================================================================


def test_reset_makes_the_old_token_401_and_the_new_one_work(api: Api) -> None:
    ci = api.principal("ci", READER)
    assert whoami(api, ci).status_code == 200  # authenticated (and cached) before the reset
    resp = reset_credential(api, ci.id)
    assert resp.status_code == 200, resp.text
    assert resp.headers["Cache-Control"] == "no-store"
    assert error_of(whoami(api, ci), 401) == (
        "InvalidAuthenticationToken",
        "The access token is invalid or has been revoked.",
    )
    assert whoami(api, resp.json()["token"]).json()["id"] == ci.id


def test_reset_with_append_keeps_the_old_token(api: Api) -> None:
    ci = api.principal("ci", READER)
    resp = reset_credential(api, ci.id, append=True)
    assert resp.status_code == 200, resp.text
    assert whoami(api, ci).json()["id"] == ci.id
    assert whoami(api, resp.json()["token"]).json()["id"] == ci.id


def test_reset_with_an_end_date_sets_the_expiry(api: Api, clock: FakeClock) -> None:
    ci = api.principal("ci")
    end = clock.now() + 3600
    resp = reset_credential(api, ci.id, endDateTime=clock.iso(end))
    assert resp.json()["endDateTime"] == clock.iso(end)
    clock.advance(3600)
    assert error_of(whoami(api, resp.json()["token"]), 401)[0] == "ExpiredAuthenticationToken"


def test_an_end_date_in_the_past_is_refused(api: Api, clock: FakeClock) -> None:
    ci = api.principal("ci")
    assert error_of(reset_credential(api, ci.id, endDateTime="2001-01-01"), 400) == (
        "InvalidCredentialEndDate",
        "The end date '2001-01-01' is not in the future: a "
        "credential must end after the current time.",
    )
    assert whoami(api, ci).status_code == 200  # nothing was reset


def test_an_end_date_past_year_9999_is_refused(api: Api) -> None:
    ci = api.principal("ci")
    assert error_of(reset_credential(api, ci.id, endDateTime="9999-12-31T23:59:59-05:00"), 400) == (
        "InvalidCredentialEndDate",
        "The end date '9999-12-31T23:59:59-05:00' is not an ISO "
        "8601 date or time up to 9999-12-31, e.g. 2027-12-31 or 2027-12-31T23:59:59Z.",
    )


def test_reset_of_a_missing_principal_is_404(api: Api) -> None:
    missing = str(uuid.uuid4())
    assert error_of(reset_credential(api, missing), 404) == (
        "PrincipalNotFound",
        f"Principal {missing} does not exist in the directory.",
    )


def test_principals_write_alone_cannot_take_over_the_admin(api: Api) -> None:
    """Resetting a principal's secret is acting as it: the caller must also be able to
    grant the principal's roles (roleAssignments/write where it holds them)."""
    p = api.principal("narrow")
    api.assign(p, api.custom_role(["Microsoft.Authorization/principals/write"]))
    assert error_of(reset_credential(api, admin_id(api), token=p), 403) == (
        "AuthorizationFailed",
        f"The client 'narrow' with object id '{p.id}' does not have authorization to perform "
        f"action 'Microsoft.Authorization/roleAssignments/write' over scope '{api.sub_path}' "
        "or the scope is invalid. If access was recently granted, please refresh your "
        "credentials.",
    )
    assert whoami(api, api.admin_token).status_code == 200


def test_a_contributor_cannot_reset_a_credential(api: Api) -> None:
    ci = api.principal("ci")
    contributor = api.principal("contrib", CONTRIBUTOR)
    assert error_of(reset_credential(api, ci.id, token=contributor), 403)[0] == (
        "AuthorizationFailed"
    )


# == delete ======================================================================================


def test_delete_makes_the_token_401_and_removes_the_assignments(api: Api) -> None:
    ci = api.principal("ci", READER)
    api.assign(ci, READER, api.rg_path())
    assert whoami(api, ci).status_code == 200
    resp = delete_principal(api, ci.id)
    assert (resp.status_code, resp.json()["id"]) == (200, ci.id)
    assert error_of(whoami(api, ci), 401)[0] == "InvalidAuthenticationToken"
    listed = api.get(
        f"{api.sub_path}/{AUTHZ}/roleAssignments",
        api_version=ADMIN_API_VERSION,
        params={"$filter": f"principalId eq '{ci.id}'"},
    )
    assert listed.json()["value"] == []
    assert api.backend.store.list(TOKEN, parent=ci.id) == []


def test_the_last_owner_cannot_be_deleted(api: Api) -> None:
    admin = admin_id(api)
    sub = api.sub
    assert error_of(delete_principal(api, admin), 409) == (
        "CannotDeleteLastOwner",
        f"The principal 'admin' ({admin}) is the last Owner of subscription '{sub}': "
        "deleting it would leave nobody able to manage it. Assign Owner at the subscription "
        "to another principal first, or rotate this one's secret instead (acrctl ad sp "
        f"credential reset --id {admin}).",
    )
    assert whoami(api, api.admin_token).status_code == 200


def test_an_owner_of_a_group_only_does_not_count_as_another_owner(api: Api) -> None:
    api.principal("rgowner", OWNER, api.rg_path())
    assert error_of(delete_principal(api, admin_id(api)), 409)[0] == "CannotDeleteLastOwner"


def test_the_admin_can_go_once_another_owner_exists(api: Api) -> None:
    ops = api.principal("ops", OWNER)
    assert delete_principal(api, admin_id(api), token=ops).status_code == 200
    assert error_of(whoami(api, api.admin_token), 401)[0] == "InvalidAuthenticationToken"
    assert api.backend.admin_principal_id() == ops.id  # resets and embedded mode act as it
    assert error_of(delete_principal(api, ops.id, token=ops), 409)[0] == ("CannotDeleteLastOwner")


def test_delete_of_a_missing_principal_is_404(api: Api) -> None:
    missing = str(uuid.uuid4())
    assert error_of(delete_principal(api, missing), 404)[0] == "PrincipalNotFound"


def test_deleting_needs_the_right_to_delete_its_assignments(api: Api) -> None:
    p = api.principal("narrow")
    api.assign(p, api.custom_role(["Microsoft.Authorization/principals/delete"]))
    ci = api.principal("ci", READER)
    assert error_of(delete_principal(api, ci.id, token=p), 403)[0] == "AuthorizationFailed"
    assert whoami(api, ci).status_code == 200


# == expiry ======================================================================================


def test_an_expired_token_is_401_expired_authentication_token(api: Api, clock: FakeClock) -> None:
    created = api.post(
        principals_path(api), {"displayName": "ci"}, api_version=ADMIN_API_VERSION
    ).json()
    start = clock.now()
    assert created["endDateTime"] == clock.iso(start + YEAR)
    assert whoami(api, created["token"]).status_code == 200  # cached from here on
    clock.advance(YEAR)
    assert error_of(whoami(api, created["token"]), 401) == (
        "ExpiredAuthenticationToken",
        f"The access token expiry UTC time '{clock.iso(start + YEAR)}' is earlier than "
        f"current UTC time '{clock.iso(start + YEAR)}'. Ask an administrator for a new token "
        f"(acrctl ad sp credential reset --id {created['id']}), then log in with it "
        "(acrctl account login).",
    )


def test_the_token_lifetime_is_a_setting(api: Api, clock: FakeClock) -> None:
    api.set_settings(token_lifetime_days=1)
    ci = api.principal("ci")
    clock.advance(86400 - 1)
    assert whoami(api, ci).status_code == 200
    clock.advance(1)
    assert error_of(whoami(api, ci), 401)[0] == "ExpiredAuthenticationToken"


def test_the_bootstrap_admin_token_does_not_expire(api: Api, clock: FakeClock) -> None:
    clock.advance(100 * YEAR)
    assert whoami(api, api.admin_token).status_code == 200


# == the admin reset endpoint ====================================================================


@pytest.fixture
def tokenless(monkeypatch: pytest.MonkeyPatch) -> Iterator[ThreadedServer]:
    """A server allowing resets with no bootstrap token configured: the admin token was
    generated and printed once."""
    monkeypatch.delenv("ACRCTL_BOOTSTRAP_TOKEN", raising=False)
    with ThreadedServer(ServerConfig(allow_reset=True), deliver=False) as srv:
        yield srv


def _call(srv: ThreadedServer, method: str, path: str, token: str) -> httpx.Response:
    return httpx.request(
        method,
        f"{srv.url}{path}",
        params={"api-version": "2022-09-01"},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )


def test_reset_without_a_bootstrap_token_keeps_the_admin_able_to_work(
    tokenless: ThreadedServer,
) -> None:
    srv, token = tokenless, str(tokenless.admin_token)
    sub = f"/subscriptions/{srv.subscription}"
    resp = _call(srv, "POST", f"{sub}/providers/Acrctl.Admin/reset", token)
    assert (resp.status_code, resp.content) == (204, b"")
    assert _call(srv, "GET", sub, token).status_code == 200
    created = httpx.put(
        f"{srv.url}{sub}/resourcegroups/rg1",
        json={"location": "westus"},
        params={"api-version": "2022-09-01"},
        timeout=10,
        headers={"Authorization": f"Bearer {token}"},
    )
    assert created.status_code == 201, created.text


def test_reset_keeps_the_calling_owner_able_to_work(tokenless: ThreadedServer) -> None:
    srv = tokenless
    backend = srv.app.backend
    doc, ops = backend.rbac.create_principal("ops")
    sub = f"/subscriptions/{srv.subscription}"
    backend.rbac.create_assignment(
        sub,
        str(uuid.uuid4()),
        {"properties": {"roleDefinitionId": OWNER, "principalId": doc["id"]}},
    )
    assert _call(srv, "POST", f"{sub}/providers/Acrctl.Admin/reset", ops).status_code == 204
    assert _call(srv, "GET", sub, ops).status_code == 200
    assert _call(srv, "GET", sub, str(srv.admin_token)).status_code == 200


@pytest.mark.server
def test_reset_on_postgresql_keeps_the_admin_able_to_work(monkeypatch: pytest.MonkeyPatch) -> None:
    """The wipe and the new bootstrap are one transaction (TRUNCATE included)."""
    monkeypatch.delenv("ACRCTL_BOOTSTRAP_TOKEN", raising=False)
    with (
        pg_database("reset") as url,
        ThreadedServer(ServerConfig(database=url, allow_reset=True), deliver=False) as srv,
    ):
        sub, token = f"/subscriptions/{srv.subscription}", str(srv.admin_token)
        resp = _call(srv, "POST", f"{sub}/providers/Acrctl.Admin/reset", token)
        assert resp.status_code == 204, resp.text
        assert _call(srv, "GET", sub, token).status_code == 200


def test_a_reset_that_can_keep_no_token_shows_the_new_one() -> None:
    """The fallback: an admin with no token left and a caller without one (in-process)."""
    from acrctl.backend.core import Backend
    from acrctl.backend.sqlite import SqliteStore

    backend = Backend(SqliteStore(":memory:"))
    sub, _ = backend.bootstrap()
    for item in backend.store.list(TOKEN, parent=backend.admin_principal_id()):
        backend.store.delete(TOKEN, item.key)
    admin, token = credentials.reset_store(backend, sub["subscriptionId"], None, None)
    assert token is not None
    assert backend.rbac.authenticate(token).id == admin["id"]


# == the CLI =====================================================================================


@server_only
def test_cli_credential_reset_prints_az_shape_and_revokes_the_old_token(api: Api) -> None:
    ci = api.principal("ci", READER)
    code, out, err = run(api, "ad", "sp", "credential", "reset", "--id", "ci")
    assert code == 0, err
    doc = json.loads(out)
    assert sorted(doc) == ["appId", "password", "tenant"]
    assert (doc["appId"], doc["tenant"]) == (ci.id, api.sub)
    assert err.startswith("WARNING: The output includes credentials that you must protect.")
    assert run(api, "group", "list", token=doc["password"])[0] == 0
    code, _, err = run(api, "group", "list", token=ci.token)
    assert code == 1
    assert err.startswith(
        "ERROR: (InvalidAuthenticationToken) The access token is invalid or has been revoked.\n"
    )


@server_only
def test_cli_credential_reset_append_keeps_the_old_token(api: Api) -> None:
    ci = api.principal("ci", READER)
    code, out, _ = run(
        api, "ad", "sp", "credential", "reset", "--id", ci.id, "--append", "--years", "2"
    )
    assert code == 0
    assert run(api, "group", "list", token=ci.token)[0] == 0
    assert run(api, "group", "list", token=json.loads(out)["password"])[0] == 0


@server_only
def test_cli_create_for_rbac_years_sets_the_expiry(api: Api) -> None:
    code, out, err = run(api, "ad", "sp", "create-for-rbac", "--name", "ci", "--years", "2")
    assert code == 0, err
    [item] = api.backend.store.list(TOKEN, parent=json.loads(out)["appId"])
    year = time.gmtime().tm_year
    assert item.doc["endDateTime"][:4] == str(year + 2)
    assert abs(item.doc["expiresOn"] - time.time() - 2 * YEAR) < 2 * 86400


@server_only
def test_cli_sp_delete_revokes_the_token(api: Api) -> None:
    ci = api.principal("ci", READER)
    assert run(api, "ad", "sp", "delete", "--id", "ci") == (0, "", "")
    code, _, err = run(api, "group", "list", token=ci.token)
    assert code == 1
    assert err.startswith("ERROR: (InvalidAuthenticationToken)")
    assert api.backend.rbac.list_assignments(ci.id) == []


@server_only
def test_cli_sp_delete_refuses_the_last_admin(api: Api) -> None:
    code, out, err = run(api, "ad", "sp", "delete", "--id", "admin")
    assert (code, out) == (1, "")
    assert err.startswith(
        f"ERROR: (CannotDeleteLastOwner) The principal 'admin' "
        f"({admin_id(api)}) is the last Owner of subscription '{api.sub}'"
    )


@server_only
def test_cli_unknown_principal_exits_3(api: Api) -> None:
    assert run(api, "ad", "sp", "delete", "--id", "nope") == (
        3,
        "",
        "ERROR: Service principal 'nope' doesn't exist.\n",
    )


@server_only
def test_cli_ambiguous_name_asks_for_the_app_id(api: Api) -> None:
    api.principal("ci")
    api.principal("CI")
    assert run(api, "ad", "sp", "credential", "reset", "--id", "ci") == (
        1,
        "",
        "ERROR: More than one service principal is named 'ci'; use its appId (acrctl "
        "ad sp list --display-name 'ci' -o table).\n",
    )


@server_only
def test_cli_says_the_token_expired_and_how_to_get_a_new_one(api: Api, clock: FakeClock) -> None:
    ci = api.principal("ci", READER)
    clock.advance(YEAR)
    code, _, err = run(api, "group", "list", token=ci.token)
    assert code == 1
    assert err.startswith(
        "ERROR: (ExpiredAuthenticationToken) The access token expiry UTC time "
        f"'{clock.iso(clock.now())}' is earlier than current UTC time "
        f"'{clock.iso(clock.now())}'. Ask an administrator for a new token (acrctl ad sp "
        f"credential reset --id {ci.id}), then log in with it (acrctl account login).\n"
    )
