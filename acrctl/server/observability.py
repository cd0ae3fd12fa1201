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
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from acrctl.backend.errors import NotFound, connection_lost
from acrctl.backend.observers import Observer
from acrctl.server.http import Ctx, Request, Response
from acrctl.server.ratelimit import Buckets
from acrctl.server.storemetrics import RequestLatency, StoreLatency

if TYPE_CHECKING:
    from acrctl.backend.core import Backend
    from acrctl.server.app import App, Route

log = logging.getLogger("acrctl.server")
access = logging.getLogger("acrctl.access")

WRITES = frozenset({"PUT", "PATCH", "DELETE", "POST"})
METHODS = frozenset({"GET", "HEAD", "PUT", "PATCH", "DELETE", "POST", "OPTIONS"})
SUB_RE = re.compile(r"^/subscriptions/([^/]+)", re.IGNORECASE)
UNMATCHED = "unmatched"  # the route label of a request no route matched (never its path)
MAX_ID = 128  # characters of a client-chosen id kept in a log line
REQUEST_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
STORE_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)
OPERATION_SCAN = 1000  # newest operations examined for the in-flight gauge
REPLICATION_SCAN = 10_000  # unfinished replication tasks examined for the queue gauges
LAG_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0)
BLOB_OUTCOMES = {"blobs_copied": "copied", "blobs_skipped": "skipped", "blobs_mounted": "mounted"}
MANIFEST_OUTCOMES = {"manifests_put": "put", "manifests_skipped": "skipped", "deletes": "deleted"}
MAX_ATTEMPT_LABEL = 10  # attempts numbered 1..9, then "10+"
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
            self.metrics = Metrics(self.backend)
        return self.metrics

    # -- the middleware -------------------------------------------------------------------------
    def middleware(self, req: Request, nxt: Callable[[Request], Response]) -> Response:
        started, wall = time.perf_counter(), time.time()
        req.meta["obs"] = self
        pin = getattr(self.backend.store, "pin_generation", None)
        try:
            if pin is None:
                resp = nxt(req)
            else:
                with pin():  # the store's generation read once a request (gencache)
                    resp = nxt(req)
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
        if self.metrics is not None:
            method = req.method if req.method in METHODS else "OTHER"
            self.metrics.request(method, str(meta.get("route") or UNMATCHED), status, duration)
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
        m = SUB_RE.match(req.path)
        unit = getattr(self.backend.store, "unit", None)
        if req.method not in WRITES or m is None or unit is None:
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
        raise NotFound(
            "MetricsDisabled",
            "Metrics are not enabled on this server (acrctl server --metrics on).",
        )
    payload, content_type = obs.metrics.exposition()
    return RawResponse(200, "", {"Content-Type": content_type}, raw=payload)


# -- metrics ---------------------------------------------------------------------------------
class Metrics(Observer):
    """The Prometheus metrics of one App, in a registry of its own; the observer of its
    backend (acrctl.backend.observers)."""

    def __init__(self, backend: Backend) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge

        from acrctl import __version__

        self.backend = backend
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = RequestLatency(REQUEST_BUCKETS)  # counts and durations
        r.register(self.requests)
        self.deliveries = Counter(
            "acrctl_webhook_deliveries",
            "Webhook delivery attempts "
            "recorded, by outcome (delivered, retry, failed, superseded, "
            "dropped) and attempt number.",
            ["outcome", "attempt"],
            registry=r,
        )
        self.store_latency = StoreLatency(STORE_BUCKETS)  # the stores time their calls
        r.register(self.store_latency)
        self.activity_errors = Counter(
            "acrctl_activity_log_write_errors",
            "Activity-log records that could not be stored.",
            registry=r,
        )
        self.activity_suppressed = Counter(
            "acrctl_activity_log_suppressed",
            "Records of refused attempts not written: the "
            "principal was over activity_refused_rate.",
            registry=r,
        )
        self._replication_metrics(r)
        Gauge("acrctl_build_info", "The acrctl version serving.", ["version"], registry=r).labels(
            __version__
        ).set(1)
        r.register(StateCollector(backend))
        # the backend's observer: times its store calls, counts the delivery attempts it
        # records (for whichever worker records them: the server's, or deliver_due)
        self.store_timer = self.store_latency.observe
        backend.observe(self)

    def _replication_metrics(self, r: Any) -> None:
        from prometheus_client import Counter, Histogram

        self.replication_lag_seconds = Histogram(
            "acrctl_replication_lag_seconds",
            "Replication lag: from the source registry's push event time to the moment the "
            "target region accepted the manifest, by source and target region.",
            ["source", "target"],
            buckets=LAG_BUCKETS,
            registry=r,
        )
        self.replication_blobs = Counter(
            "acrctl_replication_blobs",
            "Blobs the replication engine copied, mounted or skipped (already there), by "
            "target region.",
            ["target", "outcome"],
            registry=r,
        )
        self.replication_bytes = Counter(
            "acrctl_replication_bytes_copied",
            "Bytes of blobs the replication engine copied, by target region.",
            ["target"],
            registry=r,
        )
        self.replication_manifests = Counter(
            "acrctl_replication_manifests",
            "Manifests the replication engine put, skipped (already there) or deleted, by "
            "target region.",
            ["target", "outcome"],
            registry=r,
        )

    def replication_lag(self, source: str, target: str, seconds: float) -> None:
        self.replication_lag_seconds.labels(source, target).observe(max(0.0, seconds))

    def replication_counts(self, target: str, delta: dict[str, int]) -> None:
        for field, n in delta.items():
            if field in BLOB_OUTCOMES:
                self.replication_blobs.labels(target, BLOB_OUTCOMES[field]).inc(n)
            elif field in MANIFEST_OUTCOMES:
                self.replication_manifests.labels(target, MANIFEST_OUTCOMES[field]).inc(n)
            elif field == "bytes_copied":
                self.replication_bytes.labels(target).inc(n)

    def request(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.observe(method, route, status, seconds)

    def delivery_attempt(self, attempt: dict[str, Any], state: str | None) -> None:
        outcome = {
            "delivered": "delivered",
            "failed": "failed",
            "pending": "retry",
            None: "dropped",
        }.get(state, "superseded")
        try:
            n = int(attempt.get("attempt") or 0)
        except (TypeError, ValueError):
            n = 0
        label = str(n) if n < MAX_ATTEMPT_LABEL else f"{MAX_ATTEMPT_LABEL}+"
        self.deliveries.labels(outcome, label).inc()

    def exposition(self) -> tuple[bytes, str]:
        from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class StateCollector:
    """Gauges read from the store at scrape time: operations in flight, the webhook outbox's
    depth and the age of its oldest event, the replication queue's tasks by state and the
    age of its oldest unfinished task, and whether the store answered."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    def describe(self) -> Iterable[Any]:
        return self._families()

    @staticmethod
    def _families() -> list[Any]:
        from prometheus_client.core import GaugeMetricFamily

        return [
            GaugeMetricFamily(
                "acrctl_operations_in_flight",
                "Long-running operations not finished (among the newest "
                f"{OPERATION_SCAN}), by resource kind and state.",
                labels=["kind", "state"],
            ),
            GaugeMetricFamily(
                "acrctl_webhook_outbox_depth",
                "Webhook events waiting in the outbox (pending or sending).",
            ),
            GaugeMetricFamily(
                "acrctl_webhook_outbox_oldest_age_seconds",
                "Age of the oldest event still in the outbox (0 when empty).",
            ),
            GaugeMetricFamily(
                "acrctl_replication_queue_tasks",
                "Replication tasks by state: pending, running, retrying (among the first "
                f"{REPLICATION_SCAN} unfinished ones) and failed (kept for status).",
                labels=["state"],
            ),
            GaugeMetricFamily(
                "acrctl_replication_queue_oldest_age_seconds",
                "Age of the oldest unfinished replication task (0 when none).",
            ),
            GaugeMetricFamily(
                "acrctl_store_up", "1 when the store answered this scrape's queries, else 0."
            ),
        ]

    def collect(self) -> Iterable[Any]:
        from acrctl.backend.replication_tasks import ReplicationTasks

        ops, depth, age, rdepth, rage, up = self._families()
        b = self.backend
        try:
            for (kind, state), n in sorted(b.ops.unfinished_counts(OPERATION_SCAN).items()):
                ops.add_metric([kind, state], n)
            waiting, oldest_age = b.webhooks.outbox_stats()
            depth.add_metric([], waiting)
            age.add_metric([], oldest_age)
            by_state, oldest_task = ReplicationTasks(b).queue_stats(REPLICATION_SCAN)
            for state, n in by_state.items():
                rdepth.add_metric([state], n)
            rage.add_metric([], oldest_task)
            up.add_metric([], 1)
        except Exception:  # noqa: BLE001 - a scrape reports the store down, never fails
            log.exception("metrics: reading the store failed")
            up.add_metric([], 0)
            yield up
            return
        yield from (ops, depth, age, rdepth, rage, up)


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
