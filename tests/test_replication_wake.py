"""Replication held back by a region that is down runs as soon as the region answers again
(issue 16's park queue woken when a region recovers), with the real binaries on loopback:
the health probe sees the region come back and the engine queues its failed tasks again
and makes the ones waiting for a retry's backoff due now, not at the next reconcile pass
(an hour away in this bed). The bed is the one of test_replication_engine."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from bedtools import hold_down, setting
from test_replication_engine import HOME, B, Bed, C, bed, image, pytestmark, wait_for

__all__ = ["bed", "pytestmark"]  # the module-scoped bed and the skip (no binaries)

REPO = "geoone1"
BACK = 10.0  # seconds for the region to restart, be probed healthy and be copied to


def tasks_to(bed: Bed, repo: str, target: str) -> list[dict[str, Any]]:
    reg = bed.server.app.backend.registries.find(REPO)
    tasks = bed.engine.tasks.for_registry(reg)
    return [t for t in tasks if t["repository"] == repo and t["target"] == target]


@pytest.fixture
def c_down(bed: Bed) -> Iterator[None]:
    """Region C's registry killed and held down (the probe sees it down) until the test
    lets it restart; restarted at the end whatever happens."""
    region = bed.plane.supervisor.region(C)
    hold_down(region, wait_for)
    assert wait_for(lambda: not bed.plane.geo.health.up(C), timeout=10)
    try:
        yield
    finally:
        region.next_start = time.monotonic()


def let_c_restart(bed: Bed) -> None:
    bed.plane.supervisor.region(C).next_start = time.monotonic()


@pytest.fixture
def few_attempts(bed: Bed) -> Iterator[None]:
    """Tasks fail after two attempts."""
    with setting(bed.server.app.backend.settings, "replication_max_attempts", 2):
        yield


@pytest.fixture
def long_backoff(bed: Bed) -> Iterator[None]:
    """A task's first retry is 5-10 minutes away."""
    with setting(bed.server.app.backend.settings, "replication_backoff_seconds", 600.0):
        yield


def test_a_failed_task_runs_again_when_its_region_answers_again(
    bed: Bed, few_attempts: None, c_down: None
) -> None:
    img = image(bed, "wake-failed", layers=2, seed=141)
    bed.push(img, f"{REPO}/wakefail:v1")
    assert wait_for(lambda: bed.digest_in(B, f"{REPO}/wakefail", "v1") == img.manifest)
    assert wait_for(lambda: [t["state"] for t in tasks_to(bed, "wakefail", C)] == ["failed"])
    let_c_restart(bed)
    assert wait_for(
        lambda: bed.digest_in(C, f"{REPO}/wakefail", "v1") == img.manifest, timeout=BACK
    ), tasks_to(bed, "wakefail", C)
    states = sorted(t["state"] for t in tasks_to(bed, "wakefail", C))
    assert states == ["done", "failed"]  # a new task; the failed one kept for the record
    assert bed.digest_in(HOME, f"{REPO}/wakefail", "v1") == img.manifest


def test_a_task_waiting_for_its_backoff_runs_when_its_region_answers_again(
    bed: Bed, long_backoff: None, c_down: None
) -> None:
    img = image(bed, "wake-retry", layers=2, seed=142)
    bed.push(img, f"{REPO}/wakeretry:v1")
    assert wait_for(lambda: [t["state"] for t in tasks_to(bed, "wakeretry", C)] == ["retrying"])
    let_c_restart(bed)
    assert wait_for(
        lambda: bed.digest_in(C, f"{REPO}/wakeretry", "v1") == img.manifest, timeout=BACK
    ), tasks_to(bed, "wakeretry", C)
    [task] = tasks_to(bed, "wakeretry", C)
    assert (task["state"], task["tries"]) == ("done", 2)
