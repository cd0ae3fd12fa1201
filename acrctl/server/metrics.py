"""The Prometheus metrics of a server (acrctl.server.observability enables them): request
counts and latency by route template and status, store call latency, webhook delivery
attempts by outcome, and gauges read from the backend at scrape time. The Metrics object is
its backend's observer (Backend.observe): nothing wraps a backend or store method."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from acrctl.backend.observers import Observer
from acrctl.server.storemetrics import RequestLatency, StoreLatency

if TYPE_CHECKING:
    from acrctl.backend.core import Backend

log = logging.getLogger("acrctl.server")

REQUEST_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
STORE_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)
OPERATION_SCAN = 1000  # newest operations examined for the in-flight gauge
REPLICATION_SCAN = 10_000  # unfinished replication tasks examined for the queue gauges
LAG_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0)
BLOB_OUTCOMES = {"blobs_copied": "copied", "blobs_skipped": "skipped", "blobs_mounted": "mounted"}
MANIFEST_OUTCOMES = {"manifests_put": "put", "manifests_skipped": "skipped", "deletes": "deleted"}
MAX_ATTEMPT_LABEL = 10  # attempts numbered 1..9, then "10+"


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
