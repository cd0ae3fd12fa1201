"""Replication lag on a TLS server (issues 16, 17): push acknowledged (skopeo exits after its
push through the front over HTTPS, trusting a private CA) -> the manifest readable in the
other region (westus, polled every 20 ms with a token the plane signed). Default settings
(the replication reconcile pass every 30 s), a small fresh image per run; median of --runs.

    .venv/bin/python benchmarks/tls_lag.py [--runs 5]

Run it against an older tree (PYTHONPATH=<that tree>) to compare: before the regions sent
notifications over TLS, the lag was the wait for the next reconcile pass. Prints the
1-minute load average: on a shared 2-core box the figures move with it."""

from __future__ import annotations

import argparse
import os
import shutil
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
import uuid

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))
sys.path.insert(0, os.path.dirname(__file__))

import httpx  # noqa: E402
import oci_image  # noqa: E402
import trustme  # noqa: E402
from replication import API, token  # noqa: E402

from acrctl.backend.core import Settings  # noqa: E402
from acrctl.dataplane.copier import ACCEPT  # noqa: E402
from acrctl.server.serve import ServerConfig, ThreadedServer  # noqa: E402

ADMIN = "acr_bench_tls_lag_admin"
ACR_PUSH = "8311e382-0749-4cb8-b61a-304f252e45ec"
POLL = 0.02
GIVE_UP = 90.0


def present(url: str, repo: str, tok: str) -> bool:
    """The image's v1 tag is readable in the region at `url`."""
    r = httpx.head(
        f"{url}/v2/{repo}/manifests/v1",
        headers={"Authorization": f"Bearer {tok}", "Accept": ACCEPT},
    )
    return r.status_code == 200


def certificates(tmp: str) -> tuple[str, str, str]:
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "*.acrctl.test")
    paths = [os.path.join(tmp, n) for n in ("ca.crt", "chain.pem", "key.pem")]
    ca.cert_pem.write_to_path(paths[0])
    for i, blob in enumerate(cert.cert_chain_pems):
        blob.write_to_path(paths[1], append=i > 0)
    cert.private_key_pem.write_to_path(paths[2])
    return paths[0], paths[1], paths[2]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    runs = ap.parse_args().runs
    tmp = tempfile.mkdtemp(prefix="acrctl-bench-tlslag-")
    certs = os.path.join(tmp, "certs")
    os.makedirs(certs)
    _, chain, key = certificates(certs)
    settings = Settings()
    settings.dataplane_storage = os.path.join(tmp, "storage")
    cfg = ServerConfig(
        data_port=1, settings=settings, admin_token=ADMIN, tls_cert=chain, tls_key=key
    )
    server = ThreadedServer(cfg)
    server.start()
    try:
        lags = measure(server, tmp, certs, runs)
    finally:
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"runs: {runs}; lag push acknowledged -> readable in westus (s): {lags}")
    print(f"median {statistics.median(lags):.2f} s; load average {os.getloadavg()[0]:.2f}")


def measure(server: ThreadedServer, tmp: str, certs: str, runs: int) -> list[float]:
    verify = os.path.join(certs, "ca.crt")
    setup_tls(server, verify)
    plane = server.dataplane
    plane.supervisor.ensure("eastus")
    deadline = time.monotonic() + 30
    while plane.supervisor.region("westus") is None and time.monotonic() < deadline:
        time.sleep(0.1)
    west = plane.supervisor.ensure("westus")
    b = server.app.backend
    doc, secret = b.rbac.create_principal(f"bench-{uuid.uuid4().hex[:8]}", "Application")
    b.rbac.create_assignment(
        f"/subscriptions/{server.subscription}",
        str(uuid.uuid4()),
        {"properties": {"roleDefinitionId": ACR_PUSH, "principalId": doc["id"]}},
    )
    lags: list[float] = []
    for i in range(runs):
        img = oci_image.build(os.path.join(tmp, f"img{i}"), layers=2, seed=7100 + i)
        repo = f"benchgeo1/tls{i}"
        subprocess.run(
            ["skopeo", "copy", "-q", "--dest-cert-dir", certs,
             f"--dest-creds={doc['id']}:{secret}", img.ref,
             f"docker://127.0.0.1:{plane.port}/{repo}:v1"],
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip
        acked = time.monotonic()
        tok = token(plane, [repo])
        while not present(west.url, repo, tok):
            if time.monotonic() - acked > GIVE_UP:
                raise SystemExit(f"run {i}: not in westus after {GIVE_UP:.0f} s")
            time.sleep(POLL)
        lags.append(round(time.monotonic() - acked, 2))
    return lags


def setup_tls(server: ThreadedServer, ca: str) -> None:
    """A Premium registry in eastus with a replica in westus."""
    ctx = ssl.create_default_context(cafile=ca)
    base = f"/subscriptions/{server.subscription}/resourceGroups/bench"
    reg = f"{base}/providers/Microsoft.ContainerRegistry/registries/benchgeo1"
    with httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {ADMIN}"}, verify=ctx
    ) as arm:
        for path, body in (
            (f"{base}?api-version=2021-04-01", {"location": "eastus"}),
            (f"{reg}?{API}", {"location": "eastus", "sku": {"name": "Premium"}}),
            (f"{reg}/replications/westus?{API}", {"location": "westus"}),
        ):
            arm.put(path, json=body).raise_for_status()


if __name__ == "__main__":
    main()
