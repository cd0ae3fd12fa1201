"""acrctl replication status (and its route) on the embedded backend: per image and region,
from the tags' newest pushes and the replication tasks recorded in the store."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from acrctl.backend.replication_tasks import ReplicationTasks
from acrctl.cli.main import cli
from acrctl.testing import AcrctlMock

D1 = "sha256:" + "a" * 64


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def geo(cli_on_mock: AcrctlMock) -> AcrctlMock:
    client = cli_on_mock.client()
    client.create_group("rg1", "westus")
    client.create_registry(
        "rg1", "myreg1", {"location": "westus", "sku": {"name": "Premium"}, "properties": {}}
    )
    client.create_replication("rg1", "myreg1", "eastus", {"location": "eastus"})
    client.create_replication("rg1", "myreg1", "westeurope", {"location": "westeurope"})
    b = cli_on_mock.backend
    reg = b.registries.get(cli_on_mock.subscription, "rg1", "myreg1")
    tasks = ReplicationTasks(b)
    assert tasks.newer_head(reg, "web/app", "v1", 100.0, D1, "westus") is None
    keys = tasks.record(
        reg,
        ["eastus", "westeurope"],
        action="push",
        reference="v1",
        repository="web/app",
        source="westus",
        eventTime=100.0,
        tag="v1",
        digest=D1,
    )
    done, failing = tasks.claim_due(8, lease=60)
    assert done.doc["target"] == "eastus"
    tasks.finish(keys[0], done.lease_id, None, max_attempts=3, backoff=1, backoff_max=1)
    tasks.finish(
        keys[1],
        failing.lease_id,
        "the region westeurope is not running",
        max_attempts=3,
        backoff=1,
        backoff_max=1,
    )
    return cli_on_mock


def test_status_lists_each_region_of_an_image(geo: AcrctlMock) -> None:
    code, out, err = run("replication", "status", "-r", "myreg1", "--image", "web/app:v1")
    assert (code, err) == (0, "")
    rows = {r["region"]: r for r in json.loads(out)}
    assert {k: (v["state"], v["digest"]) for k, v in rows.items()} == {
        "westus": ("present", D1),
        "eastus": ("present", D1),
        "westeurope": ("retrying", D1),
    }
    assert rows["westeurope"]["lastError"] == "the region westeurope is not running"


def test_status_table(geo: AcrctlMock) -> None:
    code, out, _ = run("replication", "status", "-r", "myreg1", "-o", "table")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["IMAGE", "REGION", "STATE", "DIGEST", "UPDATED", "ERROR"]
    assert sum("web/app:v1" in line for line in lines) == 3
    assert any("retrying" in line and "westeurope" in line for line in lines)


def test_status_of_an_unknown_image_says_unknown(geo: AcrctlMock) -> None:
    code, out, _ = run("replication", "status", "-r", "myreg1", "--image", "nope:v9")
    assert code == 0
    assert {(r["region"], r["state"]) for r in json.loads(out)} == {
        ("westus", "unknown"),
        ("eastus", "unknown"),
        ("westeurope", "unknown"),
    }
