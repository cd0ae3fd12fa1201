"""The data plane of a running server: keys, token service, region supervisor, the front
listener (a second uvicorn server in its own thread) and a reconcile loop that follows the
store (regions to run, namespaces to remove)."""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from acrctl.dataplane import supervisor as sup

if TYPE_CHECKING:
    from acrctl.backend.core import Backend, Settings
    from acrctl.dataplane.engine import Engine
    from acrctl.dataplane.front import Front
    from acrctl.dataplane.georouter import GeoRouter

log = logging.getLogger("acrctl.dataplane")


@dataclass
class PlaneConfig:
    port: int  # the listener's port (0: pick one)
    host: str = "127.0.0.1"
    login_domain: str = "acrctl.test"
    binary: str = sup.PACKAGE
    storage: str = ""  # default: a temporary directory (removed on stop)
    external: dict[str, str] = field(default_factory=dict)  # region -> URL
    tls_cert: str | None = None
    tls_key: str | None = None


def login_suffix(domain: str, port: int, tls: bool) -> str:
    """`<domain>[:port]`: the port is added unless the domain names one or it is the
    scheme's default."""
    if ":" in domain.rsplit("]", 1)[-1]:
        return domain
    return domain if port == (443 if tls else 80) else f"{domain}:{port}"


def status_off(binary: str) -> str | None:
    """Why the data plane cannot run (None when it can)."""
    if sup.binary_path(binary) is None:
        return (
            f"off: no '{binary}' binary; install the {sup.PACKAGE} package "
            f"(apt-get install {sup.PACKAGE})"
        )
    return None


class DataPlane:
    def __init__(self, backend: Backend, cfg: PlaneConfig) -> None:
        from acrctl.dataplane import dataep, pki
        from acrctl.dataplane.events import EventsListener
        from acrctl.dataplane.georouter import GeoRouter
        from acrctl.dataplane.tokens import TokenService

        self.b, self.cfg = backend, cfg
        self.settings: Settings = backend.settings
        self.geo: GeoRouter = GeoRouter(self)  # RuntimeError on a bad client map
        self.scheme = "https" if cfg.tls_cert else "http"
        self._tmp = "" if cfg.storage else tempfile.mkdtemp(prefix="acrctl-dataplane-")
        self.storage = cfg.storage or self._tmp
        os.makedirs(self.storage, exist_ok=True)
        self.port = cfg.port or sup.free_port()
        self.login_domain = login_suffix(cfg.login_domain, self.port, bool(cfg.tls_cert))
        self.issuer = self.settings.dataplane_issuer
        self.service = self.settings.dataplane_service
        self.keys = pki.load_or_create(os.path.join(self.storage, "pki"))
        self.data_signer = dataep.Signer(os.path.join(self.storage, "pki", "data.secret"))
        self.tokens = TokenService(
            backend,
            self.keys,
            self.issuer,
            self.service,
            self.settings.dataplane_token_seconds,
            self.settings.dataplane_refresh_seconds,
        )
        self.events_token = secrets.token_urlsafe(24)
        # the regions post their notifications to a loopback-only plain-HTTP listener
        # (acrctl.dataplane.events): they could not verify the front's TLS certificate
        self.events = EventsListener()
        auth = sup.Auth(
            self.issuer,
            self.service,
            f"{self.scheme}://127.0.0.1:{self.port}/oauth2/token",
            self.keys.bundle,
            self.keys.http_secret,
            self.events.url,
            self.events_token,
        )
        self.supervisor = _RegionSupervisor(
            binary=sup.binary_path(cfg.binary) or cfg.binary,
            storage=self.storage,
            auth=auth,
            external=cfg.external,
            ready_timeout=self.settings.dataplane_ready_seconds,
            restart_max=self.settings.dataplane_restart_max_seconds,
        )
        self._stop = threading.Event()
        self._server: Any = None
        self._threads: list[threading.Thread] = []
        self.front: Front | None = None
        self.engine: Engine | None = None

    # -- lifecycle ---------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.cfg.host}:{self.port}"

    def start(self) -> DataPlane:
        import uvicorn

        from acrctl.dataplane.front import Front

        self.front = Front(self)
        config = uvicorn.Config(
            self.front,
            host=self.cfg.host,
            port=self.port,
            ssl_certfile=self.cfg.tls_cert,
            ssl_keyfile=self.cfg.tls_key,
            log_level="warning",
            access_log=False,
            lifespan="on",
            ws="none",
            timeout_keep_alive=30,
        )
        self._server = uvicorn.Server(config)
        serve = threading.Thread(
            target=self._server.run, name="acrctl-dataplane-front", daemon=True
        )
        serve.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not serve.is_alive():
                self.stop()
                raise RuntimeError(f"the data-plane listener could not start on port {self.port}")
            time.sleep(0.01)
        try:
            self.events.start(self.front)
        except RuntimeError:
            self.stop()
            raise
        self.settings.login_server_suffix = self.login_domain
        self.supervisor.start()
        self.reconcile()
        self.geo.start()
        from acrctl.dataplane.engine import Engine

        self.engine = Engine(self).start()
        self.settings.replication_backfill = True
        from acrctl.dataplane.tools import PlaneTools

        self.b.dataplane = PlaneTools(self)  # wait --image, verify, import (the routes)
        loop = threading.Thread(
            target=self._reconcile_loop, name="acrctl-dataplane-sync", daemon=True
        )
        loop.start()
        self._threads = [serve, loop]
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        if self._server is not None:
            self._server.should_exit = True
        for t in self._threads:
            t.join(timeout=timeout)
        self.geo.stop()
        if self.engine is not None:
            self.b.dataplane = None
            self.settings.replication_backfill = False
            self.engine.stop(timeout)
        self.supervisor.stop(timeout)
        self.events.stop(timeout)
        if self._tmp:
            shutil.rmtree(self._tmp, ignore_errors=True)

    def region_up(self, region: str) -> None:
        """The health probe saw a region come back: wake the replication it held back."""
        if self.engine is not None:
            try:
                self.engine.region_up(region)
            except Exception:  # noqa: BLE001 - the reconcile pass catches up instead
                log.exception("replication: waking the tasks of %s failed", region)

    def data_root(self, region: str) -> str | None:
        """A local region's storage root (the data endpoint serves blobs from it); None for an
        external region or one not running here."""
        r = self.supervisor.region(region)
        return r.data if r is not None and not r.external else None

    def data_endpoints(self, registry: str) -> bool:
        """Whether the registry has dataEndpointEnabled (blob GETs answer 307)."""
        return self.b.cache.get(  # type: ignore[no-any-return]
            ("dataplane", "data-endpoints", registry), lambda: self._read_data(registry)
        )

    def _read_data(self, registry: str) -> bool:
        reg = self.b.registries.find(registry) if registry else None
        return bool(reg and (reg.get("properties") or {}).get("dataEndpointEnabled"))

    def status(self) -> str:
        down = [r.name for r in self.supervisor.regions.values() if not r.ready and not r.held]
        problems = [f"regions not ready: {', '.join(sorted(down))}"] if down else []
        if not self.events.alive:  # replication would wait for the reconcile pass
            problems.append("notification listener stopped")
        return "; ".join(problems) or "ok"

    # -- the store -> the regions ------------------------------------------------------
    def desired(self) -> dict[str, set[str]]:
        """region -> registries (lower case) with a replica there (a registry without
        replicas, below Premium, lives in its home region)."""
        return self.b.cache.get(("dataplane", "desired"), self.b.resources.placement)  # type: ignore[no-any-return]

    def reconcile(self) -> None:
        """Start the regions registries need; remove the namespaces of registries no longer
        replicated to a local region (deleted replica or registry); stop idle regions."""
        want = self.desired()
        for region in sorted(want):
            self.supervisor.ensure(region)
        for name in os.listdir(self.storage):
            if name == "pki" or not os.path.isdir(os.path.join(self.storage, name)):
                continue
            local = sup.Region(name, os.path.join(self.storage, name))
            for ns in sup.namespaces(local):
                if ns not in want.get(name, set()):
                    sup.remove_namespace(local, ns)
                    log.info("region %s: removed the data of registry %s", name, ns)
        for region in self.supervisor.names():
            if region not in want:
                self.supervisor.retire(region)
        self.geo.follow_drills()

    def _reconcile_loop(self) -> None:
        while not self._stop.wait(self.settings.dataplane_reconcile_seconds):
            try:
                self.reconcile()
            except Exception:  # noqa: BLE001 - the store may be briefly down; next round
                log.exception("data plane: reconcile failed")

    def on_events(self, region: str, events: list[dict[str, Any]]) -> None:
        """A region's notifications: manifest pushes and deletes become durable replication
        tasks (raises when they cannot be recorded: the notification is then answered 500
        and sent again) and the registry's webhook events in that region."""
        if self.engine is not None:
            self.engine.on_events(region, events)
        for ev in events:
            with contextlib.suppress(Exception):
                self._on_event(region, ev)

    def _on_event(self, region: str, ev: dict[str, Any]) -> None:
        action, target = ev.get("action"), ev.get("target") or {}
        registry, _, repo = str(target.get("repository", "")).partition("/")
        if action not in ("push", "delete") or not repo:
            return
        if action == "delete" and not target.get("digest"):
            return  # 2.8 sends a second, tag-only event per delete
        req = ev.get("request") or {}
        self.b.webhooks.emit(
            registry,
            region,
            action,
            repo,
            tag=target.get("tag"),
            digest=target.get("digest"),
            media_type=target.get("mediaType"),
            size=target.get("size"),
            length=target.get("length"),
            request={
                "id": req.get("id"),
                "host": req.get("host"),
                "method": req.get("method"),
                "useragent": req.get("useragent"),
            },
            actor=ev.get("actor") or {},
        )


class _RegionSupervisor(sup.Supervisor):
    """The supervisor with the notification URL naming each region."""

    def _spawn(self, region: sup.Region) -> None:
        base = self.auth
        if base.events_url:
            self.auth = sup.Auth(
                **{**base.__dict__, "events_url": base.events_url.replace("REGION", region.name)}
            )
        try:
            super()._spawn(region)
        finally:
            self.auth = base
