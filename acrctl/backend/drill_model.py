"""The failure drills' model: the kinds and their settings, validation of a drill, its state,
and the decisions on one request. Plain functions over documents; acrctl.backend.drills stores
the drills and applies these."""

from __future__ import annotations

import fnmatch
import functools
import random
import re
from dataclasses import dataclass
from typing import Any

from acrctl.backend import ids, regions
from acrctl.backend.errors import (
    ArmError,
    InvalidDrill,
    RegionUnavailable,
    ResourceRequestsThrottled,
    Throttled,
    Unavailable,
)
from acrctl.backend.kinds import DRILL as DRILL

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
        raise InvalidDrill(f"'{key}' must be a whole number.")
    if not low <= int(value) <= high:
        raise InvalidDrill(f"'{key}' must be between {low} and {high}.")
    return int(value)


def _region(props: dict[str, Any]) -> str:
    value = props.get("region")
    if value is None:
        raise InvalidDrill("An outage drill needs a 'region', e.g. westus.")
    region = regions.lookup(value)
    if region is None:
        raise InvalidDrill(f"'{value}' is not a known region; see `acrctl account list-locations`.")
    return str(region["name"])


def _filters(props: dict[str, Any], out: dict[str, Any]) -> None:
    route = props.get("route")
    if route is not None:
        if not isinstance(route, str) or not route.strip() or len(route) > 500:
            raise InvalidDrill(
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
            raise InvalidDrill(
                f"'methods' must be a list of HTTP methods: {', '.join(sorted(METHODS))}.",
            )
        out["methods"] = sorted({m.upper() for m in methods})
    principal = props.get("principal")
    if principal is not None:
        if not isinstance(principal, str) or not principal.strip():
            raise InvalidDrill("'principal' must be a principal id or name.")
        out["principal"] = principal.strip()


def validate(body: dict[str, Any]) -> dict[str, Any]:
    """A PUT body `{"properties": {"kind": ..., ...}}` to the drill's canonical settings.
    Raises InvalidInput naming the first problem."""
    props = body.get("properties")
    if not isinstance(props, dict):
        raise InvalidDrill(
            "A drill needs 'properties' with a 'kind': "
            "RegionOutage, ReplicaOutage, Throttle or Latency.",
        )
    raw_kind = props.get("kind")
    kind = KINDS.get(re.sub(r"[-_\s]", "", raw_kind).lower()) if isinstance(raw_kind, str) else None
    if kind is None:
        raise InvalidDrill(
            f"Unknown drill kind {raw_kind!r}: use "
            "RegionOutage, ReplicaOutage, Throttle or Latency.",
        )
    unknown = set(props) - FIELDS[kind] - READ_ONLY - {"kind", "durationSeconds"}
    if unknown:
        raise InvalidDrill(
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
            raise InvalidDrill("'failReads' must be true or false.")
        out["failReads"] = fail_reads
    if kind == THROTTLE:
        modes = [k for k in ("every", "count", "fraction") if props.get(k) is not None]
        if len(modes) > 1:
            raise InvalidDrill("Give one of 'every', 'count' and 'fraction'.")
        if modes == ["fraction"]:
            fraction = props["fraction"]
            if (
                isinstance(fraction, bool)
                or not isinstance(fraction, int | float)
                or not 0 < fraction <= 1
            ):
                raise InvalidDrill("'fraction' must be a number in (0, 1].")
            out["fraction"] = float(fraction)
        elif modes == ["count"]:
            out["count"] = _int(props, "count", 1, 1_000_000)
        else:
            out["every"] = _int(props, "every", 1, 1_000_000) or 1
    if out.get("retryAfter") == 0 and not (out.get("count") or (out.get("every") or 1) > 1):
        # a client that honours Retry-After would retry at once, forever: only a drill
        # that lets a retry through (count, or every >= 2) may say 0
        raise InvalidDrill(
            "'retryAfter' 0 is allowed only for a throttle "
            "with 'count' or with 'every' of 2 or more (a retry must get "
            "through); use 1 or more.",
        )
    if kind == LATENCY:
        ms = _int(props, "ms", 1, MAX_MS)
        if ms is None:
            raise InvalidDrill("A Latency drill needs 'ms' (milliseconds).")
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
        return RegionUnavailable(
            f"The region '{region}' is unavailable {drill}. {what} on registry "
            f"'{t.registry}', whose home region is '{region}', fail until the region "
            f"recovers. {hint}",
            retry_after=retry,
        )
    if writes and t.location == region:
        return RegionUnavailable(
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
    return ResourceRequestsThrottled(
        f"Number of '{kind}' requests for subscription '{req.sub}' actor "
        f"'{req.caller_name or req.caller_id}' exceeded the limit (failure drill '{name}'). "
        f"Please try again after '{retry}' seconds.",
        retry_after=retry,
    )


@functools.lru_cache(maxsize=256)
def _subscription_key(sub: str) -> str:
    """The store key of a subscription (asked on every request by the drills guard)."""
    return ids.key(ids.subscription_id(sub))
