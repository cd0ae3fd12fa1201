"""Helpers the benchmark parts share: uvicorn server processes, wrk (or a Python load
generator when wrk is missing), result parsing, statistics, markdown tables and writing a
results block between markers in docs/BENCHMARKS.md. Not part of the test run (the smoke
test only checks that the pure helpers work)."""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
TOKEN = "bench-token-0123456789"
API = "2025-11-01"
WRK_MISSING = (
    "wrk is not installed, so the load comes from a Python load generator (it "
    "competes with the server for the CPU: figures are lower and not comparable "
    "with wrk's). Install wrk for the real figures: `apt-get install -y wrk` "
    "(Debian/Ubuntu), `brew install wrk` (macOS)."
)


# -- statistics and tables ------------------------------------------------------------------
def percentile(samples: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) by linear interpolation between closest ranks."""
    if not samples:
        raise ValueError("no samples")
    ordered = sorted(samples)
    pos = (len(ordered) - 1) * q / 100.0
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def median(samples: Sequence[float]) -> float:
    return float(statistics.median(samples))


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A GitHub markdown table."""
    out = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    out += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(out) + "\n"


def met(value: float, budget: float | None, higher_is_better: bool = False) -> str:
    if budget is None:
        return ""
    ok = value >= budget if higher_is_better else value <= budget
    return "yes" if ok else "**no**"


def write_block(path: str, name: str, report: str) -> None:
    """Replace the text between `<!-- name:begin -->` and `<!-- name:end -->` in `path`
    (appended at the end when the markers are missing)."""
    start, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    text = ""
    if os.path.exists(path):
        with open(path) as fh:
            text = fh.read()
    block = f"{start}\n{report.rstrip()}\n{end}"
    if start in text and end in text and text.index(start) < text.index(end):
        text = text[: text.index(start)] + block + text[text.index(end) + len(end) :]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    with open(path, "w") as fh:
        fh.write(text)


def machine() -> str:
    """One line describing the machine: cores, memory, Python, OS."""
    mem = ""
    with contextlib.suppress(OSError, ValueError, IndexError):
        with open("/proc/meminfo") as fh:
            kb = int(fh.readline().split()[1])
        mem = f", {kb / 1024 / 1024:.0f} GiB"
    return f"{os.cpu_count()} cores{mem}, Python {sys.version.split()[0]}, {sys.platform}"


# -- processes --------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_kib(pid: int) -> int:
    """Resident set size of a process in KiB (Linux /proc), 0 when unknown."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def child_pids(pid: int) -> list[int]:
    """Direct children of a process (uvicorn's worker processes)."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as fh:
            return [int(p) for p in fh.read().split()]
    except OSError:
        return []


def bench_env(**extra: str) -> dict[str, str]:
    """The environment for processes the benchmarks start: bytecode caching on (an
    installed package has its .pyc files; some sandboxes set PYTHONDONTWRITEBYTECODE), no
    acrctl endpoint or defaults inherited from the caller."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("ACRCTL_") and k != "PYTHONDONTWRITEBYTECODE"
    }
    env["PYTHONPATH"] = os.pathsep.join(p for p in (HERE, env.get("PYTHONPATH")) if p)
    env.update(extra)
    return env


def stack(http: str = "auto", loop: str = "auto") -> tuple[str, str]:
    """The HTTP and event-loop implementations uvicorn runs with: `auto` picks what
    `acrctl server` picks (acrctl.server.serve: httptools and uvloop when installed, else
    h11 and asyncio)."""
    import importlib.util

    if http == "auto":
        http = "httptools" if importlib.util.find_spec("httptools") else "h11"
    if loop == "auto":
        loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    return http, loop


@dataclass
class Server:
    """A uvicorn process on a free loopback port, started with the flags of
    acrctl.server.serve.uvicorn_config (the same HTTP and loop implementations, no access
    log, lifespan on). With workers > 1 through benchmarks/uvicorn_nodelay.py (uvicorn's
    command line with the fix of uvicorn issue #3149) unless `stock`."""

    app: str  # "module:attribute"
    workers: int = 1
    factory: bool = False
    env: dict[str, str] = field(default_factory=dict)
    port: int = 0
    stock: bool = False
    http: str = "auto"  # auto | h11 | httptools (see stack())
    loop: str = "auto"  # auto | asyncio | uvloop
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        launcher = (
            ["-m", "uvicorn"]
            if self.workers <= 1 or self.stock
            else [os.path.join(HERE, "uvicorn_nodelay.py")]
        )
        http, loop = stack(self.http, self.loop)
        cmd = [
            sys.executable,
            *launcher,
            self.app,
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--http",
            http,
            "--loop",
            loop,
            "--no-access-log",
            "--log-level",
            "warning",
            "--lifespan",
            "on",
            "--timeout-graceful-shutdown",
            "5",
        ]
        if self.factory:
            cmd.append("--factory")
        if self.workers > 1:
            cmd += ["--workers", str(self.workers)]
        return cmd

    def start(self, ready_path: str = "/", timeout: float = 30.0) -> Server:
        self.port = self.port or free_port()
        self.proc = subprocess.Popen(
            self.command(),
            env=bench_env(**self.env),
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode() if self.proc.stderr else ""
                raise RuntimeError(f"server {self.app} exited: {err[-2000:]}")
            with contextlib.suppress(OSError, http.client.HTTPException):
                status, _ = http_get(self.url + ready_path, timeout=1.0)
                if status < 500 and self._all_workers_up():
                    return self
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"server {self.app} did not start within {timeout:g}s")

    def _all_workers_up(self) -> bool:
        return self.workers <= 1 or (
            self.proc is not None and len(child_pids(self.proc.pid)) >= self.workers
        )

    def rss_kib(self) -> int:
        """RSS of the serving process(es): the worker processes' sum with --workers."""
        if self.proc is None:
            return 0
        kids = child_pids(self.proc.pid) if self.workers > 1 else []
        return sum(rss_kib(p) for p in kids) if kids else rss_kib(self.proc.pid)

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stderr:
            self.proc.stderr.close()
        self.proc = None

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# -- HTTP with the standard library ---------------------------------------------------------
def http_get(url: str, token: str | None = None, timeout: float = 10.0) -> tuple[int, bytes]:
    m = re.match(r"http://([^/:]+):(\d+)(.*)$", url)
    if not m:
        raise ValueError(f"not a loopback http URL: {url}")
    conn = http.client.HTTPConnection(m.group(1), int(m.group(2)), timeout=timeout)
    try:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        conn.request("GET", m.group(3) or "/", headers=headers)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


class KeepAlive:
    """One keep-alive HTTP/1.1 connection for timing sequential requests."""

    def __init__(self, base_url: str, token: str | None = None) -> None:
        m = re.match(r"http://([^/:]+):(\d+)/?$", base_url)
        if not m:
            raise ValueError(f"not a loopback http base URL: {base_url}")
        self.conn = http.client.HTTPConnection(m.group(1), int(m.group(2)), timeout=30)
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any, float]:
        """(status, JSON body or None, seconds)."""
        data = json.dumps(body).encode() if body is not None else None
        headers = dict(self.headers)
        if data is not None:
            headers["Content-Type"] = "application/json"
        t0 = time.perf_counter()
        self.conn.request(method, path, body=data, headers=headers)
        resp = self.conn.getresponse()
        raw = resp.read()
        elapsed = time.perf_counter() - t0
        return resp.status, json.loads(raw) if raw else None, elapsed

    def close(self) -> None:
        self.conn.close()


# -- load generation ----------------------------------------------------------------------------
@dataclass
class Load:
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int  # non-2xx answers and socket errors
    tool: str


def wrk_path() -> str | None:
    return shutil.which("wrk")


_UNIT = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _ms(value: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value.strip())
    if not m:
        raise ValueError(f"not a wrk duration: {value!r}")
    return float(m.group(1)) * _UNIT[m.group(2)]


def parse_wrk(output: str) -> Load:
    """Requests/sec, p50 and p99 (from --latency) and errors from wrk's report."""
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    total = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m)", output)
    p50 = re.search(r"^\s+50(?:\.000)?%\s+(\S+)", output, re.MULTILINE)
    p99 = re.search(r"^\s+99(?:\.000)?%\s+(\S+)", output, re.MULTILINE)
    if not (rps and total and p50 and p99):
        raise ValueError(f"unexpected wrk output:\n{output}")
    errors = 0
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    if non2xx:
        errors += int(non2xx.group(1))
    sock = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    if sock:
        errors += sum(int(g) for g in sock.groups())
    return Load(
        requests=int(total.group(1)),
        seconds=_ms(total.group(2) + total.group(3)) / 1000.0,
        rps=float(rps.group(1)),
        p50_ms=_ms(p50.group(1)),
        p99_ms=_ms(p99.group(1)),
        errors=errors,
        tool="wrk",
    )


def run_wrk(
    url: str, connections: int, seconds: float, script: str, env: dict[str, str] | None = None
) -> Load:
    wrk = wrk_path()
    assert wrk is not None
    threads = max(1, min(2, connections))
    cmd = [
        wrk,
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds:g}s",
        "--latency",
        "-s",
        script,
        url,
    ]
    out = subprocess.run(
        cmd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 60,
    )
    return parse_wrk(out.stdout)


def pyload(
    url: str,
    connections: int,
    seconds: float,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    body: bytes = b"",
) -> Load:
    """The fallback load generator: `connections` keep-alive connections in one asyncio
    loop, each sending its next request when the previous answer is complete."""
    m = re.match(r"http://([^/:]+):(\d+)(/.*)$", url)
    if not m:
        raise ValueError(f"not a loopback http URL: {url}")
    host, port, path = m.group(1), int(m.group(2)), m.group(3)
    head = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}"]
    head += [f"{k}: {v}" for k, v in (headers or {}).items()]
    head.append(f"Content-Length: {len(body)}")
    request = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body
    latencies: list[float] = []
    errors = 0

    async def one() -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while time.perf_counter() < stop:
                t0 = time.perf_counter()
                writer.write(request)
                status_line = await reader.readline()
                length = 0
                while True:
                    line = await reader.readline()
                    if line in (b"\r\n", b""):
                        break
                    name, _, value = line.decode("latin-1").partition(":")
                    if name.strip().lower() == "content-length":
                        length = int(value)
                await reader.readexactly(length)
                latencies.append(time.perf_counter() - t0)
                if not status_line.split(b" ")[1:2] or not status_line.split(b" ")[1].startswith(
                    (b"2", b"3")
                ):
                    errors += 1
        finally:
            writer.close()

    async def main() -> None:
        await asyncio.gather(*(one() for _ in range(connections)))

    start = time.perf_counter()
    stop = start + seconds
    asyncio.run(main())
    elapsed = time.perf_counter() - start
    ms = [x * 1000 for x in latencies]
    return Load(
        requests=len(ms),
        seconds=elapsed,
        rps=len(ms) / elapsed,
        p50_ms=percentile(ms, 50),
        p99_ms=percentile(ms, 99),
        errors=errors,
        tool="python",
    )


# -- seeding --------------------------------------------------------------------------------
REGISTRY, GROUP, REPLICA, HOOK = "benchreg1", "bench", "eastus", "benchhook1"


@contextlib.contextmanager
def seeded_store(path: str, settings: Any = None) -> Iterator[Any]:
    """A bootstrapped store at `path` (a SQLite file or a postgresql:// URL; the admin token
    is TOKEN) with group `bench`, Premium registry `benchreg1` in westus, its eastus replica
    and webhook `benchhook1`. Yields the AcrctlMock (its backend, an admin client); closes
    the store on exit."""
    from acrctl.backend.core import Backend
    from acrctl.backend.store import open_store
    from acrctl.testing import AcrctlMock

    store = open_store(path)
    Backend(store).bootstrap(admin_token=TOKEN)
    store.close()
    acr = AcrctlMock(path, settings) if not is_postgres(path) else _PgMock(path, settings)
    try:
        client = acr.client()
        client.create_group(GROUP, "westus")
        client.create_registry(GROUP, REGISTRY, {"location": "westus", "sku": {"name": "Premium"}})
        client.create_replication(GROUP, REGISTRY, REPLICA, {"location": REPLICA})
        client.create_webhook(GROUP, REGISTRY, HOOK, webhook_body())
        yield acr
    finally:
        acr.close()


def is_postgres(url: str) -> bool:
    return url.startswith(("postgresql://", "postgres://"))


def _PgMock(url: str, settings: Any = None) -> Any:  # noqa: N802 - a class in disguise
    """acrctl.testing.AcrctlMock on a PostgreSQL store (AcrctlMock opens SQLite files)."""
    from acrctl.backend.core import Backend
    from acrctl.backend.store import open_store
    from acrctl.server.app import App
    from acrctl.testing import AcrctlMock

    mock = AcrctlMock.__new__(AcrctlMock)
    mock.path = url
    mock.backend = Backend(open_store(url), settings=settings)
    mock.app = App(mock.backend)
    mock._bootstrap()
    return mock


PG_URL = os.environ.get("ACRCTL_BENCH_PG_URL") or os.environ.get(
    "ACRCTL_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test"
)


@contextlib.contextmanager
def pg_schema(what: str) -> Iterator[str | None]:
    """A postgresql:// URL on a fresh schema of PG_URL's database, dropped afterwards; None
    when PostgreSQL is not reachable (the PostgreSQL rows are then skipped)."""
    import uuid

    try:
        import psycopg

        with psycopg.connect(PG_URL, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except Exception as exc:  # noqa: BLE001 - any failure means "not here"
        print(
            f"PostgreSQL not reachable at {PG_URL} ({' '.join(str(exc).split())[:120]}): "
            "its rows are skipped",
            file=sys.stderr,
        )
        yield None
        return
    schema = f"acrctl_bench_{what}_{uuid.uuid4().hex[:8]}"
    sep = "&" if "?" in PG_URL else "?"
    try:
        yield f"{PG_URL}{sep}schema={schema}"
    finally:
        with contextlib.suppress(Exception), psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def webhook_body(location: str = "westus") -> dict[str, Any]:
    return {
        "location": location,
        "properties": {
            "serviceUri": "http://127.0.0.1:9/hook",
            "actions": ["push"],
            "status": "enabled",
            "scope": "",
        },
    }


def paths(subscription: str) -> dict[str, str]:
    reg = (
        f"/subscriptions/{subscription}/resourceGroups/{GROUP}/providers/"
        f"Microsoft.ContainerRegistry/registries/{REGISTRY}"
    )
    q = f"?api-version={API}"
    return {
        "get": f"{reg}/replications/{REPLICA}{q}",
        "list": f"{reg}/replications{q}",
        "put": f"{reg}/webhooks/{HOOK}{q}",
        "webhooks": f"{reg}/webhooks{q}",
        "events": f"{reg}/webhooks/{HOOK}/listEvents{q}",
        "registry": f"{reg}{q}",
    }
