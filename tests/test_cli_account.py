"""`acrctl account`: show and list-locations on the embedded backend (CliRunner), login and
logout against a real server on a free port (ThreadedServer)."""

from __future__ import annotations

import getpass
import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from acrctl.cli import config
from acrctl.cli.main import cli
from acrctl.server.serve import ThreadedServer
from acrctl.testing import AcrctlMock

NO_KEYRING = (
    "ERROR: No usable keyring backend was found, so the token was not stored. Set "
    "PYTHON_KEYRING_BACKEND to a working backend, use ACRCTL_TOKEN, or opt into a "
    "0600 file with 'acrctl account login --store file'.\n"
)


def run(*args: str, input: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), input=input)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def server() -> Iterator[ThreadedServer]:
    with ThreadedServer() as srv:
        yield srv


def login(srv: ThreadedServer, token: str | None = None, *extra: str) -> tuple[int, str, str]:
    return run(
        "account", "login", "--endpoint", srv.url, *extra, input=f"{token or srv.admin_token}\n"
    )


def config_dir() -> Path:
    return Path(os.environ["ACRCTL_CONFIG_DIR"])


# -- embedded ----------------------------------------------------------------------------------


def test_show_in_embedded_mode_names_the_local_user(acrctl_mock: AcrctlMock) -> None:
    code, out, _ = run("account", "show")
    assert code == 0
    sub = acrctl_mock.subscription
    assert json.loads(out) == {
        "endpoint": "embedded",
        "mode": "embedded",
        "subscription": sub,
        "user": {"name": getpass.getuser(), "type": "user"},
        # az's shape (issue 12 item 5) and the state file
        "id": sub,
        "name": "acrctl",
        "state": "Enabled",
        "tenantId": sub,
        "homeTenantId": sub,
        "isDefault": True,
        "environmentName": "AzureCloud",
        "managedByTenants": [],
        "stateFile": os.path.abspath(os.environ["ACRCTL_STATE"]),
    }


def test_list_locations_has_the_az_shape(acrctl_mock: AcrctlMock) -> None:
    code, out, _ = run("account", "list-locations", "--query", "[?name=='eastus'] | [0]")
    assert code == 0
    doc = json.loads(out)
    assert doc["id"] == f"/subscriptions/{acrctl_mock.subscription}/locations/eastus"
    assert (doc["displayName"], doc["regionalDisplayName"]) == ("East US", "(US) East US")
    assert {"latitude", "longitude"} <= set(doc["metadata"])


def test_list_locations_table_columns(acrctl_mock: AcrctlMock) -> None:
    code, out, _ = run("account", "list-locations", "-o", "table")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["DisplayName", "Name", "RegionalDisplayName"]
    assert len(lines) > 50


# -- login -------------------------------------------------------------------------------------


def test_login_with_file_store_writes_a_0600_token_file(server: ThreadedServer) -> None:
    assert login(server, None, "--store", "file")[0] == 0
    path = config_dir() / "tokens.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text()) == {server.url: server.admin_token}


def test_after_login_commands_use_the_stored_token(server: ThreadedServer) -> None:
    login(server, None, "--store", "file")
    assert "ACRCTL_TOKEN" not in os.environ
    assert run("list") == (0, "[]\n", "")


def test_login_prints_whoami(server: ThreadedServer) -> None:
    code, out, _ = login(server, None, "--store", "file")
    assert code == 0
    doc = json.loads(out)
    assert (doc["displayName"], doc["type"]) == ("admin", "User")


def test_login_sets_endpoint_and_subscription(server: ThreadedServer) -> None:
    login(server, None, "--store", "file")
    assert config.get("core.endpoint") == server.url
    assert config.get("core.subscription") == server.subscription


def test_login_without_keyring_fails_and_stores_nothing(server: ThreadedServer) -> None:
    assert login(server) == (1, "", NO_KEYRING)
    assert not config_dir().exists()


def test_login_with_a_bad_token_fails_and_stores_nothing(server: ThreadedServer) -> None:
    code, _, err = login(server, "acr_wrong", "--store", "file")
    assert code == 1
    assert err.startswith("ERROR: (InvalidAuthenticationToken) The access token is invalid")
    assert not config_dir().exists()


def test_login_needs_an_endpoint(acrctl_mock: AcrctlMock) -> None:
    code, _, err = run("account", "login", input="token\n")
    assert code == 2
    assert err.startswith("ERROR: the following arguments are required: --endpoint\n")


def test_login_needs_a_token_on_stdin(server: ThreadedServer) -> None:
    code, _, err = login(server, " ", "--store", "file")
    assert code == 2
    assert err.startswith("ERROR: No token was given: type it at the prompt or pipe it on stdin.\n")


def test_login_never_takes_the_token_from_argv(server: ThreadedServer) -> None:
    code, _, err = run("account", "login", "--endpoint", server.url, "--token", "x")
    assert code == 2
    assert err.startswith("ERROR: unrecognized arguments: --token\n")


def test_show_in_server_mode_names_the_principal(server: ThreadedServer) -> None:
    login(server, None, "--store", "file")
    code, out, _ = run("account", "show")
    assert code == 0
    sub = server.subscription
    assert json.loads(out) == {
        "endpoint": server.url,
        "mode": "server",
        "subscription": sub,
        "user": {"name": "admin", "type": "user"},
        # az's shape (issue 12 item 5)
        "id": sub,
        "name": "acrctl",
        "state": "Enabled",
        "tenantId": sub,
        "homeTenantId": sub,
        "isDefault": True,
        "environmentName": "AzureCloud",
        "managedByTenants": [],
    }


# -- logout ------------------------------------------------------------------------------------


def test_logout_forgets_token_and_endpoint(server: ThreadedServer) -> None:
    login(server, None, "--store", "file")
    assert run("account", "logout") == (0, "", "")
    assert config.get("core.endpoint") is None
    assert config.get("core.subscription") is None
    assert json.loads((config_dir() / "tokens.json").read_text()) == {}


def test_logout_without_a_login_fails(acrctl_mock: AcrctlMock) -> None:
    assert run("account", "logout") == (
        1,
        "",
        "ERROR: There is no login to log out of: no endpoint is configured.\n",
    )
