"""Build an OCI image layout on disk with the stdlib (for skopeo `oci:DIR:TAG`).

Each layer is a tar holding one file of pseudo-random bytes (seeded: the same arguments give
the same digests), gzip-compressed for small images or plain tar (`...layer.v1.tar`) for
large ones, where compressing random bytes would only cost time. The config lists the
layers' diff_ids; index.json names the manifest by tag."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import random
import tarfile
from dataclasses import dataclass

MANIFEST = "application/vnd.oci.image.manifest.v1+json"
CONFIG = "application/vnd.oci.image.config.v1+json"
LAYER_GZ = "application/vnd.oci.image.layer.v1.tar+gzip"
LAYER_TAR = "application/vnd.oci.image.layer.v1.tar"


@dataclass
class Image:
    path: str
    tag: str
    manifest: str  # digest
    manifest_bytes: bytes
    blobs: dict[str, bytes]  # digest -> bytes (config and layers)

    @property
    def ref(self) -> str:
        return f"oci:{self.path}:{self.tag}"


def _blob(root: str, data: bytes) -> tuple[str, int]:
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    with open(os.path.join(root, "blobs", "sha256", digest[7:]), "wb") as fh:
        fh.write(data)
    return digest, len(data)


def _tar(name: str, payload: bytes) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        info = tarfile.TarInfo(name)
        info.size, info.mode, info.mtime = len(payload), 0o644, 0
        tf.addfile(info, io.BytesIO(payload))
    return buf.getvalue()


def _random(rng: random.Random, n: int) -> bytes:
    """`n` seeded random bytes (in 64 MiB pieces past 256 MiB: randbytes stops at 2^31 bits)."""
    if n <= 1 << 28:
        return rng.randbytes(n)
    piece = 1 << 26
    return b"".join(rng.randbytes(min(piece, n - i)) for i in range(0, n, piece))


def build(
    root: str,
    tag: str = "v1",
    layers: int = 3,
    layer_bytes: int = 2048,
    seed: int = 1,
    compress: bool | None = None,
) -> Image:
    """An image of `layers` layers of `layer_bytes` random bytes each."""
    compress = layer_bytes <= 1 << 20 if compress is None else compress
    os.makedirs(os.path.join(root, "blobs", "sha256"), exist_ok=True)
    rng = random.Random(seed)
    descs, diff_ids, blobs = [], [], {}
    for i in range(layers):
        tar = _tar(f"layer{i}.bin", _random(rng, layer_bytes))
        data = gzip.compress(tar, compresslevel=1, mtime=0) if compress else tar
        digest, size = _blob(root, data)
        blobs[digest] = data
        descs.append(
            {"mediaType": LAYER_GZ if compress else LAYER_TAR, "digest": digest, "size": size}
        )
        diff_ids.append("sha256:" + hashlib.sha256(tar).hexdigest())
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "created": "1970-01-01T00:00:00Z",
            "config": {"Cmd": ["/layer0.bin"]},
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
        },
        separators=(",", ":"),
        sort_keys=True,
    ).encode()
    cfg_digest, cfg_size = _blob(root, config)
    blobs[cfg_digest] = config
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": MANIFEST,
            "config": {"mediaType": CONFIG, "digest": cfg_digest, "size": cfg_size},
            "layers": descs,
        },
        separators=(",", ":"),
        sort_keys=True,
    ).encode()
    man_digest, man_size = _blob(root, manifest)
    with open(os.path.join(root, "index.json"), "w") as fh:
        json.dump(
            {
                "schemaVersion": 2,
                "manifests": [
                    {
                        "mediaType": MANIFEST,
                        "digest": man_digest,
                        "size": man_size,
                        "annotations": {"org.opencontainers.image.ref.name": tag},
                    }
                ],
            },
            fh,
        )
    with open(os.path.join(root, "oci-layout"), "w") as fh:
        json.dump({"imageLayoutVersion": "1.0.0"}, fh)
    return Image(root, tag, man_digest, manifest, blobs)


def read_layout(root: str) -> dict[str, bytes]:
    """Every blob of a layout (digest -> bytes), e.g. of one skopeo pulled."""
    out = {}
    base = os.path.join(root, "blobs", "sha256")
    for name in os.listdir(base):
        with open(os.path.join(base, name), "rb") as fh:
            out["sha256:" + name] = fh.read()
    return out
