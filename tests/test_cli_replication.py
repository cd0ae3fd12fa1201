"""acrctl replication (az acr replication + wait/map) through CliRunner on the embedded
backend. State is seeded through the mock's client; the CLI shares its state file."""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner

from acrctl.backend.clock import FakeClock
from acrctl.cli import replication
from acrctl.cli.main import cli
from acrctl.testing import AcrctlMock

PREMIUM_ONLY = "ERROR: Replications are only supported for managed registries in Premium SKU.\n"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def seed(mock: AcrctlMock, sku: str = "Premium", name: str = "myreg1") -> None:
    client = mock.client()
    client.create_group("rg1", "westus")
    client.create_registry(
        "rg1", name, {"location": "westus", "sku": {"name": sku}, "properties": {}}
    )


def replicas(mock: AcrctlMock) -> dict[str, dict[str, Any]]:
    docs, _ = mock.backend.replications.list(mock.subscription, "rg1", "myreg1")
    return {str(d["name"]): d for d in docs}


@pytest.fixture
def premium(acrctl_mock: AcrctlMock) -> AcrctlMock:
    seed(acrctl_mock)
    return acrctl_mock


@pytest.fixture
def with_eastus(premium: AcrctlMock) -> AcrctlMock:
    premium.client().create_replication("rg1", "myreg1", "eastus", {"location": "eastus"})
    return premium


@pytest.fixture
def shared(cli_on_mock: AcrctlMock) -> AcrctlMock:
    seed(cli_on_mock)
    return cli_on_mock


# -- create -----------------------------------------------------------------------------------
def test_create_prints_the_replication_in_az_shape(premium: AcrctlMock) -> None:
    code, out, err = run("replication", "create", "-r", "myreg1", "-l", "eastus")
    assert (code, err) == (0, "")
    doc = json.loads(out)
    assert doc["name"] == "eastus"
    assert doc["location"] == "eastus"
    assert doc["provisioningState"] == "Succeeded"
    assert doc["status"]["displayStatus"] == "Ready"
    assert doc["regionEndpointEnabled"] is True
    assert doc["resourceGroup"] == "rg1"
    assert doc["type"] == "Microsoft.ContainerRegistry/registries/replications"
    assert "properties" not in doc


def test_create_maps_a_display_name_and_names_the_replica_after_it(premium: AcrctlMock) -> None:
    code, out, _ = run(
        "replication",
        "create",
        "-r",
        "myreg1",
        "-l",
        "West Europe",
        "--query",
        "{n: name, l: location}",
        "-o",
        "tsv",
    )
    assert (code, out) == (0, "westeurope\twesteurope\n")


def test_create_with_an_explicit_name(premium: AcrctlMock) -> None:
    code, out, _ = run(
        "replication",
        "create",
        "-r",
        "myreg1",
        "-l",
        "eastus",
        "-n",
        "east1",
        "--query",
        "name",
        "-o",
        "tsv",
    )
    assert (code, out) == (0, "east1\n")


def test_create_location_from_config_default(
    premium: AcrctlMock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ACRCTL_DEFAULTS_LOCATION", "japaneast")
    code, out, _ = run("replication", "create", "-r", "myreg1", "--query", "name", "-o", "tsv")
    assert (code, out) == (0, "japaneast\n")


def test_create_without_location_exits_2(premium: AcrctlMock) -> None:
    code, out, err = run("replication", "create", "-r", "myreg1")
    assert (code, out) == (2, "")
    assert err.startswith("ERROR: the following arguments are required: --location/-l\n")


def test_create_on_a_basic_registry_exits_1(acrctl_mock: AcrctlMock) -> None:
    seed(acrctl_mock, sku="Basic")
    assert run("replication", "create", "-r", "myreg1", "-l", "eastus") == (1, "", PREMIUM_ONLY)


def test_create_in_the_home_location_exits_1(premium: AcrctlMock) -> None:
    code, out, err = run("replication", "create", "-r", "myreg1", "-l", "West US")
    assert (code, out) == (1, "")
    assert err == "ERROR: Replication could not be created in the same location as the registry.\n"


def test_create_in_an_unknown_location_is_refused_by_the_service(premium: AcrctlMock) -> None:
    code, _, err = run("replication", "create", "-r", "myreg1", "-l", "moonbase")
    assert code == 1
    assert err.startswith(
        "ERROR: (LocationNotAvailableForResourceType) The provided location "
        "'moonbase' is not available"
    )


def test_create_global_endpoint_routing_false(premium: AcrctlMock) -> None:
    code, out, _ = run(
        "replication",
        "create",
        "-r",
        "myreg1",
        "-l",
        "eastus",
        "--global-endpoint-routing",
        "false",
        "--query",
        "regionEndpointEnabled",
    )
    assert (code, out) == (0, "false\n")


def test_create_global_endpoint_routing_alone_means_true(premium: AcrctlMock) -> None:
    code, out, _ = run(
        "replication",
        "create",
        "-r",
        "myreg1",
        "-l",
        "eastus",
        "--global-endpoint-routing",
        "--query",
        "regionEndpointEnabled",
    )
    assert (code, out) == (0, "true\n")


def test_create_deprecated_alias_works_and_warns(premium: AcrctlMock) -> None:
    code, out, err = run(
        "replication",
        "create",
        "-r",
        "myreg1",
        "-l",
        "eastus",
        "--region-endpoint-enabled",
        "false",
        "--query",
        "regionEndpointEnabled",
    )
    assert (code, out) == (0, "false\n")
    assert err == (
        "WARNING: Option '--region-endpoint-enabled' has been deprecated and will be "
        "removed in a future release. Use '--global-endpoint-routing' instead.\n"
    )


def test_create_alias_and_flag_that_disagree_exit_2(premium: AcrctlMock) -> None:
    code, out, err = run(
        "replication",
        "create",
        "-r",
        "myreg1",
        "-l",
        "eastus",
        "--region-endpoint-enabled",
        "false",
        "--global-endpoint-routing",
        "true",
    )
    assert (code, out) == (2, "")
    assert "ERROR: usage error: --global-endpoint-routing and its deprecated alias " in err
    assert replicas(premium).keys() == {"westus"}


def test_create_bad_three_state_value_exits_2(premium: AcrctlMock) -> None:
    code, _, err = run(
        "replication",
        "create",
        "-r",
        "myreg1",
        "-l",
        "eastus",
        "--global-endpoint-routing",
        "maybe",
    )
    assert code == 2
    assert "'maybe' is not a valid value. Allowed values: false, true." in err


def test_create_zone_redundancy_warns_preview(premium: AcrctlMock) -> None:
    code, out, err = run(
        "replication",
        "create",
        "-r",
        "myreg1",
        "-l",
        "eastus",
        "--zone-redundancy",
        "enabled",
        "--query",
        "zoneRedundancy",
    )
    assert (code, out) == (0, '"Enabled"\n')
    assert err == (
        "WARNING: Argument '--zone-redundancy' is in preview and under development. "
        "Reference and support levels: https://aka.ms/CLI_refstatus\n"
    )


def test_create_zone_redundancy_bad_value_exits_2(premium: AcrctlMock) -> None:
    code, _, err = run(
        "replication", "create", "-r", "myreg1", "-l", "eastus", "--zone-redundancy", "maybe"
    )
    assert code == 2
    assert err == (
        "ERROR: 'maybe' is not a valid value for '--zone-redundancy'. "
        "Allowed values: Disabled, Enabled.\n"
    )


def test_create_tags(premium: AcrctlMock) -> None:
    code, out, _ = run(
        "replication",
        "create",
        "-r",
        "myreg1",
        "-l",
        "eastus",
        "--tags",
        "team=infra",
        "bare",
        "--query",
        "tags",
    )
    assert code == 0
    assert json.loads(out) == {"team": "infra", "bare": ""}


def test_create_with_login_server_name_warns_and_works(premium: AcrctlMock) -> None:
    code, _, err = run("replication", "create", "-r", "myreg1.azurecr.io", "-l", "eastus")
    assert code == 0
    assert err == (
        "WARNING: Registry name is 'myreg1'. The following suffix '.azurecr.io' is "
        "automatically omitted.\n"
    )


def test_create_with_a_wrong_group_exits_3(premium: AcrctlMock) -> None:
    premium.client().create_group("other1", "westus")
    code, _, err = run("replication", "create", "-r", "myreg1", "-g", "other1", "-l", "eastus")
    assert code == 3
    assert err.startswith("ERROR: (ResourceNotFound)")


def test_create_no_wait_prints_nothing_and_leaves_it_creating(shared: AcrctlMock) -> None:
    shared.backend.settings.lro_mode = "polls"
    assert run("replication", "create", "-r", "myreg1", "-l", "eastus", "--no-wait") == (0, "", "")
    props = stored(shared, "eastus")["properties"]
    assert props["provisioningState"] == "Creating"


def stored(mock: AcrctlMock, name: str) -> dict[str, Any]:
    """The replication as stored, without letting its operation progress."""
    from acrctl.backend import ids

    reg = mock.backend.registries.get(mock.subscription, "rg1", "myreg1")
    item = mock.backend.store.get("replication", ids.key(f"{reg['id']}/replications/{name}"))
    assert item is not None
    return item.doc


# -- list / show ------------------------------------------------------------------------------
def test_list_includes_the_home_replica(with_eastus: AcrctlMock) -> None:
    code, out, _ = run("replication", "list", "-r", "myreg1")
    assert code == 0
    assert [(d["name"], d["location"]) for d in json.loads(out)] == [
        ("westus", "westus"),
        ("eastus", "eastus"),
    ]


def test_list_table(with_eastus: AcrctlMock) -> None:
    code, out, _ = run("replication", "list", "-r", "myreg1", "-o", "table")
    assert code == 0
    assert out == (
        "NAME    LOCATION    PROVISIONING STATE    STATUS    REGION ENDPOINT ENABLED\n"
        "------  ----------  --------------------  --------  -------------------------\n"
        "westus  westus      Succeeded             Ready     True\n"
        "eastus  eastus      Succeeded             Ready     True\n"
    )


def test_list_query_skips_the_table_transformer(with_eastus: AcrctlMock) -> None:
    code, out, _ = run(
        "replication", "list", "-r", "myreg1", "--query", "[].{n: name}", "-o", "table"
    )
    assert (code, out) == (0, "N\n------\nwestus\neastus\n")


def test_list_on_a_basic_registry_exits_1(acrctl_mock: AcrctlMock) -> None:
    seed(acrctl_mock, sku="Basic")
    assert run("replication", "list", "-r", "myreg1") == (1, "", PREMIUM_ONLY)


def test_list_on_an_unknown_registry_exits_1(acrctl_mock: AcrctlMock) -> None:
    code, _, err = run("replication", "list", "-r", "nosuchreg")
    assert code == 1
    assert err.startswith(
        "ERROR: The resource with name 'nosuchreg' and type "
        "'Microsoft.ContainerRegistry/registries' could not be found"
    )


def test_show(with_eastus: AcrctlMock) -> None:
    code, out, _ = run(
        "replication",
        "show",
        "-r",
        "myreg1",
        "-n",
        "eastus",
        "--query",
        "status.displayStatus",
        "-o",
        "tsv",
    )
    assert (code, out) == (0, "Ready\n")


def test_show_missing_exits_3(premium: AcrctlMock) -> None:
    code, out, err = run("replication", "show", "-r", "myreg1", "-n", "nosuch1")
    assert (code, out) == (3, "")
    assert err.startswith(
        "ERROR: (ResourceNotFound) The Resource "
        "'Microsoft.ContainerRegistry/registries/myreg1/replications/nosuch1'"
    )


def test_show_on_a_basic_registry_exits_1(acrctl_mock: AcrctlMock) -> None:
    seed(acrctl_mock, sku="Basic")
    assert run("replication", "show", "-r", "myreg1", "-n", "westus") == (1, "", PREMIUM_ONLY)


def test_show_table_prints_a_space_for_a_missing_status() -> None:
    rows = replication.replication_table({"name": "eastus", "location": "eastus"})
    assert rows == [
        {
            "NAME": "eastus",
            "LOCATION": "eastus",
            "PROVISIONING STATE": " ",
            "STATUS": " ",
            "REGION ENDPOINT ENABLED": " ",
        }
    ]


# -- update -----------------------------------------------------------------------------------
def test_update_global_endpoint_routing(with_eastus: AcrctlMock) -> None:
    code, out, _ = run(
        "replication",
        "update",
        "-r",
        "myreg1",
        "-n",
        "eastus",
        "--global-endpoint-routing",
        "false",
        "--query",
        "regionEndpointEnabled",
    )
    assert (code, out) == (0, "false\n")


def test_update_deprecated_alias(with_eastus: AcrctlMock) -> None:
    code, _, _ = run(
        "replication",
        "update",
        "-r",
        "myreg1",
        "-n",
        "eastus",
        "--region-endpoint-enabled",
        "false",
    )
    assert code == 0
    assert replicas(with_eastus)["eastus"]["properties"]["regionEndpointEnabled"] is False


def test_update_tags_only(with_eastus: AcrctlMock) -> None:
    code, out, _ = run(
        "replication",
        "update",
        "-r",
        "myreg1",
        "-n",
        "eastus",
        "--tags",
        "a=b",
        "--query",
        "[tags, regionEndpointEnabled]",
        "-o",
        "json",
    )
    assert code == 0
    assert json.loads(out) == [{"a": "b"}, True]


def test_update_empty_tags_clear_them(with_eastus: AcrctlMock) -> None:
    run("replication", "update", "-r", "myreg1", "-n", "eastus", "--tags", "a=b")
    code, out, _ = run(
        "replication", "update", "-r", "myreg1", "-n", "eastus", "--tags", "", "--query", "tags"
    )
    assert (code, out) == (0, "{}\n")


def test_update_tags_alone_clear_them(with_eastus: AcrctlMock) -> None:
    run("replication", "update", "-r", "myreg1", "-n", "eastus", "--tags", "a=b")
    code, out, _ = run(
        "replication", "update", "-r", "myreg1", "-n", "eastus", "--tags", "--query", "tags"
    )
    assert (code, out) == (0, "{}\n")


def test_update_without_flags_prints_the_current_state(with_eastus: AcrctlMock) -> None:
    with_eastus.client().update_replication("rg1", "myreg1", "eastus", {"tags": {"k": "v"}})
    code, out, _ = run("replication", "update", "-r", "myreg1", "-n", "eastus")
    assert code == 0
    doc = json.loads(out)
    assert (doc["tags"], doc["regionEndpointEnabled"]) == ({"k": "v"}, True)


def test_update_missing_exits_3(premium: AcrctlMock) -> None:
    code, _, err = run("replication", "update", "-r", "myreg1", "-n", "nosuch1", "--tags", "a")
    assert code == 3
    assert err.startswith("ERROR: (ResourceNotFound)")


def test_update_no_wait_prints_nothing(shared: AcrctlMock) -> None:
    shared.client().create_replication("rg1", "myreg1", "eastus", {"location": "eastus"})
    shared.backend.settings.lro_mode = "polls"
    assert run(
        "replication", "update", "-r", "myreg1", "-n", "eastus", "--tags", "a=b", "--no-wait"
    ) == (0, "", "")
    doc = stored(shared, "eastus")
    assert (doc["tags"], doc["properties"]["provisioningState"]) == ({"a": "b"}, "Updating")


# -- delete -----------------------------------------------------------------------------------
def test_delete_prints_nothing(with_eastus: AcrctlMock) -> None:
    assert run("replication", "delete", "-r", "myreg1", "-n", "eastus") == (0, "", "")
    assert replicas(with_eastus).keys() == {"westus"}


def test_delete_the_home_replica_is_refused(premium: AcrctlMock) -> None:
    code, _, err = run("replication", "delete", "-r", "myreg1", "-n", "westus")
    assert code == 1
    assert err.startswith(
        "ERROR: (HomeReplicationCannotBeDeleted) The replication 'westus' is "
        "in the registry's home region"
    )


def test_delete_on_a_basic_registry_exits_1(acrctl_mock: AcrctlMock) -> None:
    seed(acrctl_mock, sku="Basic")
    assert run("replication", "delete", "-r", "myreg1", "-n", "eastus") == (1, "", PREMIUM_ONLY)


def test_delete_no_wait_leaves_it_deleting(shared: AcrctlMock) -> None:
    shared.client().create_replication("rg1", "myreg1", "eastus", {"location": "eastus"})
    shared.backend.settings.lro_mode = "polls"
    assert run("replication", "delete", "-r", "myreg1", "-n", "eastus", "--no-wait") == (0, "", "")
    props = stored(shared, "eastus")["properties"]
    assert props["provisioningState"] == "Deleting"


# -- wait ---------------------------------------------------------------------------------------
def _slow(mock: AcrctlMock, clock: FakeClock) -> None:
    """Operations finish 5 seconds after they start, on the wait loop's fake clock."""
    mock.backend.clock = clock
    mock.backend.settings.lro_mode = "seconds"
    mock.backend.settings.lro_seconds = 5


def test_wait_created(shared: AcrctlMock, fake_time: FakeClock) -> None:
    _slow(shared, fake_time)
    run("replication", "create", "-r", "myreg1", "-l", "eastus", "--no-wait")
    assert run(
        "replication", "wait", "-r", "myreg1", "-n", "eastus", "--created", "--interval", "1"
    ) == (0, "", "")
    assert fake_time.now() == 5
    assert replicas(shared)["eastus"]["properties"]["provisioningState"] == "Succeeded"


def test_wait_deleted(shared: AcrctlMock, fake_time: FakeClock) -> None:
    shared.client().create_replication("rg1", "myreg1", "eastus", {"location": "eastus"})
    _slow(shared, fake_time)
    run("replication", "delete", "-r", "myreg1", "-n", "eastus", "--no-wait")
    assert run("replication", "wait", "-r", "myreg1", "-n", "eastus", "--deleted") == (0, "", "")
    assert replicas(shared).keys() == {"westus"}


def test_wait_updated_on_a_settled_replica_returns_at_once(
    with_eastus: AcrctlMock, fake_time: FakeClock
) -> None:
    assert run("replication", "wait", "-r", "myreg1", "-n", "eastus", "--updated") == (0, "", "")
    assert fake_time.now() == 0


def test_wait_times_out(shared: AcrctlMock, fake_time: FakeClock) -> None:
    shared.backend.settings.lro_mode = "polls"  # GETs alone never finish it
    run("replication", "create", "-r", "myreg1", "-l", "eastus", "--no-wait")
    code, out, err = run(
        "replication",
        "wait",
        "-r",
        "myreg1",
        "-n",
        "eastus",
        "--created",
        "--timeout",
        "3",
        "--interval",
        "1",
    )
    assert (code, out) == (1, "")
    assert err == (
        "ERROR: Timed out after 3 seconds waiting for replication 'eastus' to be created.\n"
    )
    assert fake_time.now() == 3


def test_wait_created_on_a_missing_replica_keeps_waiting(
    premium: AcrctlMock, fake_time: FakeClock
) -> None:
    code, _, err = run(
        "replication", "wait", "-r", "myreg1", "-n", "eastus", "--created", "--timeout", "2"
    )
    assert code == 1
    assert "Timed out after 2 seconds" in err


def test_wait_needs_a_condition(premium: AcrctlMock) -> None:
    code, _, err = run("replication", "wait", "-r", "myreg1", "-n", "eastus")
    assert code == 2
    assert err == "ERROR: incorrect usage: --created | --updated | --deleted\n"


# -- map ----------------------------------------------------------------------------------------
def test_map_plain_output(with_eastus: AcrctlMock) -> None:
    code, out, _ = run("replication", "map", "-r", "myreg1", "--width", "100")
    assert code == 0
    assert "\x1b" not in out
    assert "H home replica   R replica   + available   x unavailable" in out
    assert "  H  westus  West US  Ready" in out
    assert "  R  eastus  East US  Ready" in out
    assert all(len(line) <= 100 for line in out.splitlines())


def test_map_marks_the_home_region(with_eastus: AcrctlMock) -> None:
    out = run("replication", "map", "-r", "myreg1", "--width", "80")[1]
    grid = "\n".join(out.splitlines()[:20])
    assert "H" in grid
    assert "R" in grid


def test_map_of_a_basic_registry_marks_regions_unavailable(acrctl_mock: AcrctlMock) -> None:
    seed(acrctl_mock, sku="Basic")
    code, out, _ = run("replication", "map", "-r", "myreg1", "--width", "80")
    assert code == 0
    assert "x" in "\n".join(out.splitlines()[:20])
    assert out.endswith(
        "Note: replicas need the Premium SKU; 'myreg1' is Basic. Upgrade with: "
        "acrctl update -n myreg1 --sku Premium\n"
    )


def test_map_width_below_20_exits_2(premium: AcrctlMock) -> None:
    assert run("replication", "map", "-r", "myreg1", "--width", "10")[0] == 2


# -- help ---------------------------------------------------------------------------------------
def test_create_help_hides_the_deprecated_alias(acrctl_mock: AcrctlMock) -> None:
    code, out, _ = run("replication", "create", "--help")
    assert code == 0
    assert "--global-endpoint-routing" in out
    assert "--region-endpoint-enabled" not in out
    assert "acrctl replication create -r myregistry -l eastus" in out


def test_group_help_lists_every_subcommand(acrctl_mock: AcrctlMock) -> None:
    code, out, _ = run("replication", "--help")
    assert code == 0
    for name in ("create", "delete", "list", "map", "show", "update", "wait"):
        assert f"  {name} " in out
