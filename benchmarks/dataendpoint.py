"""Data endpoints' cost (issue 17): skopeo pulls of one image, in one run, three ways:

* direct: straight to the region's distribution, with a token the plane signed;
* proxied: through the front (login server), blobs streamed by the front;
* redirected: through the front with dataEndpointEnabled, blobs by a 307 to the pre-signed
  URL on the region's data endpoint (`<name>.<region>.data.<login domain>`).

    .venv/bin/python benchmarks/dataendpoint.py [--runs 3] [--mb 100] [--layers 10]
        [--one-way-ms 40]

With --one-way-ms N (default 40) the client reaches every endpoint over a delay proxy
(tests/geobed_proxy.py: N ms each way per chunk, a round trip per new connection) on
loopback: the client is one link of N ms away from the serving region, so a redirect's extra
round trips show. 0: plain loopback. Names resolve through a private hosts file (`unshare
-m`, root). Interleaved per run; medians and ratios; prints the 1-minute load average.
Goal (issue 17): redirected <= 1.1x of direct."""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))

import oci_image  # noqa: E402

from acrctl.backend.core import Settings  # noqa: E402
from acrctl.dataplane.supervisor import free_port  # noqa: E402
from acrctl.server.serve import ServerConfig, ThreadedServer  # noqa: E402

ACRPUSH = "8311e382-0749-4cb8-b61a-304f252e45ec"
ADMIN = "acr_bench_dataendpoint_admin"
PROXY = os.path.join(HERE, "..", "tests", "geobed_proxy.py")
WAYS = ("direct", "proxied", "redirected")


def delay_proxy(listen: int, upstream: int, ms: float) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, PROXY, "127.0.0.1", str(listen), "127.0.0.1", str(upstream), str(ms)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    return proc


def pull(hosts: str, creds: list[str], ref: str, out: str) -> float:
    script = 'mount --bind "$0" /etc/hosts && exec skopeo "$@"'
    argv = ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, hosts]
    argv += ["copy", "-q", "--src-tls-verify=false", *creds, ref, f"dir:{out}"]
    t = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True, timeout=600)
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--mb", type=int, default=100)
    ap.add_argument("--layers", type=int, default=10)
    ap.add_argument("--one-way-ms", type=float, default=40.0)
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="acrctl-bench-dataep-")
    settings = Settings()
    settings.dataplane_storage = os.path.join(tmp, "storage")
    delayed = a.one_way_ms > 0
    edge = free_port() if delayed else 0  # the client's way to the front (the delay proxy)
    domain = f"acrctl.test:{edge}" if delayed else "acrctl.test"
    cfg = ServerConfig(data_port=1, settings=settings, admin_token=ADMIN, login_domain=domain)
    server = ThreadedServer(cfg)
    server.start()
    procs: list[subprocess.Popen[str]] = []
    try:
        plane = server.dataplane
        region = plane.supervisor.ensure("eastus")
        plane.supervisor.wait_ready(region)
        direct = region.port
        if delayed:
            procs.append(delay_proxy(edge, plane.port, a.one_way_ms))
            direct = free_port()
            procs.append(delay_proxy(direct, region.port, a.one_way_ms))
        else:
            edge = plane.port
        run(server, tmp, a, edge, direct)
    finally:
        for p in procs:
            p.terminate()
            p.wait(timeout=10)
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def run(server: ThreadedServer, tmp: str, a: argparse.Namespace, edge: int, direct: int) -> None:
    import httpx

    sub = server.subscription
    arm = httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {ADMIN}"})
    arm.put(
        f"/subscriptions/{sub}/resourcegroups/bench?api-version=2021-04-01",
        json={"location": "eastus"},
    ).raise_for_status()
    for name, on in (("benchpx", False), ("benchdp", True)):
        arm.put(
            f"/subscriptions/{sub}/resourceGroups/bench/providers/Microsoft.ContainerRegistry"
            f"/registries/{name}?api-version=2025-11-01",
            json={
                "location": "eastus",
                "sku": {"name": "Premium"},
                "properties": {"dataEndpointEnabled": on},
            },
        ).raise_for_status()
    b = server.app.backend
    doc, secret = b.rbac.create_principal("bench", "Application")
    b.rbac.create_assignment(
        f"/subscriptions/{sub}",
        str(uuid.uuid4()),
        {"properties": {"roleDefinitionId": ACRPUSH, "principalId": doc["id"]}},
    )
    plane = server.dataplane
    hosts = os.path.join(tmp, "hosts")
    with open("/etc/hosts") as fh, open(hosts, "w") as out:
        names = "benchpx.acrctl.test benchdp.acrctl.test benchdp.eastus.data.acrctl.test"
        out.write(f"127.0.0.1 {names}\n{fh.read()}")
    creds = ["--src-creds", f"{doc['id']}:{secret}"]
    rows: dict[str, list[float]] = {w: [] for w in WAYS}
    per = a.mb * (1 << 20) // a.layers
    for i in range(a.runs):
        img = oci_image.build(os.path.join(tmp, f"img-{i}"), layers=a.layers, layer_bytes=per)
        for reg in ("benchpx", "benchdp"):
            subprocess.run(
                ["skopeo", "copy", "-q", "--dest-tls-verify=false"]
                + ["--dest-creds", f"{doc['id']}:{secret}", img.ref]
                + [f"docker://127.0.0.1:{plane.port}/{reg}/img-{i}:v1"],
                check=True,
                capture_output=True,
                timeout=600,
            )
        token = direct_token(plane, f"benchpx/img-{i}")
        refs = {
            "direct": (
                ["--src-registry-token", token],
                f"docker://127.0.0.1:{direct}/benchpx/img-{i}:v1",
            ),
            "proxied": (creds, f"docker://benchpx.acrctl.test:{edge}/img-{i}:v1"),
            "redirected": (creds, f"docker://benchdp.acrctl.test:{edge}/img-{i}:v1"),
        }
        for way in WAYS:
            out = os.path.join(tmp, f"pull-{way}-{i}")
            rows[way].append(pull(hosts, refs[way][0], refs[way][1], out))
            shutil.rmtree(out, ignore_errors=True)
        shutil.rmtree(img.path, ignore_errors=True)
    report(rows, a)


def report(rows: dict[str, list[float]], a: argparse.Namespace) -> None:
    med = {w: statistics.median(rows[w]) for w in WAYS}
    link = f"{a.one_way_ms:g} ms one way" if a.one_way_ms > 0 else "plain loopback"
    print(
        f"pull of {a.mb} MB in {a.layers} layers over {link}; runs: {a.runs}; "
        f"load average (1 min): {os.getloadavg()[0]:.2f}"
    )
    for w in WAYS:
        print(f"  {w:<10} median {med[w]:.2f} s  [{', '.join(f'{x:.2f}' for x in rows[w])}]")
    r = med["redirected"]
    print(
        f"redirected = {r / med['direct']:.2f}x of direct (goal <= 1.1x), "
        f"{r / med['proxied']:.2f}x of proxied; proxied = {med['proxied'] / med['direct']:.2f}x "
        "of direct"
    )


def direct_token(plane: object, repo: str) -> str:
    """A token for the region itself, signed as the plane signs the clients'."""
    now = int(time.time())
    return plane.keys.sign(  # type: ignore[attr-defined,no-any-return]
        {
            "iss": plane.issuer,  # type: ignore[attr-defined]
            "sub": "bench",
            "aud": plane.service,  # type: ignore[attr-defined]
            "iat": now,
            "nbf": now - 5,
            "exp": now + 3600,
            "access": [{"type": "repository", "name": repo, "actions": ["pull"]}],
        }
    )


if __name__ == "__main__":
    main()
