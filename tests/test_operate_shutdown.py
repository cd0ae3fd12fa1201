"""Graceful shutdown: SIGTERM in the middle of a stream of writes stops `acrctl server`
cleanly (exit 0), and after a restart every acknowledged write, its activity record and every
queued webhook delivery is there; the queued deliveries then arrive at a real receiver. A
delivery still in flight when the bound runs out goes back to the outbox, never stays
`sending`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from acrctl.backend.core import Backend, Settings
from acrctl.backend.sqlite import SqliteStore
from acrctl.backend.webhooks import EVENT
from acrctl.server.serve import ServerConfig, ThreadedServer, free_port
from acrctl.testing import WebhookReceiver

pytestmark = pytest.mark.server

ACRCTL = os.path.join(os.path.dirname(sys.executable), "acrctl")
TOKEN = "acr_shutdown_admin_token_51d0c3aa"
ACR = "Microsoft.ContainerRegistry"
V = {"api-version": "2025-11-01"}
RV = {"api-version": "2022-09-01"}
CONFIG = """
webhook_allow = ["127.0.0.0/8"]
shutdown_timeout = 5
access_log = "off"

[settings]
webhook_backoff = 0.2
webhook_backoff_max = 0.5
webhook_max_attempts = 100000
webhook_connect_timeout = 0.5
"""


def start(tmp_path: Path, name: str) -> tuple[subprocess.Popen[bytes], str, Path]:
    port = free_port()
    (tmp_path / "server.toml").write_text(CONFIG)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACRCTL_SERVER_")}
    env["ACRCTL_SERVER_BOOTSTRAP_TOKEN"] = TOKEN
    out = tmp_path / f"{name}.out"
    with open(out, "wb") as fh:
        proc = subprocess.Popen(
            [
                ACRCTL,
                "server",
                "--config",
                str(tmp_path / "server.toml"),
                "--port",
                str(port),
                "--database",
                str(tmp_path / "s.db"),
            ],
            stdout=fh,
            stderr=fh,
            env=env,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        assert proc.poll() is None, out.read_text()
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return proc, url, out
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    proc.kill()
    raise AssertionError(f"the server did not become ready: {out.read_text()}")


def client(url: str) -> httpx.Client:
    return httpx.Client(base_url=url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)


class Writer(threading.Thread):
    """Writes resource groups (and every 4th time pings the webhook) as fast as the server
    answers; keeps what was acknowledged."""

    def __init__(self, url: str, sub: str, hook: str) -> None:
        super().__init__(daemon=True)
        self.url, self.sub, self.hook = url, sub, hook
        self.groups: dict[str, str] = {}  # name -> x-ms-request-id of the acknowledged PUT
        self.pings: list[str] = []  # event ids of acknowledged pings
        self.failures = 0

    def run(self) -> None:
        n = 0
        with client(self.url) as http:
            while self.failures < 20:
                n += 1
                try:
                    if n % 4 == 0:
                        resp = http.post(f"{self.hook}/ping", params=V)
                        if resp.status_code == 200:
                            self.pings.append(resp.json()["id"])
                        continue
                    name = f"rg{n}"
                    resp = http.put(
                        f"/subscriptions/{self.sub}/resourceGroups/{name}",
                        params=RV,
                        json={"location": "westus"},
                    )
                    if resp.status_code in (200, 201):
                        self.groups[name] = resp.headers["x-ms-request-id"]
                except httpx.HTTPError:
                    self.failures += 1
                    time.sleep(0.02)


def test_sigterm_during_writes_loses_nothing_acknowledged(tmp_path: Path) -> None:
    rx_port = free_port()  # the receiver is down until after the restart
    proc, url, out = start(tmp_path, "first")
    try:
        with client(url) as http:
            sub = http.get("/subscriptions", params=RV).json()["value"][0]["subscriptionId"]
            rg = f"/subscriptions/{sub}/resourceGroups/base"
            assert http.put(rg, params=RV, json={"location": "westus"}).status_code == 201
            reg = f"{rg}/providers/{ACR}/registries/myreg1"
            assert (
                http.put(
                    reg, params=V, json={"location": "westus", "sku": {"name": "Basic"}}
                ).status_code
                == 201
            )
            hook = f"{reg}/webhooks/hook1"
            assert (
                http.put(
                    hook,
                    params=V,
                    json={
                        "location": "westus",
                        "properties": {
                            "serviceUri": f"http://127.0.0.1:{rx_port}/hook",
                            "actions": ["push"],
                        },
                    },
                ).status_code
                == 201
            )
        writer = Writer(url, sub, hook)
        writer.start()
        deadline = time.monotonic() + 20
        while len(writer.groups) < 30 or len(writer.pings) < 5:
            assert time.monotonic() < deadline and writer.is_alive()
            time.sleep(0.01)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0, out.read_text()
        writer.join(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert "acrctl server: stopped" in out.read_text()
    assert writer.failures >= 20  # it ran until the server was gone

    with WebhookReceiver(port=rx_port) as rx:
        proc, url, out = start(tmp_path, "second")
        try:
            with client(url) as http:
                groups = {
                    g["name"]
                    for g in http.get(
                        f"/subscriptions/{sub}/resourcegroups", params={**RV, "$top": "1000"}
                    ).json()["value"]
                }
                activity = http.get(
                    f"/subscriptions/{sub}/providers/Microsoft.Insights/eventtypes/"
                    "management/values",
                    params={"api-version": "2015-04-01", "$top": "1000"},
                ).json()["value"]
                assert rx.wait_for(len(writer.pings), timeout=20)

                def delivered() -> list[Any]:
                    events = http.post(f"{hook}/listEvents", params=V).json()["value"]
                    return [e for e in events if e["delivery"]["state"] == "delivered"]

                deadline = time.monotonic() + 20
                while len(delivered()) < len(writer.pings) and time.monotonic() < deadline:
                    time.sleep(0.1)
                done = {e["id"] for e in delivered()}
        finally:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=30) == 0
    assert set(writer.groups) <= groups, "an acknowledged write was lost"
    assert set(writer.groups.values()) <= {e["operationId"] for e in activity}
    assert set(writer.pings) <= done, "a queued delivery was lost"
    assert {r.json()["action"] for r in rx.requests} == {"ping"}


def test_a_delivery_still_in_flight_at_the_bound_goes_back_to_the_outbox(tmp_path: Path) -> None:
    db = str(tmp_path / "t.db")
    settings = Settings(webhook_allow=["127.0.0.0/8"], webhook_timeout=10)
    with WebhookReceiver(delay=3) as rx:
        srv = ThreadedServer(
            ServerConfig(database=db, admin_token=TOKEN, settings=settings, shutdown_timeout=0.3)
        ).start()
        try:
            with client(srv.url) as http:
                reg = (
                    f"/subscriptions/{srv.subscription}/resourceGroups/rg1/providers/{ACR}"
                    "/registries/myreg1"
                )
                http.put(reg.split("/providers/")[0], params=RV, json={"location": "westus"})
                http.put(reg, params=V, json={"location": "westus", "sku": {"name": "Basic"}})
                hook = f"{reg}/webhooks/hook1"
                http.put(
                    hook,
                    params=V,
                    json={
                        "location": "westus",
                        "properties": {"serviceUri": rx.url(), "actions": ["push"]},
                    },
                )
                event_id = http.post(f"{hook}/ping", params=V).json()["id"]
                deadline = time.monotonic() + 5  # the receiver holds the answer 3 seconds
                while (
                    http.post(f"{hook}/listEvents", params=V).json()["value"][0]["delivery"][
                        "state"
                    ]
                    != "sending"
                ):
                    assert time.monotonic() < deadline
                    time.sleep(0.02)
        finally:
            srv.stop()
    backend = Backend(SqliteStore(db))
    try:
        [event] = [i.doc for i in backend.store.list(EVENT) if i.doc["id"] == event_id]
    finally:
        backend.store.close()
    assert event["state"] == "pending"
    assert "leaseId" not in event and "leaseUntil" not in event
