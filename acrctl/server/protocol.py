"""uvicorn's HTTP/1.1 protocols (h11, httptools) with the limits an unauthenticated client
must not get past:

* header timeout: the request head must arrive within `header_timeout` seconds of the
  connection (or of its first byte on a kept-alive connection); slowloris is cut with 408;
* body timeout: the body within `body_timeout` seconds of the head (a slow POST);
* head size: at most `max_header_bytes` (431);
* connection limit: past `max_connections` open connections, a new connection's request is
  answered 503 (ARM error body, Retry-After) and the connection closed; one that sends
  nothing is closed after OVERLOAD_GRACE seconds. `/healthz` is still answered there;
* framing: obs-fold, bare-LF line ends and Content-Length with Transfer-Encoding are refused
  with 400 and the connection closed (acrctl.server.headcheck; llhttp refuses them itself);
  an HTTP method the parser does not know answers 405.

Idle keep-alive connections are closed by uvicorn's own timeout_keep_alive (serve.py).
Refusals carry a JSON ARM error body and `Connection: close`."""

from __future__ import annotations

import asyncio
import http
import json
import logging
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from dataclasses import dataclass
from typing import Any, ClassVar

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from acrctl.server.headcheck import Problem, check_head

OVERLOAD_GRACE = 1.0  # seconds an over-limit connection has to send its request head
OVERLOAD_RETRY_AFTER = 1  # the Retry-After of the 503 answered past the connection limit
ALLOW = "GET, PUT, PATCH, POST, DELETE"  # every method a route of the server takes
IDLE, HEAD, BODY = "idle", "head", "body"
log = logging.getLogger("acrctl.server.connections")  # throttled (acrctl.server.logguard)

Asgi = Callable[[MutableMapping[str, Any], Any, Any], Awaitable[None]]


@dataclass(frozen=True)
class ConnectionLimits:
    max_connections: int = 1000
    header_timeout: float = 10.0
    body_timeout: float = 30.0
    max_header_bytes: int = 16 * 1024


def refusal(status: int, code: str, message: str, headers: Iterable[tuple[str, str]] = ()) -> bytes:
    """A whole HTTP/1.1 answer with an ARM error body, ending the connection."""
    body = json.dumps({"error": {"code": code, "message": message}}, separators=(",", ":")).encode()
    lines = [
        f"HTTP/1.1 {status} {http.HTTPStatus(status).phrase}",
        "content-type: application/json; charset=utf-8",
        f"content-length: {len(body)}",
        "connection: close",
        "cache-control: no-store",
        *(f"{k}: {v}" for k, v in headers),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def _busy(limit: int) -> Problem:
    return (503, "ServerBusy", f"The server has {limit} connections open, its limit. Retry later.")


def overloaded(app: Asgi, limit: int) -> Asgi:
    """The ASGI app of a connection past the limit: 503 to anything but /healthz (liveness
    stays visible under a flood), and the connection closed after the answer."""
    _, code, message = _busy(limit)
    body = json.dumps({"error": {"code": code, "message": message}}, separators=(",", ":")).encode()

    async def answer(scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        async def closing(msg: MutableMapping[str, Any]) -> None:
            if msg["type"] == "http.response.start":
                msg = {**msg, "headers": [*msg.get("headers", []), (b"connection", b"close")]}
            await send(msg)

        if scope.get("type") == "http" and scope.get("path") == "/healthz":
            await app(scope, receive, closing)
            return
        await closing(
            {
                "type": "http.response.start",
                "status": 503,
                "headers": [
                    (b"content-type", b"application/json; charset=utf-8"),
                    (b"content-length", str(len(body)).encode()),
                    (b"cache-control", b"no-store"),
                    (b"retry-after", str(OVERLOAD_RETRY_AFTER).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    return answer


class _Guard:
    """What both protocol classes share: the timers, the limit and the refusals. The
    subclasses report a request's progress through _begin_head, _head_done and
    _message_done."""

    limits: ClassVar[ConnectionLimits] = ConnectionLimits()
    # set by uvicorn's protocol classes
    transport: asyncio.Transport
    loop: asyncio.AbstractEventLoop
    connections: set[Any]
    flow: Any
    cycle: Any
    app: Any
    limit_concurrency: int | None

    _timer: asyncio.TimerHandle | None = None
    _phase = IDLE
    _over = False  # opened past the connection limit

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)  # type: ignore[misc]
        lim = self.limits
        if len(self.connections) > lim.max_connections:
            self._over = True
            self.app = overloaded(self.app, lim.max_connections)
            self.limit_concurrency = None
            log.warning(
                "Refusing connections past the limit of %d (--max-connections).",
                lim.max_connections,
            )
            self._arm(min(lim.header_timeout, OVERLOAD_GRACE))
        else:
            self._arm(lim.header_timeout)

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel()
        super().connection_lost(exc)  # type: ignore[misc]

    def send_400_response(self, msg: str) -> None:
        self._refuse((400, "InvalidHttpRequest", msg))

    # -- request progress --------------------------------------------------------------
    def _begin_head(self) -> None:
        if self._phase != HEAD:
            self._phase = HEAD
            if self._timer is None:  # a new connection's timer runs from connection_made
                self._arm(self.limits.header_timeout)

    def _head_done(self, body_expected: bool) -> None:
        self._phase = BODY if body_expected else IDLE
        if body_expected:
            self._arm(self.limits.body_timeout)
        else:
            self._cancel()

    def _message_done(self) -> None:
        self._phase = IDLE
        self._cancel()

    # -- timers and refusals -----------------------------------------------------------
    def _arm(self, seconds: float) -> None:
        self._cancel()
        self._timer = self.loop.call_later(seconds, self._expired, seconds)

    def _cancel(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _expired(self, seconds: float) -> None:
        self._timer = None
        if self.transport.is_closing():
            return
        if self.flow is not None and self.flow.read_paused:  # we stopped reading, not them
            self._arm(seconds)
        elif self._phase == IDLE:  # nothing of a request came: just close
            self.transport.close()
        elif self._over:
            self._refuse(
                _busy(self.limits.max_connections), [("retry-after", str(OVERLOAD_RETRY_AFTER))]
            )
        else:
            part = "header" if self._phase == HEAD else "body"
            self._refuse(
                (
                    408,
                    "RequestTimeout",
                    f"The request {part} was not received within {seconds:g} s.",
                )
            )

    def _refuse(self, problem: Problem, headers: Iterable[tuple[str, str]] = ()) -> None:
        """Answer `problem` (unless an answer to an earlier request is being written: that
        connection is just closed) and close the connection."""
        self._cancel()
        if self.transport.is_closing():
            return
        cycle = self.cycle
        if (
            cycle is None
            or cycle.response_complete
            or (self._phase == BODY and not cycle.response_started)
        ):
            self.transport.write(refusal(*problem, headers=headers))
        self.transport.close()


class GuardedH11(_Guard, H11Protocol):
    """h11 behind the guards; each request head is checked (headcheck) before h11 parses
    it, as h11 is lenient about framing."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._next_event = self.conn.next_event
        self.conn.next_event = self._checked_next_event  # type: ignore[method-assign]

    def _checked_next_event(self) -> Any:
        conn = self.conn
        if conn.their_state is h11.IDLE:
            data = conn.trailing_data[0]
            if data:
                self._begin_head()
                problem = check_head(data, self.limits.max_header_bytes)
                if problem is not None:
                    self._refuse(problem)
                    return h11.NEED_DATA
        try:
            event = self._next_event()
        except h11.RemoteProtocolError as exc:
            status = exc.error_status_hint if exc.error_status_hint >= 400 else 400
            self._refuse((status, "InvalidHttpRequest", f"Invalid HTTP request: {exc}"[:300]))
            return h11.NEED_DATA
        if isinstance(event, h11.Request):
            self._head_done(conn.their_state is h11.SEND_BODY)
        elif isinstance(event, h11.EndOfMessage):
            self._message_done()
        return event


def _httptools_class() -> type[asyncio.Protocol]:
    import httptools
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

    class GuardedHttpTools(_Guard, HttpToolsProtocol):
        """httptools (llhttp, strict about framing) behind the guards."""

        _head_bytes = 0
        _problem: Problem | None = None  # found in a parser callback, which then raised

        def data_received(self, data: bytes) -> None:
            self._unset_keepalive_if_required()
            if self._phase == HEAD:  # the chunk a head starts in is not counted
                self._head_bytes += len(data)
            try:
                self.parser.feed_data(data)
            except httptools.HttpParserUpgrade:
                self._unsupported_upgrade_warning()  # served as plain HTTP (no websockets)
            except httptools.HttpParserInvalidMethodError:
                self._refuse(
                    (405, "MethodNotAllowed", "The HTTP method is not supported."),
                    [("allow", ALLOW)],
                )
            except httptools.HttpParserError as exc:
                self._refuse(
                    self._problem
                    or (400, "InvalidHttpRequest", f"Invalid HTTP request: {exc}"[:300])
                )
            else:
                if self._phase == HEAD and self._head_bytes > self.limits.max_header_bytes:
                    self._refuse(_too_large(self.limits.max_header_bytes))

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._head_bytes = 0
            self._begin_head()

        def on_headers_complete(self) -> None:
            size = len(self.url) + sum(len(k) + len(v) + 4 for k, v in self.headers)
            if size > self.limits.max_header_bytes:  # a whole head in the first chunk
                self._problem = _too_large(self.limits.max_header_bytes)
                raise ValueError(self._problem[2])  # stops the parser: refused above
            super().on_headers_complete()
            self._head_done(True)

        def on_message_complete(self) -> None:
            super().on_message_complete()
            self._message_done()

    return GuardedHttpTools


def _too_large(limit: int) -> Problem:
    return (431, "RequestHeaderFieldsTooLarge", f"The request header is larger than {limit} bytes.")


def protocol_class(http_impl: str, limits: ConnectionLimits) -> type[asyncio.Protocol]:
    """The guarded protocol class for `http_impl` (auto: httptools when it is installed,
    else h11; h11; httptools), bound to `limits`."""
    impl = http_impl.lower()
    if impl not in ("auto", "h11", "httptools"):
        raise ValueError(f"unknown HTTP implementation {http_impl!r}")
    base: type[asyncio.Protocol] = GuardedH11
    if impl != "h11":
        try:
            base = _httptools_class()
        except ImportError:
            if impl == "httptools":
                raise
    return type(base.__name__, (base,), {"limits": limits})


# For uvicorn's own command line (`uvicorn --http acrctl.server.protocol:Guarded ...`): the
# fast implementation when installed, with the default limits.
Guarded = protocol_class("auto", ConnectionLimits())
