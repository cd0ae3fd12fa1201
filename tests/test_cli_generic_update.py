"""az's generic update arguments (--set/--add/--remove/--force-string) on the three update
commands, and the global policy arguments on write commands, through CliRunner on the
embedded backend. A spy on the client records the PATCH body each update sends."""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner

from acrctl.cli.main import cli
from acrctl.client.acr import AcrClient
from acrctl.testing import AcrctlMock


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """The PATCH bodies the update commands send, in order."""
    bodies: list[dict[str, Any]] = []
    for method in ("update_registry", "update_replication", "update_webhook"):
        original = getattr(AcrClient, method)

        def spy(self: AcrClient, *args: Any, _orig: Any = original, **kw: Any) -> Any:
            bodies.append(json.loads(json.dumps(args[-1])))
            return _orig(self, *args, **kw)

        monkeypatch.setattr(AcrClient, method, spy)
    return bodies


def seed(mock: AcrctlMock, sku: str) -> AcrClient:
    client = mock.client()
    client.create_group("rg1", "westus")
    client.create_registry(
        "rg1", "myreg1", {"location": "westus", "sku": {"name": sku}, "properties": {}}
    )
    return client


@pytest.fixture
def basic(acrctl_mock: AcrctlMock) -> AcrctlMock:
    seed(acrctl_mock, "Basic")
    return acrctl_mock


@pytest.fixture
def premium(acrctl_mock: AcrctlMock) -> AcrctlMock:
    client = seed(acrctl_mock, "Premium")
    client.update_registry(
        "rg1",
        "myreg1",
        {"properties": {"networkRuleSet": {"ipRules": [{"action": "Allow", "value": "10.0.0.1"}]}}},
    )
    client.create_replication("rg1", "myreg1", "eastus", {"location": "eastus", "properties": {}})
    client.create_webhook(
        "rg1",
        "myreg1",
        "hook1",
        {
            "location": "westus",
            "properties": {
                "serviceUri": "http://example.invalid",
                "actions": ["push"],
                "status": "enabled",
            },
        },
    )
    return acrctl_mock


def registry(mock: AcrctlMock) -> dict[str, Any]:
    found = mock.backend.registries.find("myreg1")
    assert found is not None
    return found


# -- acrctl update ---------------------------------------------------------------------------
def test_set_sku_name_upgrades_with_a_patch_of_only_the_sku(
    basic: AcrctlMock, sent: list[dict[str, Any]]
) -> None:
    code, out, err = run(
        "update", "-n", "myreg1", "--set", "sku.name=Premium", "--query", "sku.name", "-o", "tsv"
    )
    assert (code, out, err) == (0, "Premium\n", "")
    assert sent == [{"sku": {"name": "Premium"}}]


def test_set_tag(basic: AcrctlMock, sent: list[dict[str, Any]]) -> None:
    code, out, _ = run("update", "-n", "myreg1", "--set", "tags.a=b", "--query", "tags")
    assert (code, json.loads(out)) == (0, {"a": "b"})
    assert sent == [{"tags": {"a": "b"}}]


def test_set_top_level_property_lands_under_properties_as_json(
    basic: AcrctlMock, sent: list[dict[str, Any]]
) -> None:
    code, out, _ = run(
        "update", "-n", "myreg1", "--set", "adminUserEnabled=true", "--query", "adminUserEnabled"
    )
    assert (code, out) == (0, "true\n")
    assert sent == [{"properties": {"adminUserEnabled": True}}]


def test_set_accepts_az_snake_case_names(basic: AcrctlMock, sent: list[dict[str, Any]]) -> None:
    assert run("update", "-n", "myreg1", "--set", "admin_user_enabled=true")[0] == 0
    assert sent == [{"properties": {"adminUserEnabled": True}}]


def test_add_appends_to_the_current_ip_rules(
    premium: AcrctlMock, sent: list[dict[str, Any]]
) -> None:
    code, out, _ = run(
        "update",
        "-n",
        "myreg1",
        "--add",
        "networkRuleSet.ipRules",
        "value=1.2.3.4",
        "--query",
        "networkRuleSet.ipRules[].ipAddressOrRange",
    )
    assert (code, json.loads(out)) == (0, ["10.0.0.1", "1.2.3.4"])
    assert sent == [
        {
            "properties": {
                "networkRuleSet": {
                    "ipRules": [{"action": "Allow", "value": "10.0.0.1"}, {"value": "1.2.3.4"}]
                }
            }
        }
    ]


def test_remove_drops_an_ip_rule_by_index(premium: AcrctlMock) -> None:
    code, out, _ = run(
        "update",
        "-n",
        "myreg1",
        "--remove",
        "networkRuleSet.ipRules",
        "0",
        "--query",
        "networkRuleSet.ipRules",
    )
    assert (code, json.loads(out)) == (0, [])
    assert registry(premium)["properties"]["networkRuleSet"]["ipRules"] == []


def test_remove_index_out_of_range_exits_2(premium: AcrctlMock) -> None:
    code, out, err = run("update", "-n", "myreg1", "--remove", "networkRuleSet.ipRules", "3")
    assert (code, out) == (2, "")
    assert err == (
        "ERROR: --remove: index 3 is out of range for "
        "'properties.networkRuleSet.ipRules' (1 items).\n"
    )


def test_remove_missing_key_exits_2(basic: AcrctlMock) -> None:
    code, _, err = run("update", "-n", "myreg1", "--remove", "tags", "nosuchtag")
    assert code == 2
    assert err == "ERROR: --remove: 'tags' has no key 'nosuchtag'.\n"


def test_force_string_keeps_the_value_a_string(
    basic: AcrctlMock, sent: list[dict[str, Any]]
) -> None:
    code, out, _ = run(
        "update", "-n", "myreg1", "--set", "tags.build=5", "--force-string", "--query", "tags"
    )
    assert (code, json.loads(out)) == (0, {"build": "5"})
    assert sent == [{"tags": {"build": "5"}}]


def test_bad_path_exits_2(basic: AcrctlMock, sent: list[dict[str, Any]]) -> None:
    code, out, err = run("update", "-n", "myreg1", "--set", "sku..name=Premium")
    assert (code, out) == (2, "")
    assert err == "ERROR: --set: invalid property path 'sku..name'.\n"
    assert sent == []


def test_set_without_equals_exits_2(basic: AcrctlMock) -> None:
    code, _, err = run("update", "-n", "myreg1", "--set", "adminUserEnabled")
    assert code == 2
    assert err == "ERROR: --set: expected KEY=VALUE, got 'adminUserEnabled'.\n"


def test_set_invalid_sku_fails_with_az_message(basic: AcrctlMock) -> None:
    code, _, err = run("update", "-n", "myreg1", "--set", "sku.name=Gold")
    assert code == 1
    assert err == (
        "ERROR: Please specify SKU by '--sku SKU' or '--set sku.name=SKU'. "
        "Allowed SKUs: ['Basic', 'Standard', 'Premium']\n"
    )


# -- acrctl replication update ---------------------------------------------------------------
def test_replication_set_region_endpoint_enabled(
    premium: AcrctlMock, sent: list[dict[str, Any]]
) -> None:
    code, out, _ = run(
        "replication",
        "update",
        "-r",
        "myreg1",
        "-n",
        "eastus",
        "--set",
        "regionEndpointEnabled=false",
        "--query",
        "regionEndpointEnabled",
    )
    assert (code, out) == (0, "false\n")
    assert sent == [{"properties": {"regionEndpointEnabled": False}}]


def test_replication_set_of_other_properties_is_dropped(
    premium: AcrctlMock, sent: list[dict[str, Any]]
) -> None:
    code, out, err = run(
        "replication",
        "update",
        "-r",
        "myreg1",
        "-n",
        "eastus",
        "--set",
        "foo=bar",
        "zoneRedundancy=Enabled",
    )
    assert (code, err) == (0, "")
    assert "foo" not in json.loads(out)
    assert sent == [{}]


# -- acrctl webhook update -------------------------------------------------------------------
def test_webhook_set_scope(premium: AcrctlMock, sent: list[dict[str, Any]]) -> None:
    code, out, _ = run(
        "webhook",
        "update",
        "-r",
        "myreg1",
        "-n",
        "hook1",
        "--set",
        "scope=repo:*",
        "--query",
        "scope",
        "-o",
        "tsv",
    )
    assert (code, out) == (0, "repo:*\n")
    assert sent == [{"properties": {"scope": "repo:*"}}]


# -- global policy arguments -----------------------------------------------------------------
def test_policy_arguments_are_accepted_and_ignored(
    basic: AcrctlMock, sent: list[dict[str, Any]]
) -> None:
    code, out, err = run(
        "update",
        "-n",
        "myreg1",
        "--set",
        "tags.a=b",
        "--acquire-policy-token",
        "--change-reference",
        "CR-1",
        "--query",
        "tags.a",
        "-o",
        "tsv",
    )
    assert (code, out, err) == (0, "b\n", "")
    assert sent == [{"tags": {"a": "b"}}]


@pytest.mark.parametrize(
    "command",
    [
        ["create"],
        ["update"],
        ["delete"],
        ["replication", "create"],
        ["replication", "update"],
        ["replication", "delete"],
        ["webhook", "create"],
        ["webhook", "update"],
        ["webhook", "delete"],
    ],
)
def test_write_commands_document_the_policy_arguments(command: list[str]) -> None:
    code, out, _ = run(*command, "--help")
    assert code == 0
    assert "--acquire-policy-token" in out and "--change-reference ID" in out
    assert " ".join(out.split()).count("acrctl has no Azure Policy") == 2
