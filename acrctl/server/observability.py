"""Operating a server: the request log, the activity-log recorder, Prometheus metrics and
the readiness check.

Every App gets an `Observability` (App.__init__) whose middleware wraps all of handle():

* one JSON line per request on the logger `acrctl.access` (time, method, route template,
  status, duration, principal id, x-ms-request-id, x-ms-correlation-request-id, the echoed
  x-ms-client-request-id, api-version). Never a raw path, another query parameter, a body
  or another header: nothing secret can reach it.
* one activity-log record (acrctl.backend.activity) per authenticated PUT/PATCH/DELETE/POST,
  allowed, denied or failed, stored before the answer leaves. A request that reaches its
  handler gets its record in the same store transaction as its changes (run(), through
  the store's unit of work): a write is acknowledged with its record or not at all. The
  record of an attempt refused before its handler (403, 429...) is written on its own, at
  most `activity_refused_rate` a second per principal (after a burst); past that, records
  are counted and the caller's next record says how many were skipped.
* with metrics enabled (`enable_metrics`, done by `acrctl server`), request counts and
  latency by route template and status, in a CollectorRegistry of this App's own (never the
  global one). Importing prometheus_client is deferred to then: the embedded CLI never pays
  for it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from acrctl.backend.errors import MetricsDisabled, connection_lost
from acrctl.server.http import Ctx, Request, Response
from acrctl.server.ratelimit import Buckets

if TYPE_CHECKING:
    from acrctl.backend.core import Backend
    from acrctl.server.app import App, Route
    from acrctl.server.metrics import Metrics

log = logging.getLogger("acrctl.server")
access = logging.getLogger("acrctl.access")

WRITES = frozenset({"PUT", "PATCH", "DELETE", "POST"})
METHODS = frozenset({"GET", "HEAD", "PUT", "PATCH", "DELETE", "POST", "OPTIONS"})
SUB_RE = re.compile(r"^/subscriptions/([^/]+)", re.IGNORECASE)
UNMATCHED = "unmatched"  # the route label of a request no route matched (never its path)
MAX_ID = 128  # characters of a client-chosen id kept in a log line
DATABASE_ERRORS = ("DatabaseUnavailable", "DatabaseBusy")  # codes of a failed store


@dataclass
class RawResponse(Response):
    """A non-JSON answer (the Prometheus text format)."""

    raw: bytes = b""

    def encode(self) -> bytes:
        return self.raw


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + f".{int(ts % 1 * 1000):03d}Z"


def _clip(value: str | None, limit: int = MAX_ID) -> str | None:
    return value[:limit] if value else None


class Observability:
    """One per App: its middleware, its metrics (when enabled), and what /readyz checks."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.metrics: Metrics | None = None
        self.delivery: Any = None  # the DeliveryWorker thread (acrctl.server.serve)
        self.draining = False  # set when the server stops: /readyz answers 503
        # records of refused attempts, per principal (activity_refused_rate/_burst)
        self.refused = Buckets(lambda: int(self.backend.settings.rate_limit_tracked))

    @property
    def backend(self) -> Backend:
        return self.app.backend

    def enable_metrics(self) -> Metrics:
        """Create this App's metrics (idempotent) and instrument its backend."""
        if self.metrics is None:
            from acrctl.server.metrics import Metrics  # only a server with --metrics on

            self.metrics = Metrics(self.backend)
        return self.metrics

    # -- the middleware -------------------------------------------------------------------------
    def middleware(self, req: Request, nxt: Callable[[Request], Response]) -> Response:
        started, wall = time.perf_counter(), time.time()
        req.meta["obs"] = self
        store = self.backend.store
        pin = getattr(store, "pin_request", None)  # the generation read once a request
        try:
            if pin is None:
                resp = nxt(req)
            else:
                outer = pin()
                try:
                    resp = nxt(req)
                finally:
                    store.unpin_request(outer)
        except Exception:
            self._after(req, None, started, wall)
            raise
        self._after(req, resp, started, wall)
        return resp

    def _after(self, req: Request, resp: Response | None, started: float, wall: float) -> None:
        status = resp.status if resp is not None else 500
        meta = req.meta
        if req.method in WRITES and meta.get("caller_id") and not meta.get("recorded"):
            self._record_refused(req, resp, status)
        duration = time.perf_counter() - started
        metrics = self.metrics
        if metrics is not None:  # Metrics.request, without its two calls (every request)
            method = req.method if req.method in METHODS else "OTHER"
            route = str(meta.get("route") or UNMATCHED)
            metrics.requests.add((method, route, str(status)), duration)
        if access.isEnabledFor(logging.INFO):
            headers = resp.headers if resp is not None else {}
            request_id = str(meta.get("request_id", ""))
            access.info(
                json.dumps(
                    {
                        "time": _iso(wall),
                        "method": req.method[:16],
                        "route": meta.get("route"),
                        "status": status,
                        "duration_ms": round(duration * 1000, 3),
                        "principal": meta.get("caller_id"),
                        "request_id": request_id,
                        "correlation_id": _clip(
                            headers.get("x-ms-correlation-request-id")
                            or req.headers.get("x-ms-correlation-request-id")
                            or request_id
                        ),
                        "client_request_id": _clip(req.headers.get("x-ms-client-request-id")),
                        "api_version": _clip(req.query.get("api-version"), 32),
                    },
                    separators=(",", ":"),
                )
            )

    def run(self, c: Ctx, route: Route) -> Response:
        """Run an authorized request's handler. A write's handler runs in one unit of work
        of the store (acrctl.backend.store) that its activity record joins before commit,
        so the change and its record are stored together or not at all. A handler's error
        is recorded with what it answers and its earlier changes are kept, as without the
        unit; a lost database connection rolls everything back (503, recorded on its own
        by the middleware if the store lets it)."""
        req = c.req
        if req.method not in WRITES:  # a read: no unit, no record (checked first: cheap)
            return route.handler(c)
        m = SUB_RE.match(req.path)
        unit = getattr(self.backend.store, "unit", None)
        if m is None or unit is None:
            return route.handler(c)
        from acrctl.server.app import error_response

        failure: Exception | None = None
        remember = getattr(self.backend.store, "remember", None)
        with unit(), remember() if remember is not None else contextlib.nullcontext({}) as seen:
            req.meta["seen"] = seen  # what the answer's ETag is taken from (Ctx.resource)
            try:
                resp = route.handler(c)
            except Exception as exc:
                lost = connection_lost(exc)
                if lost is not None and lost.code in DATABASE_ERRORS:
                    raise  # the transaction is gone: nothing to record in it
                failure, resp = exc, error_response(exc, str(req.meta.get("request_id", "")))
            doc = self.backend.activity.add(m.group(1), **self._facts(req, resp, resp.status))
        req.meta["recorded"] = True
        if doc is not None:
            self._housekeep(m.group(1), str(req.meta.get("request_id", "")))
        if failure is not None:
            raise failure
        return resp

    def _housekeep(self, sub: str, request_id: str) -> None:
        """After a write's unit committed: prune the activity log and expired operations
        (each at most once a minute per process)."""
        try:
            self.backend.activity.housekeep(sub)
        except Exception:  # noqa: BLE001 - pruning is retried after the next record
            log.exception("pruning the activity log failed, request id %s", request_id)
        try:
            self.backend.ops.housekeep()
        except Exception:  # noqa: BLE001 - pruning is retried a minute later
            log.exception("pruning finished operations failed, request id %s", request_id)

    @staticmethod
    def _facts(req: Request, resp: Response | None, status: int) -> dict[str, Any]:
        """What the activity log keeps of a write and its answer."""
        meta = req.meta
        scope = str(meta.get("scope") or req.path)
        request_id = str(meta.get("request_id", ""))
        headers = resp.headers if resp is not None else {}
        error = resp.body.get("error") if resp is not None and isinstance(resp.body, dict) else None
        return {
            "caller_id": str(meta["caller_id"]),
            "caller_name": str(meta.get("caller_name") or ""),
            "method": req.method,
            "action": meta.get("action"),
            "scope": scope,
            "resource_id": scope if req.method == "POST" else (req.path.rstrip("/") or "/"),
            "status_code": status,
            "request_id": request_id,
            "correlation_id": headers.get("x-ms-correlation-request-id")
            or req.headers.get("x-ms-correlation-request-id")
            or request_id,
            "client_request_id": req.headers.get("x-ms-client-request-id"),
            "error_code": str(error.get("code")) if isinstance(error, dict) else None,
        }

    def _record_refused(self, req: Request, resp: Response | None, status: int) -> None:
        """The record of a write that did not run in a unit of work: refused before its
        handler (denied, throttled, a drill), or failed for lack of a database. Such
        records are rate-limited per principal; a failure to record never fails the
        request: it is logged with the request id (and counted in the metrics)."""
        m = SUB_RE.match(req.path)
        if m is None:
            return  # a tenant-level write (role assignment at "/"): no subscription to file it
        request_id = str(req.meta.get("request_id", ""))
        suppressed: int | None = 0
        if status >= 400:
            s = self.backend.settings
            suppressed = self.refused.admit(
                str(req.meta["caller_id"]),
                float(s.activity_refused_rate),
                int(s.activity_refused_burst),
            )
            if suppressed is None:
                if self.metrics is not None:
                    self.metrics.activity_suppressed.inc()
                return
        try:
            self.backend.activity.record(
                m.group(1), suppressed=suppressed, **self._facts(req, resp, status)
            )
        except Exception:
            log.exception("recording the activity log failed, request id %s", request_id)
            if self.metrics is not None:
                self.metrics.activity_errors.inc()


# -- handlers (routes.py) ---------------------------------------------------------------------
def _obs(c: Ctx) -> Observability | None:
    obs = c.req.meta.get("obs")
    return obs if isinstance(obs, Observability) else None


def readyz(c: Ctx) -> Response:
    """Ready to serve: the store answers, its schema is in place and bootstrapped (and a
    store that knows migrations has none pending), the delivery worker is alive."""
    obs = _obs(c)
    checks: dict[str, str] = {}
    try:
        bootstrapped = c.b.admin_principal_id() is not None
        checks["store"] = "ok"
        pending = c.b.pending_migrations()
        if pending:
            checks["schema"] = f"{len(pending)} migration(s) pending"
        else:
            checks["schema"] = "ok" if bootstrapped else "not bootstrapped"
    except Exception as exc:  # noqa: BLE001 - a probe reports, never raises
        checks["store"] = f"unavailable ({type(exc).__name__})"
    worker = obs.delivery if obs is not None else None
    if worker is None:
        checks["delivery"] = "not running"
    else:
        checks["delivery"] = "ok" if worker.is_alive() else "stopped"
    plane = getattr(obs, "dataplane", None)  # acrctl.server.serve.start_dataplane
    if plane is not None:
        checks["dataplane"] = plane if isinstance(plane, str) else plane.status()
    if obs is not None and obs.draining:
        checks["server"] = "shutting down"
    ready = all(v in ("ok", "not running") or v.startswith("off") for v in checks.values())
    return Response(
        200 if ready else 503, {"status": "ready" if ready else "not ready", "checks": checks}
    )


def metrics(c: Ctx) -> Response:
    obs = _obs(c)
    if obs is None or obs.metrics is None:
        raise MetricsDisabled(
            "Metrics are not enabled on this server (acrctl server --metrics on).",
        )
    payload, content_type = obs.metrics.exposition()
    return RawResponse(200, "", {"Content-Type": content_type}, raw=payload)


# -- the request log's destination (acrctl server) --------------------------------------------
def configure_access_log(target: str | None) -> logging.Handler | None:
    """Send `acrctl.access` lines to `target`: "-" (stderr), a file path (appended; reopened
    when rotated away), or "off"/None (no request log). Returns the handler installed."""
    for old in list(access.handlers):
        access.removeHandler(old)
        old.close()
    access.propagate = False
    if not target or target.lower() == "off":
        access.setLevel(logging.WARNING)
        return None
    handler: logging.Handler
    if target == "-":
        handler = logging.StreamHandler(sys.stderr)
    else:
        from logging.handlers import WatchedFileHandler

        handler = WatchedFileHandler(target, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(message)s"))
    access.addHandler(handler)
    access.setLevel(logging.INFO)
    return handler
