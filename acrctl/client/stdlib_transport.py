"""A small httpx transport over the standard library's http.client, for the CLI.

httpx's own transport is httpcore (with h11): importing it costs ~25 ms of every server-mode
command, while http.client is imported anyway (httpx needs urllib.request, which needs it).
The CLI hands this transport to its httpx.Client for a real endpoint when no proxy is
configured (httpx applies proxies from the environment only to its own transports), so the
request path, retries, errors and --debug traces stay httpx's and ArmClient's.

HTTP/1.1 with keep-alive and a small pool, safe for concurrent use (`replication sync` runs
its steps on several threads through one client): each request in flight has a connection
of its own; a finished one goes back to the pool's idle list and is reused by the next
request to the same origin. At most `max_connections` requests are in flight at once (more
wait for a free slot, up to httpx's pool timeout) and at most as many idle connections are
kept. TLS is verified as acrctl.client.tls.ssl_context(verify) says (built on the first https
request).

Errors keep httpx's meaning, which ArmClient's retry policy relies on: ConnectError,
ConnectTimeout and PoolTimeout mean the request was not sent; anything else (ReadTimeout,
RemoteProtocolError) means it may have been. A safe request (GET, HEAD, OPTIONS) that fails on
a reused keep-alive connection the server closed meanwhile (a reset, a broken pipe, EOF before
the status line) is sent once more on a fresh connection, as browsers do; nothing else is
resent here."""

from __future__ import annotations

import http.client
import select
import ssl
import threading
from typing import Any
from urllib.request import getproxies

import httpx

MAX_CONNECTIONS = 32  # requests in flight (and idle connections kept) per transport
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
Origin = tuple[str, str, int]


def proxies_configured() -> bool:
    """Whether the environment names a proxy httpx would use (then keep httpx's transport)."""
    return any(k in getproxies() for k in ("http", "https", "all"))


class StdlibTransport(httpx.BaseTransport):
    def __init__(self, verify: bool | str = True, max_connections: int = MAX_CONNECTIONS) -> None:
        self.verify = verify
        self.max_connections = max(1, max_connections)
        self._ssl: ssl.SSLContext | None = None
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(self.max_connections)
        self._idle: dict[Origin, list[http.client.HTTPConnection]] = {}
        self._closed = False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        scheme = url.scheme
        if scheme not in ("http", "https"):
            raise httpx.UnsupportedProtocol(
                f"Request URL has an unsupported protocol '{scheme}://'.", request=request
            )
        origin = (scheme, url.host, url.port or (443 if scheme == "https" else 80))
        timeouts = request.extensions.get("timeout") or {}
        pool_timeout = timeouts.get("pool")
        if not self._slots.acquire(timeout=pool_timeout):
            raise httpx.PoolTimeout(
                f"No free connection within {pool_timeout:g}s ({self.max_connections} in use).",
                request=request,
            )
        try:
            return self._send(origin, request, timeouts)
        finally:
            self._slots.release()

    def _send(
        self, origin: Origin, request: httpx.Request, timeouts: dict[str, Any]
    ) -> httpx.Response:
        resend_if_stale = request.method.upper() in SAFE_METHODS
        while True:
            conn, reused = self._checkout(origin, timeouts, request)
            try:
                resp, content = _exchange(conn, request, timeouts)
            except TimeoutError as exc:
                conn.close()
                raise httpx.ReadTimeout(str(exc) or "timed out", request=request) from exc
            except (http.client.HTTPException, OSError) as exc:
                conn.close()
                if reused and resend_if_stale and _closed_by_peer(exc):
                    resend_if_stale = False  # once, on a fresh connection
                    continue
                raise httpx.RemoteProtocolError(
                    str(exc) or type(exc).__name__, request=request
                ) from exc
            if resp.will_close:
                conn.close()
            else:
                self._checkin(origin, conn)
            return httpx.Response(
                resp.status,
                headers=resp.getheaders(),
                content=content,
                extensions={
                    "http_version": b"HTTP/1.1",
                    "reason_phrase": resp.reason.encode("latin-1"),
                },
            )

    # -- the pool ------------------------------------------------------------------------
    def _checkout(
        self, origin: Origin, timeouts: dict[str, Any], request: httpx.Request
    ) -> tuple[http.client.HTTPConnection, bool]:
        """An idle connection to `origin` still open (reused=True), else a new one."""
        while True:
            with self._lock:
                idle = self._idle.get(origin)
                conn = idle.pop() if idle else None
            if conn is None:
                return self._open(origin, timeouts, request), False
            if _usable(conn):
                return conn, True
            conn.close()

    def _checkin(self, origin: Origin, conn: http.client.HTTPConnection) -> None:
        with self._lock:
            kept = sum(len(v) for v in self._idle.values())
            if not self._closed and kept < self.max_connections:
                self._idle.setdefault(origin, []).append(conn)
                return
        conn.close()

    def _open(
        self, origin: Origin, timeouts: dict[str, Any], request: httpx.Request
    ) -> http.client.HTTPConnection:
        scheme, host, port = origin
        conn: http.client.HTTPConnection
        if scheme == "https":
            conn = http.client.HTTPSConnection(
                host, port, timeout=timeouts.get("connect"), context=self._tls()
            )
        else:
            conn = http.client.HTTPConnection(host, port, timeout=timeouts.get("connect"))
        try:
            conn.connect()
        except TimeoutError as exc:
            conn.close()
            raise httpx.ConnectTimeout(str(exc) or "timed out", request=request) from exc
        except OSError as exc:  # refused, unreachable, name resolution, TLS (ssl.SSLError)
            conn.close()
            raise httpx.ConnectError(str(exc), request=request) from exc
        return conn

    def _tls(self) -> ssl.SSLContext:
        with self._lock:
            if self._ssl is None:
                from acrctl.client.tls import ssl_context

                self._ssl = ssl_context(self.verify)
            return self._ssl

    def idle_connections(self) -> list[http.client.HTTPConnection]:
        """The connections kept alive for reuse now (none of them in use)."""
        with self._lock:
            return [c for idle in self._idle.values() for c in idle]

    def close(self) -> None:
        with self._lock:
            self._closed = True
            conns = [c for idle in self._idle.values() for c in idle]
            self._idle.clear()
        for conn in conns:
            conn.close()


def _exchange(
    conn: http.client.HTTPConnection, request: httpx.Request, timeouts: dict[str, Any]
) -> tuple[http.client.HTTPResponse, bytes]:
    """Send the request on `conn` and read the whole answer."""
    if conn.sock is not None:
        conn.sock.settimeout(timeouts.get("write"))
    conn.putrequest(
        request.method,
        request.url.raw_path.decode("ascii"),
        skip_host=True,
        skip_accept_encoding=True,
    )
    for name, value in request.headers.raw:
        conn.putheader(name.decode("latin-1"), value.decode("latin-1"))
    conn.endheaders(request.read() or None)
    if conn.sock is not None:
        conn.sock.settimeout(timeouts.get("read"))
    resp = conn.getresponse()
    return resp, resp.read()


def _closed_by_peer(exc: BaseException) -> bool:
    """The error of a keep-alive connection the server closed before answering: nothing of
    an answer arrived (a reset, a broken pipe, or EOF where the status line should be)."""
    return isinstance(
        exc,
        http.client.RemoteDisconnected
        | ConnectionResetError
        | BrokenPipeError
        | ConnectionAbortedError,
    )


def _usable(conn: http.client.HTTPConnection) -> bool:
    """A kept-alive connection the server has not closed meanwhile (an idle connection has
    nothing to read; readable means EOF or junk)."""
    sock = conn.sock
    if sock is None:
        return False
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return False
    return not readable
