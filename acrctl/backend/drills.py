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
`principal` (id or display name). This module is plain Python: the model, validation,
storage and the decisions; acrctl.server.drills applies them to requests.
"""

from __future__ import annotations

import builtins
import copy
import fnmatch
import functools
import random
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from acrctl.backend import ids, regions
from acrctl.backend.errors import ArmError, InvalidInput, NotFound, Throttled, Unavailable
from acrctl.backend.store import EtagMismatch, Item

if TYPE_CHECKING:
    from acrctl.backend.core import Backend
    from acrctl.backend.rbac import Caller

DRILL = "drill"
DRILL_TYPE = "Acrctl.Admin/drills"
REGION_OUTAGE, REPLICA_OUTAGE, THROTTLE, LATENCY = (
    "RegionOutage",
    "ReplicaOutage",
    "Throttle",
    "Latency",
)
KINDS = {k.lower(): k for k in (REGION_OUTAGE, REPLICA_OUTAGE, THROTTLE, LATENCY)}
OUTAGES = (REGION_OUTAGE, REPLICA_OUTAGE)
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,79}")
WRITES = frozenset({"PUT", "PATCH", "DELETE", "POST"})
METHODS = frozenset({"GET", "HEAD", *WRITES})
MAX_MS = 60_000  # ARM's proxy timeout: an RP slower than 60 s is a 504 anyway
MAX_RETRY_AFTER = 3600
MAX_DURATION = 7 * 24 * 3600
DEFAULT_RETRY_AFTER = {REGION_OUTAGE: 60, THROTTLE: 10}
# settings each kind takes (besides kind and durationSeconds)
FIELDS = {
    REGION_OUTAGE: {"region", "retryAfter", "failReads"},
    REPLICA_OUTAGE: {"region"},
    THROTTLE: {"every", "count", "fraction", "retryAfter", "route", "methods", "principal"},
    LATENCY: {"ms", "route", "methods", "principal"},
}
# read-only fields the server fills in (accepted back from a GET, then ignored)
READ_ONLY = {"createdAt", "createdBy", "expiresAt", "state", "matchedRequests", "throttledRequests"}


@dataclass
class Target:
    """What a request addresses, as far as outages care: the registry's home region and
    the region of the resource it writes (a PUT body's location, or the existing child's)."""

    registry: str | None = None
    home: str | None = None
    location: str | None = None


@dataclass
class RequestInfo:
    """One request, as the drills see it."""

    sub: str
    method: str
    path: str
    caller_id: str = ""
    caller_name: str = ""
    target: Target | None = None


@dataclass
class Decision:
    """What the drills do to a request: delay it, then refuse it with `error` (or not)."""

    delay_ms: int = 0
    error: ArmError | None = None


# -- the model ----------------------------------------------------------------------------------
def drill_id(sub: str, name: str) -> str:
    return f"{ids.subscription_id(sub)}/providers/{DRILL_TYPE}/{name}"


def _int(props: dict[str, Any], key: str, low: int, high: int) -> int | None:
    value = props.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value != int(value):
        raise InvalidInput("InvalidDrill", f"'{key}' must be a whole number.")
    if not low <= int(value) <= high:
        raise InvalidInput("InvalidDrill", f"'{key}' must be between {low} and {high}.")
    return int(value)


def _region(props: dict[str, Any]) -> str:
    value = props.get("region")
    if value is None:
        raise InvalidInput("InvalidDrill", "An outage drill needs a 'region', e.g. westus.")
    region = regions.lookup(value)
    if region is None:
        raise InvalidInput(
            "InvalidDrill", f"'{value}' is not a known region; see `acrctl account list-locations`."
        )
    return str(region["name"])


def _filters(props: dict[str, Any], out: dict[str, Any]) -> None:
    route = props.get("route")
    if route is not None:
        if not isinstance(route, str) or not route.strip() or len(route) > 500:
            raise InvalidInput(
                "InvalidDrill",
                "'route' must be a path glob (at most 500 characters), e.g. */replications/*.",
            )
        out["route"] = route.strip()
    methods = props.get("methods")
    if methods is not None:
        if isinstance(methods, str):
            methods = [methods]
        if (
            not isinstance(methods, list)
            or not methods
            or not all(isinstance(m, str) and m.upper() in METHODS for m in methods)
        ):
            raise InvalidInput(
                "InvalidDrill",
                f"'methods' must be a list of HTTP methods: {', '.join(sorted(METHODS))}.",
            )
        out["methods"] = sorted({m.upper() for m in methods})
    principal = props.get("principal")
    if principal is not None:
        if not isinstance(principal, str) or not principal.strip():
            raise InvalidInput("InvalidDrill", "'principal' must be a principal id or name.")
        out["principal"] = principal.strip()


def validate(body: dict[str, Any]) -> dict[str, Any]:
    """A PUT body `{"properties": {"kind": ..., ...}}` to the drill's canonical settings.
    Raises InvalidInput naming the first problem."""
    props = body.get("properties")
    if not isinstance(props, dict):
        raise InvalidInput(
            "InvalidDrill",
            "A drill needs 'properties' with a 'kind': "
            "RegionOutage, ReplicaOutage, Throttle or Latency.",
        )
    raw_kind = props.get("kind")
    kind = KINDS.get(re.sub(r"[-_\s]", "", raw_kind).lower()) if isinstance(raw_kind, str) else None
    if kind is None:
        raise InvalidInput(
            "InvalidDrill",
            f"Unknown drill kind {raw_kind!r}: use "
            "RegionOutage, ReplicaOutage, Throttle or Latency.",
        )
    unknown = set(props) - FIELDS[kind] - READ_ONLY - {"kind", "durationSeconds"}
    if unknown:
        raise InvalidInput(
            "InvalidDrill",
            f"A {kind} drill does not take "
            f"{', '.join(sorted(unknown))}; it takes "
            f"{', '.join(sorted(FIELDS[kind] | {'durationSeconds'}))}.",
        )
    out: dict[str, Any] = {"kind": kind}
    if kind in OUTAGES:
        out["region"] = _region(props)
    if kind in DEFAULT_RETRY_AFTER:
        retry = _int(props, "retryAfter", 0, MAX_RETRY_AFTER)
        out["retryAfter"] = DEFAULT_RETRY_AFTER[kind] if retry is None else retry
    if kind == REGION_OUTAGE:
        fail_reads = props.get("failReads", False)
        if not isinstance(fail_reads, bool):
            raise InvalidInput("InvalidDrill", "'failReads' must be true or false.")
        out["failReads"] = fail_reads
    if kind == THROTTLE:
        modes = [k for k in ("every", "count", "fraction") if props.get(k) is not None]
        if len(modes) > 1:
            raise InvalidInput("InvalidDrill", "Give one of 'every', 'count' and 'fraction'.")
        if modes == ["fraction"]:
            fraction = props["fraction"]
            if (
                isinstance(fraction, bool)
                or not isinstance(fraction, int | float)
                or not 0 < fraction <= 1
            ):
                raise InvalidInput("InvalidDrill", "'fraction' must be a number in (0, 1].")
            out["fraction"] = float(fraction)
        elif modes == ["count"]:
            out["count"] = _int(props, "count", 1, 1_000_000)
        else:
            out["every"] = _int(props, "every", 1, 1_000_000) or 1
    if out.get("retryAfter") == 0 and not (out.get("count") or (out.get("every") or 1) > 1):
        # a client that honours Retry-After would retry at once, forever: only a drill
        # that lets a retry through (count, or every >= 2) may say 0
        raise InvalidInput(
            "InvalidDrill",
            "'retryAfter' 0 is allowed only for a throttle "
            "with 'count' or with 'every' of 2 or more (a retry must get "
            "through); use 1 or more.",
        )
    if kind == LATENCY:
        ms = _int(props, "ms", 1, MAX_MS)
        if ms is None:
            raise InvalidInput("InvalidDrill", "A Latency drill needs 'ms' (milliseconds).")
        out["ms"] = ms
    if kind in (THROTTLE, LATENCY):
        _filters(props, out)
    duration = _int(props, "durationSeconds", 1, MAX_DURATION)
    if duration is not None:
        out["durationSeconds"] = duration
    return out


def state(doc: dict[str, Any], now: float) -> str:
    """Active, Expired (its duration is over) or Exhausted (a count throttle used up)."""
    p = doc["properties"]
    if p.get("expires") is not None and now >= float(p["expires"]):
        return "Expired"
    if (
        p["kind"] == THROTTLE
        and p.get("count") is not None
        and p.get("throttledRequests", 0) >= p["count"]
    ):
        return "Exhausted"
    return "Active"


def matches(props: dict[str, Any], req: RequestInfo) -> bool:
    """Does a throttle/latency drill's filter (route glob, methods, principal) take `req`?"""
    methods = props.get("methods")
    if methods and req.method.upper() not in methods:
        return False
    principal = props.get("principal")
    if principal and principal.lower() not in (req.caller_id.lower(), req.caller_name.lower()):
        return False
    route = props.get("route")
    if route:
        path, pattern = req.path.lower(), route.lower()
        if not any(c in pattern for c in "*?["):
            return pattern in path  # no wildcard: a substring of the path
        return fnmatch.fnmatchcase(path, pattern)
    return True


def outage_error(props: dict[str, Any], name: str, req: RequestInfo) -> Unavailable | None:
    """The 503 a region-outage drill gives `req`, or None when the request is unaffected."""
    if props["kind"] != REGION_OUTAGE or req.target is None:
        return None
    region, t = props["region"], req.target
    writes = req.method.upper() in WRITES
    if not writes and not (props.get("failReads") and t.home):
        return None
    retry = int(props["retryAfter"])
    hint = (
        f"Pushes and pulls continue on the registry's replicas in other regions. "
        f"Retry after {retry} seconds."
    )
    drill = f"(failure drill '{name}')"
    if t.home == region:
        what = "Management operations" if writes else "Requests"
        return Unavailable(
            "RegionUnavailable",
            f"The region '{region}' is unavailable {drill}. {what} on registry "
            f"'{t.registry}', whose home region is '{region}', fail until the region "
            f"recovers. {hint}",
            retry_after=retry,
        )
    if writes and t.location == region:
        return Unavailable(
            "RegionUnavailable",
            f"The region '{region}' is unavailable {drill}: resources located there cannot "
            f"be created, changed or deleted until it recovers. Retry after {retry} "
            "seconds.",
            retry_after=retry,
        )
    return None


def throttle_hit(props: dict[str, Any], matched: int, throttled: int) -> bool:
    """Is the `matched`-th matching request (1-based) refused, `throttled` refused so far?"""
    if props.get("count") is not None:
        return throttled < int(props["count"])
    if props.get("fraction") is not None:
        return random.random() < float(props["fraction"])
    return matched % int(props.get("every") or 1) == 0


def throttle_error(props: dict[str, Any], name: str, req: RequestInfo) -> Throttled:
    retry = int(props["retryAfter"])
    kind = "write" if req.method.upper() in WRITES else "read"
    return Throttled(
        "ResourceRequestsThrottled",
        f"Number of '{kind}' requests for subscription '{req.sub}' actor "
        f"'{req.caller_name or req.caller_id}' exceeded the limit (failure drill '{name}'). "
        f"Please try again after '{retry}' seconds.",
        retry_after=retry,
    )


@functools.lru_cache(maxsize=256)
def _subscription_key(sub: str) -> str:
    """The store key of a subscription (asked on every request by the drills guard)."""
    return ids.key(ids.subscription_id(sub))


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
            raise NotFound("DrillNotFound", f"There is no failure drill named '{name}'.")
        return self._view(item)

    def put(
        self, caller: Caller, sub: str, name: str, body: dict[str, Any]
    ) -> tuple[dict[str, Any], bool]:
        """Create or replace a drill (its counters start again). Returns (doc, created)."""
        if not NAME_RE.fullmatch(name):
            raise InvalidInput(
                "InvalidDrillName",
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
        parent = self._parent(sub)
        items: builtins.list[Item] = self.b.cache.get(
            (DRILL, parent), lambda: self.b.store.list(DRILL, parent=parent)
        )
        if not items:
            return items
        now = self.b.clock.now()
        return [i for i in items if state(i.doc, now) == "Active"]

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
    from acrctl.backend.registries import REGISTRY

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
    from acrctl.backend.registries import REGISTRY
    from acrctl.backend.replications import REPLICATION
    from acrctl.backend.webhooks import WEBHOOK

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
