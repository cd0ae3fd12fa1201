"""The CLI's http.client transport under concurrency: `replication sync` runs its steps on
several threads through one client, so each request in flight needs a connection of its own
(a pool), and a request that may have reached the server is never sent again unless it is
safe to repeat."""

from __future__ import annotations

import contextlib
import http.server
import json
import socket
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, BinaryIO

import httpx
import pytest
from click.testing import CliRunner

from acrctl.backend.core import Settings
from acrctl.cli.main import cli
from acrctl.client import ConnectionFailed
from acrctl.client.arm import ArmClient
from acrctl.client.stdlib_transport import StdlibTransport
from acrctl.server.serve import ServerConfig, ThreadedServer

TOKEN = "acr_transport_pool_token_3c9e1a"
REGISTRY = "poolregistry1"
LOCATIONS = ["eastus", "westeurope", "northeurope", "japaneast", "australiaeast", "centralus"]
ROUNDS = 3


@pytest.fixture(scope="module")
def lro_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreadedServer]:
    """Operations take 0.25 s; Retry-After 0 makes the CLI poll as fast as it can, so the
    threads of a sync keep several requests in flight at every moment."""
    db = tmp_path_factory.mktemp("transport-pool") / "state.db"
    settings = Settings(lro_mode="seconds", lro_seconds=0.25, retry_after=0)
    with ThreadedServer(
        ServerConfig(database=str(db), admin_token=TOKEN, settings=settings), deliver=False
    ) as srv:
        yield srv


@pytest.fixture
def on_server(lro_server: ThreadedServer, monkeypatch: pytest.MonkeyPatch) -> ThreadedServer:
    monkeypatch.setenv("ACRCTL_ENDPOINT", lro_server.url)
    monkeypatch.setenv("ACRCTL_TOKEN", TOKEN)
    for var in (
        "http_proxy",
        "https_proxy",
        "all_proxy",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
    ):  # a proxy would swap in httpx's own transport
        monkeypatch.delenv(var, raising=False)
    return lro_server


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_a_parallel_sync_with_lro_delays_has_no_connection_errors(
    on_server: ThreadedServer,
) -> None:
    assert run("group", "create", "-n", "poolrg", "-l", "westus")[0] == 0
    assert run("create", "-n", REGISTRY, "-g", "poolrg", "--sku", "Premium")[0] == 0
    for _ in range(ROUNDS):
        code, _, err = run(
            "replication", "sync", "-r", REGISTRY, "--locations", *LOCATIONS, "-o", "none"
        )
        assert (code, sorted(err.splitlines())) == (
            0,
            sorted(f"Succeeded: create {loc} ({loc})" for loc in LOCATIONS),
        )
        code, out, err = run(
            "replication",
            "list",
            "-r",
            REGISTRY,
            "--query",
            "[].[location, provisioningState]",
            "-o",
            "tsv",
        )
        assert (code, err) == (0, "")
        assert sorted(out.splitlines()) == sorted(
            f"{loc}\tSucceeded" for loc in [*LOCATIONS, "westus"]
        )
        code, _, err = run(
            "replication", "sync", "-r", REGISTRY, "--locations", "westus", "--prune", "-o", "none"
        )
        assert (code, sorted(err.splitlines())) == (
            0,
            sorted(f"Succeeded: delete {loc} ({loc})" for loc in LOCATIONS),
        )


class CountingTransport(StdlibTransport):
    def __init__(self, max_connections: int) -> None:
        super().__init__(max_connections=max_connections)
        self.opened = 0

    def _open(self, *args: Any, **kw: Any) -> Any:
        self.opened += 1
        return super()._open(*args, **kw)


def test_concurrent_requests_share_a_bounded_pool(lro_server: ThreadedServer) -> None:
    transport = CountingTransport(max_connections=3)
    with httpx.Client(base_url=lro_server.url, transport=transport, timeout=10) as http:

        def get(_: int) -> int:
            return http.get("/healthz").status_code

        with ThreadPoolExecutor(max_workers=8) as pool:
            statuses = list(pool.map(get, range(120)))
    assert statuses == [200] * 120
    assert 1 <= transport.opened <= 3  # idle connections are reused, never more than 3


def test_a_full_pool_is_a_pool_timeout_not_a_hang() -> None:
    with Silent() as srv:
        transport = StdlibTransport(max_connections=1)
        timeout = httpx.Timeout(5.0, pool=0.2)
        with httpx.Client(base_url=srv.url, transport=transport, timeout=timeout) as http:
            first = threading.Thread(target=lambda: _swallow(http.get, "/slow"))
            first.start()
            srv.received.wait(5)  # the only slot is taken by a request still waiting
            with pytest.raises(
                httpx.PoolTimeout,
                match=r"No free connection within 0.2s "
                r"\(1 in use\)\.",
            ):
                http.get("/next")
            srv.release.set()
            first.join(5)


# == a keep-alive connection the server drops ==================================================


class DropSecond:
    """A raw HTTP/1.1 server on loopback: it answers the first request on a connection
    (keep-alive), then reads the second one and closes the connection without an answer,
    as a server closing an idle connection does when a request crosses the close. Every
    later connection is answered normally. Counts the requests it read."""

    def __init__(self, connections: int) -> None:
        self.connections = connections
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(5)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.requests: list[str] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> DropSecond:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.sock.close()
        self.thread.join(5)

    def _serve(self) -> None:
        for n in range(self.connections):
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn, conn.makefile("rb") as reader:
                conn.settimeout(5)
                for i in range(2 if n == 0 else 1):
                    line = self._read_request(reader)
                    if line is None:
                        break
                    self.requests.append(line)
                    if n == 0 and i == 1:
                        conn.shutdown(socket.SHUT_RDWR)  # read it, answer nothing, close
                        break
                    conn.sendall(
                        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                        b"Content-Length: 2\r\n\r\n{}"
                    )

    @staticmethod
    def _read_request(reader: BinaryIO) -> str | None:
        """The method of the next request (its body read and dropped), None at EOF."""
        first = reader.readline()
        if not first:
            return None
        length = 0
        while (header := reader.readline()) not in (b"\r\n", b""):
            name, _, value = header.decode("latin-1").partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        reader.read(length)
        return first.decode("latin-1").split(" ")[0]


class Silent:
    """A server that reads one request and answers only when told to."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.sock.settimeout(5)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.received = threading.Event()
        self.release = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self) -> Silent:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self.sock.close()
        self.thread.join(5)

    def _serve(self) -> None:
        try:
            conn, _ = self.sock.accept()
        except OSError:
            return
        with conn:
            conn.recv(65536)
            self.received.set()
            self.release.wait(5)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")


def _swallow(fn: Callable[[str], object], arg: str) -> None:
    with contextlib.suppress(httpx.HTTPError):
        fn(arg)


def test_a_post_the_server_may_have_read_is_never_resent() -> None:
    lines: list[str] = []
    with DropSecond(connections=1) as srv:
        arm = ArmClient(
            srv.url,
            transport=StdlibTransport(),
            on_retry=lines.append,
            sleep=lambda s: None,
            timeout=5,
        )
        assert arm.request("POST", "/a", {"n": 1}).status_code == 200
        with pytest.raises(ConnectionFailed) as info:
            arm.request("POST", "/b", {"n": 2})
        arm.close()
    assert srv.requests == ["POST", "POST"]
    assert lines == []
    assert info.value.message == (
        f"Could not connect to {srv.url}: Remote end closed connection without response. "
        "A POST is not sent twice: check whether it took effect before running it again."
    )


def test_a_get_on_a_dropped_keep_alive_connection_is_resent_once_quietly() -> None:
    lines: list[str] = []
    with DropSecond(connections=2) as srv:
        arm = ArmClient(
            srv.url,
            transport=StdlibTransport(),
            on_retry=lines.append,
            sleep=lambda s: None,
            timeout=5,
        )
        assert arm.request("GET", "/a").status_code == 200
        assert arm.request("GET", "/b").status_code == 200
        arm.close()
    assert srv.requests == ["GET", "GET", "GET"]  # the dropped one, then on a new connection
    assert lines == []


def test_a_refused_connection_lets_even_a_post_be_retried() -> None:
    """A connection that was never made proves the request was not sent."""
    sock = socket.create_server(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    sock.close()  # nothing listens there now
    lines: list[str] = []
    arm = ArmClient(
        url, transport=StdlibTransport(), on_retry=lines.append, sleep=lambda s: None, timeout=5
    )
    with pytest.raises(ConnectionFailed) as info:
        arm.request("POST", "/a", {"n": 1})
    assert [line.split(";")[1] for line in lines] == [
        " retrying POST in 0.5s (1/2).",
        " retrying POST in 1s (2/2).",
    ]
    assert info.value.message == (
        f"Could not connect to {url}: [Errno 111] Connection "
        "refused. Is the server running and the endpoint right?"
    )


# -- keep-alive and error mapping ---------------------------------------------------------------
class JsonHandler(http.server.BaseHTTPRequestHandler):
    """Any GET or POST: 200 with a replication-like JSON object, on a kept-alive connection."""

    protocol_version = "HTTP/1.1"
    BODY = json.dumps({"name": "eastus"}).encode()

    def _answer(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(self.BODY)))
        self.end_headers()
        self.wfile.write(self.BODY)

    do_GET = do_POST = _answer

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def json_server() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), JsonHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_stdlib_transport_keeps_alive_and_maps_errors(
    json_server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from acrctl.client.stdlib_transport import proxies_configured

    transport = StdlibTransport()
    with httpx.Client(base_url=json_server, transport=transport) as client:
        first = client.get("/a?x=1")
        [conn] = transport.idle_connections()
        second = client.post("/b", json={"k": "v"})
        assert first.status_code == second.status_code == 200
        assert first.json()["name"] == "eastus" and first.headers["content-type"]
        assert transport.idle_connections() == [conn]  # one kept-alive connection
    with (
        httpx.Client(transport=StdlibTransport()) as client,
        pytest.raises(httpx.ConnectError, match="refused"),
    ):
        client.get(f"http://127.0.0.1:{_free_port()}/")
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    assert not proxies_configured()
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.invalid:3128")
    assert proxies_configured()
