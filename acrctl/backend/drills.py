"""Failure drills: rehearse the failures Azure's geo-replication documentation warns about.

A drill is a document in the store (kind "drill", one per subscription and name), so every
server instance on one database applies the same drills, a reset removes them, and clearing
one is a delete. Four kinds:

* RegionOutage  -- a region is down. Management operations (PUT/PATCH/DELETE/POST) on a
  registry homed there, on its children, and on any resource located there fail with 503
  RegionUnavailable and Retry-After; GETs keep working unless `failReads`. Every replica in
  the region (a home replica included) reads displayStatus "Unavailable".
* ReplicaOutage -- a region's data plane is down: replicas there read "Unavailable"; nothing
  is refused.
* Throttle      -- matching requests get 429 ResourceRequestsThrottled with Retry-After:
  every Nth (`every`), the next N (`count`) or a random fraction (`fraction`).
* Latency       -- matching requests are delayed by `ms` milliseconds.

Throttle and latency drills match on a path glob (`route`), HTTP `methods` and a
`principal` (id or display name). Plain Python: the model, validation and the decisions on
one request are in acrctl.backend.drill_model (re-exported here), the storage and what
requests see in this module (Backend.drills); acrctl.server.drills applies them to requests.
"""

from __future__ import annotations

import builtins
import copy
from typing import TYPE_CHECKING, Any

from acrctl.backend import ids, regions

# the model (acrctl.backend.drill_model), re-exported
from acrctl.backend.drill_model import (  # noqa: F401
    DEFAULT_RETRY_AFTER,
    DRILL,
    DRILL_TYPE,
    FIELDS,
    KINDS,
    LATENCY,
    MAX_DURATION,
    MAX_MS,
    MAX_RETRY_AFTER,
    METHODS,
    NAME_RE,
    OUTAGES,
    READ_ONLY,
    REGION_OUTAGE,
    REPLICA_OUTAGE,
    THROTTLE,
    WRITES,
    Decision,
    RequestInfo,
    Target,
    _filters,
    _int,
    _region,
    _subscription_key,
    drill_id,
    matches,
    outage_error,
    state,
    throttle_error,
    throttle_hit,
    validate,
)
from acrctl.backend.errors import DrillNotFound, InvalidDrillName
from acrctl.backend.kinds import REGISTRY, REPLICATION, WEBHOOK
from acrctl.backend.store import EtagMismatch, Item

if TYPE_CHECKING:
    from acrctl.backend.core import Backend
    from acrctl.backend.rbac import Caller


# -- storage and the decisions -------------------------------------------------------------------
class Drills:
    """The drills of a backend (cheap to create: it holds only the backend)."""

    def __init__(self, backend: Backend) -> None:
        self.b = backend

    def _parent(self, sub: str) -> str:
        return _subscription_key(sub)

    def _key(self, sub: str, name: str) -> str:
        return ids.key(drill_id(sub, name))

    def _view(self, item: Item) -> dict[str, Any]:
        doc = copy.deepcopy(item.doc)
        props = doc["properties"]
        props["state"] = state(doc, self.b.clock.now())
        props.pop("expires", None)
        return doc

    # -- admin -------------------------------------------------------------------------------
    def list(self, sub: str) -> builtins.list[dict[str, Any]]:
        return [self._view(i) for i in self.b.store.list(DRILL, parent=self._parent(sub))]

    def get(self, sub: str, name: str) -> dict[str, Any]:
        item = self.b.store.get(DRILL, self._key(sub, name))
        if item is None:
            raise DrillNotFound(f"There is no failure drill named '{name}'.")
        return self._view(item)

    def put(
        self, caller: Caller, sub: str, name: str, body: dict[str, Any]
    ) -> tuple[dict[str, Any], bool]:
        """Create or replace a drill (its counters start again). Returns (doc, created)."""
        if not NAME_RE.fullmatch(name):
            raise InvalidDrillName(
                f"The drill name '{name}' is invalid: use 1 to 80 letters, "
                "digits, '.', '_' or '-', starting with a letter or digit.",
            )
        props = validate(body)
        now = self.b.clock.now()
        props.update(createdAt=self.b.clock.iso(now), createdBy=caller.name or caller.id)
        if props.get("durationSeconds"):
            props["expires"] = now + props["durationSeconds"]
            props["expiresAt"] = self.b.clock.iso(props["expires"])
        if props["kind"] == THROTTLE:
            props.update(matchedRequests=0, throttledRequests=0)
        doc = {"id": drill_id(sub, name), "name": name, "type": DRILL_TYPE, "properties": props}
        key = self._key(sub, name)
        with self.b.store.transaction():
            created = self.b.store.get(DRILL, key) is None
            item = self.b.store.put(DRILL, key, self._parent(sub), name, doc)
        return self._view(item), created

    def delete(self, sub: str, name: str) -> dict[str, Any] | None:
        with self.b.store.transaction():
            item = self.b.store.get(DRILL, self._key(sub, name))
            if item is None:
                return None
            self.b.store.delete(DRILL, item.key)
        return self._view(item)

    def clear(self, sub: str) -> builtins.list[dict[str, Any]]:
        """Remove every drill of the subscription; returns what was removed."""
        with self.b.store.transaction():
            items = self.b.store.list(DRILL, parent=self._parent(sub))
            for item in items:
                self.b.store.delete(DRILL, item.key)
        return [self._view(i) for i in items]

    # -- what requests see -----------------------------------------------------------------
    def active(self, sub: str) -> builtins.list[Item]:
        """The drills in force for a subscription: the subscription's drills come from the
        backend's generation cache (no query while the store is unchanged; the guard and a
        replica overlay of one request share one read), their state from the clock now.
        The items are shared: never change them in place."""
        items = self._defined(sub)
        if not items:
            return items
        now = self.b.clock.now()
        return [i for i in items if state(i.doc, now) == "Active"]

    def defined(self, sub: str) -> bool:
        """Whether the subscription has any drill, in force or not (the clock may start or
        end one without a write)."""
        return bool(self._defined(sub))

    def _defined(self, sub: str) -> builtins.list[Item]:
        key = (DRILL, sub)
        items: builtins.list[Item] | None = self.b.cache.peek(key)  # no closure when current
        if items is None:
            parent = self._parent(sub)
            items = self.b.cache.get(key, lambda: self.b.store.list(DRILL, parent=parent))
        return items

    def decide(self, req: RequestInfo, drills: builtins.list[Item]) -> Decision:
        """Apply `drills` (from `active`) to a request: latency adds up, then the first
        throttle that refuses it wins, then the first outage that refuses it."""
        out = Decision()
        for item in drills:
            p = item.doc["properties"]
            if p["kind"] == LATENCY and matches(p, req):
                out.delay_ms += int(p["ms"])
        out.delay_ms = min(out.delay_ms, MAX_MS)
        for item in drills:
            p = item.doc["properties"]
            if p["kind"] == THROTTLE and matches(p, req) and self._count(item):
                out.error = throttle_error(p, item.doc["name"], req)
                return out
        for item in drills:
            err = outage_error(item.doc["properties"], item.doc["name"], req)
            if err is not None:
                out.error = err
                return out
        return out

    def _count(self, item: Item) -> bool:
        """Count a matching request on a throttle drill (compare-and-set on the etag, so
        instances sharing the database count together). True: refuse this request."""
        for _ in range(50):
            doc = copy.deepcopy(item.doc)  # `item` may be a cached one (see active)
            props = doc["properties"]
            matched = int(props.get("matchedRequests", 0)) + 1
            throttled = int(props.get("throttledRequests", 0))
            hit = throttle_hit(props, matched, throttled)
            props["matchedRequests"] = matched
            props["throttledRequests"] = throttled + (1 if hit else 0)
            try:
                self.b.store.put(DRILL, item.key, item.parent, item.name, doc, if_etag=item.etag)
                return hit
            except EtagMismatch:
                fresh = self.b.store.get(DRILL, item.key)
                if fresh is None or state(fresh.doc, self.b.clock.now()) != "Active":
                    return False  # cleared, replaced by an inactive one, or used up
                item = fresh
        return False

    def outage_regions(self) -> set[str]:
        """Regions an outage drill in force takes down, in any subscription (the data
        plane holds their registries stopped). The drills are cached by generation; their
        state is read at the call, as `active` does, since a drill ends with the clock."""
        items: builtins.list[Item] = self.b.cache.get(
            (DRILL, "*"), lambda: self.b.store.list(DRILL)
        )
        now = self.b.clock.now()
        return {
            i.doc["properties"]["region"]
            for i in items
            if i.doc["properties"].get("kind") in OUTAGES and state(i.doc, now) == "Active"
        }

    def down_regions(self, sub: str) -> dict[str, tuple[str, dict[str, Any]]]:
        """region -> (drill name, properties) for the regions an active outage drill takes
        down; a RegionOutage wins over a ReplicaOutage of the same region."""
        out: dict[str, tuple[str, dict[str, Any]]] = {}
        for item in self.active(sub):
            p = item.doc["properties"]
            if p["kind"] in OUTAGES and (p["region"] not in out or p["kind"] == REGION_OUTAGE):
                out[p["region"]] = (item.doc["name"], p)
        return out

    def overlay(
        self, sub: str, docs: builtins.list[dict[str, Any]]
    ) -> builtins.list[dict[str, Any]]:
        """Replica docs as readers see them: a replica in a region an outage drill took down
        reads displayStatus Unavailable (provisioningState is left alone)."""
        if not docs:
            return docs
        down = self.down_regions(sub)
        if not down:
            return docs
        out = []
        for doc in docs:
            hit = down.get(str(doc.get("location", "")).lower())
            if hit is None or not isinstance(doc.get("properties"), dict):
                out.append(doc)
                continue
            name, p = hit
            doc = {
                **doc,
                "properties": {
                    **doc["properties"],
                    "status": unavailable_status(doc, name, p, self.b),
                },
            }
            out.append(doc)
        return out


def unavailable_status(
    doc: dict[str, Any], name: str, props: dict[str, Any], backend: Backend
) -> dict[str, str]:
    region = props["region"]
    home = _is_home(doc, backend)
    if props["kind"] == REGION_OUTAGE and home:
        message = (
            f"The registry's home region '{region}' is unavailable (failure drill "
            f"'{name}'): management operations on the registry fail; pushes and pulls "
            "continue on replicas in other regions."
        )
    elif props["kind"] == REGION_OUTAGE:
        message = (
            f"The region '{region}' is unavailable (failure drill '{name}'): this "
            "replica serves no pushes or pulls; requests go to other replicas."
        )
    else:
        message = (
            f"The replica in '{region}' is unavailable (failure drill '{name}'): it "
            "serves no pushes or pulls; requests go to other replicas. Management of "
            "the registry is not affected."
        )
    return {
        "displayStatus": "Unavailable",
        "message": message,
        "timestamp": str(props.get("createdAt", "")),
    }


def _is_home(doc: dict[str, Any], backend: Backend) -> bool:
    """A replica is the home replica when its region is its registry's location."""
    reg_id = str(doc.get("id", "")).rsplit("/replications/", 1)[0]
    reg = backend.store.get(REGISTRY, ids.key(reg_id))
    return (
        reg is not None
        and str(reg.doc.get("location", "")).lower() == str(doc.get("location", "")).lower()
    )


def locate(
    backend: Backend, sub: str, params: dict[str, str], body_location: Any = None
) -> Target | None:
    """The Target of a request to a registry route (`params` are the route's path
    parameters), or None for routes that address no registry."""
    rg, name = params.get("rg"), params.get("registry")
    if not rg or not name:
        return None
    reg_id = ids.registry_id(sub, rg, name)
    reg = backend.store.get(REGISTRY, ids.key(reg_id))
    target = Target(registry=name, home=str(reg.doc["location"]).lower() if reg else None)
    for param, kind, collection in (
        ("replication", REPLICATION, "replications"),
        ("webhook", WEBHOOK, "webhooks"),
    ):
        if params.get(param):
            child = backend.store.get(kind, ids.key(f"{reg_id}/{collection}/{params[param]}"))
            if child is not None:
                target.location = str(child.doc.get("location", "")).lower() or None
            break
    if target.location is None and body_location is not None:
        region = regions.lookup(body_location)
        target.location = str(region["name"]) if region else None
    if reg is None and target.location is None:
        return None
    return target
