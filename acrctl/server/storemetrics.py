"""Histograms for the server's metrics that are cheap enough for every request and every
store call: an observation is a bisect and two additions under a lock, where a
prometheus_client Histogram (and Counter) child costs several times that.

* `StoreLatency`: `acrctl_store_operation_duration_seconds` by `operation` (get, put,
  list, count, delete, ...). The stores time their own calls and hand (operation, seconds)
  to `observe` (their `timer` attribute, set by Metrics).
* `RequestLatency`: `acrctl_http_request_duration_seconds` by method, route template and
  status, and from the same counts `acrctl_http_requests_total`.

They expose the series a Histogram and a Counter would (without `_created`)."""

from __future__ import annotations

import bisect
import threading
from collections.abc import Iterable, Sequence
from typing import Any


class _Histograms:
    """Bucket counts and sums per label values."""

    def __init__(self, buckets: Sequence[float]) -> None:
        self.bounds = tuple(float(b) for b in buckets)
        self._series: dict[tuple[str, ...], tuple[list[int], list[float]]] = {}
        self._lock = threading.Lock()

    def add(self, labels: tuple[str, ...], seconds: float) -> None:
        i = bisect.bisect_left(self.bounds, seconds)  # le: a value on a bound counts in it
        with self._lock:
            series = self._series.get(labels)
            if series is None:
                series = self._series[labels] = ([0] * (len(self.bounds) + 1), [0.0])
            series[0][i] += 1
            series[1][0] += seconds

    def snapshot(self) -> list[tuple[tuple[str, ...], list[tuple[str, float]], float]]:
        """(labels, cumulative buckets, sum) per series, sorted by labels."""
        from prometheus_client.utils import floatToGoString

        with self._lock:
            data = {k: (list(c), s[0]) for k, (c, s) in self._series.items()}
        bounds = [*(str(floatToGoString(b)) for b in self.bounds), "+Inf"]
        out = []
        for labels, (counts, total) in sorted(data.items()):
            cumulative, running = [], 0
            for bound, n in zip(bounds, counts, strict=True):
                running += n
                cumulative.append((bound, float(running)))
            out.append((labels, cumulative, total))
        return out


class StoreLatency(_Histograms):
    """A collector for prometheus_client's CollectorRegistry."""

    def observe(self, op: str, seconds: float) -> None:
        self.add((op,), seconds)

    def describe(self) -> Iterable[Any]:
        return []

    def collect(self) -> Iterable[Any]:
        from prometheus_client.core import HistogramMetricFamily

        family = HistogramMetricFamily(
            "acrctl_store_operation_duration_seconds",
            "Latency of store calls, by operation.",
            labels=["operation"],
        )
        for labels, buckets, total in self.snapshot():
            family.add_metric(list(labels), buckets, total)
        yield family


class RequestLatency(_Histograms):
    """A collector for prometheus_client's CollectorRegistry."""

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.add((method, route, str(status)), seconds)

    def describe(self) -> Iterable[Any]:
        return []

    def collect(self) -> Iterable[Any]:
        from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily

        labels = ["method", "route", "status"]
        count = CounterMetricFamily(
            "acrctl_http_requests",
            "HTTP requests answered, by method, route template and status.",
            labels=labels,
        )
        duration = HistogramMetricFamily(
            "acrctl_http_request_duration_seconds",
            "Time to answer a request (the handler, "
            "the store and the activity record), by method, route template and status.",
            labels=labels,
        )
        for values, buckets, total in self.snapshot():
            count.add_metric(list(values), buckets[-1][1])
            duration.add_metric(list(values), buckets, total)
        yield count
        yield duration
