"""One webhook POST under a total deadline (connect + TLS + send + the whole answer).

An HTTP library's timeouts are per operation: a receiver that sends one header byte a
second never trips a 5 s read timeout and can hold a delivery worker for minutes. Here the
socket I/O is ours (h11 parses, sans-I/O) and every blocking call gets the time left before
one deadline, so an attempt never outlives it. No redirects, no proxies, no second DNS
lookup: the caller passes the addresses its destination policy already checked.

Errors are `Failed` with a short reason that never contains a request header value (an
exception text quoting one, e.g. h11's "Illegal header value b'...'", is not passed on);
the caller still masks the reason, which may quote the receiver's bytes.
"""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import h11

RECV_SIZE = 16 * 1024


class Failed(Exception):
    """The attempt failed before a status line arrived; `reason` is safe to record."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _Deadline(Exception):
    pass


@dataclass
class Request:
    addresses: Sequence[Any]  # checked IP addresses, tried in order (at most 3)
    port: int
    tls: ssl.SSLContext | None
    server_name: str  # for TLS: SNI and the certificate check
    target: str  # path and query, already encoded
    headers: list[tuple[bytes, bytes]]  # Host included
    body: bytes
    max_head: int = 16 * 1024  # bytes of status line and headers accepted from the receiver


@dataclass
class Answer:
    status: int
    reason: str
    headers: dict[str, str]  # lower-case names, repeated headers joined with ", "
    content: bytes  # at most the first `limit` bytes


def _left(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise _Deadline
    return left


def post(
    req: Request,
    deadline: float,
    connect_timeout: float,
    timeout: float,
    limit: int,
    header_limit: int,
) -> Answer:
    """POST once, reading at most `limit` bytes of the answer's body. Past `deadline`
    (time.monotonic()) before the status line: Failed("no answer within {timeout}s");
    once the status is in, a body cut by the deadline is returned as far as it came."""
    try:
        conn = h11.Connection(h11.CLIENT, max_incomplete_event_size=req.max_head)
        try:
            data = (
                conn.send(h11.Request(method="POST", target=req.target, headers=req.headers))
                + conn.send(h11.Data(data=req.body))
                + conn.send(h11.EndOfMessage())
            )
        except h11.LocalProtocolError:  # its text may quote a header value: not kept
            raise Failed("the request could not be built (an invalid header or URI)") from None
        sock = _connect(req, deadline, connect_timeout)
        try:
            _send_all(sock, data, deadline)
            return _answer(conn, sock, deadline, limit, header_limit)
        finally:
            sock.close()
    except _Deadline:
        raise Failed(f"no answer within {timeout:g}s") from None


def _connect(req: Request, deadline: float, connect_timeout: float) -> socket.socket:
    last = "no address"
    for ip in list(req.addresses)[:3]:
        left = _left(deadline)
        try:
            sock = socket.create_connection((str(ip), req.port), timeout=min(connect_timeout, left))
        except TimeoutError:
            if left <= connect_timeout:
                raise _Deadline from None
            last = f"connect timeout after {connect_timeout:g}s"
            continue
        except OSError as exc:
            last = f"connection failed: {exc.strerror or exc}"
            continue
        if req.tls is None:
            return sock
        return _handshake(sock, req, deadline)
    raise Failed(last)


def _handshake(sock: socket.socket, req: Request, deadline: float) -> socket.socket:
    """The TLS socket over `sock`, its handshake done; on any failure the connection is
    closed (once wrapped, through the TLS socket: wrap_socket takes over the descriptor)."""
    assert req.tls is not None
    conn = sock
    done = False
    try:
        tls = req.tls.wrap_socket(
            sock, server_hostname=req.server_name, do_handshake_on_connect=False
        )
        conn = tls
        tls.settimeout(_left(deadline))  # the ssl module bounds the whole handshake by it
        tls.do_handshake()
        done = True
        return tls
    except TimeoutError:
        raise _Deadline from None
    except ssl.SSLCertVerificationError as exc:
        raise Failed(f"TLS certificate not accepted: {exc.verify_message}") from None
    except (ssl.SSLError, OSError) as exc:
        raise Failed(f"TLS handshake failed: {getattr(exc, 'reason', None) or exc}") from None
    finally:
        if not done:
            conn.close()


def _send_all(sock: socket.socket, data: bytes, deadline: float) -> None:
    view = memoryview(data)
    try:
        while view:
            sock.settimeout(_left(deadline))
            view = view[sock.send(view) :]
    except TimeoutError:
        raise _Deadline from None
    except OSError as exc:
        raise Failed(f"connection failed while sending: {exc.strerror or exc}") from None


def _events(conn: h11.Connection, sock: socket.socket, deadline: float) -> Iterator[Any]:
    while True:
        event = conn.next_event()
        if event is not h11.NEED_DATA:
            yield event
            continue
        sock.settimeout(_left(deadline))
        try:
            chunk = sock.recv(RECV_SIZE)
        except TimeoutError:
            raise _Deadline from None
        conn.receive_data(chunk)


def _answer(
    conn: h11.Connection, sock: socket.socket, deadline: float, limit: int, header_limit: int
) -> Answer:
    events = _events(conn, sock, deadline)
    try:
        head = next(e for e in events if not isinstance(e, h11.InformationalResponse))
    except h11.RemoteProtocolError as exc:
        raise Failed(f"invalid answer: {exc}") from None
    except OSError as exc:
        raise Failed(f"connection lost before the answer: {exc.strerror or exc}") from None
    if not isinstance(head, h11.Response):
        raise Failed("connection closed before the answer")
    answer = Answer(
        head.status_code, head.reason.decode("latin-1"), _headers(head.headers, header_limit), b""
    )
    try:
        for event in events:
            if isinstance(event, h11.Data):
                answer.content += bytes(event.data)
            if len(answer.content) >= limit or not isinstance(event, h11.Data):
                break
    except (_Deadline, h11.RemoteProtocolError, OSError):
        pass  # the status is in: keep the body as far as it came
    answer.content = answer.content[:limit]
    return answer


def _headers(raw: Any, header_limit: int) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in raw:
        key = name.decode("latin-1")
        if key not in out and len(out) >= header_limit:
            continue
        try:
            text = value.decode()
        except UnicodeDecodeError:
            text = value.decode("latin-1")
        out[key] = f"{out[key]}, {text}" if key in out else text
    return out
