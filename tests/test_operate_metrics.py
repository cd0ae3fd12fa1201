"""Health, readiness and Prometheus metrics of a real server (ThreadedServer): counters and
histograms move with traffic, labels are route templates (never raw paths), webhook
deliveries are counted by outcome and attempt, the outbox and operations gauges read the
store, and each App has a registry of its own."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from acrctl.backend.core import Settings
from acrctl.backend.sqlite import SqliteStore
from acrctl.delivery import deliver_due
from acrctl.server.app import App
from acrctl.server.serve import ServerConfig, ThreadedServer, metrics_enabled
from acrctl.server.transport import InProcessTransport
from acrctl.testing import WebhookReceiver

pytestmark = pytest.mark.server

TOKEN = "acr_metrics_admin_token_3f9a7c1e"
ACR = "Microsoft.ContainerRegistry"
REG_ROUTE = "/subscriptions/{sub}/resourceGroups/{rg}/providers/" + ACR + "/registries/{registry}"
V = {"api-version": "2025-11-01"}


def start(
    tmp_path: Path, deliver: bool = False, metrics: str = "auto", **extra: Any
) -> ThreadedServer:
    settings = Settings(**{"webhook_allow": ["127.0.0.0/8"], "webhook_backoff": 0.05, **extra})
    cfg = ServerConfig(
        database=str(tmp_path / f"m{time.monotonic_ns()}.db"),
        admin_token=TOKEN,
        settings=settings,
        metrics=metrics,
    )
    return ThreadedServer(cfg, deliver=deliver).start()


@pytest.fixture
def srv(tmp_path: Path) -> Iterator[ThreadedServer]:
    s = start(tmp_path, deliver=True)
    try:
        yield s
    finally:
        s.stop()


def client(s: ThreadedServer) -> httpx.Client:
    return httpx.Client(base_url=s.url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)


def scrape(s: ThreadedServer) -> tuple[dict[tuple[str, tuple[tuple[str, str], ...]], float], str]:
    resp = httpx.get(f"{s.url}/metrics", timeout=10)
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("text/plain; version=")
    out = {}
    for fam in text_string_to_metric_families(resp.text):
        for sample in fam.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out, resp.text


def value(
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str
) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def setup_registry(http: httpx.Client, sub: str, name: str = "secretname1") -> str:
    rg = f"/subscriptions/{sub}/resourceGroups/rg1"
    assert http.put(
        rg, params={"api-version": "2022-09-01"}, json={"location": "westus"}
    ).status_code in (200, 201)
    reg = f"{rg}/providers/{ACR}/registries/{name}"
    resp = http.put(reg, params=V, json={"location": "westus", "sku": {"name": "Basic"}})
    assert resp.status_code in (200, 201), resp.text
    return reg


def wait_until(check: Callable[[], Any], timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        got = check()
        if got or time.monotonic() > deadline:
            return got
        time.sleep(0.05)


def test_request_counters_and_latency_move_with_traffic(srv: ThreadedServer) -> None:
    with client(srv) as http:
        reg = setup_registry(http, srv.subscription)
        before, _ = scrape(srv)
        for _ in range(5):
            assert http.get(reg, params=V).status_code == 200
        assert http.get(reg.replace("secretname1", "nosuchreg1"), params=V).status_code == 404
        assert http.get("/no/such/secretpath", params=V).status_code == 404
        after, text = scrape(srv)

    ok = {"method": "GET", "route": REG_ROUTE, "status": "200"}
    assert (
        value(after, "acrctl_http_requests_total", **ok)
        - value(before, "acrctl_http_requests_total", **ok)
        == 5
    )
    assert (
        value(after, "acrctl_http_request_duration_seconds_count", **ok)
        - value(before, "acrctl_http_request_duration_seconds_count", **ok)
        == 5
    )
    assert value(after, "acrctl_http_request_duration_seconds_bucket", le="+Inf", **ok) >= 5
    assert (
        value(after, "acrctl_http_requests_total", method="GET", route=REG_ROUTE, status="404") == 1
    )
    assert (
        value(after, "acrctl_http_requests_total", method="GET", route="unmatched", status="404")
        == 1
    )
    assert value(after, "acrctl_store_operation_duration_seconds_count", operation="get") > value(
        before, "acrctl_store_operation_duration_seconds_count", operation="get"
    )
    assert value(after, "acrctl_store_up") == 1
    assert value(after, "acrctl_build_info", version=__import__("acrctl").__version__) == 1
    # labels are route templates: no resource name, no raw path, no subscription id
    for raw in ("secretname1", "nosuchreg1", "secretpath", srv.subscription):
        assert raw not in text


def test_deliveries_are_counted_by_outcome_and_attempt(srv: ThreadedServer) -> None:
    with WebhookReceiver(statuses=[500, 200]) as rx, client(srv) as http:
        reg = setup_registry(http, srv.subscription)
        hook = f"{reg}/webhooks/hook1"
        assert http.put(
            hook,
            params=V,
            json={
                "location": "westus",
                "properties": {"serviceUri": rx.url(), "actions": ["push"]},
            },
        ).status_code in (200, 201)
        assert http.post(f"{hook}/ping", params=V).status_code == 200
        assert rx.wait_for(2)

        def counted() -> dict[Any, float] | None:
            samples, _ = scrape(srv)
            done = value(
                samples, "acrctl_webhook_deliveries_total", outcome="delivered", attempt="2"
            )
            return samples if done else None

        samples = wait_until(counted)
    assert samples, "the delivered attempt was not counted"
    assert value(samples, "acrctl_webhook_deliveries_total", outcome="retry", attempt="1") == 1
    assert value(samples, "acrctl_webhook_outbox_depth") == 0


def test_outbox_and_operation_gauges_read_the_store(tmp_path: Path) -> None:
    s = start(tmp_path, deliver=False)
    try:
        with client(s) as http:
            reg = setup_registry(http, s.subscription)
            hook = f"{reg}/webhooks/hook1"
            assert http.put(
                hook,
                params=V,
                json={
                    "location": "westus",
                    "properties": {"serviceUri": "http://127.0.0.1:9/hook", "actions": ["push"]},
                },
            ).status_code in (200, 201)
            empty, _ = scrape(s)
            for _ in range(3):
                assert http.post(f"{hook}/ping", params=V).status_code == 200
            time.sleep(0.05)
            queued, _ = scrape(s)
            s.app.backend.settings.lro_mode = "polls"
            resp = http.put(
                reg.replace("secretname1", "slowreg1"),
                params=V,
                json={"location": "westus", "sku": {"name": "Basic"}},
            )
            assert resp.status_code == 201
            busy, _ = scrape(s)
        s.app.backend.settings.webhook_max_attempts = 1
        deliver_due(s.app.backend, timeout=10)
        drained, _ = scrape(s)
    finally:
        s.stop()
    assert value(empty, "acrctl_webhook_outbox_depth") == 0
    assert value(empty, "acrctl_webhook_outbox_oldest_age_seconds") == 0
    assert value(queued, "acrctl_webhook_outbox_depth") == 3
    assert value(queued, "acrctl_webhook_outbox_oldest_age_seconds") > 0
    assert value(empty, "acrctl_operations_in_flight", kind="registry", state="Creating") == 0
    assert value(busy, "acrctl_operations_in_flight", kind="registry", state="Creating") == 1
    assert value(drained, "acrctl_webhook_outbox_depth") == 0
    assert value(drained, "acrctl_webhook_deliveries_total", outcome="failed", attempt="1") == 3


def test_each_app_has_a_registry_of_its_own(tmp_path: Path) -> None:
    a, b = start(tmp_path), start(tmp_path)
    try:
        for _ in range(3):
            assert httpx.get(f"{a.url}/healthz").status_code == 200
        sa, _ = scrape(a)
        sb, _ = scrape(b)
    finally:
        a.stop()
        b.stop()
    health = {"method": "GET", "route": "/healthz", "status": "200"}
    assert value(sa, "acrctl_http_requests_total", **health) == 3
    assert value(sb, "acrctl_http_requests_total", **health) == 0
    assert a.app.obs.metrics is not b.app.obs.metrics


def test_metrics_off_is_a_404(tmp_path: Path) -> None:
    s = start(tmp_path, metrics="off")
    try:
        resp = httpx.get(f"{s.url}/metrics")
    finally:
        s.stop()
    assert resp.status_code == 404
    assert resp.json()["error"]["code"] == "MetricsDisabled"


@pytest.mark.parametrize(
    "host, mode, enabled",
    [
        ("127.0.0.1", "auto", True),
        ("::1", "auto", True),
        ("localhost", "auto", True),
        ("0.0.0.0", "auto", False),
        ("10.1.2.3", "auto", False),
        ("0.0.0.0", "on", True),
        ("127.0.0.1", "off", False),
    ],
)
def test_metrics_default_on_for_loopback_only(host: str, mode: str, enabled: bool) -> None:
    assert metrics_enabled(ServerConfig(host=host, metrics=mode)) is enabled


# -- health and readiness ---------------------------------------------------------------------


def test_readyz_checks_store_schema_and_delivery_worker(srv: ThreadedServer) -> None:
    health = httpx.get(f"{srv.url}/healthz")
    ready = httpx.get(f"{srv.url}/readyz")
    assert health.status_code == 200 and "x-ms-request-id" in health.headers
    assert ready.status_code == 200
    assert ready.json() == {
        "status": "ready",
        "checks": {
            "store": "ok",
            "schema": "ok",
            "delivery": "ok",
            "dataplane": "off (data port 0)",
        },
    }  # an off data plane is reported, not unready
    assert srv.delivery is not None
    srv.delivery.stop()  # the worker died
    stopped = httpx.get(f"{srv.url}/readyz")
    assert stopped.status_code == 503
    assert stopped.json()["checks"]["delivery"] == "stopped"


def test_readyz_reports_a_store_that_does_not_answer(tmp_path: Path) -> None:
    from acrctl.backend.core import Backend

    backend = Backend(SqliteStore(str(tmp_path / "r.db")))
    backend.bootstrap()
    http = httpx.Client(base_url="https://x", transport=InProcessTransport(App(backend)))
    ready = http.get("/readyz")
    backend.store.close()
    broken = http.get("/readyz")
    assert (ready.status_code, ready.json()["checks"]["delivery"]) == (200, "not running")
    assert broken.status_code == 503
    assert broken.json()["checks"]["store"].startswith("unavailable")
