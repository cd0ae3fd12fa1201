"""The Copier against two in-memory registries (httpx.MockTransport) that answer as
distribution 2.8.2 does for the calls it makes: manifests by tag or digest, blob HEAD per
repository, POST then PUT uploads, 400 MANIFEST_BLOB_UNKNOWN for a manifest whose blobs
are missing."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import httpx
import pytest

from acrctl.dataplane.copier import Copier, CopyError, Stats

REPO = "reg1/app"
MT = "application/vnd.oci.image.manifest.v1+json"


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


class Fake:
    """One region: blobs per repository, manifests, tags; `fail_puts` blob PUTs fail."""

    def __init__(self, host: str) -> None:
        self.host = host
        self.blobs: dict[str, dict[str, bytes]] = {}
        self.manifests: dict[str, tuple[bytes, str]] = {}
        self.tags: dict[str, str] = {}
        self.fail_puts = 0
        self.blob_puts = 0

    def handle(self, req: httpx.Request) -> httpx.Response:
        path = req.url.path
        repo_blobs = self.blobs.setdefault(REPO, {})
        if "/manifests/" in path:
            ref = path.rsplit("/", 1)[1]
            if req.method in ("GET", "HEAD"):
                digest = ref if ref.startswith("sha256:") else self.tags.get(ref)
                if digest not in self.manifests:
                    return httpx.Response(404)
                body, ctype = self.manifests[digest]
                return httpx.Response(
                    200,
                    content=body if req.method == "GET" else b"",
                    headers={"Content-Type": ctype, "Docker-Content-Digest": digest},
                )
            body = req.read()
            doc = json.loads(body)
            needed = [doc["config"]["digest"], *(b["digest"] for b in doc["layers"])]
            if any(d not in repo_blobs for d in needed):
                return httpx.Response(400, json={"errors": [{"code": "MANIFEST_BLOB_UNKNOWN"}]})
            self.manifests[sha(body)] = (body, req.headers["content-type"])
            if not ref.startswith("sha256:"):
                self.tags[ref] = sha(body)
            return httpx.Response(201, headers={"Docker-Content-Digest": sha(body)})
        if path.endswith("/blobs/uploads/") and req.method == "POST":
            return httpx.Response(202, headers={"Location": f"/v2/{REPO}/blobs/uploads/u1?s=1"})
        if "/blobs/uploads/" in path and req.method == "PUT":
            self.blob_puts += 1
            data = b""
            for chunk in req.stream:  # type: ignore[union-attr]
                data += chunk
            if self.fail_puts:
                self.fail_puts -= 1
                return httpx.Response(500)
            digest = req.url.params["digest"]
            if sha(data) != digest:
                return httpx.Response(400, json={"errors": [{"code": "DIGEST_INVALID"}]})
            repo_blobs[digest] = data
            return httpx.Response(201)
        if "/blobs/" in path:
            digest = path.rsplit("/", 1)[1]
            if digest not in repo_blobs:
                return httpx.Response(404)
            data = repo_blobs[digest]
            return httpx.Response(
                200,
                headers={"Content-Length": str(len(data))},
                stream=httpx.ByteStream(data if req.method == "GET" else b""),
            )
        return httpx.Response(404)

    def push(self, tag: str, layers: list[bytes]) -> str:
        cfg = json.dumps({"layers": len(layers)}).encode()
        blobs = self.blobs.setdefault(REPO, {})
        for b in (cfg, *layers):
            blobs[sha(b)] = b
        body = json.dumps(
            {
                "schemaVersion": 2,
                "mediaType": MT,
                "config": {"digest": sha(cfg), "size": len(cfg)},
                "layers": [{"digest": sha(b), "size": len(b)} for b in layers],
            }
        ).encode()
        self.manifests[sha(body)] = (body, MT)
        self.tags[tag] = sha(body)
        return sha(body)


@pytest.fixture
def pair() -> tuple[Fake, Fake, httpx.Client]:
    src, dst = Fake("src"), Fake("dst")

    def route(req: httpx.Request) -> httpx.Response:
        return (src if req.url.host == "src" else dst).handle(req)

    return src, dst, httpx.Client(transport=httpx.MockTransport(route))


def copier(client: httpx.Client, stats: Stats, chunk: int = 1024) -> Copier:
    return Copier(
        client,
        lambda access: "t",
        "http://src",
        "http://dst",
        REPO,
        "westus",
        stats,
        mount_from=lambda d: None,
        placed=lambda d: None,
        blob_retries=3,
        chunk=chunk,
    )


def test_only_missing_blobs_move(pair: Any) -> None:
    src, dst, client = pair
    layers = [bytes([i]) * 3000 for i in range(4)]
    digest = src.push("v1", layers)
    dst.blobs[REPO] = {sha(layers[0]): layers[0], sha(layers[1]): layers[1]}
    stats = Stats()
    assert copier(client, stats).copy("v1") == digest
    c = stats.get("westus")
    assert (c.blobs_copied, c.blobs_skipped, c.manifests_put) == (3, 2, 1)  # 2 layers + cfg
    assert dst.tags["v1"] == digest


def test_a_failed_blob_upload_is_retried_from_zero(pair: Any) -> None:
    src, dst, client = pair
    layers = [b"a" * 5000]
    src.push("v1", layers)
    dst.fail_puts = 1
    stats = Stats()
    copier(client, stats).copy("v1")
    assert dst.blobs[REPO][sha(layers[0])] == layers[0]
    assert stats.get("westus").blobs_copied == 2


def test_a_blob_failing_every_retry_fails_the_copy(pair: Any) -> None:
    src, dst, client = pair
    src.push("v1", [b"a" * 5000])
    dst.fail_puts = 100
    with pytest.raises(CopyError, match="PUT blob"):
        copier(client, Stats()).copy("v1")
    assert "v1" not in dst.tags  # the manifest never goes before its blobs


def test_a_tag_not_yet_moved_in_the_source_is_copied_by_the_events_digest(pair: Any) -> None:
    src, dst, client = pair
    digest = src.push("v1", [b"a" * 10])
    del src.tags["v1"]  # distribution sends the push event before it writes the tag link
    assert copier(client, Stats()).copy("v1") is None
    assert copier(client, Stats()).copy("v1", source_ref=digest) == digest
    assert dst.tags["v1"] == digest


def test_an_equal_digest_in_the_target_moves_nothing(pair: Any) -> None:
    src, dst, client = pair
    src.push("v1", [b"a" * 10])
    copier(client, Stats()).copy("v1")
    puts = dst.blob_puts
    stats = Stats()
    copier(client, stats).copy("v1")
    assert (dst.blob_puts, stats.get("westus").manifests_skipped) == (puts, 1)
