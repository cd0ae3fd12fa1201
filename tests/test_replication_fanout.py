"""Fan-out replication end to end (issue 16), with the real binaries on loopback: one push
to the home region is copied to both replica regions at once, each blob read from the home
region's registry once (counted from its request log), or sent from its files, or copied
into the replica regions' storage with no upload through their registries; and a replica
region killed in the middle of a fan-out copy neither fails nor holds back the other region,
then catches up by its own task's retry, with no re-push. The bed (a ThreadedServer, a
registry homed in eastus with replicas in westus and westeurope) is the one of
test_replication_engine."""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from bedtools import hold_down, setting
from test_replication_engine import HOME, B, Bed, C, bed, image, pytestmark, wait_for

__all__ = ["bed", "pytestmark"]  # the module-scoped bed and the skip (no binaries)

REPO = "geoone1"


class Lines(logging.Handler):
    """Every log line of the data plane (the regions' registries' output among them)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@pytest.fixture
def region_log() -> Iterator[Lines]:
    logger = logging.getLogger("acrctl.dataplane")
    handler, level = Lines(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def blob_gets(lines: list[str], region: str, repo: str) -> list[str]:
    """The digests of the blob GETs a region's registry answered for a repository."""
    pattern = re.compile(
        rf"http\.request\.method=GET .*http\.request\.uri=\"?/v2/{re.escape(repo)}/blobs/"
        r"(sha256:[0-9a-f]{64})"
    )
    out = []
    for line in lines:
        if line.startswith(f"region {region}: ") and "response completed" in line:
            m = pattern.search(line)
            if m:
                out.append(m.group(1))
    return sorted(out)


def uploads(lines: list[str], region: str, repo: str) -> int:
    """How many blob uploads a region's registry started for a repository."""
    pattern = re.compile(
        rf"http\.request\.method=POST .*http\.request\.uri=\"?/v2/{re.escape(repo)}/blobs/uploads/"
    )
    return sum(
        1
        for line in lines
        if line.startswith(f"region {region}: ")
        and "response completed" in line
        and pattern.search(line)
    )


def tasks_to(bed: Bed, repo: str) -> dict[str, dict[str, Any]]:
    reg = bed.server.app.backend.registries.find(REPO)
    return {t["target"]: t for t in bed.engine.tasks.for_registry(reg) if t["repository"] == repo}


@pytest.fixture
def streamed(bed: Bed) -> Iterator[None]:
    """Blobs read through the source region's registry, not from its files."""
    with setting(bed.server.app.backend.settings, "replication_local_source", False):
        yield


def test_each_blob_is_read_from_the_source_once_for_both_regions(
    bed: Bed, region_log: Lines, streamed: None
) -> None:
    img = image(bed, "fan", layers=4, seed=111)
    bed.push(img, f"{REPO}/fan:v1")
    for region in (B, C):
        assert wait_for(
            lambda r=region: bed.digest_in(r, f"{REPO}/fan", "v1") == img.manifest  # type: ignore[misc]
        ), tasks_to(bed, "fan")
    blobs = sorted(d for d in img.blobs if d != img.manifest)
    assert len(blobs) == 5  # four layers and the config
    assert blob_gets(region_log.lines, HOME, f"{REPO}/fan") == blobs


@pytest.fixture
def uploaded(bed: Bed) -> Iterator[None]:
    """Blobs uploaded through the target regions' registries, not placed in their storage."""
    with setting(bed.server.app.backend.settings, "replication_storage_copy", False):
        yield


def test_blobs_go_from_the_source_regions_files_to_both_regions(
    bed: Bed, region_log: Lines, uploaded: None
) -> None:
    before = {r: bed.engine.stats.get(r).blobs_copied for r in (B, C)}
    img = image(bed, "files", layers=4, seed=112)
    bed.push(img, f"{REPO}/files:v1")
    for region in (B, C):
        assert wait_for(
            lambda r=region: bed.digest_in(r, f"{REPO}/files", "v1") == img.manifest  # type: ignore[misc]
        ), tasks_to(bed, "files")
    assert blob_gets(region_log.lines, HOME, f"{REPO}/files") == []  # no source registry read
    assert {r: bed.engine.stats.get(r).blobs_copied - before[r] for r in (B, C)} == {B: 5, C: 5}
    assert {r: uploads(region_log.lines, r, f"{REPO}/files") for r in (B, C)} == {B: 5, C: 5}


def test_blobs_are_copied_into_both_regions_storage(bed: Bed, region_log: Lines) -> None:
    before = {r: bed.engine.stats.get(r).blobs_copied for r in (B, C)}
    img = image(bed, "stored", layers=4, seed=113)
    bed.push(img, f"{REPO}/stored:v1")
    for region in (B, C):
        assert wait_for(
            lambda r=region: bed.digest_in(r, f"{REPO}/stored", "v1") == img.manifest  # type: ignore[misc]
        ), tasks_to(bed, "stored")
    assert blob_gets(region_log.lines, HOME, f"{REPO}/stored") == []
    assert {r: uploads(region_log.lines, r, f"{REPO}/stored") for r in (B, C)} == {B: 0, C: 0}
    assert {r: bed.engine.stats.get(r).blobs_copied - before[r] for r in (B, C)} == {B: 5, C: 5}
    for region in (B, C):  # each region's registry serves every blob from what was placed
        for digest, data in img.blobs.items():
            if digest != img.manifest:
                assert bed.blob_in(region, f"{REPO}/stored", digest) == data
        assert os.listdir(os.path.join(bed.plane.data_root(region), ".acrctl-tmp")) == []


def test_a_region_killed_mid_copy_holds_back_only_itself(bed: Bed) -> None:
    region = bed.plane.supervisor.region(C)
    stats, inner = bed.engine.stats, bed.engine.stats.on_add
    killed: list[float] = []
    once = threading.Lock()  # B's blobs land from several threads at once

    def kill_c_after_bs_first_blob(target: str, delta: dict[str, int]) -> None:
        if inner is not None:
            inner(target, delta)
        if target != B or not delta.get("blobs_copied"):
            return
        with once:
            if killed:
                return
            hold_down(region, wait_for)  # until the test releases it
            killed.append(time.monotonic())

    img = image(bed, "midway", layers=6, layer_bytes=512 * 1024, seed=121)
    stats.on_add = kill_c_after_bs_first_blob
    try:
        bed.push(img, f"{REPO}/midway:v1")
        assert wait_for(lambda: tasks_to(bed, "midway").get(B, {}).get("state") == "done"), (
            tasks_to(bed, "midway")
        )
        assert killed  # C died during the copy
        assert bed.digest_in(B, f"{REPO}/midway", "v1") == img.manifest
        assert wait_for(lambda: bool(tasks_to(bed, "midway")[C].get("lastError")))
        assert tasks_to(bed, "midway")[C]["state"] in ("retrying", "running")
        held = bed.engine.stats.get(C).manifests_put
    finally:
        stats.on_add = inner
        region.next_start = time.monotonic()  # C restarts now
    assert wait_for(lambda: bed.digest_in(C, f"{REPO}/midway", "v1") == img.manifest), tasks_to(
        bed, "midway"
    )
    assert wait_for(lambda: tasks_to(bed, "midway")[C]["state"] == "done")
    tasks = bed.engine.tasks.for_registry(bed.server.app.backend.registries.find(REPO))
    assert sorted(t["target"] for t in tasks if t["repository"] == "midway") == [C, B]
    assert tasks_to(bed, "midway")[C]["tries"] >= 2  # the same task, retried after a failure
    assert bed.engine.stats.get(C).manifests_put == held + 1


def test_a_region_whose_storage_refuses_the_blob_holds_back_only_itself(bed: Bed) -> None:
    blocker = os.path.join(bed.plane.data_root(C), ".acrctl-tmp")
    if os.path.isdir(blocker):
        os.rmdir(blocker)  # left empty by the copies before
    with open(blocker, "w") as fh:  # a file where the temporary directory goes
        fh.write("x")
    img = image(bed, "refused", layers=2, seed=131)
    try:
        bed.push(img, f"{REPO}/refused:v1")
        assert wait_for(lambda: bed.digest_in(B, f"{REPO}/refused", "v1") == img.manifest)
        assert wait_for(
            lambda: "PlaceError" in (tasks_to(bed, "refused")[C].get("lastError") or "")
        )
        assert bed.digest_in(C, f"{REPO}/refused", "v1") is None
    finally:
        os.unlink(blocker)
    assert wait_for(lambda: bed.digest_in(C, f"{REPO}/refused", "v1") == img.manifest), tasks_to(
        bed, "refused"
    )
