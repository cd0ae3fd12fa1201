"""Copy one image from a source region to several target regions at once (issue 16): the
source manifest is read once, and each blob some targets lack is read once from the source
and streamed to all of them together (a bounded hand-off of a few chunks per target: the
slowest target paces the read, memory stays flat whatever the blob's size).

Each target goes its own way otherwise: it HEADs, mounts, skips and puts its manifest with
its own Copier (its counters, its mount index), and a target that fails (a region down, an
upload refused after its retries) drops out at once, reported through `on_done`, while the
others go on; a blob stream is retried from zero for the targets it failed. The engine
finishes each target's task when `on_done` reports it."""

from __future__ import annotations

import collections
import json
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

import httpx

from acrctl.dataplane.copier import MAX_DEPTH, Copier, CopyError, place
from acrctl.dataplane.fileupload import sendable

if TYPE_CHECKING:
    from acrctl.backend.replication_tasks import Claimed
    from acrctl.dataplane.engine import Engine

# (target, manifest digest or None when the source no longer has the image, error or None)
Done = Callable[[str, str | None, str | None], None]
ERRORS = (CopyError, httpx.HTTPError, ValueError, KeyError)


def describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


class Pipe:
    """A bounded hand-off of chunks from the source reader to one target's upload: `put`
    blocks while `depth` chunks wait; the upload iterates it."""

    def __init__(self, depth: int) -> None:
        self.depth = max(1, depth)
        self.cv = threading.Condition()
        self.chunks: collections.deque[bytes] = collections.deque()
        self.closed = self.aborted = self.gone = False
        self.n = 0  # bytes passed on to the upload

    def put(self, chunk: bytes) -> bool:
        """Queue a chunk (waits for room). False when the upload has given up."""
        with self.cv:
            while len(self.chunks) >= self.depth and not self.gone:
                self.cv.wait()
            if self.gone:
                return False
            self.chunks.append(chunk)
            self.cv.notify_all()
            return True

    def close(self) -> None:
        """The source is read to its end."""
        with self.cv:
            self.closed = True
            self.cv.notify_all()

    def abort(self) -> None:
        """The source read failed: the upload fails too (never completes short)."""
        with self.cv:
            if not self.closed:  # a pipe read to its end is left to finish
                self.aborted = True
            self.cv.notify_all()

    def drop(self) -> None:
        """The upload is over (done or failed): nothing more is queued."""
        with self.cv:
            self.gone = True
            self.chunks.clear()
            self.cv.notify_all()

    def __iter__(self) -> Iterator[bytes]:
        while True:
            with self.cv:
                while not self.chunks and not self.closed and not self.aborted:
                    self.cv.wait()
                if self.aborted:
                    raise CopyError("the source read failed")
                if not self.chunks:
                    return
                chunk = self.chunks.popleft()
                self.cv.notify_all()
            self.n += len(chunk)
            yield chunk


class FanOut:
    """One image from one source URL to the targets of `copiers` (all reading that URL)."""

    def __init__(self, copiers: list[Copier], *, depth: int, on_done: Done) -> None:
        self.lead = copiers[0]  # reads the source for all
        self.copiers = {c.target: c for c in copiers}
        self.depth, self.on_done = depth, on_done
        self._lock = threading.Lock()
        self._open = set(self.copiers)  # targets not reported yet

    # -- outcomes ---------------------------------------------------------------------------
    def open_of(self, targets: Iterable[str]) -> list[str]:
        with self._lock:
            return [t for t in targets if t in self._open]

    def _report(self, target: str, digest: str | None, error: str | None) -> None:
        with self._lock:
            if target not in self._open:
                return
            self._open.discard(target)
        self.on_done(target, digest, error)

    def fail(self, target: str, exc: BaseException) -> None:
        self._report(target, None, describe(exc))

    # -- manifests --------------------------------------------------------------------------
    def copy(self, ref: str, source_ref: str | None = None) -> None:
        """Copy `ref` to every target (see Copier.copy); each outcome goes to on_done."""
        targets = list(self.copiers)
        try:
            digest = self._copy(ref, 0, source_ref, targets)
        except Exception as exc:  # noqa: BLE001 - the source's failure is every target's
            for t in self.open_of(targets):
                self.fail(t, exc)
            return
        for t in self.open_of(targets):
            self._report(t, digest, None)

    def _copy(self, ref: str, depth: int, source_ref: str | None, targets: list[str]) -> str | None:
        got = self.lead.read_manifest(source_ref or ref)
        if got is None:
            return None
        body, ctype, digest = got
        need = []
        for t in self.open_of(targets):
            c = self.copiers[t]
            try:
                if c.target_digest(ref) == digest and digest:
                    c.stats.add(t, manifests_skipped=1)
                elif not ref.startswith("sha256:") and c.target_digest(digest) == digest:
                    c.put_manifest(ref, body, ctype, digest)  # a retag: only the tag moves
                else:
                    need.append(t)
            except ERRORS as exc:
                self.fail(t, exc)
        if need:
            self._children(json.loads(body), depth, need)
            for t in self.open_of(need):
                try:
                    self.copiers[t].put_manifest(ref, body, ctype, digest)
                except ERRORS as exc:
                    self.fail(t, exc)
        return digest

    def _children(self, doc: dict[str, Any], depth: int, targets: list[str]) -> None:
        if depth > MAX_DEPTH:
            raise CopyError("indexes nested too deep")
        for child in doc.get("manifests") or []:
            if self._copy(str(child["digest"]), depth + 1, None, targets) is None:
                raise CopyError(f"the source lacks the child manifest {child['digest']}")
        blobs = [doc["config"]] if isinstance(doc.get("config"), dict) else []
        blobs += [b for b in doc.get("layers") or [] if not b.get("urls")]
        if not blobs:
            return
        with ThreadPoolExecutor(
            max_workers=max(1, min(self.lead.parallel, len(blobs))),
            thread_name_prefix="acrctl-replication-blob",
        ) as pool:
            futures = [
                pool.submit(self.blob, str(b["digest"]), int(b.get("size") or 0), targets)
                for b in blobs
            ]
            for f in futures:
                f.result()

    # -- blobs ------------------------------------------------------------------------------
    def blob(self, digest: str, size: int, targets: list[str]) -> None:
        """Skip or mount the blob where possible, stream it to the rest (retried from zero
        for the targets a stream failed); a target that still lacks it drops out."""
        need = []
        for t in self.open_of(targets):
            c = self.copiers[t]
            try:
                if c.has_blob(digest):
                    c.stats.add(t, blobs_skipped=1)
                elif c.mount(digest):
                    c.stats.add(t, blobs_mounted=1)
                    c.placed(digest)
                else:
                    need.append(t)
            except ERRORS as exc:
                self.fail(t, exc)
        errors: dict[str, str] = {}
        for attempt in range(max(1, self.lead.blob_retries)):
            need = self.open_of(need)
            if not need:
                return
            if attempt:
                time.sleep(0.2)
            errors = self.stream(digest, size, need)
            need = [t for t in need if t in errors]
        for t in self.open_of(need):
            self._report(t, None, f"CopyError: blob {digest} to {t}: {errors[t]}")

    def stream(self, digest: str, size: int, targets: list[str]) -> dict[str, str]:
        """One read of the blob from the source, uploaded to every target at once (from
        the source's file when it is on this machine: Copier.local_blob). Returns the error
        of each target it did not reach."""
        path = self.lead.source_file(digest)
        if path is not None and all(self.copiers[t].dst_root for t in targets):
            return place(digest, path, [self.copiers[t] for t in targets])
        if path is not None and all(sendable(self.copiers[t].dst) for t in targets):
            return self.send_files(digest, path, targets)
        errors: dict[str, str] = {}
        pipes: dict[str, Pipe] = {}
        threads: list[threading.Thread] = []
        try:
            with self.lead.source_blob(digest, size) as (length, chunks):
                for t in targets:
                    try:
                        location = self.copiers[t].open_upload()
                    except ERRORS as exc:
                        errors[t] = describe(exc)
                        continue
                    pipes[t] = Pipe(self.depth)
                    args = (self.copiers[t], location, digest, length, pipes[t], errors)
                    threads.append(
                        threading.Thread(
                            target=_upload, args=args, name="acrctl-fanout", daemon=True
                        )
                    )
                    threads[-1].start()
                _feed(chunks, list(pipes.values()))
        except ERRORS as exc:
            for t in targets:
                errors.setdefault(t, describe(exc))
            for p in pipes.values():
                p.abort()
        finally:
            for p in pipes.values():
                p.abort()  # no-op for a pipe read to its end; frees a waiting upload
            for th in threads:
                th.join()
        for t, p in pipes.items():
            if t not in errors:
                c = self.copiers[t]
                c.stats.add(t, blobs_copied=1, bytes_copied=p.n)
                c.placed(digest)
        return errors

    def send_files(self, digest: str, path: str, targets: list[str]) -> dict[str, str]:
        """The blob's file sent to every target at once, each its own upload."""
        errors: dict[str, str] = {}

        def one(c: Copier) -> None:
            try:
                moved = c.send_file(c.open_upload(), digest, path)
            except ERRORS as exc:
                errors[c.target] = describe(exc)
                return
            c.stats.add(c.target, blobs_copied=1, bytes_copied=moved)
            c.placed(digest)

        threads = [
            threading.Thread(target=one, args=(self.copiers[t],), name="acrctl-fanout")
            for t in targets
        ]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        return errors


def _feed(chunks: Iterator[bytes], pipes: list[Pipe]) -> None:
    """Hand every chunk to every upload still taking them; stop early when none is."""
    try:
        for chunk in chunks:
            if not [p for p in pipes if p.put(chunk)]:
                break
    except BaseException:
        for p in pipes:
            p.abort()
        raise
    for p in pipes:
        p.close()


def _upload(
    c: Copier, location: str, digest: str, length: int, pipe: Pipe, errors: dict[str, str]
) -> None:
    try:
        c.send_upload(location, digest, length, pipe)
    except Exception as exc:  # noqa: BLE001 - reported as this target's error
        errors[c.target] = describe(exc)
    finally:
        pipe.drop()


# -- the engine's side ------------------------------------------------------------------------
def run_group(engine: Engine, group: list[Claimed]) -> None:
    """Run the claimed tasks of one image to several regions: a task with nothing to do is
    settled at once, the others are copied together (one FanOut per source URL: a test
    bed's links may differ by target), each settled as soon as its region's outcome is
    known."""
    by_src: dict[str, list[tuple[Claimed, Copier]]] = {}
    for c in group:
        try:
            note = engine.precheck(c.doc)
        except Exception as exc:  # noqa: BLE001 - the store: recorded on the task, retried
            engine.settle(c, None, describe(exc))
            continue
        if note is not None:
            engine.settle(c, note, None)
            continue
        t = c.doc
        try:
            copier = engine.copier(t["registry"], t["repository"], t["source"], t["target"])
        except ERRORS as exc:  # a region not running
            engine.settle(c, None, describe(exc))
            continue
        by_src.setdefault(copier.src, []).append((c, copier))
    for pairs in by_src.values():
        _fan(engine, pairs)


def _fan(engine: Engine, pairs: list[tuple[Claimed, Copier]]) -> None:
    task = pairs[0][0].doc
    when = task.get("eventTime")
    by_target = {copier.target: (c, copier) for c, copier in pairs}

    reported: set[str] = set()

    def done(target: str, digest: str | None, error: str | None) -> None:
        reported.add(target)
        claim, copier = by_target[target]
        note = "the source no longer has it" if error is None and digest is None else None
        if digest and copier.put_at is not None and when is not None:
            engine.b.observer.replication_lag(task["source"], target, copier.put_at - when)
        engine.settle(claim, note, error)

    tag = task.get("tag")
    digest = task.get("digest") if tag and task["reference"] == tag else None
    fan = FanOut(
        [copier for _, copier in pairs], depth=engine.s.replication_fanout_chunks, on_done=done
    )
    fan.copy(task["reference"], source_ref=digest or None)
    for target in set(by_target) - reported:  # never left running until its lease ends
        engine.settle(by_target[target][0], None, "CopyError: the copy ended without an outcome")
