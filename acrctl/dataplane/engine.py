"""The replication engine of a running data plane.

Each region's distribution posts its notifications to the front; `on_events` turns every
manifest push or delete into durable tasks in the store, one per other region holding a
replica of the registry, before the notification is acknowledged (an error answers 500 and
distribution sends it again). Events caused by the engine's own writes carry its token's
subject as actor.name and are dropped (the loop guard). A pool of worker threads claims due
tasks under a lease (acrctl.backend.replication_tasks) and runs them with the Copier.

A reconcile pass (every `replication_reconcile_seconds`) compares each replica region with
the registry's home region, tag by tag, and queues what a region lacks: a region that was
down catches up with no re-push. It also drives the backfill of new replicas (Syncing until
the region holds everything the home region held, then Ready)."""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import httpx

from acrctl.backend.replication_index import ReplicationIndex
from acrctl.backend.replication_tasks import OPEN, Claimed, ReplicationTasks, event_time
from acrctl.dataplane import storecopy
from acrctl.dataplane.copier import ENGINE_SUB, Copier, CopyError, Stats
from acrctl.dataplane.fanout import run_group

if TYPE_CHECKING:
    from acrctl.dataplane.plane import DataPlane

log = logging.getLogger("acrctl.dataplane")
MOUNT_CACHE_MAX = 100_000  # mount index entries also kept in memory (the store has all)


def is_manifest(media_type: Any) -> bool:
    return isinstance(media_type, str) and ("manifest" in media_type or "index" in media_type)


class Engine:
    def __init__(self, plane: DataPlane) -> None:
        s = plane.settings
        self.plane, self.b, self.s = plane, plane.b, s
        self.tasks = ReplicationTasks(plane.b)
        self.index = ReplicationIndex(plane.b)
        self.stats = Stats(on_add=self._counted)
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._busy = 0
        self._lock = threading.Lock()
        self._mounts: dict[tuple[str, str], str] = {}
        self._pool = ThreadPoolExecutor(
            max_workers=max(1, s.replication_workers), thread_name_prefix="acrctl-replication"
        )
        # no cap on open connections: a capped pool can deadlock fan-out copies (each holds
        # its source read while it waits for its uploads' connections); the threads bound
        # them (workers x blob_parallel x (1 + regions)); idle ones kept are capped
        self.client = httpx.Client(
            timeout=httpx.Timeout(s.replication_timeout, connect=5.0),
            limits=httpx.Limits(
                max_connections=None,
                max_keepalive_connections=2
                * max(1, s.replication_workers)
                * max(1, s.replication_blob_parallel),
            ),
        )
        self._threads: list[threading.Thread] = []

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> Engine:
        for target, name in (
            (self._claim_loop, "acrctl-replication-claim"),
            (self._reconcile_loop, "acrctl-replication-reconcile"),
        ):
            t = threading.Thread(target=target, name=name, daemon=True)
            t.start()
            self._threads.append(t)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        for t in self._threads:
            t.join(timeout=timeout)
        # copies in flight are cut short (their tasks are retried, by lease, after a restart)
        self.client.close()
        self._pool.shutdown(wait=True, cancel_futures=True)

    # -- notifications -> tasks ------------------------------------------------------------------
    def on_events(self, region: str, events: list[dict[str, Any]]) -> None:
        """Record the tasks of a region's events (raises when the store cannot)."""
        queued = False
        for ev in events:
            queued = self._on_event(region, ev) or queued
        if queued:
            self._wake.set()

    def _on_event(self, region: str, ev: dict[str, Any]) -> bool:
        action, target = ev.get("action"), ev.get("target") or {}
        registry, _, repo = str(target.get("repository", "")).partition("/")
        if action not in ("push", "delete") or not repo:
            return False
        if (ev.get("actor") or {}).get("name") == ENGINE_SUB:
            return False  # the loop guard: our own write
        reg = self.b.registries.find(registry)
        if reg is None:
            return False
        regions = self.regions_of(reg)
        if region not in regions:
            return False  # a region without this registry's replica: not its content
        targets = [r for r in regions if r != region]
        if not targets:
            return False
        tag, digest = target.get("tag"), target.get("digest")
        when = event_time(ev.get("timestamp"), self.b.clock.now())
        task = {
            "repository": repo,
            "source": region,
            "eventTime": when,
            "tag": tag,
            "digest": digest,
        }
        if action == "delete":
            if not digest or tag:
                return False  # 2.8 sends one tag-only event per untagged tag: the digest's
            with self.b.store.transaction():  # the reconcile pass finds what a task missed
                self.index.tombstone(reg, repo, str(digest), when, region)
                return bool(
                    self.tasks.record(reg, targets, action="delete", reference=digest, **task)
                )
        if not is_manifest(target.get("mediaType")) or not (tag or digest):
            return False
        if tag:
            newer = self.tasks.newer_head(reg, repo, tag, when, str(digest or ""), region)
            if newer is not None:  # an older push: the newer one wins here too
                task.update(source=newer["region"], eventTime=newer["time"], digest=newer["digest"])
                targets = [region] if region != newer["region"] else []
                return bool(self.tasks.record(reg, targets, action="push", reference=tag, **task))
        return bool(self.tasks.record(reg, targets, action="push", reference=tag or digest, **task))

    def regions_of(self, reg: dict[str, Any]) -> list[str]:
        return sorted({r["location"] for r in self.b.replications.all_for(reg)} | {reg["location"]})

    # -- workers -------------------------------------------------------------------------------
    def _claim_loop(self) -> None:
        workers = max(1, self.s.replication_workers)
        while not self._stop.is_set():
            try:
                free = workers - self._busy
                lease = self.s.replication_lease_seconds
                groups = self.tasks.claim_groups(free, lease) if free > 0 else []
            except Exception:  # noqa: BLE001 - the store may be briefly down
                log.exception("replication: claiming tasks failed")
                groups = []
            for group in groups:
                with self._lock:
                    self._busy += 1
                self._pool.submit(self._run, group)
            if not groups:
                self._wake.wait(self.s.replication_poll_seconds)
                self._wake.clear()

    def _run(self, group: list[Claimed]) -> None:
        """Run a claimed task, or a group of one image's tasks to several regions at once."""
        try:
            if len(group) == 1:
                self.settle(group[0], *self._attempt(group[0].doc))
            else:
                run_group(self, group)
        except Exception:  # noqa: BLE001 - a bug: the leases run out, the tasks run again
            log.exception("replication: a group of %d task(s) failed", len(group))
        finally:
            with self._lock:
                self._busy -= 1
            self._wake.set()

    def _attempt(self, task: dict[str, Any]) -> tuple[str | None, str | None]:
        """(note, error) of one run of a task."""
        try:
            return self.execute(task), None
        except (CopyError, httpx.HTTPError, ValueError, KeyError) as exc:
            return None, f"{type(exc).__name__}: {exc}"
        except Exception as exc:  # noqa: BLE001 - recorded on the task, retried
            log.exception("replication: task %s failed", task.get("id"))
            return None, f"{type(exc).__name__}: {exc}"

    def settle(self, claim: Claimed, note: str | None, error: str | None) -> None:
        """Record a task's outcome (done, or retrying/failed with the error)."""
        task = claim.doc
        with contextlib.suppress(Exception):
            state = self.tasks.finish(
                claim.key,
                claim.lease_id,
                error,
                max_attempts=self.s.replication_max_attempts,
                backoff=self.s.replication_backoff_seconds,
                backoff_max=self.s.replication_backoff_max_seconds,
                note=note,
            )
            if error:
                log.warning(
                    "replication: %s %s/%s:%s to %s: %s (%s)",
                    task.get("action"),
                    task.get("registry"),
                    task.get("repository"),
                    task.get("reference"),
                    task.get("target"),
                    error,
                    state,
                )

    def precheck(self, task: dict[str, Any]) -> str | None:
        """Why a task has nothing to do (the note for its record); None: it has."""
        reg = self.b.registries.find(task["registry"])
        if reg is None:
            return "the registry no longer exists"
        if task["target"] not in self.regions_of(reg):
            return "the target region no longer holds a replica"
        tag, when = task.get("tag"), task.get("eventTime")
        if task["action"] == "push" and tag and when is not None:
            head = self.tasks.head(reg, task["repository"], tag)
            if head is not None and float(head["time"]) > float(when):
                return "superseded by a newer push of the tag"
        return None

    def execute(self, task: dict[str, Any]) -> str | None:
        """Run one task. Returns a note for the record (None: plain success)."""
        note = self.precheck(task)
        if note is not None:
            return note
        tag, when = task.get("tag"), task.get("eventTime")
        copier = self.copier(task["registry"], task["repository"], task["source"], task["target"])
        if task["action"] == "delete":
            copier.delete(task["reference"])
            return None
        digest = task.get("digest") if tag and task["reference"] == tag else None
        done = copier.copy(task["reference"], source_ref=digest or None)
        if done and copier.put_at is not None and when is not None:
            self.b.observer.replication_lag(task["source"], task["target"], copier.put_at - when)
        return None if done else "the source no longer has it"

    def _counted(self, target: str, delta: dict[str, int]) -> None:
        self.b.observer.replication_counts(target, delta)

    def copier(self, registry: str, repository: str, source: str, target: str) -> Copier:
        ns = f"{registry}/{repository}"

        def mount_from(digest: str) -> str | None:
            return self.mount_source(target, registry, digest)

        def placed(digest: str) -> None:
            self.placed(target, registry, digest, ns)

        src = self.url(source)
        linked = self.plane.geo.link(source, target, src)  # read from the target's side
        return Copier(
            self.client,
            self.sign,
            linked,
            self.url(target),
            ns,
            target,
            self.stats,
            mount_from=mount_from,
            placed=placed,
            blob_retries=self.s.replication_blob_retries,
            chunk=self.s.replication_chunk_bytes,
            parallel=self.s.replication_blob_parallel,
            # its storage is here and no test-bed link is between them: send blobs from it,
            # into the target's storage when that is here too
            src_root=self.plane.data_root(source) if self._local(src, linked) else None,
            dst_root=self.plane.data_root(target) if self._stored(src, linked) else None,
        )

    def _local(self, src: str, linked: str) -> bool:
        """Whether blobs may be sent from the source region's files (its storage is here
        when data_root says so): `replication_local_source` on, no test-bed link between."""
        return bool(self.s.replication_local_source) and linked == src

    def _stored(self, src: str, linked: str) -> bool:
        """Whether blobs may be copied at the storage layer (storecopy): the source's files
        are used (_local) and `replication_storage_copy` is on."""
        return self._local(src, linked) and bool(self.s.replication_storage_copy)

    # -- the mount index: in the store (shared, durable), cached here ---------------------------
    def mount_source(self, region: str, registry: str, digest: str) -> str | None:
        key = (f"{region}/{registry}", digest)
        got = self._mounts.get(key)
        if got is None:
            got = self.index.mount_source(region, registry, digest)
            if got is not None:
                self._remember(key, got)
        return got

    def placed(self, region: str, registry: str, digest: str, ns: str) -> None:
        key = (f"{region}/{registry}", digest)
        if self._mounts.get(key) == ns:
            return  # known already: no store write
        self.index.placed(region, registry, digest, ns)
        self._remember(key, ns)

    def _remember(self, key: tuple[str, str], ns: str) -> None:
        with self._lock:
            if len(self._mounts) > MOUNT_CACHE_MAX:
                self._mounts.clear()
            self._mounts[key] = ns

    def started_url(self, region: str) -> str:
        """url(), starting the region first (bounded by the supervisor's ready timeout)
        when it never ran: an import can come right after the registry was created."""
        self.plane.supervisor.ensure(region)
        return self.url(region)

    def url(self, region: str) -> str:
        r = self.plane.supervisor.region(region)
        if r is None or not r.ready:
            raise CopyError(f"the region {region} is not running")
        return r.url

    def sign(self, access: list[dict[str, Any]], sub: str = ENGINE_SUB) -> str:
        """An access token for the regions; `sub` other than the engine's makes the writes
        replicate (an import's)."""
        now = int(time.time())
        return self.plane.keys.sign(
            {
                "iss": self.plane.issuer,
                "sub": sub,
                "aud": self.plane.service,
                "iat": now,
                "nbf": now - 5,
                "exp": now + 600,
                "jti": str(uuid.uuid4()),
                "access": access,
            }
        )

    # -- reconcile and backfill --------------------------------------------------------------
    def _reconcile_loop(self) -> None:
        while not self._stop.wait(self.s.replication_reconcile_seconds):
            try:
                self.reconcile()
            except Exception:  # noqa: BLE001 - next round
                log.exception("replication: reconcile failed")

    def reconcile(self) -> None:
        from acrctl.dataplane.reconcile import reconcile

        reconcile(self)
        now = self.b.clock.now()
        self.tasks.prune(now - self.s.replication_task_retention_seconds)
        self.index.prune_tombstones(now - self.s.replication_tombstone_retention_seconds)
        self.clear_stale()

    def clear_stale(self) -> None:
        """Remove the temporary files a crash left in this machine's regions (storecopy)."""
        for region in list(self.plane.supervisor.regions):
            root = self.plane.data_root(region)
            if root is not None:
                storecopy.clear_stale(root)

    def region_up(self, region: str) -> int:
        """A region answers again (the health probe saw it come back): the tasks it held
        back run now, not at the next reconcile pass: the failed ones to or from it are
        queued again and the ones waiting for a retry's backoff are made due. Returns how
        many."""
        from acrctl.dataplane.reconcile import requeue_failed

        woken = self.tasks.expedite(region)
        for reg in self.b.resources.registries():
            if region in self.regions_of(reg):
                woken += requeue_failed(self, reg, region)
        if woken:
            log.info("replication: %d task(s) woken: region %s answers again", woken, region)
            self._wake.set()
        return woken

    def backfill_rows(self) -> list[Any]:
        return self.tasks.backfills()

    def open_task(self, key: str) -> bool:
        doc = self.tasks.get(key)
        return doc is not None and doc.get("state") in OPEN
