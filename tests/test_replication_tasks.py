"""Replication tasks in the store (leases, retries, last writer wins) and the engine's
event handling (loop guard), without any registry process."""

from __future__ import annotations

import threading
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from pg_harness import pg_database

from acrctl.backend.clock import FakeClock
from acrctl.backend.core import Backend, Settings
from acrctl.backend.replication_tasks import ReplicationTasks, event_time
from acrctl.backend.sqlite import SqliteStore
from acrctl.dataplane.copier import ENGINE_SUB
from acrctl.dataplane.engine import Engine

REG = {
    "id": "/subscriptions/s1/resourceGroups/rg1/providers/Microsoft.ContainerRegistry/"
    "registries/geo12345",
    "name": "geo12345",
    "location": "eastus",
}
MANIFEST = "application/vnd.oci.image.manifest.v1+json"
D1 = "sha256:" + "1" * 64
D2 = "sha256:" + "2" * 64


def backend(path: Path, clock: FakeClock) -> Backend:
    return Backend(SqliteStore(str(path)), clock=clock)


def record(tasks: ReplicationTasks, target: str = "westus") -> str:
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


def test_a_claimed_task_is_not_claimed_by_a_second_instance(tmp_path: Path) -> None:
    clock = FakeClock()
    one = ReplicationTasks(backend(tmp_path / "db.sqlite", clock))
    two = ReplicationTasks(backend(tmp_path / "db.sqlite", clock))
    record(one)
    assert len(one.claim_due(8, lease=60)) == 1
    assert two.claim_due(8, lease=60) == []


def test_a_task_whose_lease_ran_out_is_claimed_again(tmp_path: Path) -> None:
    clock = FakeClock()
    one = ReplicationTasks(backend(tmp_path / "db.sqlite", clock))
    two = ReplicationTasks(backend(tmp_path / "db.sqlite", clock))
    key = record(one)
    first = one.claim_due(8, lease=60)[0]
    clock.advance(61)
    again = two.claim_due(8, lease=60)
    assert [c.key for c in again] == [key]
    # the first worker's late result is not recorded over the new owner's lease
    assert one.finish(key, first.lease_id, None, max_attempts=3, backoff=1, backoff_max=10) is None
    assert one.get(key)["state"] == "running"  # type: ignore[index]


def test_failures_retry_with_backoff_then_fail_with_the_last_error(tmp_path: Path) -> None:
    clock = FakeClock()
    tasks = ReplicationTasks(backend(tmp_path / "db.sqlite", clock))
    key = record(tasks)
    states = []
    for n in range(3):
        claimed = tasks.claim_due(8, lease=60)
        assert len(claimed) == 1, n
        states.append(
            tasks.finish(
                key, claimed[0].lease_id, f"boom {n}", max_attempts=3, backoff=2, backoff_max=10
            )
        )
        doc = tasks.get(key)
        assert doc is not None
        if states[-1] == "retrying":
            delay = min(10, 2 * 2**n)
            assert clock.now() + delay / 2 <= doc["nextAttemptAt"] <= clock.now() + delay
            assert tasks.claim_due(8, lease=60) == []  # not due before the backoff
            clock.advance(delay)
    assert states == ["retrying", "retrying", "failed"]
    doc = tasks.get(key)
    assert doc is not None and doc["lastError"] == "boom 2" and doc["tries"] == 3
    assert tasks.depth() == 0


def test_a_requeued_failed_task_stops_counting_as_failed(tmp_path: Path) -> None:
    tasks = ReplicationTasks(backend(tmp_path / "db.sqlite", FakeClock()))
    key = record(tasks)
    claimed = tasks.claim_due(8, lease=60)
    assert tasks.finish(key, claimed[0].lease_id, "down", max_attempts=1, backoff=1, backoff_max=1)
    assert tasks.queue_stats(100)[0]["failed"] == 1
    failed = tasks.get(key)
    assert failed is not None
    new = tasks.requeue(REG, failed, ("action", "reference", "repository", "source", "tag"))
    by_state = tasks.queue_stats(100)[0]
    assert (by_state["failed"], by_state["pending"]) == (0, 1)
    assert tasks.get(key) == failed  # kept for status, as it ended
    assert [c.key for c in tasks.claim_due(8, lease=60)] == [new]


def test_two_instances_on_postgresql_never_claim_a_task_twice() -> None:
    from acrctl.backend.pg import PostgresStore

    with pg_database("repl") as url:
        stores = [PostgresStore(url), PostgresStore(url)]
        try:
            clock = FakeClock()
            tasks = [ReplicationTasks(Backend(s, clock=clock)) for s in stores]
            keys = [record(tasks[0], f"region{i}") for i in range(40)]
            got: list[list[str]] = [[], []]

            def claim(n: int) -> None:
                while True:
                    claimed = tasks[n].claim_due(3, lease=60)
                    if not claimed:
                        return
                    got[n] += [c.key for c in claimed]

            threads = [threading.Thread(target=claim, args=(n,)) for n in (0, 1)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(30)
            assert sorted(got[0] + got[1]) == sorted(keys)  # each exactly once
        finally:
            for s in stores:
                s.close()


def record_to(tasks: ReplicationTasks, targets: list[str], repo: str = "app") -> list[str]:
    return tasks.record(
        REG,
        targets,
        action="push",
        reference="v1",
        repository=repo,
        source="eastus",
        eventTime=1.0,
        tag="v1",
        digest=D1,
    )


def test_a_push_to_three_regions_is_claimed_as_one_group(tmp_path: Path) -> None:
    clock = FakeClock()
    one = ReplicationTasks(backend(tmp_path / "db.sqlite", clock))
    two = ReplicationTasks(backend(tmp_path / "db.sqlite", clock))
    keys = record_to(one, ["westus", "westeurope", "northeurope"])
    groups = one.claim_groups(1, lease=60)
    assert [sorted(c.key for c in g) for g in groups] == [sorted(keys)]
    assert two.claim_groups(8, lease=60) == []
    assert {one.get(k)["state"] for k in keys} == {"running"}  # type: ignore[index]


def test_a_sibling_another_worker_holds_stays_out_of_the_group(tmp_path: Path) -> None:
    clock = FakeClock()
    one = ReplicationTasks(backend(tmp_path / "db.sqlite", clock))
    two = ReplicationTasks(backend(tmp_path / "db.sqlite", clock))
    keys = record_to(one, ["westus", "westeurope"])
    held = two.claim_due(1, lease=60)[0].key
    assert [[c.key for c in g] for g in one.claim_groups(8, lease=60)] == [
        [k for k in keys if k != held]
    ]


def test_a_requeued_task_has_no_siblings(tmp_path: Path) -> None:
    tasks = ReplicationTasks(backend(tmp_path / "db.sqlite", FakeClock()))
    first, second = record_to(tasks, ["westus", "westeurope"])
    doc = tasks.get(first)
    assert doc is not None and doc["siblings"] == [second]
    new = tasks.requeue(REG, doc, ("action", "reference", "repository", "source", "tag"))
    assert "siblings" not in tasks.get(new)  # type: ignore[operator]


def test_two_instances_on_postgresql_never_claim_a_grouped_task_twice() -> None:
    from acrctl.backend.pg import PostgresStore

    with pg_database("replgroups") as url:
        stores = [PostgresStore(url), PostgresStore(url)]
        try:
            clock = FakeClock()
            tasks = [ReplicationTasks(Backend(s, clock=clock)) for s in stores]
            regions = ["westus", "westeurope", "northeurope"]
            keys = [k for i in range(20) for k in record_to(tasks[0], regions, f"app{i}")]
            got: list[list[str]] = [[], []]

            def claim(n: int) -> None:
                while True:
                    groups = tasks[n].claim_groups(2, lease=60)
                    if not groups:
                        return
                    got[n] += [c.key for g in groups for c in g]

            threads = [threading.Thread(target=claim, args=(n,)) for n in (0, 1)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(30)
            assert sorted(got[0] + got[1]) == sorted(keys)  # each exactly once
        finally:
            for s in stores:
                s.close()


def test_event_time_keeps_nanosecond_order() -> None:
    a = event_time("2026-12-02T11:10:37.123456789Z", 0)
    b = event_time("2026-12-02T11:10:37.1235Z", 0)
    assert a < b
    assert event_time("not a time", 7.0) == 7.0


def engine(tmp_path: Path, regions: list[str]) -> Engine:
    b = backend(tmp_path / "db.sqlite", FakeClock())
    b.registries.find = lambda name: REG if name == "geo12345" else None  # type: ignore[method-assign]
    b.replications.all_for = lambda reg: [{"location": r} for r in regions]  # type: ignore[method-assign]
    plane = SimpleNamespace(b=b, settings=Settings())
    return Engine(plane)  # type: ignore[arg-type]


def event(
    actor: str, tag: str | None, digest: str, when: str, action: str = "push"
) -> dict[str, Any]:
    return {
        "action": action,
        "timestamp": when,
        "actor": {"name": actor},
        "target": {
            "repository": "geo12345/app",
            "mediaType": MANIFEST,
            "tag": tag,
            "digest": digest,
        },
    }


@pytest.fixture
def eng(tmp_path: Path) -> Any:
    e = engine(tmp_path, ["eastus", "westus", "westeurope"])
    yield e
    e.stop(1)


def test_a_push_becomes_one_task_per_other_region(eng: Engine) -> None:
    eng.on_events("eastus", [event("user1", "v1", D1, "2026-12-02T11:00:00Z")])
    tasks = eng.tasks.for_registry(REG)
    assert sorted(t["target"] for t in tasks) == ["westeurope", "westus"]
    assert {(t["action"], t["reference"], t["source"]) for t in tasks} == {("push", "v1", "eastus")}


def test_the_engines_own_writes_record_no_task(eng: Engine) -> None:
    eng.on_events("westus", [event(ENGINE_SUB, "v1", D1, "2026-12-02T11:00:00Z")])
    assert eng.tasks.for_registry(REG) == []


def test_an_older_push_of_a_tag_gets_the_newer_one_copied_back(eng: Engine) -> None:
    eng.on_events("eastus", [event("user1", "v1", D2, "2026-12-02T11:00:02Z")])
    eng.on_events("westus", [event("user2", "v1", D1, "2026-12-02T11:00:01Z")])
    late = [t for t in eng.tasks.for_registry(REG) if t["target"] == "westus"]
    assert [(t["source"], t["digest"]) for t in late] == [("eastus", D2), ("eastus", D2)]
    assert all(t["source"] == "eastus" for t in eng.tasks.for_registry(REG))


def test_a_push_task_older_than_the_tags_newest_push_is_skipped(eng: Engine) -> None:
    eng.on_events("eastus", [event("user1", "v1", D1, "2026-12-02T11:00:01Z")])
    eng.on_events("westus", [event("user2", "v1", D2, "2026-12-02T11:00:02Z")])
    old = next(
        t
        for t in eng.tasks.for_registry(REG)
        if t["source"] == "eastus" and t["target"] == "westus"
    )
    assert eng.execute(old) == "superseded by a newer push of the tag"


def test_a_delete_replicates_by_digest_only(eng: Engine) -> None:
    eng.on_events(
        "eastus",
        [
            event("user1", None, D1, "2026-12-02T11:00:00Z", "delete"),
            event("user1", "v1", "", "2026-12-02T11:00:00Z", "delete"),
        ],
    )
    tasks = eng.tasks.for_registry(REG)
    assert sorted((t["action"], t["reference"], t["target"]) for t in tasks) == [
        ("delete", D1, "westeurope"),
        ("delete", D1, "westus"),
    ]


def test_an_event_from_a_region_without_the_registry_records_no_task(eng: Engine) -> None:
    eng.on_events("northeurope", [event("user1", "v1", D1, "2026-12-02T11:00:00Z")])
    assert eng.tasks.for_registry(REG) == []
