"""Geo routing on the geo test bed (tests/geobed.py; root): two regions, eastus (home) and
westeurope, 40 ms one way between them (a delay proxy per direction), clients inside each
region's network namespace.

    sudo .venv/bin/python benchmarks/geo.py [--runs 5] [--mb 10] [--partition 3]

Figures (medians, interleaved runs):
1. pull of an image (skopeo into a fresh `dir:`) by a westeurope client from its nearest
   region (the global login server routes it there) vs from the far one (the eastus regional
   endpoint, so every request crosses the 40 ms link): the ratio far / near;
2. replication after a partition: eastus | westeurope cut by nftables, a push in eastus, the
   partition held `--partition` seconds, healed; the time from the heal until westeurope
   holds the image, next to the lag of the same push without a partition (its ratio too);
3. a pull redirected to data endpoints vs served directly: n/a until data endpoints exist.
Prints the 1-minute load average: on a shared 2-core box the figures move with it."""

from __future__ import annotations

import argparse
import functools
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))

import geobed  # noqa: E402
import httpx  # noqa: E402
import oci_image  # noqa: E402

from acrctl.backend.core import Settings  # noqa: E402
from acrctl.dataplane.copier import ACCEPT  # noqa: E402

HOME, FAR = "eastus", "westeurope"
REG = "georeg1"


def pull_time(bed: geobed.GeoBed, site: str, ref: str, out: Path) -> float:
    t = time.perf_counter()
    done = bed.skopeo_pull(site, ref, f"dir:{out}")
    if done.returncode != 0:
        raise RuntimeError(done.stderr)
    return time.perf_counter() - t


def has(bed: geobed.GeoBed, region: str, repo: str, digest: str) -> bool:
    token = bed.plane.engine.sign(
        [{"type": "repository", "name": f"{REG}/{repo}", "actions": ["pull"]}]
    )
    url = f"http://{bed.site(region).inner}:{geobed.REGISTRY_PORT}/v2/{REG}/{repo}/manifests/v1"
    try:
        r = httpx.head(
            url, headers={"Authorization": f"Bearer {token}", "Accept": ACCEPT}, timeout=2
        )
    except httpx.HTTPError:
        return False
    return r.headers.get("docker-content-digest") == digest


def wait_until(check: Callable[[], bool], limit: float = 120.0) -> float:
    """Seconds until check() (polled every 10 ms)."""
    t = time.perf_counter()
    while not check():
        if time.perf_counter() - t > limit:
            raise RuntimeError("did not converge")
        time.sleep(0.01)
    return time.perf_counter() - t


def push(bed: geobed.GeoBed, tmp: Path, repo: str, mb: int, seed: int) -> oci_image.Image:
    img = oci_image.build(
        str(tmp / f"img-{repo}"),
        layers=3,
        layer_bytes=max(1, mb) * (1 << 20) // 3,
        seed=seed,
        compress=True,  # skopeo would gzip plain layers on push (new digests)
    )
    done = bed.skopeo_push(HOME, img.ref, f"{REG}.{bed.front}/{repo}:v1")
    if done.returncode != 0:
        raise RuntimeError(done.stderr)
    return img


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--mb", type=int, default=10)
    ap.add_argument("--partition", type=float, default=3.0)
    a = ap.parse_args()
    reason = geobed.skip_reason()
    if reason:
        sys.exit(f"benchmarks/geo.py: {reason}")
    tmp = Path(tempfile.mkdtemp(prefix="acrctl-bench-geo-"))
    bed = geobed.GeoBed(tmp, [HOME, FAR], one_way_ms=40.0, settings=Settings()).start()
    try:
        bed.create_registry(REG, HOME, [FAR])
        bed.hosts(REG)
        run(bed, tmp, a.runs, a.mb, a.partition)
    finally:
        bed.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def run(bed: geobed.GeoBed, tmp: Path, runs: int, mb: int, hold: float) -> None:
    img = push(bed, tmp, "pull", mb, 1)
    wait_until(lambda: has(bed, FAR, "pull", img.manifest))
    near_ref = f"{REG}.{bed.front}/pull:v1"
    far_ref = f"{REG}.{HOME}.geo.{bed.front}/pull:v1"
    near: list[float] = []
    far: list[float] = []
    for i in range(runs):
        near.append(pull_time(bed, FAR, near_ref, tmp / f"near{i}"))
        far.append(pull_time(bed, FAR, far_ref, tmp / f"far{i}"))
    lag: list[float] = []
    heal: list[float] = []
    for i in range(runs):
        img = push(bed, tmp, f"lag{i}", 1, 100 + i)
        lag.append(wait_until(functools.partial(has, bed, FAR, f"lag{i}", img.manifest)))
        bed.partition(HOME, FAR)
        try:
            img = push(bed, tmp, f"cut{i}", 1, 200 + i)
            time.sleep(hold)
        finally:
            bed.heal(HOME, FAR)
        heal.append(wait_until(functools.partial(has, bed, FAR, f"cut{i}", img.manifest)))
    m_near, m_far = statistics.median(near), statistics.median(far)
    m_lag, m_heal = statistics.median(lag), statistics.median(heal)
    load = os.getloadavg()[0]
    print(f"geo bed: {HOME} <-> {FAR} 40 ms one way; {runs} runs; load {load:.2f}")
    print(
        f"1. pull of a {mb} MB, 3-layer image by a {FAR} client: nearest region "
        f"{m_near:.2f} s, far region {m_far:.2f} s: far/near {m_far / m_near:.2f}x"
    )
    print(
        f"2. replication: lag without a partition {m_lag:.2f} s; after a {hold:.0f} s "
        f"partition, converged {m_heal:.2f} s after the heal ({m_heal / m_lag:.1f}x the lag; "
        "default retry settings: backoff 1 s doubling)"
    )
    print("3. pull redirected to data endpoints vs served directly: n/a until data endpoints")


if __name__ == "__main__":
    main()
