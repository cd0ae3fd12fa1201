"""Blobs copied at the storage layer between regions whose storage is on this machine
(supervised regions, DataPlane.data_root), the way ACR replicates through its storage
rather than through its registries' upload API.

The source region's file is read once, its SHA-256 checked against the digest (what a target
registry would check on an upload), and written to every target at the same time: a
temporary file under the target's root (`.acrctl-tmp/`, the same filesystem, outside
distribution's tree), renamed into distribution's filesystem layout once the digest is
right, then the repository's layer link, the order distribution itself uses. A blob whose
data a target already holds only gets the link (a mount). Nothing is placed when the digest
is wrong; a crash leaves only a temporary file, which `clear_stale` removes.

The manifest still goes through the target's registry (Copier.put_manifest), which checks
that every blob it references is there."""

from __future__ import annotations

import contextlib
import hashlib
import os
import time
import uuid
from dataclasses import dataclass, field
from typing import BinaryIO

from acrctl.dataplane import dataep
from acrctl.dataplane.dataep import DIGEST, blob_file

TMP_DIR = ".acrctl-tmp"
READ_BYTES = 1024 * 1024  # one read of the source, written to every target
STALE_SECONDS = 3600.0  # a temporary file older than this is a crash's leftover


class PlaceError(Exception):
    """The blob could not be placed (the source's digest is wrong, a write failed)."""


@dataclass(frozen=True)
class Target:
    """Where one region keeps the blob for one repository."""

    root: str  # the region's storage root
    repo: str  # the namespaced repository


@dataclass
class Placed:
    """What place() did: the targets it missed (with why) and those that held the data
    already and only got the link (a mount); the others got a copy."""

    errors: dict[Target, str] = field(default_factory=dict)
    linked: set[Target] = field(default_factory=set)


def layer_link(root: str, repo: str, digest: str) -> str:
    """The repository's link file for a blob (distribution's `_layers/<alg>/<hex>/link`)."""
    link = dataep.layer_link(root, repo, digest)
    if link is None:
        raise PlaceError(f"not a digest and repository: {digest!r} {repo!r}")
    return link


def place(source: str, digest: str, targets: list[Target]) -> Placed:
    """Copy the blob file `source` into every target (Placed says which it missed, and
    which only got the link); the others hold the blob, linked into their repository.
    PlaceError when the source itself is unreadable or its content is not `digest` (no
    target gets a copy)."""
    done = Placed()
    errors = done.errors
    need: list[Target] = []
    for t in targets:
        data = _data_path(t.root, digest)
        if os.path.isfile(data):
            _link_or_note(t, digest, errors)
            done.linked.add(t)
        else:
            need.append(t)
    if not need:
        return done
    temps = _open_temps(need, errors)
    try:
        _copy_checked(source, digest, temps, errors)
        for t, fh in temps.items():
            fh.close()
            if t in errors:
                continue
            try:
                data = _data_path(t.root, digest)
                os.makedirs(os.path.dirname(data), exist_ok=True)
                os.replace(fh.name, data)
            except OSError as exc:
                errors[t] = f"placing the blob: {exc}"
                continue
            _link_or_note(t, digest, errors)
    finally:
        for fh in temps.values():
            fh.close()
            with contextlib.suppress(FileNotFoundError):
                os.unlink(fh.name)
    return done


def _data_path(root: str, digest: str) -> str:
    path = blob_file(root, digest)
    if path is None:
        raise PlaceError(f"not a digest: {digest!r}")
    return path


def _open_temps(targets: list[Target], errors: dict[Target, str]) -> dict[Target, BinaryIO]:
    temps: dict[Target, BinaryIO] = {}
    for t in targets:
        tmp = os.path.join(t.root, TMP_DIR)
        try:
            os.makedirs(tmp, exist_ok=True)
            temps[t] = open(os.path.join(tmp, uuid.uuid4().hex), "wb")  # noqa: SIM115 - place()
        except OSError as exc:
            errors[t] = f"a temporary file in {tmp}: {exc}"
    return temps


def _copy_checked(
    source: str, digest: str, temps: dict[Target, BinaryIO], errors: dict[Target, str]
) -> None:
    """Read `source` once into every temporary file (a target whose write fails drops out
    with its error); PlaceError unless the content hashes to `digest`."""
    m = DIGEST.match(digest)
    assert m is not None  # _data_path checked it
    h = hashlib.new(m["alg"])
    buf = bytearray(READ_BYTES)
    view = memoryview(buf)
    try:
        src = open(source, "rb", buffering=0)  # noqa: SIM115 - closed below
    except OSError as exc:
        raise PlaceError(f"reading {source}: {exc}") from None
    with src:
        while True:
            try:
                n = src.readinto(buf)
            except OSError as exc:
                raise PlaceError(f"reading {source}: {exc}") from None
            if not n:
                break
            chunk = view[:n]
            h.update(chunk)
            for t, fh in list(temps.items()):
                if t in errors:
                    continue
                try:
                    fh.write(chunk)
                except OSError as exc:
                    errors[t] = f"writing the blob: {exc}"
    if h.hexdigest() != m["hex"]:
        raise PlaceError(f"the source's file for {digest} holds other content")


def _link_or_note(t: Target, digest: str, errors: dict[Target, str]) -> None:
    try:
        link = layer_link(t.root, t.repo, digest)
        if os.path.isfile(link):
            return
        os.makedirs(os.path.dirname(link), exist_ok=True)
        tmp = f"{link}.{uuid.uuid4().hex}.tmp"
        with open(tmp, "w", encoding="ascii") as fh:
            fh.write(digest)
        os.replace(tmp, link)
    except (OSError, PlaceError) as exc:
        errors[t] = f"linking the blob: {exc}"


def clear_stale(root: str, now: float | None = None) -> int:
    """Remove temporary files a crash left under `root`; returns how many."""
    tmp = os.path.join(root, TMP_DIR)
    cutoff = (time.time() if now is None else now) - STALE_SECONDS
    removed = 0
    with contextlib.suppress(FileNotFoundError):
        for entry in os.scandir(tmp):
            with contextlib.suppress(OSError):
                if entry.is_file() and entry.stat().st_mtime < cutoff:
                    os.unlink(entry.path)
                    removed += 1
    return removed
