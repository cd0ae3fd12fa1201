"""Raw-socket HTTP/1.1 for the hardening tests: send exact bytes, read what comes back until
the server closes (or a wait runs out), and split it into answers."""

from __future__ import annotations

import json
import select
import socket
import time
from dataclasses import dataclass
from typing import Any

ADDR = "127.0.0.1"


@dataclass
class Answer:
    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes

    def error(self) -> dict[str, Any]:
        data = json.loads(self.body)
        assert set(data) == {"error"}, data
        return dict(data["error"])


@dataclass
class Exchange:
    answers: list[Answer]
    closed: bool  # the server closed the connection
    seconds: float  # from the first byte sent to the close (or to the end of the wait)


def connect(port: int, timeout: float = 5.0) -> socket.socket:
    return socket.create_connection((ADDR, port), timeout=timeout)


def read_until_close(sock: socket.socket, wait: float) -> tuple[bytes, bool]:
    """Everything the server sends within `wait` seconds; True when it closed."""
    deadline, out = time.monotonic() + wait, b""
    while True:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([sock], [], [], left)[0]:
            return out, False
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            return out, True
        if not chunk:
            return out, True
        out += chunk


def exchange(port: int, data: bytes, wait: float = 3.0) -> Exchange:
    """Send `data` on a new connection, then read until the server closes it."""
    with connect(port) as sock:
        began = time.monotonic()
        sock.sendall(data)
        raw, closed = read_until_close(sock, wait)
        return Exchange(parse(raw), closed, time.monotonic() - began)


def dribble(port: int, first: bytes, line: bytes, every: float, wait: float) -> Exchange:
    """Send `first`, then `line` every `every` seconds (a slow client) until the server
    answers or closes, or `wait` seconds pass."""
    with connect(port) as sock:
        began, raw, closed = time.monotonic(), b"", False
        sock.sendall(first)
        while time.monotonic() - began < wait:
            if select.select([sock], [], [], every)[0]:
                raw, closed = read_until_close(sock, wait - (time.monotonic() - began))
                break
            try:
                sock.sendall(line)
            except (BrokenPipeError, ConnectionResetError):
                closed = True
                break
        return Exchange(parse(raw), closed, time.monotonic() - began)


def parse(raw: bytes) -> list[Answer]:
    """The answers in `raw` (each framed by Content-Length)."""
    answers = []
    while raw:
        head, sep, rest = raw.partition(b"\r\n\r\n")
        assert sep, raw
        lines = head.decode("latin-1").split("\r\n")
        headers = {
            k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in lines[1:])
        }
        length = int(headers.get("content-length", "0"))
        answers.append(Answer(int(lines[0].split(" ")[1]), headers, rest[:length]))
        raw = rest[length:]
    return answers


def request(
    method: str, path: str, headers: dict[str, str] | None = None, body: bytes = b""
) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    if body or method in ("PUT", "POST", "PATCH"):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
