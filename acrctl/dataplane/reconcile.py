"""The replication engine's reconcile pass: every replica region of a registry is compared
with the home region tag by tag (HEAD on both sides), and what a region lacks or holds at
another digest is queued as a push task from the home region (unless a task for it is still
open). A region that was down catches up this way with no re-push, and a task that failed
for good (its attempts used up while a region was down) is queued again once both of its
regions run. Deletes likewise: a
manifest the store holds a delete tombstone for (a region reported it deleted) that the
home region no longer has, and that no push of a tag recorded after the delete names, is
queued for deletion in every replica region still holding it (the tombstone is settled once
no replica region holds it). Nothing else is ever deleted:
a tag the home region lacks may be a push not replicated yet. The pass also finishes
the backfill of new replicas: a replica stays Syncing until the pass finds nothing missing
and no task open for its region, then it reads Ready."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from acrctl.backend import ids
from acrctl.backend.replication_tasks import OPEN

if TYPE_CHECKING:
    from acrctl.dataplane.engine import Engine

log = logging.getLogger("acrctl.dataplane")
PAGE = 1000


def reconcile(engine: Engine) -> None:
    syncing = {(row.parent, row.doc["location"]): row for row in engine.tasks.backfills()}
    for reg in engine.b.resources.registries():
        requeue_failed(engine, reg)
        regions = engine.regions_of(reg)
        if len(regions) < 2:
            continue
        home = reg["location"]
        try:
            engine.url(home)
        except Exception:  # noqa: BLE001 - the home region is not up: next round
            continue
        tags = home_tags(engine, reg["name"].lower(), home)
        open_tasks = {
            (t["target"], t["repository"], t.get("reference"))
            for t in engine.tasks.for_registry(reg)
            if t.get("state") in OPEN
        }
        _deletes(engine, reg, home, regions, open_tasks)
        todo: dict[tuple[str, str], list[str]] = {}  # (repository, tag) -> regions lacking it
        for target in regions:
            if target == home:
                continue
            row = syncing.get((ids.key(reg["id"]), target))
            missing = _missing(engine, reg, home, target, tags)
            if missing is None:
                continue
            for repo, tag in missing:
                if (target, repo, tag) not in open_tasks:
                    todo.setdefault((repo, tag), []).append(target)
            busy = any(t[0] == target for t in open_tasks)
            if row is not None and not missing and not busy:
                engine.tasks.end_backfill(row.key)
                log.info("replication: %s in %s is in sync (backfill done)", reg["name"], target)
        for (repo, tag), targets in todo.items():  # one record: the regions copied together
            engine.tasks.record(
                reg,
                targets,
                action="push",
                reference=tag,
                repository=repo,
                source=home,
                eventTime=None,
                tag=tag,
                digest=None,
            )
        if todo:
            engine._wake.set()  # noqa: SLF001 - the engine's own helper


def requeue_failed(engine: Engine, reg: dict[str, Any], region: str | None = None) -> int:
    """Queue again the newest task per (target, repository, reference) that failed (it ran
    out of attempts, typically while its source or target region was down) once both
    regions run: a push made in a replica region while the home region was down reaches the
    home region when it returns, however long the outage. `region`: only the tasks to or
    from it (it has just come back, Engine.region_up). Returns how many were queued."""
    regions = engine.regions_of(reg)
    tasks = sorted(engine.tasks.for_registry(reg), key=lambda t: -float(t.get("createdAt") or 0))
    seen: set[tuple[Any, ...]] = set()
    queued = 0
    for t in tasks:
        key = (t["target"], t["repository"], t.get("reference"))
        if key in seen:
            continue
        seen.add(key)
        if t.get("state") != "failed" or t["target"] not in regions:
            continue
        if region is not None and region not in (t["target"], t["source"]):
            continue
        try:
            engine.url(t["target"])
            engine.url(t["source"])
        except Exception:  # noqa: BLE001 - still down: next round
            continue
        fields = ("action", "reference", "repository", "source", "eventTime", "tag", "digest")
        engine.tasks.requeue(reg, t, fields)
        queued += 1
    if queued:
        log.info("replication: %d failed task(s) of %s queued again", queued, reg["name"])
        engine._wake.set()  # noqa: SLF001 - the engine's own helper
    return queued


def _deletes(
    engine: Engine,
    reg: dict[str, Any],
    home: str,
    regions: list[str],
    open_tasks: set[tuple[str, str, str | None]],
) -> None:
    """Queue the deletes a replica region missed (see the module's docstring). A tombstone
    is settled (not checked again) once every replica region was seen without the manifest,
    or once the manifest was pushed again."""
    stones = [s for s in engine.index.tombstones(reg) if not s.get("settled")]
    if not stones:
        return
    registry = reg["name"].lower()
    pushed: dict[tuple[str, str], float] = {}
    for h in engine.tasks.heads(reg):
        k = (h["repository"], str(h.get("digest") or ""))
        pushed[k] = max(pushed.get(k, 0.0), float(h["time"]))
    queued = False
    for stone in stones:
        repo, digest, when = stone["repository"], stone["digest"], float(stone["time"])
        if pushed.get((repo, digest), 0.0) > when or (
            engine.copier(registry, repo, home, home).source_digest(digest) is not None
        ):
            engine.index.settle(reg, repo, digest)  # pushed again after the delete
            continue
        pending = 0
        for target in regions:
            if target == home:
                continue
            if (target, repo, digest) in open_tasks:
                pending += 1
                continue
            try:
                held = engine.copier(registry, repo, home, target).target_digest(digest)
            except Exception:  # noqa: BLE001 - the region is not running: next round
                pending += 1
                continue
            if held != digest:
                continue
            engine.tasks.record(
                reg,
                [target],
                action="delete",
                reference=digest,
                repository=repo,
                source=home,
                eventTime=when,
                tag=None,
                digest=digest,
            )
            open_tasks.add((target, repo, digest))
            pending += 1
            queued = True
        if not pending:
            engine.index.settle(reg, repo, digest)
    if queued:
        engine._wake.set()  # noqa: SLF001 - the engine's own helper


def home_tags(engine: Engine, registry: str, home: str) -> list[tuple[str, str, str]]:
    """(repository, tag, digest) of every tag of a registry in its home region."""
    out = []
    for ns in _catalog(engine, home, registry):
        repo = ns[len(registry) + 1 :]
        copier = engine.copier(registry, repo, home, home)
        for tag in _tags(engine, home, ns):
            digest = copier.source_digest(tag)
            if digest:
                out.append((repo, tag, digest))
    return out


def _missing(
    engine: Engine, reg: dict[str, Any], home: str, target: str, tags: list[tuple[str, str, str]]
) -> list[tuple[str, str]] | None:
    """(repository, tag) the target lacks or holds at another digest; None when the target
    region is not running."""
    try:
        engine.url(target)
    except Exception:  # noqa: BLE001
        return None
    out = []
    registry = reg["name"].lower()
    for repo, tag, digest in tags:
        copier = engine.copier(registry, repo, home, target)
        if copier.target_digest(tag) != digest:
            out.append((repo, tag))
    return out


def _catalog(engine: Engine, region: str, registry: str) -> list[str]:
    token = engine.sign([{"type": "registry", "name": "catalog", "actions": ["*"]}])
    url, last, out = engine.url(region), "", list[str]()
    while True:
        params: dict[str, Any] = {"n": PAGE, **({"last": last} if last else {})}
        r = engine.client.get(
            f"{url}/v2/_catalog", params=params, headers={"Authorization": f"Bearer {token}"}
        )
        if r.status_code != 200:
            return out
        page = r.json().get("repositories") or []
        out += [n for n in page if n.startswith(f"{registry}/")]
        if len(page) < PAGE:
            return out
        last = page[-1]


def _tags(engine: Engine, region: str, ns: str) -> list[str]:
    token = engine.sign([{"type": "repository", "name": ns, "actions": ["pull"]}])
    url, last, out = engine.url(region), "", list[str]()
    while True:
        params: dict[str, Any] = {"n": PAGE, **({"last": last} if last else {})}
        r = engine.client.get(
            f"{url}/v2/{ns}/tags/list", params=params, headers={"Authorization": f"Bearer {token}"}
        )
        if r.status_code != 200:
            return out
        page = r.json().get("tags") or []
        out += page
        if len(page) < PAGE:
            return out
        last = page[-1]
