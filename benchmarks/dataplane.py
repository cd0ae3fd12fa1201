"""The data plane's cost: push and pull of a 100 MB, 10-layer image with skopeo through the
front (`acrctl server`'s data-plane listener: token service, namespacing, streaming proxy)
against straight to the same distribution process (with a token the plane signed).

    .venv/bin/python benchmarks/dataplane.py [--runs 3] [--mb 100] [--layers 10]

Each run pushes a fresh image (new random layers, so nothing is mounted or skipped) once
through the front and once straight, then pulls each into a `dir:` layout. Interleaved;
medians. Goal (DESIGN.md §5, issue 15): front >= 0.8x of straight, push and pull. Prints the
1-minute load average: on a shared 2-core box the figures move with it."""

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
from typing import Any

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests"))

import oci_image  # noqa: E402

from acrctl.backend.core import Settings  # noqa: E402
from acrctl.server.serve import ServerConfig, ThreadedServer  # noqa: E402

ACRPUSH = "8311e382-0749-4cb8-b61a-304f252e45ec"


def skopeo(*args: str) -> float:
    t = time.perf_counter()
    subprocess.run(["skopeo", *args], check=True, capture_output=True, timeout=600)
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--mb", type=int, default=100)
    ap.add_argument("--layers", type=int, default=10)
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="acrctl-bench-dp-")
    settings = Settings()
    settings.dataplane_storage = os.path.join(tmp, "storage")
    server = ThreadedServer(
        ServerConfig(data_port=1, settings=settings, admin_token="acr_bench_dataplane_admin")
    )
    server.start()
    try:
        run(server, tmp, a.runs, a.mb, a.layers)
    finally:
        server.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def run(server: ThreadedServer, tmp: str, runs: int, mb: int, layers: int) -> None:
    import httpx

    sub = server.subscription
    arm = httpx.Client(
        base_url=server.url, headers={"Authorization": "Bearer acr_bench_dataplane_admin"}
    )
    arm.put(
        f"/subscriptions/{sub}/resourcegroups/bench?api-version=2021-04-01",
        json={"location": "eastus"},
    ).raise_for_status()
    arm.put(
        f"/subscriptions/{sub}/resourceGroups/bench/providers/Microsoft.ContainerRegistry"
        "/registries/benchreg1?api-version=2025-11-01",
        json={"location": "eastus", "sku": {"name": "Premium"}},
    ).raise_for_status()
    b = server.app.backend
    doc, secret = b.rbac.create_principal("bench", "Application")
    b.rbac.create_assignment(
        f"/subscriptions/{sub}",
        str(uuid.uuid4()),
        {"properties": {"roleDefinitionId": ACRPUSH, "principalId": doc["id"]}},
    )
    plane = server.dataplane
    front = f"127.0.0.1:{plane.port}"
    region = plane.supervisor.ensure("eastus")
    direct = f"127.0.0.1:{region.port}"
    creds = f"{doc['id']}:{secret}"
    rows: dict[str, list[float]] = {
        k: [] for k in ("push front", "push direct", "pull front", "pull direct")
    }
    per = mb * (1 << 20) // layers
    for i in range(runs):
        for via in ("front", "direct"):
            img = oci_image.build(
                os.path.join(tmp, f"img-{via}-{i}"),
                layers=layers,
                layer_bytes=per,
                seed=1000 * i + (via == "front"),
            )
            repo = f"benchreg1/img-{via}-{i}"
            if via == "front":
                dest = ["--dest-creds", creds]
                src = ["--src-creds", creds]
                host = front
            else:
                token = direct_token(plane, repo)
                dest = ["--dest-registry-token", token]
                src = ["--src-registry-token", token]
                host = direct
            rows[f"push {via}"].append(
                skopeo(
                    "copy",
                    "-q",
                    "--dest-tls-verify=false",
                    *dest,
                    img.ref,
                    f"docker://{host}/{repo}:v1",
                )
            )
            out = os.path.join(tmp, f"pull-{via}-{i}")
            rows[f"pull {via}"].append(
                skopeo(
                    "copy",
                    "-q",
                    "--src-tls-verify=false",
                    *src,
                    f"docker://{host}/{repo}:v1",
                    f"dir:{out}",
                )
            )
            shutil.rmtree(img.path, ignore_errors=True)
            shutil.rmtree(out, ignore_errors=True)
    print(
        f"image: {mb} MB in {layers} layers; runs: {runs}; "
        f"load average (1 min): {os.getloadavg()[0]:.2f}"
    )
    for what in ("push", "pull"):
        f, d = statistics.median(rows[f"{what} front"]), statistics.median(rows[f"{what} direct"])
        print(
            f"{what}: front {f:.2f} s ({mb / f:.0f} MB/s), direct {d:.2f} s "
            f"({mb / d:.0f} MB/s): front = {d / f:.2f}x of direct   "
            f"[front {', '.join(f'{x:.2f}' for x in rows[f'{what} front'])}; direct "
            f"{', '.join(f'{x:.2f}' for x in rows[f'{what} direct'])}]"
        )


def direct_token(plane: Any, repo: str) -> str:
    """A token for the region itself, signed as the plane signs the clients'."""
    now = int(time.time())
    return plane.keys.sign(
        {
            "iss": plane.issuer,
            "sub": "bench",
            "aud": plane.service,
            "iat": now,
            "nbf": now - 5,
            "exp": now + 3600,
            "access": [{"type": "repository", "name": repo, "actions": ["pull", "push"]}],
        }
    )


if __name__ == "__main__":
    main()
