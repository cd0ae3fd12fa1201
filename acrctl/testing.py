"""In-process acrctl for tests (ours and our users'), the way moto serves AWS mocks.

    from acrctl.testing import mock_acrctl

    with mock_acrctl() as acr:
        client = acr.client()                      # acts as the admin (Owner)
        reader, token = acr.principal("ci", role="Reader")
        acr.client(reader).list_registries()
        acr.deliver()                              # send due webhook events now

`WebhookReceiver` is a real HTTP endpoint on 127.0.0.1 that records what webhooks send.

The pytest fixture `acrctl_mock` (registered through the pytest11 entry point) yields the
same object with a fresh backend per test; `acrctl_mock.reset()` empties it mid-test.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from acrctl.backend.core import Backend, Settings
    from acrctl.backend.rbac import Caller
    from acrctl.client.acr import AcrClient

BASE_URL = "https://acrctl.local"


class AcrctlMock:
    def __init__(self, path: str, settings: Settings | None = None) -> None:
        from acrctl.backend.core import Backend
        from acrctl.backend.sqlite import SqliteStore
        from acrctl.server.app import App

        self.path = path
        self.backend: Backend = Backend(SqliteStore(path), settings=settings)
        self.app = App(self.backend)
        self._bootstrap()

    def _bootstrap(self) -> None:
        sub, token = self.backend.bootstrap()
        self.subscription: str = sub["subscriptionId"]
        self.admin_token: str | None = token
        admin = self.backend.rbac.principal(self.backend.admin_principal_id() or "")
        assert admin is not None
        self.admin: Caller = self.backend.rbac.caller(admin)

    def reset(self) -> None:
        self.backend.reset()
        self._bootstrap()

    def principal(
        self, name: str, role: str | None = None, scope: str | None = None
    ) -> tuple[Caller, str]:
        """A new principal, optionally with a role (name or id) at a scope (default: the
        subscription). Returns its identity and bearer token."""
        doc, token = self.backend.rbac.create_principal(name, "Application")
        if role:
            self.assign(doc["id"], role, scope)
        return self.backend.rbac.caller(doc), token

    def assign(self, principal_id: str, role: str, scope: str | None = None) -> dict[str, Any]:
        role_doc = self.backend.rbac.role_definition(role)
        assert role_doc is not None, f"no role {role}"
        return self.backend.rbac.create_assignment(
            scope or f"/subscriptions/{self.subscription}",
            str(uuid.uuid4()),
            {"properties": {"roleDefinitionId": role_doc["name"], "principalId": principal_id}},
        )

    def transport(self, caller: Caller | None = None, token: bool = False) -> Any:
        from acrctl.server.transport import InProcessTransport

        return InProcessTransport(self.app, None if token else (caller or self.admin))

    def client(self, caller: Caller | None = None, **kw: Any) -> AcrClient:
        from acrctl.client.acr import AcrClient

        return AcrClient(
            BASE_URL,
            subscription=self.subscription,
            transport=self.transport(caller),
            sleep=lambda s: None,
            **kw,
        )

    def deliver(self, timeout: float = 10.0, wait_retries: bool = False) -> int:
        """Send the webhook events that are due now (there is no delivery worker in
        process) and wait for the answers; with wait_retries also for retries that fall
        within `timeout`. Loopback and private destinations are allowed here unless the
        settings say otherwise. Returns how many attempts were made."""
        from acrctl.delivery import deliver_due

        return deliver_due(self.backend, timeout=timeout, wait_retries=wait_retries)

    def close(self) -> None:
        self.backend.store.close()


@dataclass
class ReceivedRequest:
    method: str
    path: str  # with the query string
    headers: dict[str, str]
    body: bytes
    at: float  # time.monotonic() on arrival (after any configured delay)

    def json(self) -> Any:
        return json.loads(self.body)

    def header(self, name: str) -> str | None:
        """A header's value, by case-insensitive name."""
        for k, v in self.headers.items():
            if k.lower() == name.lower():
                return v
        return None


class WebhookReceiver:
    """A real HTTP endpoint on 127.0.0.1 that records what it receives, for webhook tests.

        with WebhookReceiver(statuses=[500, 200]) as rx:   # answer 500, then 200 (default)
            ... create a webhook with serviceUri=rx.url("/hook") and ping it ...
            assert rx.wait_for(2)
            rx.requests[0].json()["action"] == "ping"

    `delay`: seconds to wait before answering; `echo`: answer with the request's path and
    headers in the body (to check that nothing secret is recorded from an answer);
    `headers`: extra response headers."""

    def __init__(
        self,
        statuses: list[int] | None = None,
        delay: float = 0.0,
        port: int = 0,
        echo: bool = False,
        headers: dict[str, str] | None = None,
    ) -> None:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.requests: list[ReceivedRequest] = []
        self.statuses = list(statuses or [])
        self.delay = delay
        self.echo = echo
        self.response_headers = dict(headers or {})
        self._cv = threading.Condition()
        rx = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if rx.delay:
                    time.sleep(rx.delay)
                req = ReceivedRequest(
                    self.command, self.path, dict(self.headers.items()), body, time.monotonic()
                )
                with rx._cv:
                    status = rx.statuses.pop(0) if rx.statuses else 200
                    rx.requests.append(req)
                    rx._cv.notify_all()
                out = (
                    json.dumps({"path": req.path, "headers": req.headers}).encode()
                    if rx.echo
                    else b"ok"
                )
                try:
                    self.send_response(status)
                    for k, v in rx.response_headers.items():
                        self.send_header(k, v)
                    self.send_header("Content-Length", str(len(out)))
                    self.end_headers()
                    self.wfile.write(out)
                except OSError:
                    pass  # the sender gave up waiting (a timeout test)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            request_queue_size = 128  # the default 5 drops bursts of concurrent deliveries

        self.server = Server(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.port: int = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def wait_for(self, count: int, timeout: float = 10.0) -> bool:
        """Wait until at least `count` requests arrived."""
        deadline = time.monotonic() + timeout
        with self._cv:
            while len(self.requests) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cv.wait(left)
        return True

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> WebhookReceiver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@contextlib.contextmanager
def mock_acrctl(path: str | None = None, settings: Settings | None = None) -> Iterator[AcrctlMock]:
    """A fresh in-process backend. `path`: the SQLite file (default: a temporary one, which
    the embedded CLI can share through ACRCTL_STATE)."""
    with tempfile.TemporaryDirectory(prefix="acrctl-") as tmp:
        mock = AcrctlMock(path or os.path.join(tmp, "state.db"), settings)
        try:
            yield mock
        finally:
            mock.close()


try:
    import pytest
except ImportError:  # pragma: no cover - pytest is only needed for the fixture
    pytest = None  # type: ignore[assignment]

if pytest is not None:

    @pytest.fixture
    def acrctl_mock(tmp_path: Any, monkeypatch: Any) -> Iterator[AcrctlMock]:
        """A fresh in-process backend; the embedded CLI in this test uses the same state."""
        path = str(tmp_path / "acrctl-state.db")
        monkeypatch.setenv("ACRCTL_STATE", path)
        with mock_acrctl(path) as mock:
            yield mock
