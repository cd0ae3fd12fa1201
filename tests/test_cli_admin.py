"""acrctl admin drill through CliRunner on the embedded backend (the `acrctl_mock` fixture's
state file): start, list, show and clear drills, and what other commands see meanwhile."""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner

from acrctl.cli.main import cli
from acrctl.testing import AcrctlMock


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def ok(*args: str) -> Any:
    code, out, err = run(*args)
    assert code == 0, err
    return json.loads(out) if out.strip() else None


@pytest.fixture
def world(acrctl_mock: AcrctlMock) -> AcrctlMock:
    """rg1 / Premium myreg1 homed in westus with a replica in eastus."""
    client = acrctl_mock.client()
    client.create_group("rg1", "westus")
    client.create_registry("rg1", "myreg1", {"location": "westus", "sku": {"name": "Premium"}})
    client.create_replication("rg1", "myreg1", "eastus", {"location": "eastus"})
    return acrctl_mock


def status(name: str) -> str:
    return str(
        ok("replication", "show", "-r", "myreg1", "-n", name, "--query", "status")["displayStatus"]
    )


def test_region_outage_defaults_and_az_shape(world: AcrctlMock) -> None:
    doc = ok("admin", "drill", "region-outage", "--region", "West US")
    assert doc["name"] == "region-outage-westus"
    assert (doc["kind"], doc["region"], doc["retryAfter"], doc["state"]) == (
        "RegionOutage",
        "westus",
        60,
        "Active",
    )
    assert doc["failReads"] is False
    assert "properties" not in doc


def test_home_region_outage_rehearsal(world: AcrctlMock) -> None:
    ok("admin", "drill", "region-outage", "-l", "westus", "--retry-after", "600")
    code, out, err = run("update", "-n", "myreg1", "-g", "rg1", "--tags", "a=b")
    assert (code, out) == (1, "")
    assert err.startswith(
        "ERROR: (RegionUnavailable) The region 'westus' is unavailable "
        "(failure drill 'region-outage-westus')."
    )
    assert ok("show", "-n", "myreg1", "-g", "rg1", "--query", "name") == "myreg1"
    code, out, _ = run("replication", "list", "-r", "myreg1", "-o", "table")
    assert code == 0
    rows = {line.split()[0]: line.split()[3] for line in out.splitlines()[2:]}
    assert rows == {"westus": "Unavailable", "eastus": "Ready"}
    cleared = ok("admin", "drill", "clear", "--name", "region-outage-westus")
    assert [d["name"] for d in cleared] == ["region-outage-westus"]
    assert ok("update", "-n", "myreg1", "-g", "rg1", "--tags", "a=b", "--query", "tags") == {
        "a": "b"
    }
    assert status("westus") == "Ready"


def test_replica_outage_shows_unavailable_and_management_works(world: AcrctlMock) -> None:
    doc = ok("admin", "drill", "replica-outage", "--region", "eastus")
    assert doc["name"] == "replica-outage-eastus"
    assert status("eastus") == "Unavailable"
    assert status("westus") == "Ready"
    assert ok("update", "-n", "myreg1", "-g", "rg1", "--tags", "x=y", "--query", "tags") == {
        "x": "y"
    }


def test_throttle_count_is_retried_by_the_cli(world: AcrctlMock) -> None:
    doc = ok(
        "admin",
        "drill",
        "throttle",
        "--count",
        "2",
        "--retry-after",
        "0",
        "--route",
        "registries/myreg1",
    )
    assert (doc["count"], doc["retryAfter"], doc["route"]) == (2, 0, "registries/myreg1")
    code, out, err = run("show", "-n", "myreg1", "-g", "rg1", "--query", "name")
    assert (code, json.loads(out)) == (0, "myreg1")
    assert err.count("WARNING: Server answered 429; retrying in 0s (Retry-After).") == 2
    shown = ok("admin", "drill", "show", "-n", "throttle")
    assert (shown["throttledRequests"], shown["state"]) == (2, "Exhausted")


def test_throttle_every_with_method_and_principal(world: AcrctlMock) -> None:
    doc = ok(
        "admin",
        "drill",
        "throttle",
        "--every",
        "3",
        "--method",
        "put",
        "--method",
        "PATCH",
        "--principal",
        "ci",
        "--name",
        "ci-writes",
    )
    assert (doc["name"], doc["every"], doc["methods"], doc["principal"]) == (
        "ci-writes",
        3,
        ["PATCH", "PUT"],
        "ci",
    )


def test_throttle_modes_are_exclusive(world: AcrctlMock) -> None:
    code, _, err = run("admin", "drill", "throttle", "--every", "2", "--count", "1")
    assert code == 2
    assert "usage error: --every | --count | --fraction" in err


def test_latency_and_list_table(world: AcrctlMock) -> None:
    doc = ok(
        "admin", "drill", "latency", "--ms", "1", "--route", "*/replications*", "--duration", "3600"
    )
    assert (doc["name"], doc["ms"], doc["durationSeconds"]) == ("latency", 1, 3600)
    assert "expiresAt" in doc
    assert ok("replication", "list", "-r", "myreg1", "--query", "length(@)") == 2
    ok("admin", "drill", "throttle", "--fraction", "0.5", "--retry-after", "3")
    code, out, _ = run("admin", "drill", "list", "-o", "table")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["NAME", "KIND", "STATE", "REGION", "DETAILS"]
    assert "1 ms; route */replications*; until" in lines[2]
    assert "fraction 0.5; retry-after 3s; throttled" in lines[3]
    assert ok("admin", "drill", "list", "--query", "[].name") == ["latency", "throttle"]


def test_latency_needs_ms_in_range(world: AcrctlMock) -> None:
    assert run("admin", "drill", "latency")[0] == 2
    assert run("admin", "drill", "latency", "--ms", "0")[0] == 2
    assert run("admin", "drill", "latency", "--ms", "60001")[0] == 2


def test_clear_all_and_usage(world: AcrctlMock) -> None:
    ok("admin", "drill", "replica-outage", "-l", "eastus")
    ok("admin", "drill", "latency", "--ms", "1")
    assert [d["name"] for d in ok("admin", "drill", "clear", "--all")] == [
        "replica-outage-eastus",
        "latency",
    ]
    assert ok("admin", "drill", "list") == []
    code, _, err = run("admin", "drill", "clear")
    assert code == 2 and "usage error: --name NAME | --all" in err
    assert run("admin", "drill", "clear", "--name", "x", "--all")[0] == 2


def test_clearing_a_missing_drill_warns(world: AcrctlMock) -> None:
    code, out, err = run("admin", "drill", "clear", "-n", "nosuch")
    assert (code, json.loads(out)) == (0, [])
    assert err == "WARNING: There is no failure drill named 'nosuch'; nothing to clear.\n"


def test_show_missing_drill_exits_3(world: AcrctlMock) -> None:
    code, _, err = run("admin", "drill", "show", "-n", "nosuch")
    assert code == 3
    assert err.startswith("ERROR: (DrillNotFound) There is no failure drill named 'nosuch'.")


def test_unknown_region_is_an_error(world: AcrctlMock) -> None:
    code, _, err = run("admin", "drill", "replica-outage", "--region", "atlantis")
    assert code == 1
    assert "(InvalidDrill) 'atlantis' is not a known region" in err
