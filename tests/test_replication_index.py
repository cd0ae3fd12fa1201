"""What the replication engine keeps in the store besides its tasks (issue 16): the mount
index (region, registry, digest -> repository) and delete tombstones, durable across a
restart and shared by two instances on one database, on SQLite and PostgreSQL; and the
queue figures the metrics read (tasks by state, age of the oldest unfinished one)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from pg_harness import pg_database

from acrctl.backend.clock import FakeClock
from acrctl.backend.core import Backend, Settings
from acrctl.backend.replication_index import ReplicationIndex
from acrctl.backend.replication_tasks import ReplicationTasks
from acrctl.backend.sqlite import SqliteStore
from acrctl.backend.store import Store, open_store
from acrctl.dataplane.engine import Engine

REG = {
    "id": "/subscriptions/s1/resourceGroups/rg1/providers/Microsoft.ContainerRegistry/"
    "registries/geo12345",
    "name": "geo12345",
    "location": "eastus",
}
D1 = "sha256:" + "1" * 64
D2 = "sha256:" + "2" * 64

Opener = Callable[[], Store]


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    with pg_database("replindex") as url:
        yield url


@pytest.fixture(params=["sqlite", "postgres"])
def opener(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Opener]:
    """Opens one more store object on the same (empty at first) database per call: a
    restarted server, or a second instance."""
    opened: list[Store] = []
    if request.param == "sqlite":
        path = str(tmp_path / "index.db")

        def open_one() -> Store:
            opened.append(SqliteStore(path))
            return opened[-1]

    else:
        url = request.getfixturevalue("pg_url")

        def open_one() -> Store:
            opened.append(open_store(url))
            return opened[-1]

        open_one().reset()
    yield open_one
    for s in opened:
        s.close()


def test_the_mount_index_survives_a_restart_and_is_shared(opener: Opener) -> None:
    first = ReplicationIndex(Backend(opener()))
    first.placed("westus", "geo12345", D1, "geo12345/app")
    first.placed("westus", "geo12345", D1, "geo12345/other")  # the newest holder wins
    first.placed("eastus", "geo12345", D2, "geo12345/app")
    second = ReplicationIndex(Backend(opener()))
    assert second.mount_source("westus", "geo12345", D1) == "geo12345/other"
    assert second.mount_source("eastus", "geo12345", D2) == "geo12345/app"
    assert second.mount_source("eastus", "geo12345", D1) is None  # per region
    assert second.mount_source("westus", "other1", D1) is None  # per registry


def test_tombstones_are_listed_per_registry_and_pruned_by_age(opener: Opener) -> None:
    index = ReplicationIndex(Backend(opener()))
    index.tombstone(REG, "app", D1, 100.0, "eastus")
    index.tombstone(REG, "app", D2, 200.0, "eastus")
    other = {**REG, "id": REG["id"].replace("geo12345", "geo99999"), "name": "geo99999"}
    index.tombstone(other, "app", D1, 100.0, "eastus")
    again = ReplicationIndex(Backend(opener()))
    assert [(t["repository"], t["digest"], t["time"]) for t in again.tombstones(REG)] == [
        ("app", D1, 100.0),
        ("app", D2, 200.0),
    ]
    assert again.prune_tombstones(150.0) == 2  # one of each registry
    assert [t["digest"] for t in again.tombstones(REG)] == [D2]
    assert again.tombstones(other) == []


def test_a_settled_tombstone_opens_again_when_deleted_again(opener: Opener) -> None:
    index = ReplicationIndex(Backend(opener()))
    index.tombstone(REG, "app", D1, 100.0, "eastus")
    index.settle(REG, "app", D1)
    other = ReplicationIndex(Backend(opener()))
    assert [(t["time"], t.get("settled")) for t in other.tombstones(REG)] == [(100.0, True)]
    other.tombstone(REG, "app", D1, 300.0, "eastus")
    assert [(t["time"], t.get("settled")) for t in index.tombstones(REG)] == [(300.0, None)]


def record(tasks: ReplicationTasks, target: str) -> str:
    return tasks.record(
        REG,
        [target],
        action="push",
        reference="v1",
        repository="app",
        source="eastus",
        eventTime=1.0,
        tag="v1",
        digest=D1,
    )[0]


def test_queue_stats_count_tasks_by_state_and_age_the_oldest(opener: Opener) -> None:
    clock = FakeClock(1000.0)
    tasks = ReplicationTasks(Backend(opener(), clock=clock))
    assert tasks.queue_stats(100) == (
        {"pending": 0, "running": 0, "retrying": 0, "failed": 0},
        0.0,
    )
    keys = [record(tasks, f"region{i}") for i in range(4)]
    clock.advance(30)
    claimed = {c.key: c for c in tasks.claim_due(3, lease=600)}
    assert set(claimed) == set(keys[:3])
    tasks.finish(
        keys[0], claimed[keys[0]].lease_id, "boom", max_attempts=1, backoff=1, backoff_max=1
    )
    tasks.finish(
        keys[1], claimed[keys[1]].lease_id, "boom", max_attempts=5, backoff=1, backoff_max=1
    )
    clock.advance(10)
    other = ReplicationTasks(Backend(opener(), clock=clock))  # what another instance sees
    assert other.queue_stats(100) == (
        {"pending": 1, "running": 1, "retrying": 1, "failed": 1},
        40.0,
    )
    clock.advance(10_000)
    assert other.prune(clock.now()) == 1  # the failed task, and its count
    assert other.queue_stats(100)[0]["failed"] == 0


def test_a_delete_event_leaves_a_tombstone_with_its_tasks(tmp_path: Path) -> None:
    b = Backend(SqliteStore(str(tmp_path / "db.sqlite")), clock=FakeClock())
    b.registries.find = lambda name: REG if name == "geo12345" else None  # type: ignore[method-assign]
    b.replications.all_for = lambda reg: [{"location": "westus"}]  # type: ignore[method-assign]
    eng = Engine(SimpleNamespace(b=b, settings=Settings()))  # type: ignore[arg-type]
    try:
        eng.on_events(
            "eastus",
            [
                {
                    "action": "delete",
                    "timestamp": "2026-12-02T11:00:00Z",
                    "actor": {"name": "user1"},
                    "target": {"repository": "geo12345/app", "digest": D1},
                }
            ],
        )
        stones = eng.index.tombstones(REG)
        assert [(t["repository"], t["digest"], t["region"]) for t in stones] == [
            ("app", D1, "eastus")
        ]
        assert stones[0]["time"] == 1796209200.0
        assert [t["target"] for t in eng.tasks.for_registry(REG)] == ["westus"]
    finally:
        eng.stop(1)
