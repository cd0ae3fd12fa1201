"""Data endpoints in management (issue 17): dataEndpointHostNames follow the replica regions
while dataEndpointEnabled; `acrctl show-endpoints` in az's shape."""

from __future__ import annotations

import json

from click.testing import CliRunner

from acrctl.cli.main import cli
from acrctl.testing import AcrctlMock


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def premium(name: str = "contoso5") -> None:
    assert run("group", "create", "-n", "rg1", "-l", "westus")[0] == 0
    assert run("create", "-n", name, "-g", "rg1", "--sku", "Premium")[0] == 0


def test_enabling_data_endpoints_names_one_host_per_region(acrctl_mock: AcrctlMock) -> None:
    premium()
    assert run("replication", "create", "-r", "contoso5", "-l", "eastus")[0] == 0
    code, out, _ = run("update", "-n", "contoso5", "--data-endpoint-enabled", "true")
    assert code == 0
    doc = json.loads(out)
    assert doc["dataEndpointEnabled"] is True
    assert doc["dataEndpointHostNames"] == [
        "contoso5.eastus.data.azurecr.io",
        "contoso5.westus.data.azurecr.io",
    ]


def test_host_names_follow_replicas_created_and_deleted(acrctl_mock: AcrctlMock) -> None:
    premium()
    run("update", "-n", "contoso5", "--data-endpoint-enabled", "true")
    assert run("replication", "create", "-r", "contoso5", "-l", "northeurope")[0] == 0
    hosts = ("show", "-n", "contoso5", "--query", "dataEndpointHostNames", "-o", "tsv")
    assert (
        run(*hosts)[1] == "contoso5.northeurope.data.azurecr.io\ncontoso5.westus.data.azurecr.io\n"
    )
    assert run("replication", "delete", "-r", "contoso5", "-n", "northeurope")[0] == 0
    assert run(*hosts)[1] == "contoso5.westus.data.azurecr.io\n"


def test_disabling_data_endpoints_empties_the_host_names(acrctl_mock: AcrctlMock) -> None:
    premium()
    run("update", "-n", "contoso5", "--data-endpoint-enabled", "true")
    code, out, _ = run("update", "-n", "contoso5", "--data-endpoint-enabled", "false")
    assert code == 0
    assert json.loads(out)["dataEndpointHostNames"] == []


def test_data_endpoints_need_premium(acrctl_mock: AcrctlMock) -> None:
    run("group", "create", "-n", "rg1", "-l", "westus")
    run("create", "-n", "basic5", "-g", "rg1", "--sku", "Basic")
    code, out, err = run("update", "-n", "basic5", "--data-endpoint-enabled", "true")
    assert (code, out) == (1, "")
    assert err == (
        "ERROR: (DataEndpointNotSupportedForSku) Dedicated data endpoints are only supported "
        "for registries in Premium SKU.\nCode: DataEndpointNotSupportedForSku\nMessage: "
        "Dedicated data endpoints are only supported for registries in Premium SKU.\n"
    )


def test_show_endpoints_lists_each_data_endpoint(acrctl_mock: AcrctlMock) -> None:
    premium()
    run("replication", "create", "-r", "contoso5", "-l", "eastus")
    run("update", "-n", "contoso5", "--data-endpoint-enabled", "true")
    code, out, err = run("show-endpoints", "-n", "contoso5")
    assert (code, err) == (0, "")
    assert json.loads(out) == {
        "loginServer": "contoso5.azurecr.io",
        "dataEndpoints": [
            {"region": "eastus", "endpoint": "contoso5.eastus.data.azurecr.io"},
            {"region": "westus", "endpoint": "contoso5.westus.data.azurecr.io"},
        ],
    }


def test_show_endpoints_table_has_az_columns(acrctl_mock: AcrctlMock) -> None:
    premium()
    run("update", "-n", "contoso5", "--data-endpoint-enabled", "true")
    code, out, _ = run("show-endpoints", "-n", "contoso5", "-o", "table")
    assert code == 0
    assert out.splitlines() == [
        "LoginServer          Region    Endpoint",
        "-------------------  --------  -------------------------------",
        "contoso5.azurecr.io  westus    contoso5.westus.data.azurecr.io",
    ]


def test_show_endpoints_without_data_endpoints_warns(acrctl_mock: AcrctlMock) -> None:
    premium()
    run("replication", "create", "-r", "contoso5", "-l", "eastus")
    code, out, err = run("show-endpoints", "-n", "contoso5")
    assert code == 0
    assert err == (
        "WARNING: To configure client firewall w/o using wildcard storage blob urls, use "
        '"acrctl update --name contoso5 --data-endpoint-enabled" to enable dedicated data '
        "endpoints.\n"
    )
    assert json.loads(out)["dataEndpoints"] == [
        {"region": "westus", "endpoint": "contoso5.azurecr.io"},
        {"region": "eastus", "endpoint": "contoso5.azurecr.io"},
    ]
