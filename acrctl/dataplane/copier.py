"""Copy an image (or delete a manifest) from one region's distribution to another's, as
distribution 2.8.2 needs it (reference/data-plane.md §3.2): the manifest read with an Accept
listing every type (an OCI manifest is 404 otherwise), the target HEADed first (an equal
digest ends the copy), children of an index before the index, each blob HEADed in the
target repository and copied only when missing (mounted from another repository of the same
registry when the engine knows one holds it, else streamed: GET -> POST uploads -> PUT with
the body, never whole in memory, retried from zero on failure), the manifest last, by tag
for the top level. Deletes are by digest (2.8 has no tag delete)."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx

from acrctl.dataplane import dataep, fileupload, storecopy

ACCEPT = ", ".join(
    (
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    )
)
ENGINE_SUB = "acrctl-replication"  # the engine's token subject (its own events are ignored)
MAX_MANIFEST = 4 * 1024 * 1024  # distribution's own manifest limit
MAX_DEPTH = 4  # nesting of indexes followed
DEFAULT_TIMEOUT = 300.0  # seconds without progress of a file upload, when the client sets none


def manifest_digest(body: bytes) -> str:
    return "sha256:" + hashlib.sha256(body).hexdigest()


class CopyError(Exception):
    """A copy step failed (the task is retried)."""


@dataclass
class Counters:
    """What the engine moved, per target region (thread-safe enough under its lock)."""

    blobs_copied: int = 0
    blobs_mounted: int = 0
    blobs_skipped: int = 0
    bytes_copied: int = 0
    manifests_put: int = 0
    manifests_skipped: int = 0
    deletes: int = 0


@dataclass
class Stats:
    lock: threading.Lock = field(default_factory=threading.Lock)
    by_target: dict[str, Counters] = field(default_factory=dict)
    on_add: Callable[[str, dict[str, int]], None] | None = None  # (target, delta): metrics

    def add(self, target: str, **delta: int) -> None:
        with self.lock:
            c = self.by_target.setdefault(target, Counters())
            for k, v in delta.items():
                setattr(c, k, getattr(c, k) + v)
        if self.on_add is not None:
            self.on_add(target, delta)

    def get(self, target: str) -> Counters:
        with self.lock:
            c = self.by_target.get(target, Counters())
            return Counters(**c.__dict__)


Signer = Callable[[list[dict[str, Any]]], str]


class Copier:
    """One copy job between two region URLs for one namespaced repository."""

    def __init__(
        self,
        client: httpx.Client,
        sign: Signer,
        src: str,
        dst: str,
        repo: str,
        target: str,
        stats: Stats,
        *,
        mount_from: Callable[[str], str | None],
        placed: Callable[[str], None],
        blob_retries: int,
        chunk: int,
        parallel: int = 1,
        src_repo: str | None = None,
        src_auth: dict[str, str] | None = None,
        on_blob: Callable[[str, int], None] | None = None,
        src_root: str | None = None,
        dst_root: str | None = None,
    ) -> None:
        """`src_repo` and `src_auth`: the source's repository name and headers when it is
        not a region (an import); `on_blob(digest, bytes moved)` after each blob is in;
        `src_root`: the source region's storage when it is on this machine (blobs are then
        sent from their files, see local_blob); `dst_root`: the target region's storage
        when blobs are copied into it at the storage layer (with `src_root`, storecopy)."""
        self.c, self.sign, self.src, self.dst, self.repo = client, sign, src, dst, repo
        self.target, self.stats = target, stats
        self.mount_from, self.placed = mount_from, placed
        self.blob_retries, self.chunk, self.parallel = blob_retries, chunk, parallel
        self.src_repo, self.on_blob = src_repo or repo, on_blob
        self.src_root, self.dst_root = src_root, dst_root
        self.put_at: float | None = None  # wall time of the last manifest PUT that succeeded
        self._src_auth = src_auth if src_auth is not None else self._auth([(repo, ["pull"])])
        self._dst_auth = self._auth([(repo, ["pull", "push", "delete"])])

    def _auth(self, grants: list[tuple[str, list[str]]]) -> dict[str, str]:
        access = [{"type": "repository", "name": n, "actions": a} for n, a in grants]
        return {"Authorization": f"Bearer {self.sign(access)}"}

    # -- manifests ---------------------------------------------------------------------------
    def source_digest(self, ref: str) -> str | None:
        r = self.c.head(
            f"{self.src}/v2/{self.src_repo}/manifests/{ref}",
            headers={**self._src_auth, "Accept": ACCEPT},
        )
        return r.headers.get("docker-content-digest") if r.status_code == 200 else None

    def target_digest(self, ref: str) -> str | None:
        r = self.c.head(
            f"{self.dst}/v2/{self.repo}/manifests/{ref}",
            headers={**self._dst_auth, "Accept": ACCEPT},
        )
        if r.status_code == 200:
            return r.headers.get("docker-content-digest")
        if r.status_code == 404:
            return None
        raise CopyError(f"HEAD manifest in {self.target}: {r.status_code}")

    def copy(self, ref: str, depth: int = 0, source_ref: str | None = None) -> str | None:
        """Copy the manifest `ref` (tag or digest) and all it references; `source_ref` (a
        digest) reads that manifest from the source and puts it under `ref` (a push event
        can arrive before distribution has moved the tag). Returns its digest, None when
        the source no longer has it."""
        got = self.read_manifest(source_ref or ref)
        if got is None:
            return None
        body, ctype, digest = got
        if self.target_digest(ref) == digest and digest:
            self.stats.add(self.target, manifests_skipped=1)
            return digest
        if not ref.startswith("sha256:") and self.target_digest(digest) == digest:
            self.put_manifest(ref, body, ctype, digest)  # a retag: only the tag moves
            return digest
        self._children(json.loads(body), depth)
        self.put_manifest(ref, body, ctype, digest)
        return digest

    def read_manifest(self, ref: str) -> tuple[bytes, str, str] | None:
        """(body, content type, digest) of a manifest in the source; None when absent."""
        r = self.c.get(
            f"{self.src}/v2/{self.src_repo}/manifests/{ref}",
            headers={**self._src_auth, "Accept": ACCEPT},
        )
        if r.status_code == 404:
            return None
        if r.status_code != 200 or len(r.content) > MAX_MANIFEST:
            raise CopyError(f"GET manifest {ref} from the source: {r.status_code}")
        body = r.content
        digest = r.headers.get("docker-content-digest") or manifest_digest(body)
        return body, r.headers.get("content-type", ""), digest

    def _children(self, doc: dict[str, Any], depth: int) -> None:
        if depth > MAX_DEPTH:
            raise CopyError("indexes nested too deep")
        for child in doc.get("manifests") or []:
            if self.copy(str(child["digest"]), depth + 1) is None:
                raise CopyError(f"the source lacks the child manifest {child['digest']}")
        blobs = [doc["config"]] if isinstance(doc.get("config"), dict) else []
        blobs += [b for b in doc.get("layers") or [] if not b.get("urls")]
        if self.parallel <= 1 or len(blobs) <= 1:
            for blob in blobs:
                self.blob(str(blob["digest"]), int(blob.get("size") or 0))
            return
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(
            max_workers=min(self.parallel, len(blobs)), thread_name_prefix="acrctl-replication-blob"
        ) as pool:
            futures = [
                pool.submit(self.blob, str(b["digest"]), int(b.get("size") or 0)) for b in blobs
            ]
            for f in futures:
                f.result()  # the first failure fails the copy (the others finish)

    def put_manifest(self, ref: str, body: bytes, ctype: str, digest: str) -> None:
        r = self.c.put(
            f"{self.dst}/v2/{self.repo}/manifests/{ref}",
            content=body,
            headers={**self._dst_auth, "Content-Type": ctype},
        )
        if r.status_code != 201:
            raise CopyError(f"PUT manifest {ref} in {self.target}: {r.status_code} {r.text[:200]}")
        if digest and r.headers.get("docker-content-digest", digest) != digest:
            raise CopyError(f"PUT manifest {ref} in {self.target}: digest changed")
        self.put_at = time.time()
        self.stats.add(self.target, manifests_put=1)

    def delete(self, digest: str) -> None:
        r = self.c.delete(f"{self.dst}/v2/{self.repo}/manifests/{digest}", headers=self._dst_auth)
        if r.status_code not in (202, 404):
            raise CopyError(f"DELETE manifest {digest} in {self.target}: {r.status_code}")
        if r.status_code == 202:
            self.stats.add(self.target, deletes=1)

    # -- blobs ---------------------------------------------------------------------------------
    def blob(self, digest: str, size: int) -> None:
        if self.has_blob(digest):
            self.stats.add(self.target, blobs_skipped=1)
            self._blob_done(digest, 0)
            return
        if self.mount(digest):
            self.stats.add(self.target, blobs_mounted=1)
            self.placed(digest)
            self._blob_done(digest, 0)
            return
        path = self.source_file(digest) if self.dst_root is not None else None
        if path is not None:  # both regions' storage is here: copied at the storage layer
            failed = place(digest, path, [self])
            if failed:
                raise CopyError(failed[self.target])
            self._blob_done(digest, size)
            return
        error = ""
        for _ in range(max(1, self.blob_retries)):
            try:
                moved = self._stream(digest, size)
            except (httpx.HTTPError, CopyError) as exc:
                error = f"{type(exc).__name__}: {exc}"
                time.sleep(0.2)
                continue
            self.stats.add(self.target, blobs_copied=1, bytes_copied=moved)
            self.placed(digest)
            self._blob_done(digest, moved)
            return
        raise CopyError(f"blob {digest} to {self.target}: {error}")

    def _blob_done(self, digest: str, moved: int) -> None:
        if self.on_blob is not None:
            self.on_blob(digest, moved)

    def mount(self, digest: str) -> bool:
        """Mount the blob from another repository of the registry known to hold it."""
        other = self.mount_from(digest)
        if not other or other == self.repo:
            return False
        auth = self._auth([(self.repo, ["pull", "push"]), (other, ["pull"])])
        r = self.c.post(
            f"{self.dst}/v2/{self.repo}/blobs/uploads/",
            params={"mount": digest, "from": other},
            headers=auth,
        )
        if r.status_code == 201:
            return True
        if r.status_code == 202 and r.headers.get("location"):  # a session: not used
            self.c.delete(self._abs(r.headers["location"]), headers=auth)
        return False

    def _abs(self, location: str) -> str:
        return location if location.startswith("http") else f"{self.dst}{location}"

    def _stream(self, digest: str, size: int) -> int:
        path = self.local_blob(digest)
        if path is not None:
            return self.send_file(self.open_upload(), digest, path)
        with self.source_blob(digest, size) as (length, chunks):
            location = self.open_upload()
            counted = _Counted(chunks)
            self.send_upload(location, digest, length, counted)
            return counted.n

    @contextlib.contextmanager
    def source_blob(self, digest: str, size: int) -> Iterator[tuple[int, Iterator[bytes]]]:
        """(length, chunks of `chunk` bytes) of a blob read from the source."""
        with self.c.stream(
            "GET",
            f"{self.src}/v2/{self.src_repo}/blobs/{digest}",
            headers=self._src_auth,
            follow_redirects=True,
        ) as src:
            if src.status_code != 200:
                raise CopyError(f"GET blob {digest} from the source: {src.status_code}")
            yield int(src.headers.get("content-length") or size or 0), src.iter_raw(self.chunk)

    def source_file(self, digest: str) -> str | None:
        """The blob's file in the source region's storage when the storage is on this
        machine and the blob is linked into the source repository (what distribution itself
        checks before serving it)."""
        root = self.src_root
        if root is None or not dataep.linked(root, self.src_repo, digest):
            return None
        return dataep.blob_file(root, digest)

    def local_blob(self, digest: str) -> str | None:
        """The source file (source_file) when it can be sent to the target: plain HTTP."""
        return self.source_file(digest) if fileupload.sendable(self.dst) else None

    def send_file(self, location: str, digest: str, path: str) -> int:
        """Finish an upload with the blob's file as the PUT's body (sendfile)."""
        sep = "&" if "?" in location else "?"
        timeout = self.c.timeout.read or DEFAULT_TIMEOUT
        try:
            return fileupload.put_file(
                f"{location}{sep}digest={digest}", self._dst_auth, path, timeout
            )
        except (OSError, fileupload.UploadError) as exc:
            raise CopyError(f"PUT blob {digest} in {self.target}: {exc}") from None

    def has_blob(self, digest: str) -> bool:
        """Whether the target repository holds the blob (HEAD)."""
        r = self.c.head(f"{self.dst}/v2/{self.repo}/blobs/{digest}", headers=self._dst_auth)
        return r.status_code == 200

    def open_upload(self) -> str:
        """Start an upload in the target; returns its absolute location."""
        r = self.c.post(f"{self.dst}/v2/{self.repo}/blobs/uploads/", headers=self._dst_auth)
        if r.status_code != 202 or not r.headers.get("location"):
            raise CopyError(f"POST upload in {self.target}: {r.status_code}")
        return self._abs(r.headers["location"])

    def send_upload(
        self, location: str, digest: str, length: int, content: Iterable[bytes]
    ) -> None:
        """Finish an upload with one PUT of the whole body (Content-Length known)."""
        sep = "&" if "?" in location else "?"
        put = self.c.put(
            f"{location}{sep}digest={digest}",
            content=content,
            headers={
                **self._dst_auth,
                "Content-Length": str(length),
                "Content-Type": "application/octet-stream",
            },
        )
        if put.status_code != 201:
            raise CopyError(
                f"PUT blob {digest} in {self.target}: {put.status_code} {put.text[:200]}"
            )


def place(digest: str, path: str, copiers: list[Copier]) -> dict[str, str]:
    """storecopy.place of a source file into the storage of every copier's target (each
    has dst_root), counted for each target reached (a copy, or a mount when it held the
    data already) and recorded in its mount index. Returns the error of each target
    missed (all of them when the source itself is unreadable or not the digest)."""
    by_target = {storecopy.Target(str(c.dst_root), c.repo): c for c in copiers}
    try:
        size = os.path.getsize(path)
        done = storecopy.place(path, digest, list(by_target))
    except (OSError, storecopy.PlaceError) as exc:
        return {c.target: f"PlaceError: blob {digest}: {exc}" for c in copiers}
    for t, c in by_target.items():
        if t in done.errors:
            continue
        if t in done.linked:
            c.stats.add(c.target, blobs_mounted=1)
        else:
            c.stats.add(c.target, blobs_copied=1, bytes_copied=size)
        c.placed(digest)
    return {by_target[t].target: f"PlaceError: blob {digest}: {e}" for t, e in done.errors.items()}


class _Counted:
    """An iterator of chunks that counts the bytes it passes on."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self.chunks, self.n = chunks, 0

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self.chunks:
            self.n += len(chunk)
            yield chunk
