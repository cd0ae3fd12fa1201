"""A geo test bed on one Linux machine (root): regions are separate hosts with latency
between them (issue 17; facts in shared/reference/data-plane.md §5 and Part C Q4-Q6).

* One network namespace per site, `acrgeo-<pid>-<n>`: a site is a region (its registry runs
  there) or a client-only place (`clients`, mapped to a catalog region). Each has a veth link
  to the root namespace (`acrgeo<pid>v<n>`, 10.<k>.<n>.1 root side, 10.<k>.<n>.2 inside,
  default route to the root side; k = 200 + pid % 50).
* The acrctl server runs in the root namespace: management on 127.0.0.1, the data-plane front
  on site 1's root-side address (every namespace reaches it over its own veth). The server's
  client map sends 10.<k>.<n>.0/24 to site n's region. Its regions are external ones: each
  region's `docker-registry` runs inside its namespace (`ip netns exec`) on port 5000 with
  the plane's token trust, http secret and notification URL; its access log is
  `<tmp>/<region>.log`.
* Latency: a delay proxy (tests/geobed_proxy.py) per ordered pair (origin, region), running
  in the region's namespace on port 7000 + the origin site's number, one-way delay from the
  catalog distance (distance_km / 200 km per ms) or a fixed `one_way_ms`. The front reaches a
  region for a client of another region through that pair's proxy, and the replication
  engine reads a source region through the (target, source) proxy (the copy runs "in" the
  target region), via the plane's `geo.links` hook.
* Partitions: nftables table `inet acrgeo` in the two namespaces dropping the pair's proxy
  ports (a black hole: connections hang, as across a real partition).
* Clients: `run(site, argv)` is `ip netns exec <ns> argv`, whose /etc/hosts is the bind-mounted
  /etc/netns/<ns>/hosts naming the front (no outside DNS, no `*.localhost`).

`stop()` (also at exit and on SIGTERM) kills what the bed started, by pid, and deletes its
namespaces and hosts directories; `sweep()` removes namespaces left by a bed whose process
is gone. `skip_reason()` says why the bed cannot run here (None when it can)."""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml

from acrctl.backend.core import Settings
from acrctl.dataplane import geo
from acrctl.dataplane import supervisor as sup
from acrctl.server.serve import ServerConfig, ThreadedServer

PREFIX = "acrgeo"
NS_RE = re.compile(rf"^{PREFIX}-(\d+)-(\d+)$")
KM_PER_MS = 200.0  # light in fibre
REGISTRY_PORT = 5000
PROXY_BASE = 7000
DOMAIN = "acrctl.test"
ADMIN = "acr_geobed_admin_token_91c2"
ACR_PUSH = "8311e382-0749-4cb8-b61a-304f252e45ec"
PROXY = str(Path(__file__).with_name("geobed_proxy.py"))
TOOLS = ("ip", "nft", "docker-registry", "skopeo")


def skip_reason() -> str | None:
    if os.geteuid() != 0:
        return "the geo test bed needs root (network namespaces, nftables)"
    missing = [t for t in TOOLS if shutil.which(t) is None]
    if missing:
        return f"the geo test bed needs {', '.join(missing)}"
    return None


def _sh(*argv: str, ns: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    cmd = ["ip", "netns", "exec", ns, *argv] if ns else list(argv)
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=30, check=False)
    if check and done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: {done.stderr.strip()}")
    return done


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _delete_ns(ns: str) -> None:
    for line in _sh("ip", "netns", "pids", ns, check=False).stdout.split():
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(line), signal.SIGKILL)
    _sh("ip", "netns", "del", ns, check=False)
    shutil.rmtree(f"/etc/netns/{ns}", ignore_errors=True)


def namespaces() -> list[str]:
    out = _sh("ip", "netns", "list", check=False).stdout
    return [line.split()[0] for line in out.splitlines() if line.startswith(f"{PREFIX}-")]


def sweep() -> list[str]:
    """Delete the namespaces of beds whose process is gone (their processes are killed)."""
    gone = []
    for ns in namespaces():
        m = NS_RE.match(ns)
        if m and not _alive(int(m[1])):
            _delete_ns(ns)
            gone.append(ns)
    return gone


@dataclass
class Site:
    n: int
    label: str  # the region's name, or the client place's label
    region: str  # the catalog region its clients are in
    ns: str
    outer: str  # root-side address
    inner: str  # the namespace's address
    registry: bool  # a region (runs a registry) or a client-only place


class GeoBed:
    def __init__(
        self,
        tmp: Path,
        regions: list[str],
        clients: dict[str, str] | None = None,
        one_way_ms: float | None = None,
        settings: Settings | None = None,
    ) -> None:
        self.tmp, self.one_way_ms = tmp, one_way_ms
        pid = os.getpid()
        k = 200 + pid % 50
        places = [(r, r, True) for r in regions] + [
            (label, region, False) for label, region in (clients or {}).items()
        ]
        self.sites = [
            Site(n, label, region, f"{PREFIX}-{pid}-{n}", f"10.{k}.{n}.1", f"10.{k}.{n}.2", reg)
            for n, (label, region, reg) in enumerate(places, start=1)
        ]
        self.settings = settings or Settings()
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.server: ThreadedServer | None = None
        self.plane: Any = None
        self.creds: tuple[str, str] = ("", "")
        self.names: list[str] = []
        self._stopped = False
        self._made_etc_netns = False  # /etc/netns did not exist: removed again when empty

    # -- sites ---------------------------------------------------------------------------------
    def site(self, label: str) -> Site:
        return next(s for s in self.sites if s.label == label)

    @property
    def regions(self) -> list[Site]:
        return [s for s in self.sites if s.registry]

    def delay_ms(self, a: str, b: str) -> float:
        if a == b:
            return 0.0
        if self.one_way_ms is not None:
            return self.one_way_ms
        return round(geo.distance_km(a, b) / KM_PER_MS, 1)

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self) -> GeoBed:
        sweep()
        atexit.register(self.stop)
        previous = signal.getsignal(signal.SIGTERM)

        def on_term(signum: int, frame: Any) -> None:
            self.stop()
            signal.signal(signal.SIGTERM, previous if callable(previous) else signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGTERM)

        with contextlib.suppress(ValueError):  # not the main thread: atexit only
            signal.signal(signal.SIGTERM, on_term)
        try:
            for s in self.sites:
                self._link(s)
            self._server()
            for s in self.regions:
                self.start_registry(s.label)
            self._proxies()
        except BaseException:
            self.stop()
            raise
        return self

    def _link(self, s: Site) -> None:
        veth = f"{PREFIX}{os.getpid()}v{s.n}"
        _sh("ip", "netns", "add", s.ns)
        _sh("ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", s.ns)
        _sh("ip", "addr", "add", f"{s.outer}/24", "dev", veth)
        _sh("ip", "link", "set", veth, "up")
        for argv in (
            ("ip", "link", "set", "lo", "up"),
            ("ip", "addr", "add", f"{s.inner}/24", "dev", "eth0"),
            ("ip", "link", "set", "eth0", "up"),
            ("ip", "route", "add", "default", "via", s.outer),
        ):
            _sh(*argv, ns=s.ns)

    def _server(self) -> None:
        from acrctl.dataplane.plane import DataPlane, PlaneConfig

        s = self.settings
        s.dataplane_client_regions = ",".join(
            f"{site.inner.rsplit('.', 2)[0]}.{site.n}.0/24={site.region}" for site in self.sites
        )
        s.dataplane_storage = str(self.tmp / "storage")
        self.server = ThreadedServer(ServerConfig(data_port=0, settings=s, admin_token=ADMIN))
        self.server.start()
        b = self.server.app.backend
        doc, secret = b.rbac.create_principal(f"p-{uuid.uuid4().hex[:8]}", "Application")
        b.rbac.create_assignment(
            f"/subscriptions/{self.server.subscription}",
            str(uuid.uuid4()),
            {"properties": {"roleDefinitionId": ACR_PUSH, "principalId": doc["id"]}},
        )
        self.creds = (doc["id"], secret)
        external = {r.label: f"http://{r.inner}:{REGISTRY_PORT}" for r in self.regions}
        front = self.sites[0].outer
        self.plane = DataPlane(
            b,
            PlaneConfig(
                port=sup.free_port(),
                host=front,
                login_domain=DOMAIN,
                storage=s.dataplane_storage,
                external=external,
            ),
        ).start()

    @property
    def front(self) -> str:
        """The login servers' `host:port` suffix (acrctl.test:<port>)."""
        return f"{DOMAIN}:{self.plane.port}"

    def _proxies(self) -> None:
        origins = {s.region: s for s in self.sites}
        for r in self.regions:
            for origin, o in origins.items():
                if origin == r.region:
                    continue
                port = PROXY_BASE + o.n
                self._spawn(
                    f"proxy-{o.n}-{r.n}",
                    r.ns,
                    [sys.executable, PROXY, "0.0.0.0", str(port), "127.0.0.1", str(REGISTRY_PORT)]
                    + [str(self.delay_ms(origin, r.region))],
                    ready_line=True,
                )
                self.plane.geo.links[(origin, r.region)] = f"http://{r.inner}:{port}"

    def _spawn(
        self, key: str, ns: str, argv: list[str], ready_line: bool = False, log: str | None = None
    ) -> None:
        out = open(log, "ab") if log else subprocess.PIPE  # noqa: SIM115 - the child keeps it
        proc = subprocess.Popen(
            ["ip", "netns", "exec", ns, *argv], stdout=out, stderr=subprocess.STDOUT
        )
        if log:
            out.close()  # type: ignore[union-attr]
        self.procs[key] = proc
        if ready_line:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            if line.strip() != b"ready":
                raise RuntimeError(f"{key}: did not start ({line!r})")

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        for proc in self.procs.values():
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(5)
        if self.plane is not None:
            self.plane.stop(5)
        if self.server is not None:
            self.server.stop()
        for s in self.sites:
            _delete_ns(s.ns)
        if self._made_etc_netns:
            with contextlib.suppress(OSError):
                os.rmdir("/etc/netns")

    # -- regions ---------------------------------------------------------------------------------
    def start_registry(self, region: str) -> None:
        s = self.site(region)
        directory = self.tmp / "regions" / region
        (directory / "data").mkdir(parents=True, exist_ok=True)
        events = f"http://{self.sites[0].outer}:{self.plane.port}/_acrctl/events/{region}"
        auth = dataclasses.replace(self.plane.supervisor.auth, events_url=events)
        cfg = sup.region_config(str(directory / "data"), REGISTRY_PORT, auth)
        cfg["http"]["addr"] = f"0.0.0.0:{REGISTRY_PORT}"
        cfg["log"]["accesslog"]["disabled"] = False
        config = directory / "config.yml"
        config.write_text(yaml.safe_dump(cfg))
        self._spawn(
            f"registry-{region}",
            s.ns,
            ["docker-registry", "serve", str(config)],
            log=str(self.log_path(region)),
        )
        deadline = time.monotonic() + 15
        while not sup.probe(f"http://{s.inner}:{REGISTRY_PORT}", 0.5):
            if time.monotonic() > deadline:
                raise RuntimeError(f"region {region}: the registry did not answer")
            time.sleep(0.05)

    def kill_registry(self, region: str) -> None:
        proc = self.procs.pop(f"registry-{region}")
        proc.kill()
        proc.wait(5)

    def log_path(self, region: str) -> Path:
        return self.tmp / f"{region}.log"

    def log(self, region: str) -> str:
        return self.log_path(region).read_text(errors="replace")

    # -- partitions --------------------------------------------------------------------------------
    def partition(self, a: str, b: str) -> None:
        """Cut the links between regions a and b (both ways)."""
        for here, there in ((self.site(a), self.site(b)), (self.site(b), self.site(a))):
            port = PROXY_BASE + there.n
            for argv in (
                ("nft", "add", "table", "inet", PREFIX),
                ("nft", "add", "chain", "inet", PREFIX, "input")
                + ("{ type filter hook input priority 0 ; }",),
                ("nft", "add", "rule", "inet", PREFIX, "input", "tcp", "dport", str(port), "drop"),
            ):
                _sh(*argv, ns=here.ns)

    def heal(self, a: str, b: str) -> None:
        for s in (self.site(a), self.site(b)):
            _sh("nft", "delete", "table", "inet", PREFIX, ns=s.ns, check=False)

    # -- clients ----------------------------------------------------------------------------
    def hosts(self, *registries: str) -> None:
        """Every site's /etc/hosts names the registries' login servers and regional
        endpoints (at the front)."""
        self.names = list(registries)
        names = [f"{r}.{DOMAIN}" for r in registries] + [
            f"{r}.{s.label}.geo.{DOMAIN}" for r in registries for s in self.regions
        ]
        if not os.path.isdir("/etc/netns"):
            os.mkdir("/etc/netns")
            self._made_etc_netns = True
        for s in self.sites:
            Path(f"/etc/netns/{s.ns}").mkdir(parents=True, exist_ok=True)
            Path(f"/etc/netns/{s.ns}/hosts").write_text(
                f"127.0.0.1 localhost\n{self.sites[0].outer} {' '.join(names)}\n"
            )

    def run(self, site: str, *argv: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["ip", "netns", "exec", self.site(site).ns, *argv],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def skopeo_push(self, site: str, src: str, dest: str) -> subprocess.CompletedProcess[str]:
        return self.run(
            site,
            "skopeo",
            "copy",
            "-q",
            "--dest-tls-verify=false",
            f"--dest-creds={self.creds[0]}:{self.creds[1]}",
            src,
            f"docker://{dest}",
        )

    def skopeo_pull(self, site: str, src: str, dest: str) -> subprocess.CompletedProcess[str]:
        return self.run(
            site,
            "skopeo",
            "copy",
            "-q",
            "--src-tls-verify=false",
            f"--src-creds={self.creds[0]}:{self.creds[1]}",
            f"docker://{src}",
            dest,
        )

    # -- management -------------------------------------------------------------------------
    def arm(self) -> httpx.Client:
        assert self.server is not None
        return httpx.Client(
            base_url=self.server.url, headers={"Authorization": f"Bearer {ADMIN}"}, timeout=30
        )

    def registry_id(self, name: str) -> str:
        assert self.server is not None
        return (
            f"/subscriptions/{self.server.subscription}/resourceGroups/rg1/providers/"
            f"Microsoft.ContainerRegistry/registries/{name}"
        )

    def create_registry(self, name: str, home: str, replicas: list[str]) -> None:
        """A Premium registry homed in `home` with replicas in `replicas`."""
        assert self.server is not None
        arm = self.arm()
        api = "api-version=2025-11-01"
        with arm:
            r = arm.put(
                f"/subscriptions/{self.server.subscription}/resourcegroups/rg1"
                "?api-version=2021-04-01",
                json={"location": home},
            )
            assert r.status_code in (200, 201), r.text
            r = arm.put(
                f"{self.registry_id(name)}?{api}",
                json={"location": home, "sku": {"name": "Premium"}},
            )
            assert r.status_code in (200, 201), r.text
            for region in replicas:
                r = arm.put(
                    f"{self.registry_id(name)}/replications/{region}?{api}",
                    json={"location": region},
                )
                assert r.status_code in (200, 201), r.text
