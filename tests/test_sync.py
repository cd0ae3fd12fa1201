"""Replica layouts in code: the plan (acrctl.sync, pure), the bounded parallel runner, and
`acrctl replication sync` on the embedded backend."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from acrctl.cli import replication_sync
from acrctl.cli.main import cli
from acrctl.sync import LayoutError, Replica, Step, apply_plan, parse_layout, plan
from acrctl.testing import AcrctlMock

EXAMPLES = Path(__file__).resolve().parents[1] / "docs" / "examples"


def rep(
    location: str,
    endpoint: bool = True,
    tags: dict[str, str] | None = None,
    name: str | None = None,
) -> dict[str, Any]:
    """A replica as ARM returns it."""
    return {
        "name": name or location,
        "location": location,
        "tags": tags or {},
        "properties": {"regionEndpointEnabled": endpoint, "provisioningState": "Succeeded"},
    }


def applied(current: list[dict[str, Any]], steps: list[Step]) -> list[dict[str, Any]]:
    """What the replicas look like after the steps ran (a fake service)."""
    out = {r["location"]: json.loads(json.dumps(r)) for r in current}
    for s in steps:
        if s.action == "create":
            out[s.location] = rep(
                s.location,
                s.body["properties"].get("regionEndpointEnabled", True),
                s.body.get("tags"),
                s.name,
            )
        elif s.action == "update":
            cur = out[s.location]
            cur["properties"].update(s.body.get("properties", {}))
            if "tags" in s.body:
                cur["tags"] = s.body["tags"]
        else:
            del out[s.location]
    return list(out.values())


# -- the plan ------------------------------------------------------------------------------------
def test_plan_creates_missing_replicas_and_leaves_the_home_one() -> None:
    steps = plan(
        [rep("westus")],
        [Replica("eastus"), Replica("West Europe", None, False, {"team": "infra"})],
        "westus",
    )
    assert [(s.action, s.name, s.location) for s in steps] == [
        ("create", "eastus", "eastus"),
        ("create", "westeurope", "westeurope"),
    ]
    assert steps[0].body == {"location": "eastus", "properties": {}}
    assert steps[1].body == {
        "location": "westeurope",
        "properties": {"regionEndpointEnabled": False},
        "tags": {"team": "infra"},
    }
    assert steps[1].changes == {
        "location": [None, "westeurope"],
        "regionEndpointEnabled": [None, False],
        "tags": [None, {"team": "infra"}],
    }


def test_plan_names_a_new_replica_as_the_layout_says() -> None:
    [step] = plan([], [Replica("eastus", name="east1")], "westus")
    assert (step.name, step.location) == ("east1", "eastus")


def test_plan_updates_only_what_the_layout_states() -> None:
    current = [rep("westus"), rep("eastus", True, {"a": "1"}), rep("japaneast", False)]
    steps = plan(
        current,
        [
            Replica("eastus", None, False, None),
            Replica("japaneast", None, None, {"b": "2"}),
            Replica("westus"),
        ],
        "westus",
    )
    assert [(s.action, s.name, s.changes, s.body) for s in steps] == [
        (
            "update",
            "eastus",
            {"regionEndpointEnabled": [True, False]},
            {"properties": {"regionEndpointEnabled": False}},
        ),
        ("update", "japaneast", {"tags": [{}, {"b": "2"}]}, {"tags": {"b": "2"}}),
    ]


def test_plan_updates_the_home_replica_too() -> None:
    [step] = plan([rep("westus")], [Replica("westus", None, False)], "westus")
    assert (step.action, step.name) == ("update", "westus")


def test_plan_deletes_only_with_prune_and_never_the_home_replica() -> None:
    current = [rep("westus"), rep("eastus"), rep("japaneast", name="japan1")]
    assert plan(current, [Replica("eastus")], "westus") == []
    steps = plan(current, [Replica("eastus")], "westus", prune=True)
    assert [(s.action, s.name) for s in steps] == [("delete", "japan1")]
    steps = plan(current, [], "West US", prune=True)
    assert [(s.action, s.name) for s in steps] == [("delete", "eastus"), ("delete", "japan1")]


def test_plan_orders_creates_updates_deletes() -> None:
    current = [rep("westus"), rep("eastus"), rep("japaneast")]
    steps = plan(
        current,
        [Replica("westeurope"), Replica("eastus", None, False), Replica("brazilsouth")],
        "westus",
        prune=True,
    )
    assert [(s.action, s.location) for s in steps] == [
        ("create", "brazilsouth"),
        ("create", "westeurope"),
        ("update", "eastus"),
        ("delete", "japaneast"),
    ]


def test_a_second_plan_after_applying_the_first_is_empty() -> None:
    current = [rep("westus"), rep("eastus", True, {"old": "x"}), rep("japaneast")]
    desired = [
        Replica("eastus", None, False, {"new": "y"}),
        Replica("westeurope", None, True),
        Replica("Brazil South", "brazil1", None, {"t": "1"}),
    ]
    first = plan(current, desired, "westus", prune=True)
    assert {s.action for s in first} == {"create", "update", "delete"}
    assert plan(applied(current, first), desired, "westus", prune=True) == []


def test_a_location_listed_twice_is_refused() -> None:
    with pytest.raises(LayoutError, match="'West US' is listed twice"):
        plan([], [Replica("westus"), Replica("West US")], "westus")


def test_flattened_replicas_are_understood() -> None:
    """The plan reads az-shaped (flattened) replicas as well as ARM documents."""
    flat = {"name": "eastus", "location": "eastus", "tags": {}, "regionEndpointEnabled": False}
    assert plan([flat], [Replica("eastus", None, False)], "westus") == []


# -- layouts ---------------------------------------------------------------------------------
def test_parse_layout_forms() -> None:
    assert parse_layout(["eastus"]) == [Replica("eastus")]
    assert parse_layout(
        {
            "locations": [
                "eastus",
                {
                    "location": "westeurope",
                    "name": "we1",
                    "regionEndpointEnabled": False,
                    "tags": {"a": "b"},
                },
            ]
        }
    ) == [Replica("eastus"), Replica("westeurope", "we1", False, {"a": "b"})]


@pytest.mark.parametrize(
    ("data", "detail"),
    [
        ({"locations": "eastus"}, "expected a list of locations"),
        ({"locations": [], "extra": 1}, "unknown key(s) extra"),
        ([{"location": "eastus", "zone": 1}], "locations[0]: unknown key(s) zone"),
        ([3], "locations[0]: expected a location name or an object"),
        ([{"name": "x"}], "'location' must be a region name"),
        ([{"location": "eastus", "regionEndpointEnabled": "no"}], "must be true or false"),
        ([{"location": "eastus", "tags": {"a": 1}}], "'tags' must be an object of string values"),
        ([{"location": "eastus", "name": 5}], "'name' must be a string"),
    ],
)
def test_parse_layout_errors(data: Any, detail: str) -> None:
    with pytest.raises(LayoutError) as info:
        parse_layout(data, "layout.json")
    assert str(info.value).startswith("layout.json: ") and detail in str(info.value)


def test_the_example_layouts_parse() -> None:
    import yaml

    from_json = parse_layout(json.loads((EXAMPLES / "layout.json").read_text()))
    from_yaml = parse_layout(yaml.safe_load((EXAMPLES / "layout.yaml").read_text()))
    assert from_json == from_yaml and len(from_json) == 3


# -- applying --------------------------------------------------------------------------------
def steps_for(*names: str) -> list[Step]:
    return [Step("create", n, n) for n in names]


def test_apply_runs_steps_in_parallel_and_one_failure_does_not_stop_the_others() -> None:
    barrier = threading.Barrier(3, timeout=5)  # three steps must be in flight at once
    seen: list[str] = []

    def execute(step: Step) -> str:
        barrier.wait()
        if step.name == "bad":
            raise RuntimeError("(LocationNotAvailableForResourceType) no such region")
        return f"done {step.name}"

    outcomes = apply_plan(
        steps_for("a", "bad", "c"), execute, workers=4, on_done=lambda o: seen.append(o.step.name)
    )
    assert [(o.step.name, o.status, o.error, o.result) for o in outcomes] == [
        ("a", "Succeeded", None, "done a"),
        ("bad", "Failed", "(LocationNotAvailableForResourceType) no such region", None),
        ("c", "Succeeded", None, "done c"),
    ]
    assert sorted(seen) == ["a", "bad", "c"]
    assert outcomes[1].to_dict() == {
        "action": "create",
        "name": "bad",
        "location": "bad",
        "changes": {},
        "status": "Failed",
        "error": "(LocationNotAvailableForResourceType) no such region",
    }


def test_apply_is_bounded_by_workers() -> None:
    lock, active, peak = threading.Lock(), [0], [0]

    def execute(step: Step) -> None:
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        time.sleep(0.02)
        with lock:
            active[0] -= 1

    outcomes = apply_plan(steps_for(*"abcdefghij"), execute, workers=3)
    assert [o.status for o in outcomes] == ["Succeeded"] * 10
    assert peak[0] == 3


def test_apply_nothing() -> None:
    assert apply_plan([], lambda s: None) == []


# -- the command -------------------------------------------------------------------------------
def run(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), input=stdin)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def premium(acrctl_mock: AcrctlMock) -> AcrctlMock:
    client = acrctl_mock.client()
    client.create_group("rg1", "westus")
    client.create_registry(
        "rg1", "myreg1", {"location": "westus", "sku": {"name": "Premium"}, "properties": {}}
    )
    return acrctl_mock


def replicas(mock: AcrctlMock) -> dict[str, dict[str, Any]]:
    docs, _ = mock.backend.replications.list(mock.subscription, "rg1", "myreg1")
    return {str(d["location"]): d for d in docs}


def test_sync_creates_then_a_second_run_changes_nothing(premium: AcrctlMock) -> None:
    code, out, err = run(
        "replication", "sync", "-r", "myreg1", "--locations", "eastus", "West Europe"
    )
    assert code == 0, err
    rows = json.loads(out)
    assert [(r["action"], r["name"], r["status"], r["error"]) for r in rows] == [
        ("create", "eastus", "Succeeded", None),
        ("create", "westeurope", "Succeeded", None),
    ]
    assert sorted(err.splitlines()) == [
        "Succeeded: create eastus (eastus)",
        "Succeeded: create westeurope (westeurope)",
    ]
    assert set(replicas(premium)) == {"westus", "eastus", "westeurope"}
    before = replicas(premium)
    assert run("replication", "sync", "-r", "myreg1", "--locations", "eastus", "westeurope") == (
        0,
        "[]\n",
        "Nothing to do: the replicas of 'myreg1' match the layout.\n",
    )  # said on stderr (issue 12 item 8)
    assert replicas(premium) == before


def test_dry_run_prints_the_plan_and_changes_nothing(premium: AcrctlMock) -> None:
    code, out, _ = run("replication", "sync", "-r", "myreg1", "--locations", "eastus", "--dry-run")
    assert code == 0
    assert json.loads(out) == [
        {
            "action": "create",
            "name": "eastus",
            "location": "eastus",
            "changes": {"location": [None, "eastus"]},
            "status": "Planned",
            "error": None,
        }
    ]
    assert set(replicas(premium)) == {"westus"}


def test_prune_deletes_unlisted_replicas_but_never_the_home_one(premium: AcrctlMock) -> None:
    client = premium.client()
    for loc in ("eastus", "japaneast"):
        client.create_replication("rg1", "myreg1", loc, {"location": loc})
    code, out, _ = run("replication", "sync", "-r", "myreg1", "--locations", "--prune")
    assert code == 0
    assert sorted((r["action"], r["name"]) for r in json.loads(out)) == [
        ("delete", "eastus"),
        ("delete", "japaneast"),
    ]
    assert set(replicas(premium)) == {"westus"}


def test_sync_from_a_yaml_layout_creates_updates_and_prunes(premium: AcrctlMock) -> None:
    client = premium.client()
    client.create_replication("rg1", "myreg1", "westeurope", {"location": "westeurope"})
    client.create_replication("rg1", "myreg1", "brazilsouth", {"location": "brazilsouth"})
    code, out, err = run(
        "replication", "sync", "-r", "myreg1", "--file", str(EXAMPLES / "layout.yaml"), "--prune"
    )
    assert code == 0, err
    assert [(r["action"], r["location"]) for r in json.loads(out)] == [
        ("create", "eastus"),
        ("create", "japaneast"),
        ("update", "westeurope"),
        ("delete", "brazilsouth"),
    ]
    now = replicas(premium)
    assert set(now) == {"westus", "eastus", "westeurope", "japaneast"}
    assert now["westeurope"]["properties"]["regionEndpointEnabled"] is False
    assert now["japaneast"]["tags"] == {"team": "apac"}
    code, out, _ = run(
        "replication", "sync", "-r", "myreg1", "--file", str(EXAMPLES / "layout.json"), "--prune"
    )
    assert (code, out) == (0, "[]\n")


def test_sync_from_stdin(premium: AcrctlMock) -> None:
    code, out, _ = run(
        "replication",
        "sync",
        "-r",
        "myreg1",
        "--file",
        "-",
        "--query",
        "[].name",
        "-o",
        "tsv",
        stdin='{"locations": ["eastus"]}',
    )
    assert (code, out) == (0, "eastus\n")


def test_one_failing_step_fails_the_command_after_the_others_ran(premium: AcrctlMock) -> None:
    code, out, err = run(
        "replication",
        "sync",
        "-r",
        "myreg1",
        "--locations",
        "eastus",
        "moonbase",
        "japaneast",
        "--max-parallel",
        "2",
    )
    assert code == 1
    rows = {r["location"]: r for r in json.loads(out)}
    assert {k: r["status"] for k, r in rows.items()} == {
        "eastus": "Succeeded",
        "japaneast": "Succeeded",
        "moonbase": "Failed",
    }
    assert rows["moonbase"]["error"].startswith("(LocationNotAvailableForResourceType)")
    assert "Failed: create moonbase (moonbase): (LocationNotAvailableForResourceType)" in err
    assert err.endswith("ERROR: 1 of 3 steps failed: create moonbase.\n")
    assert set(replicas(premium)) == {"westus", "eastus", "japaneast"}


def test_table_on_a_terminal_json_otherwise(
    premium: AcrctlMock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(replication_sync, "_stdout_is_tty", lambda: True)
    code, out, _ = run("replication", "sync", "-r", "myreg1", "--locations", "eastus", "--dry-run")
    assert code == 0
    assert out.splitlines()[0].split() == [
        "ACTION",
        "NAME",
        "LOCATION",
        "CHANGES",
        "STATUS",
        "ERROR",
    ]
    assert 'create    eastus  eastus      location: - -> "eastus"  Planned' in out
    code, out, _ = run(
        "replication", "sync", "-r", "myreg1", "--locations", "eastus", "--dry-run", "-o", "json"
    )
    assert json.loads(out)[0]["status"] == "Planned"


@pytest.mark.parametrize(
    ("args", "detail"),
    [
        ((), "give the layout with --locations or with --file"),
        (("--locations", "eastus", "--file", "x.json"), "(one of them)"),
    ],
)
def test_exactly_one_layout_source(premium: AcrctlMock, args: tuple[str, ...], detail: str) -> None:
    code, out, err = run("replication", "sync", "-r", "myreg1", *args)
    assert (code, out) == (2, "")
    assert detail in err


def test_layout_file_problems_exit_1(premium: AcrctlMock, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"locations": [{"location": "eastus", "zone": 2}]}')
    code, _, err = run("replication", "sync", "-r", "myreg1", "--file", str(bad))
    assert code == 1
    assert f"ERROR: {bad}: locations[0]: unknown key(s) zone" in err
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    code, _, err = run("replication", "sync", "-r", "myreg1", "--file", str(broken))
    assert code == 1 and "is not valid JSON" in err
    code, _, err = run(
        "replication", "sync", "-r", "myreg1", "--file", str(tmp_path / "missing.yaml")
    )
    assert code == 1 and "Cannot read the layout file" in err


def test_sync_needs_a_premium_registry(acrctl_mock: AcrctlMock) -> None:
    client = acrctl_mock.client()
    client.create_group("rg1", "westus")
    client.create_registry(
        "rg1", "basic1", {"location": "westus", "sku": {"name": "Basic"}, "properties": {}}
    )
    assert run("replication", "sync", "-r", "basic1", "--locations", "eastus") == (
        1,
        "",
        "ERROR: Replications are only supported for managed registries in Premium SKU.\n",
    )
