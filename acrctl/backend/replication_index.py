"""What the replication engine remembers about the regions' content (no HTTP here), in the
store so that it survives a restart and is shared by every server instance on one database:

* the mount index: per region and registry, the repository of that registry known to hold
  a blob (digest -> repository), so a blob already in the region is mounted into another
  repository instead of copied again;
* delete tombstones: per registry, the manifests (repository, digest) a region reported
  deleted and when. The reconcile pass deletes a manifest from a replica region only when
  it has a tombstone (never merely because the home region lacks it: that may be a push
  not yet replicated), and settles the tombstone once no replica region holds it."""

from __future__ import annotations

import contextlib
import hashlib
from typing import TYPE_CHECKING, Any

from acrctl.backend.store import EtagMismatch

if TYPE_CHECKING:
    from acrctl.backend.core import Backend

MOUNT = "replicationMount"  # key: mounts/<region>/<registry>/<digest>
TOMBSTONE = "replicationTombstone"  # key: <registry key>/replicationtombstones/<hash>


def _mount_key(region: str, registry: str, digest: str) -> str:
    return f"mounts/{region.lower()}/{registry.lower()}/{digest.lower()}"


def _tombstone_key(registry_key: str, repository: str, digest: str) -> str:
    h = hashlib.sha256(f"{repository}@{digest}".encode()).hexdigest()[:40]
    return f"{registry_key}/replicationtombstones/{h}"


class ReplicationIndex:
    def __init__(self, backend: Backend) -> None:
        self.b = backend

    # -- the mount index ---------------------------------------------------------------------
    def mount_source(self, region: str, registry: str, digest: str) -> str | None:
        """The repository (namespaced, `registry/repo`) of `registry` known to hold `digest`
        in `region`, or None."""
        item = self.b.store.get(MOUNT, _mount_key(region, registry, digest))
        return str(item.doc["repository"]) if item is not None else None

    def placed(self, region: str, registry: str, digest: str, repository: str) -> None:
        """`repository` (namespaced) of `registry` holds `digest` in `region` now."""
        parent = f"{region.lower()}/{registry.lower()}"
        self.b.store.put(
            MOUNT,
            _mount_key(region, registry, digest),
            parent,
            digest.lower(),
            {"repository": repository},
        )

    # -- delete tombstones -------------------------------------------------------------------
    def tombstone(
        self, reg: dict[str, Any], repository: str, digest: str, when: float, region: str
    ) -> None:
        """Record that `region` deleted repository@digest at `when` (epoch seconds)."""
        from acrctl.backend import ids

        self.b.store.put(
            TOMBSTONE,
            _tombstone_key(ids.key(reg["id"]), repository, digest),
            ids.key(reg["id"]),
            digest.lower(),
            {"repository": repository, "digest": digest, "time": when, "region": region},
        )

    def settle(self, reg: dict[str, Any], repository: str, digest: str) -> None:
        """Every replica region is known to lack repository@digest (or it was pushed again):
        the reconcile pass stops checking it (a later delete event records it anew)."""
        from acrctl.backend import ids

        key = _tombstone_key(ids.key(reg["id"]), repository, digest)
        item = self.b.store.get(TOMBSTONE, key)
        if item is not None and not item.doc.get("settled"):
            doc = {**item.doc, "settled": True}
            with contextlib.suppress(EtagMismatch):  # recorded anew meanwhile: it stays open
                self.b.store.put(TOMBSTONE, key, item.parent, item.name, doc, if_etag=item.etag)

    def tombstones(self, reg: dict[str, Any]) -> list[dict[str, Any]]:
        """The registry's delete tombstones, oldest first."""
        from acrctl.backend import ids

        return [dict(i.doc) for i in self.b.store.list(TOMBSTONE, parent=ids.key(reg["id"]))]

    def prune_tombstones(self, older_than: float) -> int:
        """Forget tombstones recorded before `older_than` (epoch seconds)."""
        n = 0
        for item in self.b.store.list(TOMBSTONE, limit=1000):
            if float(item.doc.get("time", 0)) < older_than:
                self.b.store.delete(TOMBSTONE, item.key)
                n += 1
        return n
