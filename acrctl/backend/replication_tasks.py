"""Durable replication tasks (no HTTP here): the data plane's replication engine records one
task per target region for each registry event before the event is acknowledged, then
claims due tasks under a lease (the outbox pattern of the webhooks: a task item plus an
entry in the pending index, moved with a compare-and-set on the task's etag, so several
server instances on one database never run a task twice at once and a restart loses
nothing). The queue is the generic outbox (acrctl.backend.outbox).

A task: {id, registry, repository, reference (tag or digest), tag, digest, action
(push|delete), source, target (regions), eventTime (the registry's event time, seconds),
state, tries, lastError, createdAt, updatedAt}. States: pending -> running -> done, or
running -> retrying (backoff with jitter) -> ... -> failed after the attempt cap.

Last writer wins for a tag: `head` records the newest event (by the registry's event time)
seen for each (registry, repository, tag); an older event does not replicate and a push
task older than the head is skipped when it runs."""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from typing import TYPE_CHECKING, Any

from acrctl.backend.outbox import Leased, Outbox, Queue, Retry

if TYPE_CHECKING:
    from acrctl.backend.core import Backend

TASK = "replicationTask"
QUEUE = "replicationQueue"  # index of unfinished tasks: key = the task's key
HEAD = "replicationTagHead"  # newest event per tag (last writer wins)
BACKFILL = "replicationBackfill"  # key = the replica's key: a new replica being filled
PENDING = "pending"
FAILED = "failed"  # parent of QUEUE entries of failed tasks (counted by the metrics)
QUEUE_VERSION = "replication_queue_version"
OPEN = ("pending", "running", "retrying")
OUTBOX = Queue(
    kind=TASK,
    index=QUEUE,
    version_key=QUEUE_VERSION,
    leased="running",
    waiting="pending",
    retry="retrying",
    done="done",
)
Claimed = Leased  # a claimed task: key, lease_id, doc


def event_time(value: Any, default: float) -> float:
    """An RFC 3339 time (distribution's, nanoseconds allowed) as epoch seconds."""
    if not isinstance(value, str) or not value:
        return default
    text = value.strip().replace("Z", "+00:00")
    head, dot, rest = text.partition(".")
    if dot:
        digits = "".join(c for c in rest if c.isdigit())
        zone = rest[len(digits) :]
        text = f"{head}.{(digits + '000000')[:6]}{zone}"
    try:
        return dt.datetime.fromisoformat(text).timestamp()
    except ValueError:
        return default


class ReplicationTasks:
    def __init__(self, backend: Backend) -> None:
        self.b = backend
        self.outbox = Outbox(backend, OUTBOX)

    # -- recording -----------------------------------------------------------------------
    def record(self, reg: dict[str, Any], targets: list[str], **task: Any) -> list[str]:
        """One pending task per target region (same transaction). Returns their keys."""
        from acrctl.backend import ids

        now = self.b.clock.now()
        parent = ids.key(reg["id"])
        tids = [str(uuid.uuid4()) for _ in targets]
        keys = [f"{parent}/replicationtasks/{tid}" for tid in tids]
        fan = task.get("action") == "push" and len(targets) > 1
        entries = []
        for target, tid, key in zip(targets, tids, keys, strict=True):
            doc = {
                "id": tid,
                "registry": reg["name"].lower(),
                **task,
                "target": target,
                "lastError": None,
                "createdAt": now,
                "updatedAt": now,
            }
            if fan:  # the same image to other regions: claimed and copied together
                doc["siblings"] = [k for k in keys if k != key]
            entries.append((key, parent, tid, doc))
        self.outbox.record_many(entries, now)
        return keys

    def newer_head(
        self, reg: dict[str, Any], repository: str, tag: str, when: float, digest: str, region: str
    ) -> dict[str, Any] | None:
        """Record an event for a tag if it is the newest; else return the newer head."""
        from acrctl.backend import ids

        key = _head_key(reg, repository, tag)
        with self.b.store.transaction():
            cur = self.b.store.get(HEAD, key)
            if cur is not None and float(cur.doc["time"]) > when:
                return dict(cur.doc)
            self.b.store.put(
                HEAD,
                key,
                ids.key(reg["id"]),
                tag,
                {
                    "repository": repository,
                    "tag": tag,
                    "time": when,
                    "digest": digest,
                    "region": region,
                },
            )
        return None

    def heads(self, reg: dict[str, Any]) -> list[dict[str, Any]]:
        """The newest push event recorded for each tag of a registry."""
        from acrctl.backend import ids

        return [dict(i.doc) for i in self.b.store.list(HEAD, parent=ids.key(reg["id"]))]

    def head(self, reg: dict[str, Any], repository: str, tag: str) -> dict[str, Any] | None:
        item = self.b.store.get(HEAD, _head_key(reg, repository, tag))
        return dict(item.doc) if item else None

    def requeue(self, reg: dict[str, Any], task: dict[str, Any], fields: tuple[str, ...]) -> str:
        """A new pending task with `fields` of a failed `task`; the failed one stops counting
        as failed (its FAILED entry goes), in one transaction. Returns the new task's key."""
        from acrctl.backend import ids

        old = f"{ids.key(reg['id'])}/replicationtasks/{task['id']}"
        with self.b.store.transaction():
            key = self.record(reg, [task["target"]], **{f: task.get(f) for f in fields})[0]
            entry = self.b.store.get(QUEUE, old)
            if entry is not None and entry.parent == FAILED:
                self.b.store.delete(QUEUE, old)
        return key

    def expedite(self, region: str) -> int:
        """Make the tasks to or from `region` that wait for a retry's backoff due now (the
        region answers again). Returns how many."""
        store, woken = self.b.store, 0
        for entry in store.list(QUEUE, parent=PENDING):
            item = store.get(TASK, entry.key)
            doc = item.doc if item is not None else {}
            ends = (doc.get("target"), doc.get("source"))
            if doc.get("state") == OUTBOX.retry and region in ends:
                woken += self.outbox.expedite(entry.key)
        return woken

    # -- claiming and finishing ------------------------------------------------------------
    def claim_due(self, limit: int, lease: float, now: float | None = None) -> list[Claimed]:
        """Lease up to `limit` due tasks for `lease` seconds each."""
        now = self.b.clock.now() if now is None else now
        return self.outbox.claim(limit, lease, now, startedAt=now)

    def claim_groups(self, limit: int, lease: float) -> list[list[Claimed]]:
        """Lease up to `limit` groups of due tasks: a claimed push task comes with its
        siblings (the same image from the same source to the other target regions, recorded
        together) that are due too, each leased on its own (a sibling another worker holds,
        or one waiting for its backoff, stays out). A group is copied at once: the source
        read once for every target in it."""
        now = self.b.clock.now()
        claimed = self.claim_due(limit, lease, now)
        by_key = {c.key: c for c in claimed}
        used: set[str] = set()
        groups = []
        for c in claimed:
            if c.key in used:
                continue
            used.add(c.key)
            group = [c]
            for key in c.doc.get("siblings") or []:
                got = by_key.get(key) if key in by_key else self._claim_one(key, lease, now)
                if got is not None and key not in used:
                    used.add(key)
                    group.append(got)
            groups.append(group)
        return groups

    def _claim_one(self, key: str, lease: float, now: float) -> Claimed | None:
        item = self.b.store.get(TASK, key)
        if item is None or not self.outbox.is_due(item.doc, now):
            return None
        return self.outbox.lease(item, lease, now, startedAt=now)

    def finish(
        self,
        key: str,
        lease_id: str,
        error: str | None,
        *,
        max_attempts: int,
        backoff: float,
        backoff_max: float,
        note: str | None = None,
    ) -> str | None:
        """Done (error None), retrying after a backoff with jitter, or failed at the cap.
        Returns the new state (None: the task is gone or another worker owns it now)."""
        now = self.b.clock.now()

        def annotate(doc: dict[str, Any], state: str | None) -> None:
            doc["updatedAt"] = now
            if note:
                doc["note"] = note
            if error is not None:
                doc["lastError"] = error
            if state in ("done", "failed"):
                doc["finishedAt"] = now

        retry = Retry(max_attempts, backoff, backoff_max)
        with self.b.store.transaction():
            state = self.outbox.settle(
                key, lease_id, error is None, retry, now=now, annotate=annotate
            )
            if state == "failed":
                self.b.store.put(QUEUE, key, FAILED, key.rsplit("/", 1)[-1], {"at": now})
        return state

    # -- reading ---------------------------------------------------------------------------
    def get(self, key: str) -> dict[str, Any] | None:
        item = self.b.store.get(TASK, key)
        return dict(item.doc) if item else None

    def for_registry(self, reg: dict[str, Any]) -> list[dict[str, Any]]:
        from acrctl.backend import ids

        return [i.doc for i in self.b.store.list(TASK, parent=ids.key(reg["id"]))]

    def queue_version(self) -> str:
        return self.outbox.version()

    def depth(self) -> int:
        return self.outbox.depth()

    def queue_stats(self, scan: int) -> tuple[dict[str, int], float]:
        """(tasks by state: pending, running, retrying (among the first `scan` unfinished
        ones) and failed (kept for status), age in seconds of the oldest unfinished task; 0
        when none)."""
        store, now = self.b.store, self.b.clock.now()
        counts = dict.fromkeys(("pending", "running", "retrying"), 0)
        oldest: float | None = None
        for entry in store.list(QUEUE, parent=PENDING, limit=scan):
            item = store.get(TASK, entry.key)
            if item is None or item.doc.get("state") not in counts:
                continue
            counts[item.doc["state"]] += 1
            created = float(item.doc.get("createdAt", now))
            oldest = created if oldest is None else min(oldest, created)
        counts["failed"] = store.count(QUEUE, FAILED)
        return counts, max(0.0, now - oldest) if oldest is not None else 0.0

    def prune(self, older_than: float) -> int:
        """Forget finished tasks that finished before `older_than` (epoch seconds)."""
        n = 0
        for item in self.b.store.list(TASK, limit=1000):
            doc = item.doc
            if (
                doc.get("state") in ("done", "failed")
                and float(doc.get("finishedAt", now_inf())) < older_than
            ):
                self.b.store.delete(TASK, item.key)
                self.b.store.delete(QUEUE, item.key)  # its FAILED entry, if any
                n += 1
        return n

    # -- backfill of a new replica ----------------------------------------------------------
    def start_backfill(self, replica_key: str, registry_key: str, location: str) -> None:
        self.b.store.put(
            BACKFILL,
            replica_key,
            registry_key,
            location,
            {
                "location": location,
                "state": "syncing",
                "tasks": [],
                "startedAt": self.b.clock.now(),
            },
        )

    def backfills(self) -> list[Any]:
        """The backfill rows of replicas being filled (parent: the registry's key)."""
        return self.b.store.list(BACKFILL)

    def end_backfill(self, replica_key: str) -> None:
        """A replica is in sync: its backfill is over."""
        self.b.store.delete(BACKFILL, replica_key)

    def syncing(self, replica_key: str) -> bool:
        """Whether a replica is being filled (one cached read of every backfill while the
        store is unchanged)."""
        keys = self.b.cache.get(
            ("replication", "syncing"),
            lambda: frozenset(
                i.key for i in self.b.store.list(BACKFILL) if i.doc.get("state") == "syncing"
            ),
        )
        return replica_key in keys


STATE_WORDS = {
    "done": "present",
    "pending": "inFlight",
    "running": "inFlight",
    "retrying": "retrying",
    "failed": "failed",
}


def image_status(
    tasks: ReplicationTasks, reg: dict[str, Any], regions: list[str], image: str | None = None
) -> list[dict[str, Any]]:
    """Per image (repository:tag) and region: present / inFlight / retrying / failed /
    unknown, with the digest and times, from the tags' newest pushes and the tasks.
    `image` (repository:tag) narrows it to one image."""
    from acrctl.backend import ids

    iso = tasks.b.clock.iso
    heads = {
        (h.doc["repository"], h.doc["tag"]): h.doc
        for h in tasks.b.store.list(HEAD, parent=ids.key(reg["id"]))
    }
    latest: dict[tuple[str, str, str], dict[str, Any]] = {}
    for t in tasks.for_registry(reg):
        if t.get("action") != "push" or not t.get("tag"):
            continue
        k = (t["repository"], t["tag"], t["target"])
        if k not in latest or t["createdAt"] >= latest[k]["createdAt"]:
            latest[k] = t
    images = sorted(set(heads) | {(k[0], k[1]) for k in latest})
    if image is not None:
        repo, _, tag = image.rpartition(":")
        images = [i for i in images if i == (repo, tag or "latest")] or [(repo, tag or "latest")]
    rows = []
    for repo, tag in images:
        head = heads.get((repo, tag))
        for region in regions:
            row: dict[str, Any] = {
                "image": f"{repo}:{tag}",
                "region": region,
                "state": "unknown",
                "digest": None,
                "updatedAt": None,
                "lastError": None,
            }
            task = latest.get((repo, tag, region))
            if head is not None and head["region"] == region:
                row.update(
                    state="present",
                    digest=head["digest"] or None,
                    updatedAt=iso(float(head["time"])),
                )
            elif task is not None:
                row.update(
                    state=STATE_WORDS.get(task["state"], "unknown"),
                    digest=task.get("digest") or (head or {}).get("digest") or None,
                    updatedAt=iso(float(task["updatedAt"])),
                    lastError=task.get("lastError"),
                )
            rows.append(row)
    return rows


def now_inf() -> float:
    return float("inf")


def _head_key(reg: dict[str, Any], repository: str, tag: str) -> str:
    from acrctl.backend import ids

    digest = hashlib.sha256(f"{repository}:{tag}".encode()).hexdigest()[:40]
    return f"{ids.key(reg['id'])}/replicationheads/{digest}"
