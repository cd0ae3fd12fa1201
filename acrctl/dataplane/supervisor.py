"""One CNCF distribution process (`docker-registry serve CONFIG`) per region, supervised.

Each region gets `<storage>/<region>/config.yml` and `<storage>/<region>/data`, a loopback
port picked here, distribution's token auth pointed at acrctl (issuer, service, the root
bundle of acrctl.dataplane.pki), the shared `http.secret`, relative upload URLs (the front
rewrites them) and one notification endpoint on the front. A region is ready when `GET /v2/`
answers (401: token auth is on). A process that exits is started again after a backoff that
doubles up to `restart_max` seconds (reset after a minute of good health). Its output goes
to the logger `acrctl.dataplane` with the region named."""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass, field
from typing import IO

import httpx
import yaml

from acrctl.dataplane.distconfig import (  # noqa: F401
    Auth,
    binary_path,
    free_port,
    region_config,
)

log = logging.getLogger("acrctl.dataplane")
PACKAGE = "docker-registry"  # the Debian package (and binary) of CNCF distribution 2.8
HEALTHY_RESET = 60.0  # seconds up after which a region's restart backoff starts over
HEALTH_AGENT = "acrctl-health"  # User-Agent of routing's probes (their log lines are dropped)


@dataclass
class Region:
    name: str
    directory: str
    port: int = 0
    process: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    restarts: int = 0
    backoff: float = 0.0
    next_start: float = 0.0
    ready: bool = False
    held: bool = False  # stopped on purpose (an outage drill): not restarted until released
    external: str = ""  # the URL of an external distribution (never started here)
    readers: list[threading.Thread] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.external.rstrip("/") or f"http://127.0.0.1:{self.port}"

    @property
    def data(self) -> str:
        return os.path.join(self.directory, "data")


class Supervisor:
    """Starts, watches and stops the region processes (thread-safe)."""

    def __init__(
        self,
        binary: str,
        storage: str,
        auth: Auth,
        *,
        external: dict[str, str] | None = None,
        ready_timeout: float = 10.0,
        restart_max: float = 30.0,
        watch_interval: float = 0.25,
    ) -> None:
        self.binary, self.storage, self.auth = binary, storage, auth
        self.ready_timeout, self.restart_max = ready_timeout, restart_max
        self.watch_interval = watch_interval
        self.regions: dict[str, Region] = {}
        for name, url in (external or {}).items():
            self.regions[name] = Region(name, "", external=url, ready=True)
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._watcher: threading.Thread | None = None

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> None:
        self._watcher = threading.Thread(
            target=self._watch, name="acrctl-dataplane-watch", daemon=True
        )
        self._watcher.start()

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM every region (distribution finishes its requests), kill after timeout."""
        self._stop.set()
        self._wake.set()
        if self._watcher is not None:
            self._watcher.join(timeout=2)
        with self._lock:
            procs = [r for r in self.regions.values() if r.process is not None]
            for r in procs:
                with contextlib.suppress(ProcessLookupError):
                    r.process.terminate()  # type: ignore[union-attr]
            deadline = time.monotonic() + timeout
            for r in procs:
                assert r.process is not None
                try:
                    r.process.wait(max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    r.process.kill()
                    r.process.wait(5)
                r.process, r.ready = None, False
                for t in r.readers:
                    t.join(timeout=1)

    def ensure(self, name: str) -> Region:
        """The region, started (and ready) if it was not running."""
        with self._lock:
            region = self.regions.get(name)
            if region is None:
                region = Region(name, os.path.join(self.storage, name))
                self.regions[name] = region
            if not region.external and region.process is None:
                self._wake.set()  # the watcher thread starts it (see _spawn)
        if not region.ready and not region.external and not region.held:
            self.wait_ready(region)
        return region

    def hold(self, name: str) -> bool:
        """Stop a region and keep it stopped (True when it was not held already)."""
        with self._lock:
            region = self.regions.get(name)
            if region is None or region.external or region.held:
                return False
            region.held, region.ready = True, False
            proc, region.process, region.next_start = region.process, None, 0.0
        if proc is not None:
            _end(proc)
        return True

    def release(self, name: str) -> bool:
        """Let a held region run again (True when it was held); the watcher starts it."""
        with self._lock:
            region = self.regions.get(name)
            if region is None or not region.held:
                return False
            region.held = False
        self._wake.set()
        return True

    def names(self) -> list[str]:
        with self._lock:
            return sorted(self.regions)

    def region(self, name: str) -> Region | None:
        with self._lock:
            return self.regions.get(name)

    def retire(self, name: str) -> None:
        """Stop a region no registry uses any more (its data stays)."""
        with self._lock:
            region = self.regions.get(name)
            if region is None or region.external:
                return
            del self.regions[name]
            proc = region.process
        if proc is not None:
            _end(proc)
        log.info("region %s: stopped (no registry has a replica there)", name)

    # -- processes -------------------------------------------------------------------------
    def _spawn(self, region: Region) -> None:
        os.makedirs(region.data, exist_ok=True)
        region.port = region.port or free_port()  # a restart keeps its port
        config = os.path.join(region.directory, "config.yml")
        with open(config, "w") as fh:
            yaml.safe_dump(region_config(region.data, region.port, self.auth), fh)
        os.chmod(config, 0o600)  # holds http.secret and the events token
        region.process = subprocess.Popen(
            [self.binary, "serve", config],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        region.started_at, region.ready = time.monotonic(), False
        reader = threading.Thread(
            target=_forward,
            args=(region.name, region.process.stdout),
            name=f"acrctl-dataplane-log-{region.name}",
            daemon=True,
        )
        reader.start()
        region.readers = [t for t in region.readers if t.is_alive()] + [reader]
        log.info(
            "region %s: started distribution (pid %d) on 127.0.0.1:%d",
            region.name,
            region.process.pid,
            region.port,
        )

    def wait_ready(self, region: Region, timeout: float | None = None) -> bool:
        deadline = time.monotonic() + (self.ready_timeout if timeout is None else timeout)
        while time.monotonic() < deadline and not self._stop.is_set():
            if region.ready:
                return True
            proc = region.process
            if proc is None or proc.poll() is not None:
                time.sleep(0.05)
                continue
            if probe(region.url):
                region.ready = True
                return True
            time.sleep(0.05)
        return region.ready

    def _watch(self) -> None:
        """The only thread that starts region processes: they get SIGTERM when it ends
        (PR_SET_PDEATHSIG), so a server killed with SIGKILL leaves no region behind."""
        while not self._stop.is_set():
            with self._lock:
                regions = list(self.regions.values())
            for region in regions:
                if self._stop.is_set():
                    break
                if (
                    region.process is None
                    and not region.external
                    and not region.held
                    and region.next_start == 0.0
                ):
                    with self._lock:
                        if (
                            region.name in self.regions
                            and region.process is None
                            and not region.held
                        ):
                            self._spawn(region)
                self._check(region)
            self._wake.wait(self.watch_interval)
            self._wake.clear()

    def _check(self, region: Region) -> None:
        with self._lock:
            proc = region.process
            if region.external or proc is None or proc.poll() is None:
                if proc is not None and not region.ready and probe(region.url):
                    region.ready = True
                return
            now = time.monotonic()
            if region.next_start == 0.0:
                up = now - region.started_at
                region.backoff = (
                    0.5
                    if up > HEALTHY_RESET or region.backoff == 0
                    else min(region.backoff * 2, self.restart_max)
                )
                region.next_start, region.ready = now + region.backoff, False
                log.warning(
                    "region %s: distribution exited (code %s); restarting in %.1f s",
                    region.name,
                    proc.returncode,
                    region.backoff,
                )
                return
            if now < region.next_start or self._stop.is_set():
                return
            region.next_start, region.restarts = 0.0, region.restarts + 1
            self._spawn(region)


def _end(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL after 10 s."""
    with contextlib.suppress(ProcessLookupError):
        proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def _die_with_parent() -> None:
    """In the child before exec (Linux): SIGTERM when the thread that started it ends."""
    import ctypes
    import signal

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def probe(url: str, timeout: float = 1.0, agent: str | None = None) -> bool:
    """A region answers its API root (200, or 401 with token auth on)."""
    headers = {"User-Agent": agent} if agent else None
    try:
        return httpx.get(f"{url}/v2/", timeout=timeout, headers=headers).status_code in (200, 401)
    except httpx.HTTPError:
        return False


def _forward(region: str, stream: IO[bytes] | None) -> None:
    """A region's output lines into the server's log, the region named."""
    if stream is None:
        return
    with stream:
        for raw in iter(stream.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip()
            if line and f"useragent={HEALTH_AGENT}" not in line:
                level = (
                    logging.WARNING
                    if "level=fatal" in line
                    or "panic" in line
                    or ("level=error" in line and "response completed with error" not in line)
                    else logging.INFO
                )
                log.log(level, "region %s: %s", region, line)


def remove_namespace(region: Region, registry: str) -> bool:
    """Delete a registry's repositories from a local region's storage (its blobs stay until
    distribution's garbage collection). False for an external region."""
    if region.external:
        return False
    path = os.path.join(region.data, "docker", "registry", "v2", "repositories", registry.lower())
    if os.path.isdir(path):
        shutil.rmtree(path, ignore_errors=True)
    return True


def namespaces(region: Region) -> list[str]:
    """The registries (top-level repository directories) a local region holds."""
    if region.external:
        return []
    path = os.path.join(region.data, "docker", "registry", "v2", "repositories")
    try:
        return sorted(os.listdir(path))
    except OSError:
        return []
