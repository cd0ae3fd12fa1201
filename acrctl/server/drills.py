"""Failure drills over HTTP: the guard that applies them to every request (registered in
App.guards) and the admin handlers for
`GET/PUT/DELETE /subscriptions/{sub}/providers/Acrctl.Admin/drills[/{name}]`.

The guard runs after authorization (a caller without access still gets its 403) and never
touches requests outside a subscription or to the Acrctl.Admin endpoints, so a drill can
always be listed and cleared. The drill model and decisions live in acrctl.backend.drills.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from acrctl.backend import drills
from acrctl.backend.errors import ArmError
from acrctl.server.http import Ctx, Response, parse_json

if TYPE_CHECKING:
    from acrctl.server.routing import Route

SUB_RE = re.compile(r"^/subscriptions/([^/]+)", re.IGNORECASE)
PREFIX = "/subscriptions/"
PREFIX_LEN = len(PREFIX)
ADMIN_MARK = "/providers/acrctl.admin/"
# How the guard waits out injected latency; tests may replace it. An adapter that would
# rather wait asynchronously sets req.meta["defer_delay"] = True and sleeps for
# req.meta["drill_delay"] seconds itself after handle() returns.
sleep: Callable[[float], None] = time.sleep


def guard(c: Ctx, route: Route) -> None:
    """Apply the subscription's active drills to this request: sleep for latency drills,
    raise 429 (throttle) or 503 (region outage)."""
    path = c.req.path
    if path.startswith(PREFIX):  # subscription_of(path), without a call on every request
        end = path.find("/", PREFIX_LEN)
        sub: str | None = (path[PREFIX_LEN:] if end < 0 else path[PREFIX_LEN:end]) or None
    else:
        sub = subscription_of(path)
    if sub is None:
        return
    service = c.b.drills
    active = service.active(sub)  # from the generation cache: no query while unchanged
    if not active or ADMIN_MARK in path.lower():
        return
    info = drills.RequestInfo(
        sub=sub, method=c.req.method, path=path, caller_id=c.caller.id, caller_name=c.caller.name
    )
    if any(i.doc["properties"]["kind"] == drills.REGION_OUTAGE for i in active):
        info.target = drills.locate(c.b, sub, c.p, _body_location(c))
    decision = service.decide(info, active)
    if decision.delay_ms:
        seconds = decision.delay_ms / 1000
        c.req.meta["drill_delay"] = seconds
        if not c.req.meta.get("defer_delay"):
            sleep(seconds)
    if decision.error is not None:
        c.req.meta["drill"] = True
        raise decision.error


def subscription_of(path: str) -> str | None:
    """What SUB_RE captures from `path`, or None; the common lower-case prefix without the
    regex (this runs on every request)."""
    if path.startswith(PREFIX):
        end = path.find("/", PREFIX_LEN)
        sub = path[PREFIX_LEN:] if end < 0 else path[PREFIX_LEN:end]
        return sub or None
    m = SUB_RE.match(path)  # any other case (re's IGNORECASE folding included)
    return m.group(1) if m else None


def _body_location(c: Ctx) -> object:
    """A PUT body's `location` (what a create would place in a region), if it parses."""
    if c.req.method != "PUT" or not c.req.body:
        return None
    try:
        body = parse_json(c.req.body)
    except ArmError:
        return None  # the handler reports a bad body
    return body.get("location") if isinstance(body, dict) else None


# -- admin handlers ------------------------------------------------------------------------------
def _service(c: Ctx) -> drills.Drills:
    c.b.subscription(c.p["sub"])  # 404 for a subscription that does not exist
    return c.b.drills


def list_(c: Ctx) -> Response:
    return c.ok({"value": _service(c).list(c.p["sub"])})


def get(c: Ctx) -> Response:
    return c.ok(_service(c).get(c.p["sub"], c.p["drill"]))


def put(c: Ctx) -> Response:
    service = _service(c)
    doc, created = service.put(c.caller, c.p["sub"], c.p["drill"], c.body())
    return c.ok(doc, 201 if created else 200)


def delete(c: Ctx) -> Response:
    doc = _service(c).delete(c.p["sub"], c.p["drill"])
    return Response(204) if doc is None else c.ok(doc)


def clear(c: Ctx) -> Response:
    """DELETE the collection: every drill of the subscription; 200 with what was removed."""
    return c.ok({"value": _service(c).clear(c.p["sub"])})
