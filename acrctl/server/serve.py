"""Running the ASGI app: `acrctl server` (foreground) and ThreadedServer (tests, benchmarks:
a real uvicorn on 127.0.0.1 and a free port, in a background thread)."""

from __future__ import annotations

import ipaddress
import math
import os
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from acrctl.backend.core import Backend, Settings
from acrctl.backend.store import open_store
from acrctl.server.app import App
from acrctl.server.asgi import AsgiApp
from acrctl.server.startup import StoreOpenError, open_failure

if TYPE_CHECKING:
    from acrctl.delivery import Deliverer, DeliveryWorker


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
    metrics: str = "auto"  # on | off | auto (on when serving on a loopback address)
    access_log: str | None = None  # "-" (stderr), a file, or None/"off" (acrctl server sets it)
    shutdown_timeout: float = 10.0  # seconds for requests, then deliveries, in flight
    # connection limits (acrctl.server.protocol; docs/operating.md, Limits)
    max_connections: int = 1000  # open connections; past it a request is answered 503
    header_timeout: float = 10.0  # seconds for a request head to arrive (408 past it)
    body_timeout: float = 30.0  # seconds for a request body to arrive after its head
    keep_alive_timeout: float = 5.0  # seconds an idle kept-alive connection stays open
    max_header_bytes: int = 16 * 1024  # request line and header fields (431 past it)
    backlog: int = 2048  # connections the OS queues before the server accepts them
    handler_threads: int = 8  # handlers run in this many threads (0: on the event loop)
    error_log_interval: float = 10.0  # repeated connection errors: one log line per interval
    http: str = "auto"  # auto (httptools when installed, else h11) | h11 | httptools
    loop: str = "auto"  # auto (uvloop when installed, else asyncio) | asyncio | uvloop
    # the data plane (acrctl.dataplane, docs/dataplane.md): the listener's port, 0 = off
    # (ThreadedServer: any other value = on, on a free port)
    data_port: int = 0
    login_domain: str = "acrctl.test"
    region_registries: dict[str, str] = field(default_factory=dict)  # region -> URL
    registry_binary: str = "docker-registry"


def metrics_enabled(cfg: ServerConfig) -> bool:
    """`/metrics` is unauthenticated: served when asked for, or by default on loopback."""
    mode = (cfg.metrics or "auto").lower()
    if mode != "auto":
        return mode in ("on", "true", "yes", "1")
    if cfg.host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(cfg.host.strip("[]")).is_loopback
    except ValueError:
        return False


def build(cfg: ServerConfig) -> tuple[App, str | None, str]:
    """Open the store, bootstrap on first start. Returns the app, the admin token when it was
    just created (printed once), and the subscription id."""
    settings = cfg.settings or Settings()
    settings.allow_reset = settings.allow_reset or cfg.allow_reset
    token = cfg.admin_token or os.environ.get("ACRCTL_BOOTSTRAP_TOKEN")
    settings.admin_token = settings.admin_token or token
    try:
        store = open_store(cfg.database or ":memory:")
    except Exception as exc:
        raise StoreOpenError(open_failure(cfg.database or ":memory:", exc)) from exc
    backend = Backend(store, settings=settings)
    sub, new_token = backend.bootstrap(admin_token=token)
    app = App(backend)
    if metrics_enabled(cfg):
        app.obs.enable_metrics()
    backend.activity.prune()  # records past the retention, left by a long stop
    backend.ops.prune()  # finished operations past their retention
    return app, new_token, sub["subscriptionId"]


def start_delivery(app: App, interval: float = 0.2) -> DeliveryWorker:
    """Start the webhook delivery worker for a server's backend (a daemon thread that sends
    due events from the outbox). Stop it with `worker.stop()` before closing the store.
    Raises ValueError when the webhook destination settings are invalid."""
    from acrctl.delivery import DeliveryWorker

    worker = DeliveryWorker(app.backend, _tracking_deliverer(app), interval=interval)
    worker.start()
    app.obs.delivery = worker  # what /readyz checks
    return worker


def _tracking_deliverer(app: App) -> Deliverer:
    """A Deliverer that remembers the leases of the deliveries it has in flight, so a
    stopping server can hand back those that did not finish in time (release_leases)."""
    from acrctl.backend.webhooks import Claim
    from acrctl.delivery import Deliverer

    class LeaseTracking(Deliverer):
        def __init__(self, app: App) -> None:
            super().__init__(app.backend)
            self.leases: dict[str, str] = {}
            self._leases_lock = threading.Lock()

        def _start(self, claim: Claim) -> None:
            with self._leases_lock:
                self.leases[claim.event_key] = claim.lease_id
            super()._start(claim)

        def _run(self, claim: Claim) -> None:
            try:
                super()._run(claim)
            finally:
                with self._leases_lock:
                    if self.leases.get(claim.event_key) == claim.lease_id:
                        del self.leases[claim.event_key]

    return LeaseTracking(app)


def stop_delivery(app: App, worker: DeliveryWorker, timeout: float = 10.0) -> int:
    """Stop claiming, wait up to `timeout` for deliveries in flight to be recorded, then put
    any still unrecorded back in the outbox as due now, so the next start sends them at
    once instead of after their lease. Returns how many were put back."""
    worker.stop(timeout)
    if app.obs.delivery is worker:
        app.obs.delivery = None
    leases = dict(getattr(worker.deliverer, "leases", {}))
    return release_leases(app.backend, leases) if leases else 0


def release_leases(backend: Backend, leases: dict[str, str]) -> int:
    """Return leased events (event key -> lease id) to `pending`, due now, unless their
    attempt was recorded meanwhile or another worker holds them. A send still running
    records its attempt without changing the state (its lease is gone)."""
    return backend.webhooks.release_leases(leases)


def uvicorn_config(app: App, cfg: ServerConfig, sock_port: int | None = None) -> Any:
    """uvicorn's fast implementations when installed (httptools, uvloop), else h11 and
    asyncio; both protocols behind acrctl.server.protocol's guards. No websockets."""
    import uvicorn

    from acrctl.server.protocol import ConnectionLimits, protocol_class

    limits = ConnectionLimits(
        max_connections=cfg.max_connections,
        header_timeout=cfg.header_timeout,
        body_timeout=cfg.body_timeout,
        max_header_bytes=cfg.max_header_bytes,
    )
    return uvicorn.Config(
        AsgiApp(app, cfg.handler_threads, offload_reads=is_postgres(cfg.database)),
        host=cfg.host,
        port=sock_port if sock_port is not None else cfg.port,
        ssl_certfile=cfg.tls_cert,
        ssl_keyfile=cfg.tls_key,
        log_level=cfg.log_level,
        access_log=False,
        lifespan="on",
        http=protocol_class(cfg.http, limits),
        loop=cfg.loop,
        ws="none",
        backlog=cfg.backlog,
        timeout_keep_alive=cfg.keep_alive_timeout,  # type: ignore[arg-type]  # a float works
        h11_max_incomplete_event_size=cfg.max_header_bytes,
        timeout_graceful_shutdown=max(1, math.ceil(cfg.shutdown_timeout)),
    )


def start_dataplane(app: App, cfg: ServerConfig) -> Any:
    """Start the data plane when cfg.data_port asks for it and the registry binary (or an
    external region) is there; /readyz tells why when it is off. Returns the DataPlane or
    None."""
    from acrctl.dataplane.plane import DataPlane, PlaneConfig, status_off

    off = status_off(cfg.registry_binary) if not cfg.region_registries else None
    if not cfg.data_port or off:
        app.obs.dataplane = off or "off (data port 0)"  # type: ignore[attr-defined]
        return None
    settings = app.backend.settings
    storage = settings.dataplane_storage or _dataplane_storage(cfg.database)
    plane = DataPlane(
        app.backend,
        PlaneConfig(
            port=cfg.data_port,
            host=cfg.host,
            login_domain=cfg.login_domain,
            binary=cfg.registry_binary,
            storage=storage,
            external=dict(cfg.region_registries),
            tls_cert=cfg.tls_cert,
            tls_key=cfg.tls_key,
        ),
    ).start()
    app.obs.dataplane = plane  # type: ignore[attr-defined]
    return plane


def _dataplane_storage(database: str | None) -> str:
    """`dataplane/` next to a SQLite file; under the XDG data dir for PostgreSQL; "" (a
    temporary directory) for an in-memory store."""
    if not database or database == ":memory:":
        return ""
    if is_postgres(database):
        from acrctl import embedded

        return os.path.join(os.path.dirname(embedded.state_path()), "dataplane")
    return os.path.join(os.path.dirname(os.path.abspath(database)), "dataplane")


def is_postgres(database: str | None) -> bool:
    return bool(database) and str(database).startswith(("postgresql://", "postgres://"))


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
        from acrctl.server.logguard import install_throttle

        install_throttle(self.cfg.error_log_interval)
        self.server = uvicorn.Server(uvicorn_config(self.app, self.cfg))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.deliver = deliver
        self.delivery: DeliveryWorker | None = None
        self.dataplane: Any = None

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
        if self.cfg.data_port:
            self.cfg.data_port = free_port()
        self.dataplane = start_dataplane(self.app, self.cfg)
        return self

    def stop(self) -> None:
        self.app.obs.draining = True
        if self.delivery is not None:
            stop_delivery(self.app, self.delivery, self.cfg.shutdown_timeout)
            self.delivery = None
        if self.dataplane is not None:
            self.dataplane.stop(self.cfg.shutdown_timeout)
            self.dataplane = None
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.app.backend.store.close()

    def __enter__(self) -> ThreadedServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
