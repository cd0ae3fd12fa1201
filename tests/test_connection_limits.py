"""Connection exhaustion without a token (issue 11, item 2): the connection limit answers
503 and keeps /healthz answering, handlers off the event loop keep a slow one from holding
up everyone, accept errors out of file descriptors are logged once per interval, and the
open-files limit is raised at start. Bounded: at most 200 sockets, a few seconds each."""

from __future__ import annotations

import contextlib
import os
import re
import resource
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from rawhttp import Exchange, connect, exchange, parse, read_until_close, request

from acrctl.server.app import Route
from acrctl.server.http import Ctx, Response
from acrctl.server.protocol import OVERLOAD_GRACE
from acrctl.server.serve import ServerConfig, ThreadedServer, free_port

pytestmark = pytest.mark.server

LIMIT = 50
HELD = LIMIT  # idle connections that fill the limit
OVER = 150  # connections past it, each sending a request
SUBS = "/subscriptions?api-version=2022-12-01"
BUSY = {
    "code": "ServerBusy",
    "message": f"The server has {LIMIT} connections open, its limit. Retry later.",
}


@pytest.fixture(scope="module", params=["h11", "httptools"])
def server(request: pytest.FixtureRequest) -> Iterator[ThreadedServer]:
    cfg = ServerConfig(http=request.param, max_connections=LIMIT, header_timeout=5.0)
    with ThreadedServer(cfg, deliver=False) as srv:
        yield srv


@contextlib.contextmanager
def held(port: int, count: int) -> Iterator[list[socket.socket]]:
    """`count` idle connections, open until the block ends."""
    socks = [connect(port) for _ in range(count)]
    try:
        time.sleep(0.2)  # all accepted
        yield socks
    finally:
        for s in socks:
            s.close()


def settle(srv: ThreadedServer) -> None:
    """Wait until the server has seen the held connections close."""
    deadline = time.monotonic() + 5
    while srv.server.server_state.connections and time.monotonic() < deadline:
        time.sleep(0.05)


def over_the_limit(port: int, data: bytes) -> list[Exchange]:
    socks = [connect(port) for _ in range(OVER)]
    for s in socks:
        s.sendall(data)
    out = []
    for s in socks:
        raw, closed = read_until_close(s, 3.0)
        s.close()
        out.append(Exchange(parse(raw), closed, 0.0))
    return out


def test_requests_past_the_connection_limit_get_503(server: ThreadedServer) -> None:
    port = server.cfg.port
    with held(port, HELD):
        got = over_the_limit(port, request("GET", SUBS))
    assert [(len(e.answers), e.closed) for e in got] == [(1, True)] * OVER
    assert {a.status for e in got for a in e.answers} == {503}
    answer = got[0].answers[0]
    assert answer.error() == BUSY
    assert (
        answer.headers["retry-after"],
        answer.headers["connection"],
        answer.headers["cache-control"],
    ) == ("1", "close", "no-store")
    settle(server)
    assert httpx.get(f"{server.url}/healthz").status_code == 200  # a fresh connection
    assert httpx.get(f"{server.url}{SUBS}").status_code == 401  # served again, not 503


def test_healthz_is_answered_past_the_limit(server: ThreadedServer) -> None:
    with held(server.cfg.port, HELD):
        ex = exchange(server.cfg.port, request("GET", "/healthz"))
    settle(server)
    assert [a.status for a in ex.answers] == [200]
    assert ex.closed and ex.answers[0].headers["connection"] == "close"


def test_connection_past_the_limit_sending_nothing_is_closed_soon(server: ThreadedServer) -> None:
    with held(server.cfg.port, HELD):
        ex = exchange(server.cfg.port, b"", wait=OVERLOAD_GRACE + 3)
    settle(server)
    assert (ex.answers, ex.closed) == ([], True)
    assert ex.seconds <= OVERLOAD_GRACE + 1.5


def test_connection_past_the_limit_stalling_its_head_gets_503(server: ThreadedServer) -> None:
    with held(server.cfg.port, HELD):
        ex = exchange(server.cfg.port, b"GET /healthz HTTP/1.1\r\n", wait=OVERLOAD_GRACE + 3)
    settle(server)
    assert ex.closed and [a.status for a in ex.answers] == [503]
    assert ex.answers[0].error() == BUSY
    assert ex.answers[0].headers["retry-after"] == "1"
    assert ex.seconds <= OVERLOAD_GRACE + 1.5


# == handlers off the event loop ==================================================================
SLOW = 1.5


def _slow(c: Ctx) -> Response:
    time.sleep(SLOW)  # a slow handler: template evaluation, a database far away
    return Response(200, {"slept": SLOW})


def test_slow_handlers_do_not_hold_up_healthz() -> None:
    with ThreadedServer(ServerConfig(), deliver=False) as srv:
        srv.app.routes = [Route("POST", "/slow", _slow, public=True), *srv.app.routes]
        slow = [
            threading.Thread(target=httpx.post, args=(f"{srv.url}/slow",), kwargs={"timeout": 10})
            for _ in range(3)
        ]
        for t in slow:
            t.start()
        time.sleep(0.3)  # the slow requests are in their handlers
        began = time.monotonic()
        health = httpx.get(f"{srv.url}/healthz", timeout=10)
        waited = time.monotonic() - began
        still_running = sum(t.is_alive() for t in slow)
        for t in slow:
            t.join()
    assert health.status_code == 200
    assert still_running == 3
    assert waited < 0.5, waited


# == accept errors out of file descriptors ========================================================
FD_LIMIT = 64
ACCEPT_LINE = "socket.accept() out of system resource"


def _limit_files() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (FD_LIMIT, FD_LIMIT))


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_NOFILE on Linux")
def test_accept_errors_are_logged_once_per_interval(tmp_path: Path) -> None:
    port = free_port()
    # asyncio's loop (uvloop hidden): its accept loop logs a traceback per failed accept()
    code = (
        "import sys; sys.modules['uvloop'] = None; "
        "from acrctl.cli.main import main; sys.argv[0] = 'acrctl'; main()"
    )
    env = {**os.environ, "ACRCTL_CONFIG_DIR": str(tmp_path)}
    log = (tmp_path / "stderr").open("w+")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            code,
            "server",
            "--port",
            str(port),
            "--database",
            str(tmp_path / "s.db"),
            "--access-log",
            "off",
            "--error-log-interval",
            "1",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log,
        preexec_fn=_limit_files,
    )
    try:
        _wait_up(port)
        socks = []
        with contextlib.suppress(OSError):
            for _ in range(200):
                socks.append(socket.create_connection(("127.0.0.1", port), timeout=2))
        time.sleep(2.5)  # the server keeps failing to accept the rest
        for s in socks:
            s.close()
        time.sleep(1.2)
        health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
        log.seek(0)
        err = log.read()
        log.close()
    lines = [line for line in err.splitlines() if ACCEPT_LINE in line]
    assert health == 200
    assert 1 <= len(lines) <= 5, err[-3000:]
    assert lines[0] == f"{ACCEPT_LINE}: [Errno 24] Too many open files"
    assert any(re.search(r"\(\d+ more like this in the last 1 s\)$", line) for line in lines)
    assert "OSError: [Errno 24]" not in err, err[-3000:]  # no traceback per failed accept


def _wait_up(port: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return
        time.sleep(0.05)
    raise AssertionError("the server did not start")


# == the open-files limit =========================================================================
PROBE = (
    "import resource; from acrctl.server.serve import ServerConfig; "
    "from acrctl.server.startup import guard_process; "
    "cfg = ServerConfig(); notes = guard_process(cfg); "
    "print(resource.getrlimit(resource.RLIMIT_NOFILE), cfg.max_connections, notes)"
)


def _probe(soft: int, hard: int) -> str:
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))

    return subprocess.run(
        [sys.executable, "-c", PROBE],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        preexec_fn=limit,
    ).stdout.strip()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_NOFILE on Linux")
def test_open_files_soft_limit_is_raised_to_the_hard_limit() -> None:
    assert _probe(256, 4096) == "(4096, 4096) 1000 []"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_NOFILE on Linux")
def test_max_connections_is_lowered_to_what_the_open_files_limit_leaves() -> None:
    assert _probe(1024, 1024) == (
        "(1024, 1024) 896 ['--max-connections 1000 lowered to 896: the open-files limit is "
        "1024 (raise it with ulimit -n or LimitNOFILE=).']"
    )


# == settings =====================================================================================
def test_limits_are_flags_env_and_config_keys_shown_by_print_config(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from acrctl.cli.main import cli

    conf = tmp_path / "server.toml"
    conf.write_text("header_timeout = 3.5\nhandler-threads = 2\n")
    result = CliRunner().invoke(
        cli,
        ["server", "--config", str(conf), "--max-connections", "64", "--print-config"],
        env={"ACRCTL_SERVER_KEEP_ALIVE_TIMEOUT": "2"},
    )
    assert result.exit_code == 0, result.output
    lines = [
        line
        for line in result.output.splitlines()
        if line.split(" = ")[0]
        in (
            "max_connections",
            "header_timeout",
            "body_timeout",
            "keep_alive_timeout",
            "max_header_bytes",
            "backlog",
            "handler_threads",
            "error_log_interval",
        )
    ]
    assert lines == [
        "max_connections = 64  # flag",
        "header_timeout = 3.5  # config file",
        "body_timeout = 30.0  # default",
        "keep_alive_timeout = 2.0  # env ACRCTL_SERVER_KEEP_ALIVE_TIMEOUT",
        "max_header_bytes = 16384  # default",
        "backlog = 2048  # default",
        "handler_threads = 2  # config file",
        "error_log_interval = 10.0  # default",
    ]


def test_acrctl_server_applies_its_limit_flags(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "ACRCTL_CONFIG_DIR": str(tmp_path)}
    proc = subprocess.Popen(
        [
            os.path.join(os.path.dirname(sys.executable), "acrctl"),
            "server",
            "--port",
            str(port),
            "--database",
            str(tmp_path / "s.db"),
            "--access-log",
            "off",
            "--header-timeout",
            "0.5",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_up(port)
        with connect(port) as sock:
            began = time.monotonic()
            sock.sendall(b"GET /healthz HTTP/1.1\r\n")
            raw, closed = read_until_close(sock, 3.0)
            took = time.monotonic() - began
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    [answer] = parse(raw)
    assert (answer.status, closed) == (408, True)
    assert answer.error()["message"] == "The request header was not received within 0.5 s."
    assert took < 0.5 + 1.5


def _locking(c: Ctx) -> Response:
    with c.b.store.transaction():  # a write that holds the store (SQLite: its lock)
        time.sleep(SLOW)
    return Response(200, {})


def test_a_write_holding_the_store_does_not_hold_up_healthz() -> None:
    with ThreadedServer(ServerConfig(), deliver=False) as srv:
        srv.app.routes = [Route("POST", "/locking", _locking, public=True), *srv.app.routes]
        token = {"Authorization": f"Bearer {srv.admin_token}"}
        write = threading.Thread(
            target=httpx.post, args=(f"{srv.url}/locking",), kwargs={"timeout": 10}
        )
        read = threading.Thread(
            target=httpx.get, args=(f"{srv.url}{SUBS}",), kwargs={"headers": token, "timeout": 10}
        )
        write.start()
        time.sleep(0.3)  # the write holds the store
        read.start()  # a GET that must wait for it
        time.sleep(0.2)
        began = time.monotonic()
        health = httpx.get(f"{srv.url}/healthz", timeout=10)
        waited = time.monotonic() - began
        write.join()
        read.join()
    assert health.status_code == 200
    assert waited < 0.5, waited
