"""Helpers for webhook tests against a real `acrctl server` (ThreadedServer) on loopback:
a server with webhook settings, a registry with hooks, events read back over HTTP, and a
receiver that trickles its answer one byte at a time."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx

from acrctl.backend.core import Settings
from acrctl.server.serve import ServerConfig, ThreadedServer

RG, REG = "rg1", "myreg1"
TOKEN = "test-admin-token-0123456789"
V = {"api-version": "2025-11-01"}
ACR = "Microsoft.ContainerRegistry"


def server(database: str | None = None, **extra: Any) -> ThreadedServer:
    """A started server; `extra` are Settings fields (no loopback allowed unless said)."""
    cfg = ServerConfig(database=database, admin_token=TOKEN, settings=Settings(**extra))
    return ThreadedServer(cfg).start()


class Arm:
    """Plain HTTP to the server's ARM API, as the admin."""

    def __init__(self, srv: ThreadedServer) -> None:
        self.http = httpx.Client(
            base_url=srv.url, params=V, timeout=10, headers={"Authorization": f"Bearer {TOKEN}"}
        )
        self.registry = (
            f"/subscriptions/{srv.subscription}/resourceGroups/{RG}/providers/"
            f"{ACR}/registries/{REG}"
        )

    def setup_registry(self, sku: str = "Standard") -> None:
        group = self.registry.split("/providers/")[0]
        assert self.http.put(
            group, params={"api-version": "2022-09-01"}, json={"location": "westus"}
        ).status_code in (200, 201)
        assert self.http.put(
            self.registry, json={"location": "westus", "sku": {"name": sku}}
        ).status_code in (200, 201)

    def put_hook(self, name: str, uri: str, **props: Any) -> httpx.Response:
        return self.http.put(
            f"{self.registry}/webhooks/{name}",
            json={
                "location": "westus",
                "properties": {"serviceUri": uri, "actions": ["push"], **props},
            },
        )

    def hook(self, name: str, uri: str, **props: Any) -> None:
        answer = self.put_hook(name, uri, **props)
        assert answer.status_code in (200, 201), answer.text

    def ping(self, name: str) -> str:
        answer = self.http.post(f"{self.registry}/webhooks/{name}/ping")
        assert answer.status_code == 200, answer.text
        return str(answer.json()["id"])

    def events_text(self, name: str) -> str:
        return self.http.post(f"{self.registry}/webhooks/{name}/listEvents").text

    def events(self, name: str) -> list[dict[str, Any]]:
        answer = self.http.post(f"{self.registry}/webhooks/{name}/listEvents")
        assert answer.status_code == 200, answer.text
        return list(answer.json()["value"])

    def first_attempt(self, name: str, timeout: float = 5.0) -> dict[str, Any] | None:
        """The first recorded attempt of the hook's newest event (None if none in time)."""

        def attempt() -> dict[str, Any] | None:
            evs = self.events(name)
            tried = evs[0]["delivery"]["attempts"] if evs else []
            return tried[0] if tried else None

        return wait_until(attempt, timeout)  # type: ignore[no-any-return]

    def close(self) -> None:
        self.http.close()


def wait_until(check: Callable[[], Any], timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.05)


class Trickler:
    """A receiver on `host` that reads a request, sends `head` at once, then `answer` one
    byte every `interval` seconds (a slow-loris receiver). Bounded: it stops at close() or
    when the answer is out. `accepted` counts connections."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        interval: float = 0.1,
        answer: bytes = b"HTTP/1.1 200 OK\r\n"
        + b"X-Pad: "
        + b"p" * 100
        + b"\r\nContent-Length: 2\r\n\r\nok",
        head: bytes = b"",
    ) -> None:
        self.head = head
        self.answer = answer
        self.interval = interval
        self.accepted = 0
        self._stop = threading.Event()
        self._sock = socket.socket()
        self._sock.bind((host, 0))
        self._sock.listen(64)
        self._sock.settimeout(0.05)
        self.port: int = self._sock.getsockname()[1]
        self.host = host
        threading.Thread(target=self._serve, daemon=True).start()

    def url(self, path: str = "/hook") -> str:
        return f"http://{self.host}:{self.port}{path}"

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                continue
            self.accepted += 1
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(2)
            try:
                got = b""
                while b"\r\n\r\n" not in got:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    got += chunk
                conn.sendall(self.head)
                for i in range(len(self.answer)):
                    if self._stop.wait(self.interval):
                        return
                    conn.sendall(self.answer[i : i + 1])
            except OSError:
                return  # the sender hung up

    def close(self) -> None:
        self._stop.set()
        self._sock.close()

    def __enter__(self) -> Trickler:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
