"""Running the ASGI app: `acrctl server` (foreground) and ThreadedServer (tests, benchmarks:
a real uvicorn on 127.0.0.1 and a free port, in a background thread)."""

from __future__ import annotations

import os
import socket
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from acrctl.backend.core import Backend, Settings
from acrctl.backend.store import open_store
from acrctl.server.app import App
from acrctl.server.asgi import AsgiApp

if TYPE_CHECKING:
    from acrctl.delivery import DeliveryWorker


@dataclass
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = 8443
    database: str | None = None
    tls_cert: str | None = None
    tls_key: str | None = None
    admin_token: str | None = None
    allow_reset: bool = False
    settings: Settings | None = None
    log_level: str = "warning"


def build(cfg: ServerConfig) -> tuple[App, str | None, str]:
    """Open the store, bootstrap on first start. Returns the app, the admin token when it was
    just created (printed once), and the subscription id."""
    settings = cfg.settings or Settings()
    settings.extra.setdefault("allow_reset", cfg.allow_reset)
    token = cfg.admin_token or os.environ.get("ACRCTL_BOOTSTRAP_TOKEN")
    settings.extra.setdefault("admin_token", token)
    backend = Backend(open_store(cfg.database or ":memory:"), settings=settings)
    sub, new_token = backend.bootstrap(admin_token=token)
    return App(backend), new_token, sub["subscriptionId"]


def start_delivery(app: App, interval: float = 0.2) -> DeliveryWorker:
    """Start the webhook delivery worker for a server's backend (a daemon thread that sends
    due events from the outbox). Stop it with `worker.stop()` before closing the store.
    Raises ValueError when the webhook destination settings are invalid."""
    from acrctl.delivery import DeliveryWorker

    worker = DeliveryWorker(app.backend, interval=interval)
    worker.start()
    return worker


def uvicorn_config(app: App, cfg: ServerConfig, sock_port: int | None = None) -> Any:
    import uvicorn

    return uvicorn.Config(
        AsgiApp(app), host=cfg.host, port=sock_port if sock_port is not None else cfg.port,
        ssl_certfile=cfg.tls_cert, ssl_keyfile=cfg.tls_key, log_level=cfg.log_level,
        access_log=False, lifespan="on", http="h11", timeout_graceful_shutdown=5)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ThreadedServer:
    """A real `acrctl server` in a background thread on a free loopback port."""

    def __init__(self, cfg: ServerConfig | None = None, deliver: bool = True) -> None:
        """`deliver`: run the webhook delivery worker while the server runs."""
        import uvicorn

        self.cfg = cfg or ServerConfig()
        self.cfg.host = "127.0.0.1"
        self.cfg.port = free_port()
        self.app, self.admin_token, self.subscription = build(self.cfg)
        if self.admin_token is None:
            self.admin_token = self.cfg.admin_token
        self.server = uvicorn.Server(uvicorn_config(self.app, self.cfg))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.deliver = deliver
        self.delivery: DeliveryWorker | None = None

    @property
    def url(self) -> str:
        scheme = "https" if self.cfg.tls_cert else "http"
        return f"{scheme}://127.0.0.1:{self.cfg.port}"

    def start(self) -> ThreadedServer:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("acrctl server did not start")
            time.sleep(0.01)
        if self.deliver:
            self.delivery = start_delivery(self.app)
        return self

    def stop(self) -> None:
        if self.delivery is not None:
            self.delivery.stop()
            self.delivery = None
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.app.backend.store.close()

    def __enter__(self) -> ThreadedServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
