"""The registry commands (az acr's top level) through CliRunner on the embedded backend."""

from __future__ import annotations

import json

from click.testing import CliRunner

from acrctl.cli.main import cli
from acrctl.testing import AcrctlMock


def run(*args: str, input: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), input=input)
    return result.exit_code, result.stdout, result.stderr


def test_create_prints_the_registry_in_az_shape(acrctl_mock: AcrctlMock) -> None:
    assert run("group", "create", "-n", "rg1", "-l", "westus")[0] == 0
    code, out, _ = run("create", "-n", "myreg1", "-g", "rg1", "--sku", "Basic")
    assert code == 0
    doc = json.loads(out)
    assert doc["loginServer"] == "myreg1.azurecr.io"
    assert doc["resourceGroup"] == "rg1"
    assert doc["sku"] == {"name": "Basic", "tier": "Basic"}
    assert doc["provisioningState"] == "Succeeded"
    assert "properties" not in doc


def test_show_missing_registry_with_group_exits_3(acrctl_mock: AcrctlMock) -> None:
    run("group", "create", "-n", "rg1", "-l", "westus")
    code, out, err = run("show", "-n", "nosuchreg", "-g", "rg1")
    assert code == 3
    assert out == ""
    assert err.startswith(
        "ERROR: (ResourceNotFound) The Resource "
        "'Microsoft.ContainerRegistry/registries/nosuchreg' under resource "
        "group 'rg1' was not found."
    )


def test_show_without_group_discovers_it_or_exits_1(acrctl_mock: AcrctlMock) -> None:
    code, _, err = run("show", "-n", "nosuchreg")
    assert code == 1
    assert "could not be found in subscription" in err


def test_upgrade_to_premium_creates_the_home_replica(acrctl_mock: AcrctlMock) -> None:
    run("group", "create", "-n", "rg1", "-l", "westus")
    run("create", "-n", "myreg1", "-g", "rg1", "--sku", "Basic")
    code, out, _ = run(
        "update", "-n", "myreg1", "--sku", "Premium", "--query", "sku.name", "-o", "tsv"
    )
    assert (code, out) == (0, "Premium\n")
    reps, _ = acrctl_mock.backend.replications.list(acrctl_mock.subscription, "rg1", "myreg1")
    assert [r["name"] for r in reps] == ["westus"]


def test_delete_without_tty_or_yes_fails_with_az_message(acrctl_mock: AcrctlMock) -> None:
    code, _, err = run("delete", "-n", "myreg1")
    assert code == 1
    assert err == "ERROR: Unable to prompt for confirmation as no tty available. Use --yes.\n"


def test_delete_prints_nothing(acrctl_mock: AcrctlMock) -> None:
    run("group", "create", "-n", "rg1", "-l", "westus")
    run("create", "-n", "myreg1", "-g", "rg1", "--sku", "Basic")
    assert run("delete", "-n", "myreg1", "--yes") == (0, "", "")
    assert acrctl_mock.backend.registries.find("myreg1") is None


def test_missing_required_option_exits_2(acrctl_mock: AcrctlMock) -> None:
    code, _, err = run("create", "-n", "myreg1", "--sku", "Basic")
    assert code == 2
    assert err.startswith("ERROR: the following arguments are required: --resource-group/-g\n")


def test_bad_query_exits_2(acrctl_mock: AcrctlMock) -> None:
    code, _, err = run("list", "--query", "[?")
    assert code == 2
    assert "argument --query: invalid jmespath_type value: '[?'" in err
