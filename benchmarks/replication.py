"""The replication engine's speed (issue 16), against `skopeo copy` between the same two
distribution processes, in one run on one machine:

    .venv/bin/python benchmarks/replication.py [--runs 3] [--mb 100] [--layers 10]
        [--small 100] [--only one,three,small,lag] [--write docs/BENCHMARKS.md]

* one: a 100 MB, 10-layer image replicated from the home region (eastus) to one replica
  (westus): push acknowledged -> manifest readable in westus (the engine's whole path:
  notification, task in the store, claim, HEADs, streamed blob copies, manifest), against
  `skopeo copy docker://eastus/... docker://westus/...` of another fresh image of the same
  size (pushed and copied with a token whose subject is the engine's, so the loop guard
  keeps the engine out of it). Goal: <= 1.1x. Also the server's RSS growth while the engine
  copies (`--mb 1024 --layers 1` for the 1 GB layer of the issue).
* three: the same image replicated to three replicas (westus, westeurope, northeurope) of
  another registry: push acknowledged -> readable in all three, against one `skopeo copy`
  of a fresh image to one region. Goal: <= 1.5x. The regions' storage is on this machine,
  so blobs are copied at the storage layer (storecopy, the default); each run also
  replicates one more fresh image with `replication_storage_copy` off (uploaded through the
  three target registries), reported as its own row without a goal.
* small: `--small` (100) small images (two 2 KiB layers) already in the home region, handed
  to the engine as one batch of push notifications (what distribution sends; recorded as
  tasks, claimed and copied) until all are readable in westus, against `--small`
  sequential `skopeo copy` of other images of the same shape. Goal: <= 0.5x.
* lag: `--small` small images pushed one after another to the home region (each a real
  notification); the engine's lag observations (the registry's event time -> the target
  accepted the manifest, what `acrctl_replication_lag_seconds` records), p50 and p99.
  Goal on loopback: p50 <= 0.5 s, p99 <= 2 s.

Every image is fresh (new random layers: nothing is skipped or mounted). Runs interleave;
medians. Arrival is read from the engine's count of manifests put in each region (every
5 ms, no request), then confirmed with one HEAD per region. Until 2026-12-02 17:00 UTC
arrival was HEAD-polled every 20 ms with a new httpx client per poll (~40 ms of this
process's CPU each, and ~1.5 ms per HEAD with a kept client on the loaded machine): the
poller competed with the engine for the two cores, while skopeo's baseline had none. The
1-minute load average is printed: on a shared 2-core box the absolute figures move with
it; compare the ratios."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import benchlib as bl  # noqa: E402
import httpx  # noqa: E402
import oci_image  # noqa: E402

from acrctl.backend.core import Settings  # noqa: E402
from acrctl.backend.observers import Observer  # noqa: E402
from acrctl.dataplane.copier import ACCEPT, ENGINE_SUB  # noqa: E402

ADMIN = "acr_bench_replication_admin"
API = "api-version=2025-11-01"
HOME, WEST = "eastus", "westus"
THREE = ("westus", "westeurope", "northeurope")
SECTIONS = ("one", "three", "small", "lag")
GOALS = {"one": 1.1, "three": 1.5, "small": 0.5, "lag_p50": 0.5, "lag_p99": 2.0}
WAIT = 600.0  # seconds: a section that does not converge within this fails


@dataclass
class Results:
    mb: int = 0
    layers: int = 0
    runs: int = 0
    small: int = 0
    one: tuple[list[float], list[float]] | None = None  # engine, skopeo (seconds per run)
    rss_mb: float = 0.0
    rss3_mb: float = 0.0  # the same, copying to three regions at once (fan-out)
    three: tuple[list[float], list[float]] | None = None
    three_up: list[float] = field(default_factory=list)  # ... uploaded through the registries
    batch: tuple[float, float] | None = None  # engine, sequential skopeo (seconds)
    lags: list[float] = field(default_factory=list)
    # (ours, the home region, the other regions) per copy
    cpu: dict[str, list[tuple[float, float, float]]] = field(default_factory=dict)
    load: list[float] = field(default_factory=list)  # 1-minute load average, start and end


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--mb", type=int, default=100)
    ap.add_argument("--layers", type=int, default=10)
    ap.add_argument("--small", type=int, default=100, help="small images (small, lag)")
    ap.add_argument("--only", default=",".join(SECTIONS), help=f"of {', '.join(SECTIONS)}")
    ap.add_argument("--write", default=None, metavar="MARKDOWN", help="replace the block there")
    a = ap.parse_args(argv)
    sections = [s.strip() for s in a.only.split(",") if s.strip()]
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        raise SystemExit(f"unknown section(s): {', '.join(sorted(unknown))}")
    res = run(a.runs, a.mb, a.layers, a.small, sections)
    report = render(res)
    print(report)
    if a.write:
        args = " ".join(argv if argv is not None else sys.argv[1:])
        args = " ".join(w for w in args.split() if w != "--write" and w != a.write)
        stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
        head = f"Run {stamp}, `benchmarks/replication.py {args}`.".replace(" `.", "`.")
        bl.write_block(a.write, "replication", f"{head}\n\n{report}")


def run(runs: int, mb: int, layers: int, small: int, sections: list[str]) -> Results:
    from acrctl.server.serve import ServerConfig, ThreadedServer

    tmp = tempfile.mkdtemp(prefix="acrctl-bench-repl-")
    settings = Settings()
    settings.dataplane_storage = os.path.join(tmp, "storage")
    settings.dataplane_reconcile_seconds = 0.2
    settings.replication_reconcile_seconds = 3600.0
    server = ThreadedServer(ServerConfig(data_port=1, settings=settings, admin_token=ADMIN))
    server.start()
    res = Results(mb=mb, layers=layers, runs=runs, small=small, load=[os.getloadavg()[0]])
    bed = None
    try:
        bed = Bed(server, tmp)
        res.cpu = bed.cpu
        if "one" in sections:
            bed.one(res)
        if "three" in sections:
            bed.three(res)
        if "small" in sections:
            bed.batch(res)
        if "lag" in sections:
            bed.lag(res)
    finally:
        if bed is not None:
            bed.close()
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    res.load.append(os.getloadavg()[0])
    return res


def token(plane: Any, repos: list[str], sub: str = "bench") -> str:
    now = int(time.time())
    return str(
        plane.keys.sign(
            {
                "iss": plane.issuer,
                "sub": sub,
                "aud": plane.service,
                "iat": now,
                "nbf": now - 5,
                "exp": now + 3600,
                "access": [
                    {"type": "repository", "name": r, "actions": ["pull", "push"]} for r in repos
                ],
            }
        )
    )


def skopeo(src: str, dst: str, tok: str, *, src_token: bool = True) -> None:
    cmd = ["skopeo", "copy", "-q", "--dest-tls-verify=false", "--dest-registry-token", tok]
    if src_token:
        cmd += ["--src-tls-verify=false", "--src-registry-token", tok]
    done = subprocess.run(
        [*cmd, src, dst], check=False, capture_output=True, timeout=600, text=True
    )
    if done.returncode:
        raise SystemExit(f"skopeo copy {src} {dst} failed: {done.stderr[-2000:]}")


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def watch_rss(stop: threading.Event, base: float, peak: list[float]) -> None:
    while not stop.wait(0.05):
        peak[0] = max(peak[0], rss_mb() - base)


def cpu_of(pid: int) -> float:
    """CPU seconds (user + system) a process has used."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Cpu:
    """CPU seconds spent since it was made: by this process (the server and its engine) plus
    waited-for children (skopeo), by the home region's process and by the other regions'."""

    def __init__(self, plane: Any) -> None:
        self.plane = plane
        self.t0 = self.now()

    def region(self, home: bool) -> float:
        regions = self.plane.supervisor.regions.values()
        procs = [r.process for r in regions if (r.name == HOME) == home]
        return sum(cpu_of(p.pid) for p in procs if p is not None)

    def now(self) -> tuple[float, float, float]:
        me = os.times()
        ours = me.user + me.system + me.children_user + me.children_system
        return ours, self.region(True), self.region(False)

    def spent(self) -> tuple[float, float, float]:
        t1 = self.now()
        return t1[0] - self.t0[0], t1[1] - self.t0[1], t1[2] - self.t0[2]


class LagRecorder(Observer):
    """The server's metrics observer, plus a list of every lag observation."""

    def __init__(self, inner: Observer) -> None:
        self.inner = inner
        self.store_timer = inner.store_timer
        self.lags: list[tuple[str, str, float]] = []

    def delivery_attempt(self, attempt: dict[str, Any], state: str | None) -> None:
        self.inner.delivery_attempt(attempt, state)

    def replication_lag(self, source: str, target: str, seconds: float) -> None:
        self.lags.append((source, target, seconds))
        self.inner.replication_lag(source, target, seconds)

    def replication_counts(self, target: str, delta: dict[str, int]) -> None:
        self.inner.replication_counts(target, delta)


class Bed:
    def __init__(self, server: Any, tmp: str) -> None:
        self.server, self.tmp, self.plane = server, tmp, server.dataplane
        self.arm = httpx.Client(
            base_url=server.url, headers={"Authorization": f"Bearer {ADMIN}"}, timeout=60
        )
        sub = server.subscription
        self.arm.put(
            f"/subscriptions/{sub}/resourcegroups/bench?api-version=2021-04-01",
            json={"location": HOME},
        ).raise_for_status()
        self.base = (
            f"/subscriptions/{sub}/resourceGroups/bench/providers/Microsoft.ContainerRegistry"
        )
        self.http = httpx.Client(timeout=30)  # polls: one client, its connections kept
        self.registry("benchgeo1", [WEST])
        self.n = 0
        self.cpu: dict[str, list[tuple[float, float, float]]] = {}

    def close(self) -> None:
        self.http.close()
        self.arm.close()

    def registry(self, name: str, replicas: list[str] | tuple[str, ...]) -> None:
        self.arm.put(
            f"{self.base}/registries/{name}?{API}",
            json={"location": HOME, "sku": {"name": "Premium"}},
        ).raise_for_status()
        for region in replicas:
            self.arm.put(
                f"{self.base}/registries/{name}/replications/{region}?{API}",
                json={"location": region},
            ).raise_for_status()
        deadline = time.monotonic() + 30
        sup = self.plane.supervisor
        while any(sup.region(r) is None for r in replicas) and time.monotonic() < deadline:
            time.sleep(0.1)
        for region in (HOME, *replicas):
            sup.ensure(region)

    def url(self, region: str) -> str:
        return str(self.plane.supervisor.ensure(region).url)

    def port(self, region: str) -> int:
        return int(self.plane.supervisor.ensure(region).port)

    def image(self, mb: int, layers: int) -> oci_image.Image:
        self.n += 1
        per = max(1, mb * (1 << 20) // layers) if mb else 2048
        return oci_image.build(
            os.path.join(self.tmp, f"i{self.n}"), layers=layers, layer_bytes=per, seed=9000 + self.n
        )

    def push(self, img: oci_image.Image, repo: str, sub: str = "bench") -> None:
        tok = token(self.plane, [repo], sub)
        skopeo(img.ref, f"docker://127.0.0.1:{self.port(HOME)}/{repo}:v1", tok, src_token=False)

    def present(self, region: str, repo: str, tok: str) -> bool:
        r = self.http.head(
            f"{self.url(region)}/v2/{repo}/manifests/v1",
            headers={"Authorization": f"Bearer {tok}", "Accept": ACCEPT},
        )
        return r.status_code == 200

    def replicated(
        self, img: oci_image.Image, repo: str, regions: tuple[str, ...], label: str = ""
    ) -> float:
        """Push `img` (a user's push: the engine replicates it); seconds from the push's
        acknowledgement until every region in `regions` has accepted its manifest (the
        engine's count of manifests put, read every 5 ms at no cost; then each region is
        checked to serve it, and HEAD-polled should one not yet)."""
        stats = self.plane.engine.stats
        before = {r: stats.get(r).manifests_put for r in regions}
        self.push(img, repo)
        t0, cpu = time.perf_counter(), Cpu(self.plane)
        while any(stats.get(r).manifests_put <= before[r] for r in regions):
            if time.perf_counter() - t0 > WAIT:
                raise SystemExit(f"the engine did not replicate {repo} within {WAIT} s")
            time.sleep(0.005)
        tok = token(self.plane, [repo])
        waiting = set(regions)
        while waiting:
            waiting = {r for r in waiting if not self.present(r, repo, tok)}
            if time.perf_counter() - t0 > WAIT:
                raise SystemExit(f"the engine did not replicate {repo} within {WAIT} s")
            if waiting:
                time.sleep(0.02)
        took = time.perf_counter() - t0
        self.cpu.setdefault(f"engine to {len(regions)}{label}", []).append(cpu.spent())
        return took

    def skopeo_between(self, img: oci_image.Image, repo: str) -> float:
        """Seconds of one `skopeo copy` eastus -> westus of `img` (the engine left out)."""
        tok = token(self.plane, [repo], ENGINE_SUB)
        self.push(img, repo, ENGINE_SUB)
        t, cpu = time.perf_counter(), Cpu(self.plane)
        skopeo(
            f"docker://127.0.0.1:{self.port(HOME)}/{repo}:v1",
            f"docker://127.0.0.1:{self.port(WEST)}/{repo}:v1",
            tok,
        )
        took = time.perf_counter() - t
        self.cpu.setdefault("skopeo to 1", []).append(cpu.spent())
        return took

    # -- sections ----------------------------------------------------------------------------
    def one(self, res: Results) -> None:
        engine_s, skopeo_s, peak = [], [], [0.0]
        for i in range(res.runs):
            img = self.image(res.mb, res.layers)
            stop = threading.Event()
            watcher = threading.Thread(target=watch_rss, args=(stop, rss_mb(), peak))
            watcher.start()
            try:
                engine_s.append(self.replicated(img, f"benchgeo1/img{i}", (WEST,)))
            finally:
                stop.set()
                watcher.join()
            shutil.rmtree(img.path, ignore_errors=True)
            img = self.image(res.mb, res.layers)
            skopeo_s.append(self.skopeo_between(img, f"benchgeo1/skopeo{i}"))
            shutil.rmtree(img.path, ignore_errors=True)
        res.one, res.rss_mb = (engine_s, skopeo_s), peak[0]

    def three(self, res: Results) -> None:
        self.registry("benchgeo3", THREE)
        engine_s, skopeo_s, peak = [], [], [0.0]
        for i in range(res.runs):
            img = self.image(res.mb, res.layers)
            stop = threading.Event()
            watcher = threading.Thread(target=watch_rss, args=(stop, rss_mb(), peak))
            watcher.start()
            try:
                engine_s.append(self.replicated(img, f"benchgeo3/img{i}", THREE))
            finally:
                stop.set()
                watcher.join()
            shutil.rmtree(img.path, ignore_errors=True)
            img = self.image(res.mb, res.layers)
            skopeo_s.append(self.skopeo_between(img, f"benchgeo1/single{i}"))
            shutil.rmtree(img.path, ignore_errors=True)
            res.three_up.append(self.uploaded(res, f"benchgeo3/up{i}"))
        res.three, res.rss3_mb = (engine_s, skopeo_s), peak[0]

    def uploaded(self, res: Results, repo: str) -> float:
        """One fresh image to the three regions with replication_storage_copy off."""
        settings = self.server.app.backend.settings
        img = self.image(res.mb, res.layers)
        settings.replication_storage_copy = False
        try:
            return self.replicated(img, repo, THREE, ", uploaded")
        finally:
            settings.replication_storage_copy = True
            shutil.rmtree(img.path, ignore_errors=True)

    def seed(self, prefix: str, n: int) -> list[tuple[str, oci_image.Image]]:
        """`n` small images in the home region, pushed with the engine's subject (no task)."""
        imgs = [(f"benchgeo1/{prefix}{i}", self.image(0, 2)) for i in range(n)]
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(lambda ri: self.push(ri[1], ri[0], ENGINE_SUB), imgs))
        return imgs

    def batch(self, res: Results) -> None:
        engine = self.plane.engine
        mine, theirs = self.seed("small", res.small), self.seed("seq", res.small)
        stamp = dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z")
        events = [
            {
                "action": "push",
                "timestamp": stamp,
                "actor": {"name": "bench"},
                "target": {
                    "repository": repo,
                    "mediaType": oci_image.MANIFEST,
                    "tag": "v1",
                    "digest": img.manifest,
                },
            }
            for repo, img in mine
        ]
        done = engine.stats.get(WEST).manifests_put
        t0 = time.perf_counter()
        engine.on_events(HOME, events)
        while engine.stats.get(WEST).manifests_put - done < len(mine):
            if time.perf_counter() - t0 > WAIT:
                raise SystemExit("the engine did not copy the small images in time")
            time.sleep(0.01)
        engine_s = time.perf_counter() - t0
        tok = token(self.plane, [r for r, _ in mine])
        missing = [r for r, _ in mine if not self.present(WEST, r, tok)]
        if missing:
            raise SystemExit(f"not in {WEST}: {missing[:5]}")
        t = time.perf_counter()
        for repo, _ in theirs:
            skopeo(
                f"docker://127.0.0.1:{self.port(HOME)}/{repo}:v1",
                f"docker://127.0.0.1:{self.port(WEST)}/{repo}:v1",
                token(self.plane, [repo], ENGINE_SUB),
            )
        res.batch = (engine_s, time.perf_counter() - t)

    def lag(self, res: Results) -> None:
        b = self.server.app.backend
        recorder = LagRecorder(b.observer)
        b.observe(recorder)
        try:
            for i in range(res.small):
                self.push(self.image(0, 2), f"benchgeo1/lag{i}")
            t0 = time.perf_counter()
            while len([x for x in recorder.lags if x[1] == WEST]) < res.small:
                if time.perf_counter() - t0 > WAIT:
                    raise SystemExit("lag: the engine did not copy every image in time")
                time.sleep(0.05)
        finally:
            b.observe(recorder.inner)
        res.lags = [s for _, target, s in recorder.lags if target == WEST]


# -- reports --------------------------------------------------------------------------------
def details(res: Results) -> str:
    """Every run's seconds (engine / baseline)."""
    out = []
    for name, pair in (("one region", res.one), ("three regions", res.three)):
        if pair is not None:
            runs = ", ".join(f"{e:.2f}/{s:.2f}" for e, s in zip(*pair, strict=True))
            out.append(f"- seconds per run (engine/skopeo), {name}: {runs}")
    if res.three_up:
        runs = ", ".join(f"{u:.2f}" for u in res.three_up)
        out.append(f"- seconds per run, three regions uploaded through the registries: {runs}")
    for name, spent in res.cpu.items():
        if len(spent) > 1:  # the first of each is a warm-up
            spent = spent[1:]
        ours = statistics.median(x[0] for x in spent)
        home = statistics.median(x[1] for x in spent)
        others = statistics.median(x[2] for x in spent)
        out.append(
            f"- CPU seconds, {name} (median): the server's process (engine) or skopeo "
            f"{ours:.2f}, the source registry {home:.2f}, the target registries {others:.2f}"
        )
    if res.lags:
        out.append(f"- lag: min {min(res.lags):.3f} s, max {max(res.lags):.3f} s")
    return "\n".join(out)


def render(res: Results) -> str:
    rows = []
    if res.one is not None:
        e, s = statistics.median(res.one[0]), statistics.median(res.one[1])
        rows.append(
            [
                f"{res.mb} MB / {res.layers} layers to 1 region (median of {res.runs})",
                f"{e:.2f}",
                f"`skopeo copy` to 1 region: {s:.2f}",
                f"{e / s:.2f}x",
                f"<= {GOALS['one']}x",
                bl.met(e / s, GOALS["one"]),
            ]
        )
    if res.three is not None:
        e, s = statistics.median(res.three[0]), statistics.median(res.three[1])
        rows.append(
            [
                f"{res.mb} MB / {res.layers} layers to 3 regions (median of {res.runs})",
                f"{e:.2f}",
                f"`skopeo copy` to 1 region: {s:.2f}",
                f"{e / s:.2f}x",
                f"<= {GOALS['three']}x",
                bl.met(e / s, GOALS["three"]),
            ]
        )
    if res.three is not None and res.three_up:
        u = statistics.median(res.three_up)
        rows.append(
            [
                "the same, uploaded through the 3 registries (`replication_storage_copy` off)",
                f"{u:.2f}",
                f"`skopeo copy` to 1 region: {s:.2f}",
                f"{u / s:.2f}x",
                "-",
                "-",
            ]
        )
    if res.batch is not None:
        e, s = res.batch
        rows.append(
            [
                f"{res.small} small images to 1 region",
                f"{e:.2f}",
                f"{res.small} sequential `skopeo copy`: {s:.2f}",
                f"{e / s:.2f}x",
                f"<= {GOALS['small']}x",
                bl.met(e / s, GOALS["small"]),
            ]
        )
    if res.lags:
        for q, goal in ((50, GOALS["lag_p50"]), (99, GOALS["lag_p99"])):
            v = bl.percentile(res.lags, q)
            rows.append(
                [
                    f"lag p{q}, {len(res.lags)} small images pushed one by one",
                    f"{v:.3f}",
                    "",
                    "",
                    f"<= {goal} s",
                    bl.met(v, goal),
                ]
            )
    text = bl.table(["replication", "engine (s)", "baseline (s)", "ratio", "goal", "met"], rows)
    load = " -> ".join(f"{x:.2f}" for x in res.load)
    text += f"\nLoad average (1 min) at the start and the end: {load}."
    if res.one is not None:
        text += f" Server RSS growth while the engine copied: {res.rss_mb:.0f} MB."
    if res.three is not None:
        text += f" The same while it copied to three regions: {res.rss3_mb:.0f} MB."
    more = details(res)
    return f"{text}\n\n{more}" if more else text


if __name__ == "__main__":
    main()
