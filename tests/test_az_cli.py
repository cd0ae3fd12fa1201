"""The real Azure CLI (az 2.91.0 from .venv-az, tests/install_az.sh) against a real
`acrctl server` over TLS: set up as docs/azure-cli.md says, logged in as a service principal
minted with `acrctl ad sp create-for-rbac`, then az's acr, replication and webhook commands
with and without `-g`, a Reader's refused write, a wrong secret, the managed identity, and
no request the server could not route.

Select with `pytest -m az`. Without .venv-az the tests fail, saying how to install it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.register_assert_rewrite("az_harness")
pytest_plugins = ("az_harness",)

from az_harness import Az, AzServer  # noqa: E402

pytestmark = pytest.mark.az

HOOK_URI = "http://127.0.0.1:9/hook"


def run_json(az: Az, *args: str) -> Any:
    return az.run(*args, "-o", "json").ok().json


@pytest.fixture(scope="module")
def group(az: Az) -> str:
    out = run_json(az, "group", "create", "-n", "azrg1", "-l", "westus")
    assert out["properties"]["provisioningState"] == "Succeeded", out
    return "azrg1"


@pytest.mark.parametrize("with_group", [True, False], ids=["with-g", "without-g"])
def test_the_az_script(az: Az, group: str, with_group: bool) -> None:
    """The issue's script; without -g az finds the registry's group through
    GET /subscriptions/{sub}/resources."""
    name = "azscript1" if with_group else "azscript2"
    g = ["-g", group] if with_group else []
    reg = ["-r", name, *g]

    created = run_json(
        az, "acr", "create", "-n", name, "-g", group, "--sku", "Premium", "-l", "westus"
    )
    assert (created["name"], created["sku"]["name"], created["provisioningState"]) == (
        name,
        "Premium",
        "Succeeded",
    )
    assert created["loginServer"] == f"{name}.azurecr.io"
    assert name in [r["name"] for r in run_json(az, "acr", "list", *g)]
    shown = run_json(az, "acr", "show", "-n", name, *g)
    assert (shown["id"], shown["resourceGroup"]) == (created["id"], group)

    repl = run_json(az, "acr", "replication", "create", *reg, "-l", "eastus")
    assert (repl["name"], repl["location"], repl["provisioningState"]) == (
        "eastus",
        "eastus",
        "Succeeded",
    )
    listed = run_json(az, "acr", "replication", "list", *reg)
    assert sorted(r["location"] for r in listed) == ["eastus", "westus"]
    assert run_json(az, "acr", "replication", "show", "-n", "eastus", *reg)["id"] == repl["id"]
    updated = run_json(
        az,
        "acr",
        "replication",
        "update",
        "-n",
        "eastus",
        *reg,
        "--global-endpoint-routing",
        "false",
    )
    assert updated["regionEndpointEnabled"] is False
    az.run("acr", "replication", "delete", "-n", "eastus", *reg).ok()
    assert [r["location"] for r in run_json(az, "acr", "replication", "list", *reg)] == ["westus"]

    hook = run_json(
        az, "acr", "webhook", "create", "-n", "hook1", *reg, "--uri", HOOK_URI, "--actions", "push"
    )
    assert (hook["name"], hook["actions"], hook["status"]) == ("hook1", ["push"], "enabled")
    assert [h["name"] for h in run_json(az, "acr", "webhook", "list", *reg)] == ["hook1"]
    ping = run_json(az, "acr", "webhook", "ping", "-n", "hook1", *reg)
    events = run_json(az, "acr", "webhook", "list-events", "-n", "hook1", *reg)
    assert ping["id"] in [e["id"] for e in events]
    config = run_json(az, "acr", "webhook", "get-config", "-n", "hook1", *reg)
    assert config["serviceUri"] == HOOK_URI

    upgraded = run_json(az, "acr", "update", "-n", name, *g, "--sku", "Standard")
    assert upgraded["sku"]["name"] == "Standard"
    usage = run_json(az, "acr", "show-usage", "-n", name, *g)
    assert {u["name"] for u in usage["value"]} >= {"Size", "Webhooks"}
    check = run_json(az, "acr", "check-name", "-n", name)
    assert (check["nameAvailable"], check["reason"]) == (False, "AlreadyExists")
    az.run("acr", "delete", "-n", name, *g, "--yes").ok()
    gone = az.run("acr", "show", "-n", name, *g)
    if with_group:
        assert gone.rc == 3, gone.describe()
        assert gone.stderr.startswith(
            "ERROR: (ResourceNotFound) The Resource "
            f"'Microsoft.ContainerRegistry/registries/{name}' "
            f"under resource group '{group}' was not found."
        ), gone.stderr
    else:  # az's own lookup through /resources finds nothing: its CLIError, exit 1
        assert gone.rc == 1, gone.describe()
        assert gone.stderr == (
            f"ERROR: The resource with name '{name}' and type "
            "'Microsoft.ContainerRegistry/registries' could not be found "
            f"in subscription 'acrctl ({az.server.subscription})'.\n"
        )
    assert run_json(az, "acr", "check-name", "-n", name)["nameAvailable"] is True


def test_a_readers_write_is_refused(az_server: AzServer, group: str, tmp_path: Path) -> None:
    reader = az_server.create_sp("az-reader", "Reader")
    client = Az(az_server, tmp_path / "az-reader")
    client.setup_cloud()
    client.login_sp(reader["appId"], reader["password"]).ok()
    assert client.run("acr", "list", "-o", "json").ok().json is not None
    refused = client.run("acr", "create", "-n", "readerreg1", "-g", group, "--sku", "Basic")
    assert refused.rc == 1, refused.describe()
    assert "(AuthorizationFailed)" in refused.stderr, refused.stderr
    assert (
        f"The client 'az-reader' with object id '{reader['appId']}' does not have "
        "authorization to perform action 'Microsoft.ContainerRegistry/registries/write'"
        in refused.stderr
    ), refused.stderr


def test_a_wrong_secret_fails_login(
    az_server: AzServer, az_principal: dict[str, str], tmp_path: Path
) -> None:
    client = Az(az_server, tmp_path / "az-wrong")
    client.setup_cloud()
    out = client.login_sp(az_principal["appId"], "acr_not_the_secret")
    assert out.rc == 1, out.describe()
    assert "AADSTS7000215: Invalid client secret provided." in out.stderr, out.stderr


@pytest.fixture(scope="module")
def mi_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AzServer]:
    """A second server whose settings make principal `az-mi` its managed identity."""
    tmp = tmp_path_factory.mktemp("az-mi-server")
    config = tmp / "server.toml"
    config.write_text(
        '[settings]\nmanaged_identity_header = "mi-header-secret-1"\n'
        'managed_identity_principal = "az-mi"\n'
    )
    server = AzServer(tmp, extra_args=["--config", str(config)])
    yield server
    server.stop()


def test_login_with_the_managed_identity(mi_server: AzServer, tmp_path: Path) -> None:
    mi = mi_server.create_sp("az-mi", "Contributor")
    client = Az(mi_server, tmp_path / "az-mi")
    client.setup_cloud()
    env = {
        "IDENTITY_ENDPOINT": f"{mi_server.url}/msi/token",
        "IDENTITY_HEADER": "mi-header-secret-1",
    }
    login = client.run("login", "--identity", "-o", "json", env=env).ok()
    account = login.json[0]
    assert (account["tenantId"], account["user"]["type"]) == (mi_server.tenant, "servicePrincipal")
    out = client.run("group", "create", "-n", "mirg1", "-l", "westus", "-o", "json", env=env)
    assert out.ok().json["name"] == "mirg1"
    assert mi_server.unmatched() == []
    assert mi["appId"]


def test_every_request_had_a_route(az_server: AzServer, az: Az) -> None:
    """Runs last in this module: nothing az sent in it answered "No route matches"."""
    seen = az_server.requests()
    assert len(seen) > 20
    assert az_server.unmatched() == [], describe(az_server.unmatched())


def describe(rows: list[dict[str, Any]]) -> str:
    return "\n".join(
        f"{r['method']} status {r['status']} request id {r['request_id']}" for r in rows
    )
