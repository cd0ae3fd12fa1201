"""A durable outbox (no HTTP here): the one queue shape behind webhook deliveries and
replication tasks.

An item is a store document of the queue's `kind`; while it is unfinished an entry of the
queue's `index` kind under PENDING (same key, doc {"due": epoch seconds}) lets a claimer
find it without reading every item. Recording writes both (and changes the queue's version
in the store's meta table, so an idle worker knows to look again). Claiming moves a due
item to the `leased` state under a fresh lease id with a compare-and-set on its etag: two
claimers, in one process or on one database from several, never both get it. The lease
holder settles it: `done`, `failed` (at the attempt cap, or a permanent refusal), or back
to `retry` after an exponential backoff with jitter. An item whose lease runs out is due
again. Releasing hands a lease back (due now). Parking sets an unleased item aside (its
index entry moves under PARKED, so claims never scan it) until it is woken.

Item fields the outbox owns: state, tries (settled attempts), nextAttemptAt, leaseId,
leaseUntil, and while parked parkedFrom, parkedReason, parkedAt. The rest is the caller's."""

from __future__ import annotations

import copy
import random
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import suppress
from dataclasses import dataclass
from typing import Any, Protocol

from acrctl.backend.store import EtagMismatch, Item, Store

PENDING = "pending"  # parent of the index entries of unfinished items
PARKED = "parked"  # parent of the index entries of parked items
OWN_FIELDS = ("leaseId", "leaseUntil")

Rand = Callable[[float, float], float]  # uniform(a, b): the jitter's random source
Annotate = Callable[[dict[str, Any], "str | None"], None]


class Clock(Protocol):
    def now(self) -> float: ...


class Host(Protocol):
    """What an outbox needs of its owner (a Backend): read on every call, so a store or clock
    swapped in later is used."""

    @property
    def store(self) -> Store: ...

    @property
    def clock(self) -> Clock: ...


@dataclass(frozen=True)
class Queue:
    """One queue's names: its store kinds, meta key and state words."""

    kind: str  # store kind of the items
    index: str  # store kind of the index entries
    version_key: str  # meta key changed whenever an item becomes due by record or wake
    leased: str  # state of a claimed item
    waiting: str = "pending"  # state of a recorded item
    retry: str = "pending"  # state after a failed attempt, until its backoff passes
    done: str = "done"
    failed: str = "failed"
    parked: str = "parked"

    @property
    def claimable(self) -> tuple[str, ...]:
        return (self.waiting, self.retry, self.leased)


@dataclass(frozen=True)
class Retry:
    """How a failed attempt is retried: up to `max_attempts` attempts in all, the n-th retry
    after backoff(n) (base * 2^(n-1), capped at `backoff_max`, with jitter)."""

    max_attempts: int
    backoff: float
    backoff_max: float


@dataclass
class Leased:
    """An item claimed under a lease: its key, the lease id that settles it, and its document
    as claimed."""

    key: str
    lease_id: str
    doc: dict[str, Any]
    item: Item  # as read before the claim (its parent and name)


def backoff_delay(tries: int, base: float, cap: float, rand: Rand = random.uniform) -> float:
    """Delay before the next attempt after `tries` failed ones: base * 2^(tries-1), capped,
    with "equal jitter" (a random point in the upper half)."""
    delay = min(cap, base * (2 ** max(0, tries - 1)))
    return delay / 2 + rand(0, delay / 2)


class Outbox:
    def __init__(self, host: Host, queue: Queue, rand: Rand | None = None) -> None:
        self.host = host
        self.q = queue
        self.rand: Rand = rand or random.uniform

    def _now(self, now: float | None) -> float:
        return self.host.clock.now() if now is None else now

    # -- recording -----------------------------------------------------------------------------
    def record(
        self, key: str, parent: str, name: str, doc: dict[str, Any], now: float | None = None
    ) -> dict[str, Any]:
        """Store a new item, due now (or at its own nextAttemptAt), and its index entry, in
        one transaction (the caller's, when it has one). Returns the stored document."""
        return self.record_many([(key, parent, name, doc)], now)[0]

    def record_many(
        self, items: Iterable[tuple[str, str, str, dict[str, Any]]], now: float | None = None
    ) -> list[dict[str, Any]]:
        """record() for several (key, parent, name, doc) in one transaction."""
        store, now = self.host.store, self._now(now)
        out = []
        with store.transaction():
            for key, parent, name, doc in items:
                doc = {**doc, "state": self.q.waiting, "tries": 0}
                doc.setdefault("nextAttemptAt", now)
                store.put(self.q.kind, key, parent, name, doc)
                store.put(self.q.index, key, PENDING, name, {"due": doc["nextAttemptAt"]})
                out.append(doc)
            if out:
                store.meta_set(self.q.version_key, str(uuid.uuid4()))
        return out

    # -- claiming ------------------------------------------------------------------------------
    def due(self, now: float | None = None) -> Iterator[Item]:
        """Items whose time has come, in recording order: waiting ones past nextAttemptAt and
        leased ones past their lease. Index entries of finished or vanished items are
        dropped on the way."""
        store, now = self.host.store, self._now(now)
        for entry in store.list(self.q.index, parent=PENDING):
            if float(entry.doc.get("due", 0)) > now:
                continue
            item = store.get(self.q.kind, entry.key)
            if item is None or item.doc.get("state") not in self.q.claimable:
                store.delete(self.q.index, entry.key)
                continue
            if self.is_due(item.doc, now):
                yield item

    def is_due(self, doc: dict[str, Any], now: float) -> bool:
        """Whether an item's document (as read) may be claimed at `now`."""
        if doc.get("state") not in self.q.claimable:
            return False
        if doc["state"] == self.q.leased:
            return float(doc.get("leaseUntil", 0)) <= now
        return float(doc.get("nextAttemptAt", 0)) <= now

    def lease(
        self, item: Item, seconds: float, now: float | None = None, **fields: Any
    ) -> Leased | None:
        """Claim `item` (as read by due()) for `seconds`, adding `fields` to it; None when
        another claimer changed it first."""
        store, now = self.host.store, self._now(now)
        lease_id = str(uuid.uuid4())
        doc = {
            **item.doc,
            "state": self.q.leased,
            "leaseUntil": now + seconds,
            "leaseId": lease_id,
            **fields,
        }
        try:
            with store.transaction():
                store.put(self.q.kind, item.key, item.parent, item.name, doc, if_etag=item.etag)
                store.put(self.q.index, item.key, PENDING, item.name, {"due": now + seconds})
        except EtagMismatch:
            return None
        return Leased(item.key, lease_id, doc, item)

    def claim(
        self, limit: int, seconds: float, now: float | None = None, **fields: Any
    ) -> list[Leased]:
        """Claim up to `limit` due items for `seconds` each, adding `fields` to each."""
        now = self._now(now)
        out: list[Leased] = []
        if limit <= 0:
            return out
        for item in self.due(now):
            got = self.lease(item, seconds, now, **fields)
            if got is not None:
                out.append(got)
                if len(out) >= limit:
                    break  # before due() reads another item
        return out

    def release(self, key: str, lease_id: str, now: float | None = None) -> bool:
        """Hand a lease back: the item is waiting again, due now, unless it was settled
        meanwhile or another claimer holds it. Returns whether it was released."""
        store, now = self.host.store, self._now(now)
        with suppress(EtagMismatch), store.transaction():
            item = store.get(self.q.kind, key)
            if item is None or item.doc.get("state") != self.q.leased:
                return False
            if item.doc.get("leaseId") != lease_id:
                return False
            doc = {k: v for k, v in item.doc.items() if k not in OWN_FIELDS}
            doc.update(state=self.q.waiting, nextAttemptAt=now)
            store.put(self.q.kind, key, item.parent, item.name, doc, if_etag=item.etag)
            store.put(self.q.index, key, PENDING, item.name, {"due": now})
            store.meta_set(self.q.version_key, str(uuid.uuid4()))
            return True
        return False

    # -- settling ------------------------------------------------------------------------------
    def settle(
        self,
        key: str,
        lease_id: str | None,
        ok: bool,
        retry: Retry,
        *,
        permanent: bool = False,
        now: float | None = None,
        annotate: Annotate | None = None,
        keep_stale: bool = False,
    ) -> str | None:
        """Count one attempt and move the item on: `done` when `ok`, `failed` when
        `permanent` or at retry.max_attempts, else `retry`, due after the backoff.
        `annotate(doc, state)` adds the caller's fields before the write. `lease_id` None
        settles whoever holds the item. Returns the new state; None when the item is gone,
        or when another claimer holds it now (then, with `keep_stale`, the item is still
        annotated with state None and its current state is returned)."""
        store, now = self.host.store, self._now(now)
        with store.transaction():
            item = store.get(self.q.kind, key)
            if item is None:
                store.delete(self.q.index, key)
                return None
            doc = copy.deepcopy(item.doc)
            if lease_id is not None and doc.get("leaseId") != lease_id:
                if not keep_stale:
                    return None
                if annotate is not None:
                    annotate(doc, None)
                store.put(self.q.kind, key, item.parent, item.name, doc)
                return str(doc["state"])
            for field in OWN_FIELDS:
                doc.pop(field, None)
            doc["tries"] = tries = int(doc.get("tries", 0)) + 1
            if ok or permanent or tries >= retry.max_attempts:
                doc["state"] = self.q.done if ok else self.q.failed
                doc.pop("nextAttemptAt", None)
                store.delete(self.q.index, key)
            else:
                due = now + backoff_delay(tries, retry.backoff, retry.backoff_max, self.rand)
                doc.update(state=self.q.retry, nextAttemptAt=due)
                store.put(self.q.index, key, PENDING, item.name, {"due": due})
            if annotate is not None:
                annotate(doc, doc["state"])
            store.put(self.q.kind, key, item.parent, item.name, doc)
            return str(doc["state"])

    # -- parking -------------------------------------------------------------------------------
    def park(self, key: str, reason: str, now: float | None = None) -> bool:
        """Set a waiting (unleased) item aside until wake(): claims do not see it. Returns
        whether it was parked."""
        store, now = self.host.store, self._now(now)
        with suppress(EtagMismatch), store.transaction():
            item = store.get(self.q.kind, key)
            state = item.doc.get("state") if item is not None else None
            if item is None or state not in (self.q.waiting, self.q.retry):
                return False
            doc = {**item.doc, "state": self.q.parked, "parkedFrom": state}
            doc.update(parkedReason=reason, parkedAt=now)
            store.put(self.q.kind, key, item.parent, item.name, doc, if_etag=item.etag)
            store.put(self.q.index, key, PARKED, item.name, {"due": None})
            return True
        return False

    def parked(self) -> list[Item]:
        """The parked items, in parking order."""
        store, out = self.host.store, []
        for entry in store.list(self.q.index, parent=PARKED):
            item = store.get(self.q.kind, entry.key)
            if item is not None and item.doc.get("state") == self.q.parked:
                out.append(item)
            else:
                store.delete(self.q.index, entry.key)
        return out

    def wake(self, key: str, now: float | None = None) -> bool:
        """Put a parked item back in its state before parking, due now. Returns whether it
        was parked."""
        store, now = self.host.store, self._now(now)
        with suppress(EtagMismatch), store.transaction():
            item = store.get(self.q.kind, key)
            if item is None or item.doc.get("state") != self.q.parked:
                return False
            doc = {k: v for k, v in item.doc.items() if not k.startswith("parked")}
            doc.update(state=item.doc.get("parkedFrom") or self.q.waiting, nextAttemptAt=now)
            store.put(self.q.kind, key, item.parent, item.name, doc, if_etag=item.etag)
            store.put(self.q.index, key, PENDING, item.name, {"due": now})
            store.meta_set(self.q.version_key, str(uuid.uuid4()))
            return True
        return False

    def expedite(self, key: str, now: float | None = None) -> bool:
        """Make an item waiting for its retry's backoff due now (what it waited for is
        back). Returns whether it was waiting."""
        store, now = self.host.store, self._now(now)
        with suppress(EtagMismatch), store.transaction():
            item = store.get(self.q.kind, key)
            if item is None or item.doc.get("state") != self.q.retry:
                return False
            if float(item.doc.get("nextAttemptAt") or 0) <= now:
                return False
            doc = {**item.doc, "nextAttemptAt": now}
            store.put(self.q.kind, key, item.parent, item.name, doc, if_etag=item.etag)
            store.put(self.q.index, key, PENDING, item.name, {"due": now})
            store.meta_set(self.q.version_key, str(uuid.uuid4()))
            return True
        return False

    def wake_where(self, wanted: Callable[[Item], bool], now: float | None = None) -> int:
        """Wake every parked item `wanted` accepts. Returns how many woke."""
        return sum(self.wake(item.key, now) for item in self.parked() if wanted(item))

    # -- reading -------------------------------------------------------------------------------
    def version(self) -> str:
        """Changes whenever an item is recorded, released or woken: a worker that found
        nothing due may skip looking until this changes or next_due() passes."""
        return self.host.store.meta_get(self.q.version_key) or ""

    def depth(self) -> int:
        """Unfinished items (waiting or leased; not parked)."""
        return self.host.store.count(self.q.index, PENDING)

    def next_due(self) -> float | None:
        """The earliest due time among unfinished items (None: there are none)."""
        entries = self.host.store.list(self.q.index, parent=PENDING)
        dues = [float(e.doc.get("due", 0)) for e in entries]
        return min(dues) if dues else None

    def oldest(self) -> Item | None:
        """The earliest recorded unfinished item still in the queue."""
        store = self.host.store
        entry = next(iter(store.list(self.q.index, parent=PENDING, limit=1)), None)
        return store.get(self.q.kind, entry.key) if entry is not None else None

    def get(self, key: str) -> dict[str, Any] | None:
        item = self.host.store.get(self.q.kind, key)
        return dict(item.doc) if item is not None else None
