"""Crash safety: `acrctl server` (the installed entry point, as a subprocess) is killed with
SIGKILL in the middle of a stream of writes, then started again on the same database. The
store must reopen cleanly with every acknowledged (2xx) write present and every
acknowledged delete still deleted. A few cycles each on a SQLite file and on PostgreSQL."""

from __future__ import annotations

import contextlib
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from acrctl.backend.store import open_store
from acrctl.server.serve import free_port

pytest.register_assert_rewrite("pg_harness")
from pg_harness import pg_database  # noqa: E402

pytestmark = pytest.mark.server

TOKEN = "acr_crash_admin_token_91f3a0c4d2"
API = {"api-version": "2025-11-01"}
ACR = "Microsoft.ContainerRegistry"
ACRCTL = Path(sys.executable).parent / "acrctl"
CYCLES = 3


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    url: str
    log: Path

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)


def spawn(database: str, log: Path) -> Server:
    """`acrctl server` on a free port; returns once /healthz answers."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACRCTL_SERVER_")}
    env["ACRCTL_BOOTSTRAP_TOKEN"] = TOKEN
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            [
                str(ACRCTL),
                "server",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--database",
                database,
            ],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        if proc.poll() is not None:
            raise AssertionError(
                f"acrctl server exited with {proc.returncode}:\n"
                + log.read_text(errors="replace")[-3000:]
            )
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return Server(proc, url, log)
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(
                "acrctl server did not come up:\n" + log.read_text(errors="replace")[-3000:]
            )
        time.sleep(0.05)


@dataclass
class Ledger:
    """What the server acknowledged: paths that must exist, paths that must not."""

    present: set[str] = field(default_factory=set)
    deleted: set[str] = field(default_factory=set)
    writes: list[int] = field(default_factory=list)  # acknowledged writes per cycle


def client(url: str) -> httpx.Client:
    return httpx.Client(
        base_url=url, timeout=10, params=API, headers={"Authorization": f"Bearer {TOKEN}"}
    )


def subscription(http: httpx.Client) -> str:
    r = http.get("/subscriptions")
    assert r.status_code == 200, r.text
    return str(r.json()["value"][0]["subscriptionId"])


def write_stream(
    url: str, cycle: int, ledger: Ledger, stop: threading.Event, writing: threading.Event
) -> None:
    """PUT registries and webhooks (and delete some webhooks) until the server dies;
    record every acknowledged one. Sets `writing` once the stream is under way."""
    acked = 0
    with client(url) as http:
        sub = subscription(http)
        rg = f"/subscriptions/{sub}/resourceGroups/crash{cycle}"
        assert http.put(rg, json={"location": "westus"}).status_code in (200, 201)
        home = f"{rg}/providers/{ACR}/registries/crashhome{cycle}"
        r = http.put(home, json={"location": "westus", "sku": {"name": "Premium"}})
        assert r.status_code in (200, 201), r.text
        ledger.present |= {rg, home}
        hooks: list[str] = []
        i = 0
        while not stop.is_set():
            i += 1
            if i % 7 == 0 and hooks:
                path = hooks.pop(0)
                method, body = "DELETE", None
            elif i % 2:
                path = f"{rg}/providers/{ACR}/registries/crash{cycle}r{i}"
                method, body = (
                    "PUT",
                    {"location": "westus", "sku": {"name": "Basic"}, "tags": {"i": str(i)}},
                )
            else:
                path = f"{home}/webhooks/hook{i}"
                method, body = (
                    "PUT",
                    {
                        "location": "westus",
                        "properties": {
                            "serviceUri": f"http://127.0.0.1:9/{i}",
                            "actions": ["push"],
                        },
                    },
                )
            try:
                resp = http.request(method, path, json=body)
            except httpx.HTTPError:
                # killed: this one was not acknowledged, but it may have committed; an
                # in-flight delete leaves its target in an unknown state
                if method == "DELETE":
                    ledger.present.discard(path)
                break
            if resp.status_code >= 300:
                assert resp.status_code >= 500, (method, path, resp.status_code, resp.text)
                break
            acked += 1
            writing.set()
            if method == "DELETE":
                ledger.present.discard(path)
                ledger.deleted.add(path)
            else:
                ledger.present.add(path)
                if "/webhooks/" in path:
                    hooks.append(path)
    ledger.writes.append(acked)


def check(url: str, ledger: Ledger) -> None:
    with client(url) as http:
        missing = [p for p in sorted(ledger.present) if http.get(p).status_code != 200]
        back = [p for p in sorted(ledger.deleted) if http.get(p).status_code != 404]
    assert not missing, f"acknowledged writes lost: {missing[:10]} ({len(missing)})"
    assert not back, f"acknowledged deletes undone: {back[:10]} ({len(back)})"


def crash_cycles(database: str, tmp_path: Path, check_file: bool) -> Ledger:
    ledger = Ledger()
    rng = random.Random(20240611)
    for cycle in range(CYCLES):
        srv = spawn(database, tmp_path / "server.log")
        try:
            if cycle:
                check(srv.url, ledger)  # what the previous cycle's kill left behind
            stop, writing = threading.Event(), threading.Event()
            writer = threading.Thread(
                target=write_stream, args=(srv.url, cycle, ledger, stop, writing), daemon=True
            )
            writer.start()
            assert writing.wait(30), "the writer made no write"
            time.sleep(rng.uniform(0.5, 1.0))  # then kill it mid-stream
        finally:
            srv.kill()
        stop.set()
        writer.join(15)
        assert not writer.is_alive()
        assert len(ledger.writes) == cycle + 1, "the writer failed before the kill"
        if check_file:
            with contextlib.closing(sqlite3.connect(database)) as db:
                assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        store = open_store(database)  # reopens cleanly, outside the server too
        store.list("subscription")
        store.close()
    srv = spawn(database, tmp_path / "server.log")
    try:
        check(srv.url, ledger)
    finally:
        srv.kill()
    assert all(n >= 1 for n in ledger.writes), ledger.writes
    return ledger


@pytest.fixture
def report(request: pytest.FixtureRequest) -> Iterator[list[str]]:
    lines: list[str] = []
    yield lines
    if lines:
        print(f"\n{request.node.name}: " + "; ".join(lines))


def test_sigkill_loses_no_acknowledged_write_on_sqlite(tmp_path: Path, report: list[str]) -> None:
    ledger = crash_cycles(str(tmp_path / "server.db"), tmp_path, check_file=True)
    report.append(
        f"{CYCLES} SIGKILL cycles, acknowledged writes per cycle {ledger.writes}, "
        f"{len(ledger.present)} resources and {len(ledger.deleted)} deletes kept"
    )


def test_sigkill_loses_no_acknowledged_write_on_postgres(tmp_path: Path, report: list[str]) -> None:
    with pg_database("crash") as url:
        ledger = crash_cycles(url, tmp_path, check_file=False)
    report.append(
        f"{CYCLES} SIGKILL cycles, acknowledged writes per cycle {ledger.writes}, "
        f"{len(ledger.present)} resources and {len(ledger.deleted)} deletes kept"
    )
