"""A small httpx transport over the standard library's http.client, for the CLI.

httpx's own transport is httpcore (with h11): importing it costs ~25 ms of every server-mode
command, while http.client is imported anyway (httpx needs urllib.request, which needs it).
The CLI hands this transport to its httpx.Client for a real endpoint when no proxy is
configured (httpx applies proxies from the environment only to its own transports), so the
request path, retries, errors and --debug traces stay httpx's and ArmClient's. HTTP/1.1 with
keep-alive, one connection per origin, TLS verified exactly as httpx would (the context is
httpx.create_ssl_context(verify), built on the first https request)."""

from __future__ import annotations

import http.client
import select
import ssl
from typing import Any
from urllib.request import getproxies

import httpx


def proxies_configured() -> bool:
    """Whether the environment names a proxy httpx would use (then keep httpx's transport)."""
    return any(k in getproxies() for k in ("http", "https", "all"))


class StdlibTransport(httpx.BaseTransport):
    def __init__(self, verify: bool | str = True) -> None:
        self.verify = verify
        self._ssl: ssl.SSLContext | None = None
        self._conns: dict[tuple[str, str, int], http.client.HTTPConnection] = {}

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        scheme = url.scheme
        if scheme not in ("http", "https"):
            raise httpx.UnsupportedProtocol(f"Request URL has an unsupported protocol "
                                            f"'{scheme}://'.", request=request)
        origin = (scheme, url.host, url.port or (443 if scheme == "https" else 80))
        timeouts = request.extensions.get("timeout") or {}
        conn = self._connection(origin, timeouts, request)
        try:
            conn.putrequest(request.method, url.raw_path.decode("ascii"), skip_host=True,
                            skip_accept_encoding=True)
            for name, value in request.headers.raw:
                conn.putheader(name.decode("latin-1"), value.decode("latin-1"))
            conn.endheaders(request.read() or None)
            if conn.sock is not None:
                conn.sock.settimeout(timeouts.get("read"))
            resp = conn.getresponse()
            content = resp.read()
        except TimeoutError as exc:
            self._drop(origin)
            raise httpx.ReadTimeout(str(exc) or "timed out", request=request) from exc
        except (http.client.HTTPException, OSError) as exc:
            self._drop(origin)
            raise httpx.RemoteProtocolError(str(exc) or type(exc).__name__,
                                            request=request) from exc
        if resp.will_close:
            self._drop(origin)
        return httpx.Response(resp.status, headers=resp.getheaders(), content=content,
                              extensions={"http_version": b"HTTP/1.1",
                                          "reason_phrase": resp.reason.encode("latin-1")})

    def _connection(self, origin: tuple[str, str, int], timeouts: dict[str, Any],
                    request: httpx.Request) -> http.client.HTTPConnection:
        conn = self._conns.get(origin)
        if conn is not None and _usable(conn):
            return conn
        self._drop(origin)
        scheme, host, port = origin
        if scheme == "https":
            if self._ssl is None:
                self._ssl = httpx.create_ssl_context(verify=self.verify)
            conn = http.client.HTTPSConnection(host, port, timeout=timeouts.get("connect"),
                                               context=self._ssl)
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
        self._conns[origin] = conn
        return conn

    def _drop(self, origin: tuple[str, str, int]) -> None:
        conn = self._conns.pop(origin, None)
        if conn is not None:
            conn.close()

    def close(self) -> None:
        for origin in list(self._conns):
            self._drop(origin)


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
