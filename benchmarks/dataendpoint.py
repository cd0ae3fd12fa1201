"""Data endpoints' cost (issue 17): skopeo pulls of one image, in one run, four ways:

* direct: straight to the serving region's distribution, with a token the plane signed;
* proxied: through the front (login server), blobs streamed by the front;
* data-ep: through the front with dataEndpointEnabled and the default policy
  (`dataplane_data_redirect = auto`: a 307 when the serving region is the client's, or when
  the client keeps its connection; here the client is mapped to eastus and the image is in
  westus, so skopeo's blobs are proxied and `--client httpx`'s redirected);
* redirected: the same registry with `dataplane_data_redirect = always` (ACR's behaviour):
  every blob by a 307 to the pre-signed URL on the serving region's data endpoint
  (`<name>.<region>.data.<login domain>`).

    .venv/bin/python benchmarks/dataendpoint.py [--runs 3] [--mb 100] [--layers 10]
        [--one-way-ms 40] [--far region|all] [--dest dir|oci] [--strace]
        [--client skopeo|httpx]

Links of --one-way-ms N (default 40) are delay proxies on loopback (tests/geobed_proxy.py: N
ms each way per chunk, a round trip per new connection):

* `--far region` (default, the issue's case): the client and its login server are in one
  region (eastus, no delay between them) and the image is only in another (westus), N ms
  away: direct pulls cross the link to westus's registry, the front's proxying crosses it to
  the registry (the geo router's link hook), and the data endpoint of westus (its host on
  127.0.0.2, the same port) is reached across it;
* `--far all`: the client is N ms from everything (login server, data endpoint, registry).

0 ms: plain loopback. Names resolve through a private hosts file (`unshare -m`, root).
`--dest oci` pulls into an OCI layout (skopeo fetches 6 blobs at once) instead of `dir:` (one
at a time). `--client httpx` pulls with benchmarks/keepalive_pull.py instead of skopeo: one
kept connection per host, blobs one at a time (what docker or containerd see; skopeo opens
a connection per request). `--strace` runs the client under `strace -f -e
trace=connect,close` and prints, per way, the TCP connections it opened and the most it had
open at once (timings then include strace's cost: compare them only with each other).
Interleaved per run, each way first in turn; medians and ratios; prints the 1-minute load
average. Goal (issue 17): a pull with data endpoints <= 1.1x of direct and of proxied."""

from __future__ import annotations

import argparse
import os
import re
import shlex
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
KEEPALIVE = os.path.join(HERE, "keepalive_pull.py")
WAYS = ("direct", "proxied", "data-ep", "redirected")
POLICY = {"data-ep": "auto", "redirected": "always"}  # dataplane_data_redirect
SERVING = "westus"  # the region holding the image (the registry's home, no replica)


def delay_proxy(ip: str, listen: int, upstream: int, ms: float) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, PROXY, ip, str(listen), "127.0.0.1", str(upstream), str(ms)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    return proc


def pull(
    hosts: str, creds: list[str], ref: str, dest: str, trace: str | None, client: str
) -> float:
    tracing = f"strace -f -qq -yy -e trace=connect,close -o {shlex.quote(trace)} " if trace else ""
    script = f'mount --bind "$0" /etc/hosts && exec {tracing}"$@"'
    argv = ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, hosts]
    if client == "httpx":  # --src-creds U:S / --src-registry-token T -> --basic / --token
        flag = "--basic" if creds[0] == "--src-creds" else "--token"
        argv += [sys.executable, KEEPALIVE, ref, flag, creds[1]]
    else:
        argv += ["skopeo", "copy", "-q", "--src-tls-verify=false", *creds, ref, dest]
    t = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True, timeout=600)
    return time.perf_counter() - t


def connections(trace: str) -> tuple[int, int]:
    """(TCP connections opened, most open at once) in an strace log of connect and close
    (the threads of one process share its descriptors)."""
    opened, peak, live = 0, 0, set()
    with open(trace) as fh:
        for line in fh:
            m = re.search(r"\b(connect|close)\((\d+)<TCP:", line)
            if m is None:
                continue
            if m[1] == "connect" and "AF_INET" in line:
                opened += 1
                live.add(m[2])
                peak = max(peak, len(live))
            elif m[1] == "close":
                live.discard(m[2])
    return opened, peak


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--mb", type=int, default=100)
    ap.add_argument("--layers", type=int, default=10)
    ap.add_argument("--one-way-ms", type=float, default=40.0)
    ap.add_argument("--far", choices=("region", "all"), default="region")
    ap.add_argument("--dest", choices=("dir", "oci"), default="dir")
    ap.add_argument("--strace", action="store_true")
    ap.add_argument("--client", choices=("skopeo", "httpx"), default="skopeo")
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="acrctl-bench-dataep-")
    settings = Settings()
    settings.dataplane_storage = os.path.join(tmp, "storage")
    settings.dataplane_client_regions = "127.0.0.0/8=eastus"
    ms = a.one_way_ms
    edge = free_port() if a.far == "all" and ms > 0 else 0  # the client's way to the front
    domain = f"acrctl.test:{edge}" if edge else "acrctl.test"
    cfg = ServerConfig(data_port=1, settings=settings, admin_token=ADMIN, login_domain=domain)
    server = ThreadedServer(cfg)
    server.start()
    procs: list[subprocess.Popen[str]] = []
    try:
        plane = server.dataplane
        user = setup(server)
        region = plane.supervisor.ensure(SERVING)
        plane.supervisor.wait_ready(region)
        direct = region.port
        login, data_ip = plane.port, "127.0.0.1"
        if ms > 0:
            direct = free_port()
            procs.append(delay_proxy("127.0.0.1", direct, region.port, ms))
        if ms > 0 and a.far == "all":
            procs.append(delay_proxy("127.0.0.1", edge, plane.port, ms))
            login = edge
        elif ms > 0:
            plane.geo.links[("eastus", SERVING)] = f"http://127.0.0.1:{direct}"
            procs.append(delay_proxy("127.0.0.2", plane.port, plane.port, ms))
            data_ip = "127.0.0.2"
        run(server, tmp, a, login, direct, data_ip, user)
    finally:
        for p in procs:
            p.terminate()
            p.wait(timeout=10)
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def setup(server: ThreadedServer) -> str:
    """Two registries in the serving region, one with data endpoints; a pusher's creds."""
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
                "location": SERVING,
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
    return f"{doc['id']}:{secret}"


def run(
    server: ThreadedServer,
    tmp: str,
    a: argparse.Namespace,
    edge: int,
    direct: int,
    data_ip: str,
    user: str,
) -> None:
    plane = server.dataplane
    hosts = os.path.join(tmp, "hosts")
    with open("/etc/hosts") as fh, open(hosts, "w") as hf:
        hf.write("127.0.0.1 benchpx.acrctl.test benchdp.acrctl.test\n")
        hf.write(f"{data_ip} benchdp.{SERVING}.data.acrctl.test\n{fh.read()}")
    creds = ["--src-creds", user]
    rows: dict[str, list[float]] = {w: [] for w in WAYS}
    cpu: dict[str, list[float]] = {w: [] for w in WAYS}  # this process: front + server
    conns: dict[str, list[tuple[int, int]]] = {w: [] for w in WAYS}
    per = a.mb * (1 << 20) // a.layers
    load = [os.getloadavg()[0]]
    for i in range(a.runs):
        img = oci_image.build(os.path.join(tmp, f"img-{i}"), layers=a.layers, layer_bytes=per)
        push(plane.port, user, img.ref, f"img-{i}")
        token = direct_token(plane, f"benchpx/img-{i}")
        refs = {
            "direct": (
                ["--src-registry-token", token],
                f"docker://127.0.0.1:{direct}/benchpx/img-{i}:v1",
            ),
            "proxied": (creds, f"docker://benchpx.acrctl.test:{edge}/img-{i}:v1"),
            "data-ep": (creds, f"docker://benchdp.acrctl.test:{edge}/img-{i}:v1"),
            "redirected": (creds, f"docker://benchdp.acrctl.test:{edge}/img-{i}:v1"),
        }
        for way in WAYS[i % len(WAYS) :] + WAYS[: i % len(WAYS)]:  # each first in turn
            plane.settings.dataplane_data_redirect = POLICY.get(way, "auto")
            out = os.path.join(tmp, f"pull-{way}-{i}")
            dest = f"dir:{out}" if a.dest == "dir" else f"oci:{out}:v1"
            trace = f"{out}.strace" if a.strace else None
            before = time.process_time()
            rows[way].append(pull(hosts, refs[way][0], refs[way][1], dest, trace, a.client))
            cpu[way].append(time.process_time() - before)
            if trace:
                conns[way].append(connections(trace))
            shutil.rmtree(out, ignore_errors=True)
        shutil.rmtree(img.path, ignore_errors=True)
        load.append(os.getloadavg()[0])
    report(rows, cpu, conns, load, a)


def push(port: int, user: str, ref: str, name: str) -> None:
    for reg in ("benchpx", "benchdp"):
        subprocess.run(
            ["skopeo", "copy", "-q", "--dest-tls-verify=false", "--dest-creds", user, ref]
            + [f"docker://127.0.0.1:{port}/{reg}/{name}:v1"],
            check=True,
            capture_output=True,
            timeout=600,
        )


def report(
    rows: dict[str, list[float]],
    cpu: dict[str, list[float]],
    conns: dict[str, list[tuple[int, int]]],
    load: list[float],
    a: argparse.Namespace,
) -> None:
    med = {w: statistics.median(rows[w]) for w in WAYS}
    far = "the serving region" if a.far == "region" else "everything"
    link = f"{far} {a.one_way_ms:g} ms one way" if a.one_way_ms > 0 else "plain loopback"
    print(
        f"{a.client} pull of {a.mb} MB in {a.layers} layers into {a.dest}:, {link}; "
        f"runs: {a.runs}; "
        f"load average (1 min) {min(load):.2f}-{max(load):.2f}"
        + ("; under strace" if a.strace else "")
    )
    for w in WAYS:
        seen = "".join(f", {c} connections (at most {p} open)" for c, p in conns[w][-1:])
        print(
            f"  {w:<10} median {med[w]:.2f} s  [{', '.join(f'{x:.2f}' for x in rows[w])}]  "
            f"front CPU {statistics.median(cpu[w]):.2f} s{seen}"
        )
    for w in ("data-ep", "redirected"):
        print(
            f"{w} = {med[w] / med['direct']:.2f}x of direct, {med[w] / med['proxied']:.2f}x of "
            "proxied (goal <= 1.1x)"
        )
    print(f"proxied = {med['proxied'] / med['direct']:.2f}x of direct")


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
