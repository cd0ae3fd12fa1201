"""Outbox.expedite (the outbox contract, continued: test_outbox_contract's stores and
fixtures): an item waiting for its retry's backoff is made due at once when what it waited
for is back, keeping its counted attempts; anything else is left as it is."""

from __future__ import annotations

from test_outbox_contract import LEASE, RETRY, box, claimed_keys, clock, opener, pg_url, record

from acrctl.backend.clock import FakeClock
from acrctl.backend.outbox import Outbox

__all__ = ["box", "clock", "opener", "pg_url"]  # the contract's fixtures


def retrying(box: Outbox) -> str:
    [key] = record(box)
    [c] = box.claim(8, LEASE)
    box.settle(key, c.lease_id, False, RETRY)
    return key


def test_an_item_waiting_for_its_backoff_is_due_at_once(box: Outbox, clock: FakeClock) -> None:
    key = retrying(box)
    assert box.claim(8, LEASE) == []
    before = box.version()
    assert box.expedite(key) is True
    assert box.version() != before
    doc = box.get(key)
    assert doc is not None and (doc["nextAttemptAt"], doc["tries"]) == (1000.0, 1)
    assert claimed_keys(box.claim(8, LEASE)) == [key]


def test_an_item_due_already_is_left_alone(box: Outbox) -> None:
    [key] = record(box)
    before = box.version()
    assert box.expedite(key) is False
    assert box.version() == before


def test_a_leased_a_settled_or_a_missing_item_is_left_alone(box: Outbox) -> None:
    leased, done = record(box, 2)
    claimed = {c.key: c for c in box.claim(8, LEASE)}
    box.settle(done, claimed[done].lease_id, True, RETRY)
    assert box.expedite(leased) is False
    assert box.expedite(done) is False
    assert box.expedite("/jobs/none") is False
    assert box.get(leased)["state"] == "running"  # type: ignore[index]
