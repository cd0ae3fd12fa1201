"""The replication engine's speed: a 100 MB, 10-layer image replicated from the home region
(eastus) to one replica region (westus) by the engine, against `skopeo copy` of a fresh
image of the same size between the same two distribution processes.

    .venv/bin/python benchmarks/replication.py [--runs 3] [--mb 100] [--layers 10]

Each run pushes a fresh image (new random layers: nothing is skipped or mounted) straight
into the home region with a token the plane signed, and times push acknowledged -> manifest
readable in westus (the engine's whole path: notification, task in the store, claim, HEADs,
streamed blob copies, manifest). Then it times `skopeo copy docker://eastus/...
docker://westus/...` of another fresh image of the same registry, pushed and copied with a
token whose subject is the engine's (so the loop guard keeps the engine out of it).
Interleaved; medians. Goal (issue 16): engine <= 1.1x of skopeo's wall time. Also the
server's RSS growth while the engine copies. Prints the 1-minute load average: on a shared
2-core box the figures move with it."""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))

import httpx  # noqa: E402
import oci_image  # noqa: E402

from acrctl.backend.core import Settings  # noqa: E402
from acrctl.dataplane.copier import ACCEPT, ENGINE_SUB  # noqa: E402
from acrctl.server.serve import ServerConfig, ThreadedServer  # noqa: E402

ADMIN = "acr_bench_replication_admin"
API = "api-version=2025-11-01"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--mb", type=int, default=100)
    ap.add_argument("--layers", type=int, default=10)
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="acrctl-bench-repl-")
    settings = Settings()
    settings.dataplane_storage = os.path.join(tmp, "storage")
    settings.dataplane_reconcile_seconds = 0.2
    settings.replication_reconcile_seconds = 3600.0
    server = ThreadedServer(ServerConfig(data_port=1, settings=settings, admin_token=ADMIN))
    server.start()
    try:
        run(server, tmp, a.runs, a.mb, a.layers)
    finally:
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def setup(server: ThreadedServer) -> None:
    arm = httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {ADMIN}"}, timeout=60
    )
    sub = server.subscription
    arm.put(
        f"/subscriptions/{sub}/resourcegroups/bench?api-version=2021-04-01",
        json={"location": "eastus"},
    ).raise_for_status()
    base = f"/subscriptions/{sub}/resourceGroups/bench/providers/Microsoft.ContainerRegistry"
    arm.put(
        f"{base}/registries/benchgeo1?{API}",
        json={"location": "eastus", "sku": {"name": "Premium"}},
    ).raise_for_status()
    arm.put(
        f"{base}/registries/benchgeo1/replications/westus?{API}", json={"location": "westus"}
    ).raise_for_status()


def token(plane: Any, repos: list[str], sub: str = "bench") -> str:
    now = int(time.time())
    return plane.keys.sign(
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


def present(url: str, repo: str, tok: str) -> bool:
    r = httpx.head(
        f"{url}/v2/{repo}/manifests/v1",
        headers={"Authorization": f"Bearer {tok}", "Accept": ACCEPT},
    )
    return r.status_code == 200


def rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def run(server: ThreadedServer, tmp: str, runs: int, mb: int, layers: int) -> None:
    setup(server)
    plane = server.dataplane
    east = plane.supervisor.ensure("eastus")
    deadline = time.monotonic() + 30
    while plane.supervisor.region("westus") is None and time.monotonic() < deadline:
        time.sleep(0.1)
    west = plane.supervisor.ensure("westus")
    per = mb * (1 << 20) // layers
    engine_s: list[float] = []
    skopeo_s: list[float] = []
    peak = [0.0]
    for i in range(runs):
        img = oci_image.build(
            os.path.join(tmp, f"e{i}"), layers=layers, layer_bytes=per, seed=5000 + i
        )
        repo = f"benchgeo1/img{i}"
        tok = token(plane, [repo])
        push(img, east.port, repo, tok)
        t0, base = time.perf_counter(), rss_mb()
        stop = threading.Event()
        watcher = threading.Thread(target=watch_rss, args=(stop, base, peak), daemon=True)
        watcher.start()
        while not present(west.url, repo, tok):
            if time.perf_counter() - t0 > 600:
                raise SystemExit("the engine did not replicate within 600 s")
            time.sleep(0.02)
        engine_s.append(time.perf_counter() - t0)
        stop.set()
        watcher.join()
        shutil.rmtree(img.path, ignore_errors=True)
        img = oci_image.build(
            os.path.join(tmp, f"s{i}"), layers=layers, layer_bytes=per, seed=7000 + i
        )
        repo = f"benchgeo1/skopeo{i}"
        tok = token(plane, [repo], ENGINE_SUB)  # the loop guard: the engine leaves it alone
        push(img, east.port, repo, tok)
        t = time.perf_counter()
        done = subprocess.run(
            [
                "skopeo",
                "copy",
                "-q",
                "--src-tls-verify=false",
                "--dest-tls-verify=false",
                "--src-registry-token",
                tok,
                "--dest-registry-token",
                tok,
                f"docker://127.0.0.1:{east.port}/{repo}:v1",
                f"docker://127.0.0.1:{west.port}/{repo}:v1",
            ],
            check=False,
            capture_output=True,
            timeout=600,
            text=True,
        )
        if done.returncode:
            raise SystemExit(f"skopeo copy failed: {done.stderr[-2000:]}")
        skopeo_s.append(time.perf_counter() - t)
        shutil.rmtree(img.path, ignore_errors=True)
    e, s = statistics.median(engine_s), statistics.median(skopeo_s)
    print(
        f"image: {mb} MB in {layers} layers; runs: {runs}; "
        f"load average (1 min): {os.getloadavg()[0]:.2f}"
    )
    print(
        f"engine (push acknowledged -> readable in westus): {e:.2f} s ({mb / e:.0f} MB/s) "
        f"[{', '.join(f'{x:.2f}' for x in engine_s)}]"
    )
    print(
        f"skopeo copy eastus -> westus: {s:.2f} s ({mb / s:.0f} MB/s) "
        f"[{', '.join(f'{x:.2f}' for x in skopeo_s)}]"
    )
    print(
        f"engine / skopeo = {e / s:.2f}x (goal <= 1.1x); server RSS growth while "
        f"copying: {peak[0]:.0f} MB"
    )


def push(img: oci_image.Image, port: int, repo: str, tok: str) -> None:
    subprocess.run(
        [
            "skopeo",
            "copy",
            "-q",
            "--dest-tls-verify=false",
            "--dest-registry-token",
            tok,
            img.ref,
            f"docker://127.0.0.1:{port}/{repo}:v1",
        ],
        check=True,
        capture_output=True,
        timeout=600,
    )


def watch_rss(stop: threading.Event, base: float, peak: list[float]) -> None:
    while not stop.wait(0.05):
        peak[0] = max(peak[0], rss_mb() - base)


if __name__ == "__main__":
    main()
