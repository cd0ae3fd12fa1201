"""The long-running-operation machine.

A mutating call writes the resource in a non-terminal provisioningState and records an
operation. The operation finishes lazily, when it is observed: at once (`immediate`), after
N reads of its status (`polls`), or after a duration (`seconds`). Finishing a create/update
sets provisioningState Succeeded (a replica turns Ready); finishing a delete removes the
resource and everything below it. Progress is computed from the store on each observation,
so several server instances on one database agree and nothing runs in the background.

Finished operations are kept `Settings.operation_retention_hours` (24 h by default) after
they started, then pruned (prune(): at server start, and after a write at most once every
PRUNE_EVERY seconds per process; oldest first through the store's (kind, seq) index). Their
status URLs answer 404 OperationNotFound from then on. An operation still in flight is
never pruned (its resource waits for it).
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from acrctl.backend.errors import OperationInProgress, OperationNotFound
from acrctl.backend.kinds import OPERATION

if TYPE_CHECKING:
    from acrctl.backend.core import Backend
    from acrctl.backend.store import Item

TERMINAL = {"Succeeded", "Failed", "Canceled"}
STATE_FOR = {"create": "Creating", "update": "Updating", "delete": "Deleting"}
PRUNE_EVERY = 60.0  # seconds between two prunes after writes (per process)
PRUNE_BATCH = 100  # operations deleted per transaction (the write lock is held meanwhile)
PRUNE_MAX_SECONDS = 0.25  # a prune after a write stops after this long (the next goes on)


def status_ready(doc: dict[str, Any], now: str) -> None:
    status = doc.get("properties", {}).get("status")
    if isinstance(status, dict) and "displayStatus" in status:
        status.update(displayStatus="Ready", message="The replication is ready.", timestamp=now)


class Operations:
    def __init__(self, backend: Backend) -> None:
        self.b = backend
        self._last_prune = 0.0
        self._pruning = threading.Lock()
        # kind -> what runs before an item of that kind is deleted (its delete operation
        # finishing), registered by the kind's service (Replications: regional webhooks)
        self.before_delete: dict[str, Callable[[Item], None]] = {}

    def in_flight(self, item_key: str) -> dict[str, Any] | None:
        for item in self.b.store.list(OPERATION, parent=item_key, newest_first=True, limit=1):
            if item.doc["status"] not in TERMINAL:
                return item.doc
        return None

    def ensure_idle(self, kind: str, item_key: str, name: str) -> None:
        """A second mutating call while an operation is in flight is a 409 (the in-flight
        one let progress first: one read when there is none)."""
        op = self.in_flight(item_key)
        if op:
            op = self._advance(op, count_poll=False)
        if op and op["status"] not in TERMINAL:
            raise OperationInProgress(
                f"An operation ({op['action']}) is in progress on '{name}'. Wait for operation "
                f"'{op['name']}' to finish, then retry.",
            )

    def start(
        self, kind: str, item_key: str, resource_id: str, action: str, location: str
    ) -> dict[str, Any]:
        """Record an operation on an item already written in its transient state."""
        op_id = str(uuid.uuid4())
        doc = {
            "id": op_id,
            "name": op_id,
            "status": "InProgress",
            "action": action,
            "kind": kind,
            "itemKey": item_key,
            "resourceId": resource_id,
            "location": location,
            "startTime": self.b.clock.iso(),
            "started": self.b.clock.now(),
            "polls": 0,
        }
        self.b.store.put(OPERATION, op_id, item_key, op_id, doc)
        if self.b.settings.lro_mode == "immediate":
            self._finish(doc)
        return doc

    def get(self, op_id: str, count_poll: bool = True) -> dict[str, Any]:
        item = self.b.store.get(OPERATION, op_id.lower())
        if item is None:
            raise OperationNotFound(f"The operation '{op_id}' could not be found.")
        doc = item.doc
        if doc["status"] not in TERMINAL:
            doc = self._advance(doc, count_poll)
        return doc

    def peek(self, op_id: str) -> dict[str, Any] | None:
        """An operation as stored (None: no such operation): no progress, no poll counted."""
        item = self.b.store.get(OPERATION, op_id.lower())
        return item.doc if item is not None else None

    def unfinished_counts(self, scan: int) -> dict[tuple[str, str], int]:
        """Unfinished operations among the newest `scan`, by (resource kind, state word:
        Creating, Updating, Deleting or InProgress)."""
        counts: dict[tuple[str, str], int] = {}
        for item in self.b.store.list(OPERATION, newest_first=True, limit=scan):
            doc = item.doc
            if doc.get("status") not in TERMINAL:
                state = STATE_FOR.get(str(doc.get("action")), "InProgress")
                key = (str(doc.get("kind", "")), state)
                counts[key] = counts.get(key, 0) + 1
        return counts

    def observe(self, kind: str, item_key: str, count_poll: bool = False) -> None:
        """Let the in-flight operation on an item progress, if it is due."""
        op = self.in_flight(item_key)
        if op:
            self._advance(op, count_poll)

    def current(self, kind: str, key: str) -> Any:
        """The item after letting its in-flight operation progress. An operation is in flight
        only while the item's provisioningState is transient, so a settled item costs one
        read."""
        item = self.b.store.get(kind, key)
        if item is None or item.doc.get("properties", {}).get("provisioningState") in TERMINAL:
            return item
        self.observe(kind, key)
        return self.b.store.get(kind, key)

    def fresh(self, items: list[Any]) -> list[dict[str, Any]]:
        """The docs of listed items, letting in-flight operations progress first (an item
        whose delete completes drops out)."""
        out = []
        for it in items:
            if it.doc["properties"]["provisioningState"] in ("Succeeded", "Failed"):
                out.append(it.doc)
                continue
            self.observe(it.kind, it.key)
            cur = self.b.store.get(it.kind, it.key)
            if cur is not None:
                out.append(cur.doc)
        return out

    def _advance(self, doc: dict[str, Any], count_poll: bool) -> dict[str, Any]:
        s = self.b.settings
        with self.b.store.transaction():
            cur = self.b.store.get(OPERATION, doc["id"])  # the committed state, not a copy
            if cur is None or cur.doc["status"] in TERMINAL:
                return cur.doc if cur is not None else doc
            doc = cur.doc
            if count_poll:
                doc["polls"] += 1
            due = (
                s.lro_mode == "immediate"
                or (s.lro_mode == "polls" and doc["polls"] >= s.lro_polls)
                or (
                    s.lro_mode == "seconds" and self.b.clock.now() - doc["started"] >= s.lro_seconds
                )
            )
            if due:
                self._finish(doc)
            else:
                self.b.store.put(OPERATION, doc["id"], doc["itemKey"], doc["id"], doc)
        return doc

    def _finish(self, doc: dict[str, Any]) -> None:
        store, now = self.b.store, self.b.clock.iso()
        with store.transaction():
            item = store.get(doc["kind"], doc["itemKey"])
            if doc["action"] == "delete":
                if item is not None:
                    hook = self.before_delete.get(doc["kind"])
                    if hook is not None:
                        hook(item)
                    store.delete_tree(doc["itemKey"])
            elif item is not None:
                item.doc["properties"]["provisioningState"] = "Succeeded"
                status_ready(item.doc, now)
                store.put(item.kind, item.key, item.parent, item.name, item.doc, item.secret)
            doc.update(status="Succeeded", endTime=now, percentComplete=100)
            store.put(OPERATION, doc["id"], doc["itemKey"], doc["id"], doc)

    @staticmethod
    def status_body(doc: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {k: doc[k] for k in ("id", "name", "status", "startTime") if k in doc}
        if "endTime" in doc:
            out["endTime"] = doc["endTime"]
        out["percentComplete"] = 100 if doc["status"] in TERMINAL else 50
        out["resourceId"] = doc["resourceId"]
        if doc.get("error"):
            out["error"] = doc["error"]
        return out

    # -- retention ----------------------------------------------------------------------------
    def housekeep(self, now: float | None = None) -> int:
        """After a write: prune() when PRUNE_EVERY seconds have passed since this process
        last did (bounded to PRUNE_MAX_SECONDS; the next one goes on). Returns how many
        were deleted."""
        now = self.b.clock.now() if now is None else now
        if now - self._last_prune < PRUNE_EVERY or not self._pruning.acquire(blocking=False):
            return 0
        try:
            self._last_prune = now
            return self.prune(now, PRUNE_MAX_SECONDS)
        finally:
            self._pruning.release()

    def prune(self, now: float | None = None, max_seconds: float | None = None) -> int:
        """Delete finished operations that started more than the retention ago, oldest
        first, PRUNE_BATCH to a transaction, until none is left (or `max_seconds` passed).
        Operations in flight are kept. Returns how many were deleted."""
        hours = float(self.b.settings.operation_retention_hours or 0)
        if hours <= 0:
            return 0
        cutoff = (self.b.clock.now() if now is None else now) - hours * 3600
        deadline = None if max_seconds is None else time.monotonic() + max_seconds
        deleted, after = 0, None
        while deadline is None or time.monotonic() < deadline:
            items = self.b.store.list(OPERATION, after=after, limit=PRUNE_BATCH)
            due = []
            for item in items:
                if float(item.doc.get("started", 0)) >= cutoff:
                    items = []  # the rest started later (seq order is start order)
                    break
                after = item.seq
                if item.doc.get("status") in TERMINAL:
                    due.append(item.key)
            if due:
                with self.b.store.transaction():
                    deleted += sum(int(self.b.store.delete(OPERATION, k)) for k in due)
            if len(items) < PRUNE_BATCH:
                break
        return deleted
