"""`acrctl config` and the precedence it feeds: flag > ACRCTL_* env > config file > default."""

from __future__ import annotations

import importlib.util
import json
import os
import stat
from typing import Any

import pytest
from click.testing import CliRunner

from acrctl.cli import config
from acrctl.cli.main import cli
from acrctl.testing import AcrctlMock


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


def ok(*args: str, env: dict[str, str] | None = None) -> Any:
    code, out, err = run(*args, env=env)
    assert code == 0, err
    return json.loads(out) if out.strip().startswith(("{", "[")) else out


@pytest.fixture
def two_groups(acrctl_mock: AcrctlMock) -> AcrctlMock:
    client = acrctl_mock.client()
    for rg, reg, location in (("rg1", "regone1", "westus"), ("rg2", "regtwo2", "eastus")):
        client.create_group(rg, location)
        client.create_registry(
            rg, reg, {"location": location, "sku": {"name": "Premium"}, "properties": {}}
        )
    client.close()
    return acrctl_mock


def names(doc: Any) -> list[str]:
    return sorted(r["name"] for r in doc)


# -- set / get / unset ----------------------------------------------------------------------------
def test_set_get_unset_round_trip() -> None:
    assert run("config", "set", "defaults.group=rg1", "core.output=TABLE") == (0, "", "")
    assert ok("config", "get", "defaults.group", "-o", "json") == {
        "name": "defaults.group",
        "value": "rg1",
        "source": "file",
    }
    assert ok("config", "get", "-o", "json") == [
        {"name": "core.output", "value": "table", "source": "file"},
        {"name": "defaults.group", "value": "rg1", "source": "file"},
    ]
    assert run("config", "unset", "defaults.group", "core.output") == (0, "", "")
    assert ok("config", "get") == []
    assert config.items() == {}


def test_the_file_is_private() -> None:
    ok("config", "set", "defaults.registry=myreg1")
    mode = stat.S_IMODE(os.stat(config.config_path()).st_mode)
    assert mode == 0o600


def test_get_reports_the_environment_as_source(monkeypatch: pytest.MonkeyPatch) -> None:
    ok("config", "set", "defaults.group=rg1", "defaults.location=westus")
    monkeypatch.setenv("ACRCTL_DEFAULTS_GROUP", "rg-env")
    monkeypatch.setenv("ACRCTL_ENDPOINT", "http://127.0.0.1:1")
    assert ok("config", "get", "defaults.group", "-o", "json") == {
        "name": "defaults.group",
        "value": "rg-env",
        "source": "env",
    }
    assert ok("config", "get", "-o", "json") == [
        {"name": "core.endpoint", "value": "http://127.0.0.1:1", "source": "env"},
        {"name": "defaults.group", "value": "rg-env", "source": "env"},
        {"name": "defaults.location", "value": "westus", "source": "file"},
    ]


def test_get_table_output() -> None:
    ok("config", "set", "defaults.group=rg1")
    out = ok("config", "get", "-o", "table")
    assert out.splitlines()[0].split() == ["Name", "Value", "Source"]
    assert out.splitlines()[2].split() == ["defaults.group", "rg1", "file"]


def test_get_of_an_unset_key_fails() -> None:
    code, out, err = run("config", "get", "defaults.registry")
    assert (code, out) == (1, "")
    assert err == "ERROR: Configuration 'defaults.registry' is not set.\n"


def test_an_empty_value_removes_the_key() -> None:
    ok("config", "set", "defaults.group=rg1")
    ok("config", "set", "defaults.group=")
    assert config.items() == {}


@pytest.mark.parametrize(
    "args",
    [
        ("set", "defaults.webapp=myapp1"),  # (defaults.acr is az's name of defaults.registry)
        ("set", "defaults.group=rg1", "nosuch.key=1"),
        ("get", "nosuch.key"),
        ("unset", "defaults.group", "nosuch.key"),
    ],
)
def test_unknown_key_is_a_usage_error_and_changes_nothing(args: tuple[str, ...]) -> None:
    code, out, err = run("config", *args)
    assert (code, out) == (2, "")
    assert err.startswith("ERROR: Unknown configuration key '")
    assert "Known keys: core.endpoint, core.output" in err
    assert config.items() == {}


@pytest.mark.parametrize(
    "pair, message",
    [
        (
            "core.output=xml",
            "Invalid value 'xml' for core.output. Allowed values: json, jsonc, "
            "yaml, yamlc, table, tsv, none.",
        ),
        ("core.endpoint=localhost:8080", "Invalid value 'localhost:8080' for core.endpoint"),
        (
            "core.token_store=vault",
            "Invalid value 'vault' for core.token_store. Allowed values: keyring, file.",
        ),
        ("defaults.group", "Expected KEY=VALUE, got 'defaults.group'."),
    ],
)
def test_invalid_values_are_usage_errors(pair: str, message: str) -> None:
    code, _, err = run("config", "set", pair)
    assert code == 2
    assert err.startswith(f"ERROR: {message}")
    assert config.items() == {}


def test_set_and_unset_need_arguments() -> None:
    assert run("config", "set")[0] == 2
    assert run("config", "unset")[0] == 2


# -- precedence: flag > env > file > default ---------------------------------------------------
def test_defaults_group_precedence(two_groups: AcrctlMock) -> None:
    assert names(ok("list")) == ["regone1", "regtwo2"]  # built-in default: every group
    ok("config", "set", "defaults.group=rg1")
    assert names(ok("list")) == ["regone1"]  # file
    env = {"ACRCTL_DEFAULTS_GROUP": "rg2"}
    assert names(ok("list", env=env)) == ["regtwo2"]  # env beats file
    assert names(ok("list", "-g", "rg1", env=env)) == ["regone1"]  # flag beats env


def test_defaults_group_is_used_by_show(two_groups: AcrctlMock) -> None:
    ok("config", "set", "defaults.group=rg2")
    assert run("show", "-n", "regone1")[0] == 3  # looked in rg2, not discovered
    assert ok("show", "-n", "regone1", "-g", "rg1")["resourceGroup"] == "rg1"


def test_core_output_precedence(two_groups: AcrctlMock) -> None:
    ok("config", "set", "core.output=table")
    out = ok("list")
    assert out.splitlines()[0].split()[:3] == ["NAME", "RESOURCE", "GROUP"]
    assert ok("list", "--query", "[].name", "-o", "json") == ["regone1", "regtwo2"]  # flag
    env = {"ACRCTL_CORE_OUTPUT": "tsv"}
    assert ok("list", "--query", "[].name", env=env) == "regone1\nregtwo2\n"  # env over file


def test_defaults_location_is_used_by_group_create(acrctl_mock: AcrctlMock) -> None:
    ok("config", "set", "defaults.location=eastus")
    assert ok("group", "create", "-n", "rg9")["location"] == "eastus"
    assert ok("group", "create", "-n", "rg8", "-l", "westus")["location"] == "westus"


@pytest.mark.skipif(
    importlib.util.find_spec("acrctl.cli.replication") is None, reason="no replication group yet"
)
def test_defaults_registry_is_used_by_child_commands(two_groups: AcrctlMock) -> None:
    assert run("replication", "list")[0] == 2  # -r is required without a default
    ok("config", "set", "defaults.registry=regone1")
    assert [r["name"] for r in ok("replication", "list")] == ["westus"]
    env = {"ACRCTL_DEFAULTS_REGISTRY": "regtwo2"}
    assert [r["name"] for r in ok("replication", "list", env=env)] == ["eastus"]
