"""Reads of stored resources across kinds, for the server's generic handlers and the data
plane (no HTTP here): what they used to read from the store themselves."""

from __future__ import annotations

from typing import TYPE_CHECKING

from acrctl.backend import ids
from acrctl.backend.registries import REGISTRY
from acrctl.backend.replications import REPLICATION

if TYPE_CHECKING:
    from typing import Any

    from acrctl.backend.core import Backend
    from acrctl.backend.store import Item


class Resources:
    def __init__(self, backend: Backend) -> None:
        self.b = backend

    def stored(self, kind: str, resource_id: str) -> Item | None:
        """The stored item of a resource id as it is now (its etag included)."""
        return self.b.store.get(kind, ids.key(resource_id))

    def page(
        self, kind: str, sub: str, after: int | None = None, limit: int | None = None
    ) -> list[Item]:
        """A subscription's items of a kind in creation order, after `seq` `after`."""
        prefix = f"/subscriptions/{sub}/".lower()
        return self.b.store.list(kind, prefix=prefix, after=after, limit=limit)

    def named(self, kind: str, sub: str, name: str, after: int | None = None) -> list[Item]:
        """A subscription's items of a kind with this name, after `seq` `after`."""
        prefix = f"/subscriptions/{sub}/".lower()
        return [
            it
            for it in self.b.store.find_by_name(kind, name)
            if it.key.startswith(prefix) and (after is None or it.seq > after)
        ]

    def registries(self) -> list[dict[str, Any]]:
        """Every registry of every subscription, in creation order."""
        return [item.doc for item in self.b.store.list(REGISTRY)]

    def placement(self) -> dict[str, set[str]]:
        """region -> registries (lower case) with a replica there (a registry without
        replicas, below Premium, lives in its home region)."""
        out: dict[str, set[str]] = {}
        for reg in self.registries():
            replicas = self.b.store.list(REPLICATION, parent=ids.key(reg["id"]))
            for loc in {r.doc["location"] for r in replicas} or {reg["location"]}:
                out.setdefault(loc, set()).add(reg["name"].lower())
        return out
