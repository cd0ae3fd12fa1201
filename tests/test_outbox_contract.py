"""The outbox contract (acrctl.backend.outbox): record, claim under a lease, release,
settle with counted attempts and jittered backoff, park and wake; run unchanged against the
SQLite store and the PostgreSQL store. Time is a FakeClock and the jitter an injected
random source: no sleeps."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pg_harness import pg_database

from acrctl.backend.clock import FakeClock
from acrctl.backend.outbox import Leased, Outbox, Queue, Retry, backoff_delay
from acrctl.backend.sqlite import SqliteStore
from acrctl.backend.store import Store, open_store

QUEUE = Queue(kind="job", index="jobIndex", version_key="job_version", leased="running")
RETRY = Retry(max_attempts=3, backoff=10.0, backoff_max=25.0)
LEASE = 60.0


@dataclass
class Host:
    store: Store
    clock: FakeClock


Opener = Callable[[], Store]


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    with pg_database("outbox") as url:
        yield url


@pytest.fixture(params=["sqlite", "postgres"])
def opener(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Opener]:
    """Opens one more store object on the same (empty at first) database per call."""
    opened: list[Store] = []
    if request.param == "sqlite":
        path = str(tmp_path / "outbox.db")

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


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(1000.0)


@pytest.fixture
def box(opener: Opener, clock: FakeClock) -> Outbox:
    return Outbox(Host(opener(), clock), QUEUE)


def record(box: Outbox, n: int = 1) -> list[str]:
    keys = [f"/jobs/j{i}" for i in range(n)]
    for i, key in enumerate(keys):
        box.record(key, "/jobs", f"j{i}", {"payload": i})
    return keys


def claimed_keys(got: list[Leased]) -> list[str]:
    return [c.key for c in got]


# -- record ------------------------------------------------------------------------------
def test_a_recorded_item_is_waiting_and_due_now(box: Outbox, clock: FakeClock) -> None:
    [key] = record(box)
    assert box.get(key) == {"payload": 0, "state": "pending", "tries": 0, "nextAttemptAt": 1000.0}
    assert (box.depth(), box.next_due()) == (1, 1000.0)


def test_recording_changes_the_version(box: Outbox) -> None:
    before = box.version()
    record(box)
    assert box.version() not in ("", before)


def test_record_many_records_every_item(box: Outbox) -> None:
    docs = box.record_many([(f"/jobs/m{i}", "/jobs", f"m{i}", {"n": i}) for i in range(3)])
    assert [d["n"] for d in docs] == [0, 1, 2]
    assert box.depth() == 3 and claimed_keys(box.claim(8, LEASE)) == [
        "/jobs/m0",
        "/jobs/m1",
        "/jobs/m2",
    ]


def test_record_many_records_all_or_nothing(box: Outbox) -> None:
    bad = {"n": object()}  # cannot be stored
    with pytest.raises(TypeError):
        box.record_many([("/jobs/ok", "/jobs", "ok", {"n": 1}), ("/jobs/bad", "/jobs", "bad", bad)])
    assert (box.depth(), box.get("/jobs/ok"), box.version()) == (0, None, "")


def test_an_empty_outbox_has_no_depth_and_no_next_due(box: Outbox) -> None:
    assert (box.depth(), box.next_due(), box.oldest()) == (0, None, None)


def test_oldest_is_the_first_recorded_item(box: Outbox) -> None:
    record(box, 3)
    oldest = box.oldest()
    assert oldest is not None and oldest.key == "/jobs/j0"


# -- claim and lease -----------------------------------------------------------------------
def test_claim_leases_due_items_in_recording_order(box: Outbox, clock: FakeClock) -> None:
    keys = record(box, 3)
    got = box.claim(2, LEASE)
    assert claimed_keys(got) == keys[:2]
    assert got[0].doc["state"] == "running" and got[0].doc["leaseUntil"] == 1000.0 + LEASE
    assert box.get(keys[0])["leaseId"] == got[0].lease_id  # type: ignore[index]


def test_claim_reads_no_item_past_its_limit(box: Outbox) -> None:
    record(box, 3)
    ops: list[str] = []
    setattr(box.host.store, "timer", lambda op, seconds: ops.append(op))  # noqa: B010
    assert len(box.claim(1, LEASE)) == 1
    assert ops.count("get") == 1


def test_claim_with_no_room_leases_nothing(box: Outbox) -> None:
    record(box)
    assert box.claim(0, LEASE) == []
    assert box.depth() == 1 and box.get("/jobs/j0")["state"] == "pending"  # type: ignore[index]


def test_a_claimed_item_is_not_claimed_again_before_its_lease_ends(
    box: Outbox, clock: FakeClock
) -> None:
    record(box)
    [first] = box.claim(8, LEASE)
    clock.advance(LEASE - 1)
    assert box.claim(8, LEASE) == []


def test_an_expired_lease_is_claimed_again_under_a_new_lease_id(
    box: Outbox, clock: FakeClock
) -> None:
    record(box)
    [first] = box.claim(8, LEASE)
    clock.advance(LEASE)
    [again] = box.claim(8, LEASE)
    assert again.key == first.key and again.lease_id != first.lease_id


def test_lease_adds_the_callers_fields(box: Outbox, clock: FakeClock) -> None:
    [key] = record(box)
    [item] = list(box.due())
    got = box.lease(item, LEASE, startedAt=5.0)
    assert got is not None and box.get(key)["startedAt"] == 5.0  # type: ignore[index]


def test_lease_of_an_item_changed_since_it_was_read_fails(opener: Opener, clock: FakeClock) -> None:
    one, two = Outbox(Host(opener(), clock), QUEUE), Outbox(Host(opener(), clock), QUEUE)
    record(one)
    [seen] = list(two.due())
    assert one.claim(8, LEASE) != []
    assert two.lease(seen, LEASE) is None


def test_an_item_recorded_for_later_is_not_due_before_then(box: Outbox, clock: FakeClock) -> None:
    box.record("/jobs/later", "/jobs", "later", {"nextAttemptAt": 1100.0})
    assert box.claim(8, LEASE) == []
    clock.advance(100)
    assert claimed_keys(box.claim(8, LEASE)) == ["/jobs/later"]


def test_two_claimers_never_get_the_same_item(opener: Opener, clock: FakeClock) -> None:
    boxes = [Outbox(Host(opener(), clock), QUEUE) for _ in range(2)]
    keys = record(boxes[0], 30)
    got: list[list[str]] = [[], []]

    def claim(n: int) -> None:
        for _ in range(100):  # bounded: 30 items, at least one claimed per round
            batch = boxes[n].claim(3, LEASE)
            if not batch:
                return
            got[n] += claimed_keys(batch)

    threads = [threading.Thread(target=claim, args=(n,)) for n in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(got[0] + got[1]) == sorted(keys)  # each exactly once


# -- release -------------------------------------------------------------------------------
def test_a_released_item_is_waiting_and_due_at_once(box: Outbox, clock: FakeClock) -> None:
    [key] = record(box)
    [c] = box.claim(8, LEASE)
    clock.advance(5)
    assert box.release(key, c.lease_id) is True
    doc = box.get(key)
    assert doc is not None and (doc["state"], doc["nextAttemptAt"]) == ("pending", 1005.0)
    assert "leaseId" not in doc and "leaseUntil" not in doc
    assert claimed_keys(box.claim(8, LEASE)) == [key]


def test_release_with_another_lease_id_does_nothing(box: Outbox, clock: FakeClock) -> None:
    [key] = record(box)
    [c] = box.claim(8, LEASE)
    assert box.release(key, "not-" + c.lease_id) is False
    assert box.get(key)["leaseId"] == c.lease_id  # type: ignore[index]


def test_release_of_a_settled_item_does_nothing(box: Outbox) -> None:
    [key] = record(box)
    [c] = box.claim(8, LEASE)
    box.settle(key, c.lease_id, True, RETRY)
    assert box.release(key, c.lease_id) is False
    assert box.get(key)["state"] == "done"  # type: ignore[index]


# -- settle: attempts, backoff -------------------------------------------------------------
def test_a_successful_attempt_is_done_and_leaves_the_queue(box: Outbox) -> None:
    [key] = record(box)
    [c] = box.claim(8, LEASE)
    assert box.settle(key, c.lease_id, True, RETRY) == "done"
    assert box.get(key) == {"payload": 0, "state": "done", "tries": 1}
    assert (box.depth(), box.next_due()) == (0, None)


def test_failed_attempts_are_counted_until_the_cap(box: Outbox, clock: FakeClock) -> None:
    [key] = record(box)
    states = []
    for _ in range(RETRY.max_attempts):
        [c] = box.claim(8, LEASE)
        states.append(box.settle(key, c.lease_id, False, RETRY))
        clock.advance(RETRY.backoff_max)
    assert states == ["pending", "pending", "failed"]
    assert box.get(key)["tries"] == 3  # type: ignore[index]
    assert box.depth() == 0


def test_a_permanent_failure_fails_at_once(box: Outbox) -> None:
    [key] = record(box)
    [c] = box.claim(8, LEASE)
    assert box.settle(key, c.lease_id, False, RETRY, permanent=True) == "failed"


def test_a_retry_waits_for_its_backoff(opener: Opener, clock: FakeClock) -> None:
    box = Outbox(Host(opener(), clock), QUEUE, rand=lambda low, high: high)
    [key] = record(box)
    [c] = box.claim(8, LEASE)
    box.settle(key, c.lease_id, False, RETRY)
    assert box.get(key)["nextAttemptAt"] == 1000.0 + RETRY.backoff  # type: ignore[index]
    clock.advance(RETRY.backoff - 1)
    assert box.claim(8, LEASE) == []
    clock.advance(1)
    assert claimed_keys(box.claim(8, LEASE)) == [key]


def test_settle_with_a_stale_lease_changes_nothing(box: Outbox, clock: FakeClock) -> None:
    [key] = record(box)
    [old] = box.claim(8, LEASE)
    clock.advance(LEASE)
    [new] = box.claim(8, LEASE)
    assert box.settle(key, old.lease_id, True, RETRY) is None
    assert box.get(key)["leaseId"] == new.lease_id  # type: ignore[index]


def test_settle_with_a_stale_lease_can_keep_the_callers_note(box: Outbox, clock: FakeClock) -> None:
    [key] = record(box)
    [old] = box.claim(8, LEASE)
    clock.advance(LEASE)
    [new] = box.claim(8, LEASE)
    notes: list[Any] = []

    def note(doc: dict[str, Any], state: str | None) -> None:
        notes.append(state)
        doc["note"] = "late"

    assert box.settle(key, old.lease_id, False, RETRY, annotate=note, keep_stale=True) == "running"
    doc = box.get(key)
    assert doc is not None and (doc["note"], doc["leaseId"], doc["tries"]) == (
        "late",
        new.lease_id,
        0,
    )
    assert notes == [None]


def test_annotate_sees_the_new_state(box: Outbox) -> None:
    [key] = record(box)
    [c] = box.claim(8, LEASE)

    def stamp(doc: dict[str, Any], state: str | None) -> None:
        doc["finished"] = state

    box.settle(key, c.lease_id, True, RETRY, annotate=stamp)
    assert box.get(key)["finished"] == "done"  # type: ignore[index]


def test_settle_of_a_vanished_item_is_none(box: Outbox) -> None:
    assert box.settle("/jobs/none", None, True, RETRY) is None


@pytest.mark.parametrize(("tries", "full"), [(1, 10.0), (2, 20.0), (3, 25.0), (9, 25.0), (0, 10.0)])
def test_backoff_doubles_up_to_its_cap_with_jitter_in_the_upper_half(
    tries: int, full: float
) -> None:
    low = backoff_delay(tries, 10.0, 25.0, rand=lambda a, b: a)
    high = backoff_delay(tries, 10.0, 25.0, rand=lambda a, b: b)
    assert (low, high) == (full / 2, full)


def test_backoff_jitter_comes_from_the_random_source() -> None:
    asked: list[tuple[float, float]] = []

    def rand(a: float, b: float) -> float:
        asked.append((a, b))
        return 1.5

    assert backoff_delay(2, 10.0, 25.0, rand) == 11.5
    assert asked == [(0, 10.0)]


# -- park and wake -------------------------------------------------------------------------
def test_a_parked_item_is_not_claimed(box: Outbox) -> None:
    [key] = record(box)
    assert box.park(key, "region down") is True
    assert box.claim(8, LEASE) == []
    assert box.depth() == 0
    doc = box.get(key)
    assert doc is not None and (doc["state"], doc["parkedReason"]) == ("parked", "region down")
    assert [i.key for i in box.parked()] == [key]


def test_a_woken_item_is_due_at_once_in_its_old_state(box: Outbox, clock: FakeClock) -> None:
    [key] = record(box)
    box.park(key, "region down")
    clock.advance(30)
    before = box.version()
    assert box.wake(key) is True
    assert box.version() != before
    doc = box.get(key)
    assert doc is not None and (doc["state"], doc["nextAttemptAt"]) == ("pending", 1030.0)
    assert not any(k.startswith("parked") for k in doc)
    assert claimed_keys(box.claim(8, LEASE)) == [key]
    assert box.parked() == []


def test_a_leased_item_cannot_be_parked(box: Outbox) -> None:
    [key] = record(box)
    box.claim(8, LEASE)
    assert box.park(key, "region down") is False
    assert box.get(key)["state"] == "running"  # type: ignore[index]


def test_waking_an_item_that_is_not_parked_does_nothing(box: Outbox) -> None:
    [key] = record(box)
    assert box.wake(key) is False
    assert box.wake("/jobs/none") is False


def test_wake_where_wakes_only_the_items_asked_for(box: Outbox) -> None:
    keys = record(box, 3)
    for key in keys:
        box.park(key, "region down")
    assert box.wake_where(lambda item: item.doc["payload"] != 1) == 2
    assert [i.key for i in box.parked()] == [keys[1]]
    assert sorted(claimed_keys(box.claim(8, LEASE))) == [keys[0], keys[2]]
