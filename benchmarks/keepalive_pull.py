"""A pull by a client that keeps its connections (httpx, one connection per host, blobs one
after the other, redirects followed, every blob's digest checked), for
benchmarks/dataendpoint.py's `--client httpx`: what docker or containerd would see, next to
skopeo, which opens a connection per request.

    python keepalive_pull.py docker://HOST:PORT/REPO:TAG (--token BEARER | --basic USER:SECRET)

Prints the bytes and blobs it pulled."""

from __future__ import annotations

import argparse
import hashlib
import re
from typing import Any

import httpx

ACCEPT = ", ".join(
    (
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    )
)


def token(client: httpx.Client, repo: str, basic: str) -> str:
    """A pull token from the registry's challenge (ACR's flow)."""
    challenge = client.get("/v2/").headers["www-authenticate"]
    params = dict(re.findall(r'(\w+)="([^"]*)"', challenge))
    user, _, secret = basic.partition(":")
    r = client.get(
        params["realm"],
        params={"service": params["service"], "scope": f"repository:{repo}:pull"},
        auth=(user, secret),
    )
    r.raise_for_status()
    body: dict[str, Any] = r.json()
    return str(body.get("access_token") or body["token"])


def blob(client: httpx.Client, repo: str, digest: str) -> int:
    h = hashlib.sha256()
    with client.stream("GET", f"/v2/{repo}/blobs/{digest}") as r:
        r.raise_for_status()
        for chunk in r.iter_bytes():
            h.update(chunk)
    if f"sha256:{h.hexdigest()}" != digest:
        raise SystemExit(f"{digest}: digest mismatch")
    return int(r.num_bytes_downloaded)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("ref")
    ap.add_argument("--token")
    ap.add_argument("--basic")
    a = ap.parse_args()
    host, _, rest = a.ref.removeprefix("docker://").partition("/")
    repo, _, tag = rest.rpartition(":")
    with httpx.Client(base_url=f"http://{host}", follow_redirects=True, timeout=600) as client:
        bearer = a.token or token(client, repo, a.basic)
        client.headers["Authorization"] = f"Bearer {bearer}"
        r = client.get(f"/v2/{repo}/manifests/{tag}", headers={"Accept": ACCEPT})
        r.raise_for_status()
        manifest = r.json()
        digests = [manifest["config"]["digest"]] + [x["digest"] for x in manifest["layers"]]
        size = sum(blob(client, repo, d) for d in digests)
    print(f"{size} bytes in {len(digests)} blobs")


if __name__ == "__main__":
    main()
