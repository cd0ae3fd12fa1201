"""Issue 17's "done when", on the geo test bed (tests/geobed.py): regions eastus (home),
westus and westeurope are network namespaces with their own registry and catalog-distance
latency between them (18, 31 and 44 ms one way); a client-only place in centralus sits
between eastus (6 ms) and westus (12 ms). Clients are skopeo run inside a namespace; which
region served a request is read from that region's registry access log. Needs root."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import geobed
import httpx
import oci_image
import pytest

from acrctl.backend.core import Settings
from acrctl.dataplane.copier import ACCEPT

REASON = geobed.skip_reason()
pytestmark = [pytest.mark.geobed, pytest.mark.skipif(REASON is not None, reason=REASON or "")]

HOME, WEST, EU, BETWEEN = "eastus", "westus", "westeurope", "between"
REG = "georeg1"
WAIT = 30.0
BOUND = 5.0  # health interval 0.2 s + probe timeout 0.5 s, with room for a loaded machine
ARM = "api-version=2025-11-01"
ADMIN_API = "api-version=2022-04-01"


@pytest.fixture(scope="module")
def bed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[geobed.GeoBed]:
    s = Settings()
    s.dataplane_reconcile_seconds = 0.2
    s.dataplane_health_interval_seconds = 0.2
    s.dataplane_health_timeout_seconds = 0.5
    s.replication_reconcile_seconds = 3600.0  # tests run passes themselves
    s.replication_poll_seconds = 0.1
    s.replication_backoff_seconds = 0.2
    s.replication_backoff_max_seconds = 1.0
    s.replication_max_attempts = 3
    s.replication_timeout = 10.0
    tmp = tmp_path_factory.mktemp("geobed")
    b = geobed.GeoBed(tmp, [HOME, WEST, EU], clients={BETWEEN: "centralus"}, settings=s)
    b.start()
    try:
        b.create_registry(REG, HOME, [WEST, EU])
        b.hosts(REG)
        yield b
    finally:
        b.stop()
    assert not [ns for ns in geobed.namespaces() if ns.startswith(f"acrgeo-{_pid()}-")]


def _pid() -> int:
    import os

    return os.getpid()


def wait_for(
    check: Callable[[], bool], timeout: float = WAIT, step: Callable[[], None] | None = None
) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if step is not None:
            step()
        if check():
            return True
        time.sleep(0.1)
    return check()


def digest_in(bed: geobed.GeoBed, region: str, repo: str, ref: str) -> str | None:
    token = bed.plane.engine.sign(
        [{"type": "repository", "name": f"{REG}/{repo}", "actions": ["pull"]}]
    )
    try:
        r = httpx.head(
            f"http://{bed.site(region).inner}:{geobed.REGISTRY_PORT}/v2/{REG}/{repo}/manifests/{ref}",
            headers={"Authorization": f"Bearer {token}", "Accept": ACCEPT},
            timeout=2,
        )
    except httpx.HTTPError:
        return None
    return r.headers.get("docker-content-digest") if r.status_code == 200 else None


def skopeo_lines(bed: geobed.GeoBed, region: str, pattern: str) -> list[str]:
    """Access-log lines of the region's registry made by skopeo (through the front)."""
    rx = re.compile(pattern)
    return [
        line
        for line in bed.log(region).splitlines()
        if '"skopeo/' in line and "HTTP/1.1" in line and rx.search(line)
    ]


def push(bed: geobed.GeoBed, site: str, repo: str, tag: str, seed: int) -> oci_image.Image:
    img = oci_image.build(str(bed.tmp / f"img-{repo}-{tag}"), layers=2, seed=seed)
    done = bed.skopeo_push(site, img.ref, f"{REG}.{bed.front}/{repo}:{tag}")
    assert done.returncode == 0, done.stderr
    return img


def pull(bed: geobed.GeoBed, site: str, repo: str, tag: str, host: str | None = None) -> str:
    """Pull into a fresh dir; the region whose log gained this pull's manifest GET."""
    before = {r.label: len(_gets(bed, r.label, repo, tag)) for r in bed.regions}
    out = bed.tmp / f"pull-{site}-{repo}-{tag}-{time.monotonic_ns()}"
    done = bed.skopeo_pull(site, f"{host or REG + '.' + bed.front}/{repo}:{tag}", f"dir:{out}")
    assert done.returncode == 0, done.stderr
    served = [r.label for r in bed.regions if len(_gets(bed, r.label, repo, tag)) > before[r.label]]
    assert len(served) == 1, served
    return served[0]


def _gets(bed: geobed.GeoBed, region: str, repo: str, tag: str) -> list[str]:
    return skopeo_lines(bed, region, rf'"GET /v2/{REG}/{repo}/manifests/{tag} HTTP/1.1" 200')


def routed(bed: geobed.GeoBed, region: str, on: bool) -> None:
    with bed.arm() as arm:
        r = arm.patch(
            f"{bed.registry_id(REG)}/replications/{region}?{ARM}",
            json={"properties": {"regionEndpointEnabled": on}},
        )
    assert r.status_code in (200, 201, 202), r.text


@pytest.fixture(scope="module")
def base(bed: geobed.GeoBed) -> str:
    img = push(bed, HOME, "base", "v1", 1)
    assert wait_for(
        lambda: all(digest_in(bed, r, "base", "v1") == img.manifest for r in (HOME, WEST, EU))
    )
    return img.manifest


def test_each_client_pulls_from_its_own_region(bed: geobed.GeoBed, base: str) -> None:
    assert [pull(bed, site, "base", "v1") for site in (WEST, HOME, EU)] == [WEST, HOME, EU]


def test_a_regional_endpoint_serves_from_its_region(bed: geobed.GeoBed, base: str) -> None:
    host = f"{REG}.{EU}.geo.{bed.front}"
    assert pull(bed, WEST, "base", "v1", host=host) == EU


def test_out_of_routing_the_next_nearest_serves_and_it_still_gets_pushes(
    bed: geobed.GeoBed, base: str
) -> None:
    routed(bed, WEST, False)
    try:
        assert pull(bed, WEST, "base", "v1") == HOME  # eastus is nearer westus than europe
        img = push(bed, EU, "unrouted", "v1", 2)
        assert wait_for(lambda: digest_in(bed, WEST, "unrouted", "v1") == img.manifest)
    finally:
        routed(bed, WEST, True)
    assert pull(bed, WEST, "base", "v1") == WEST


def test_a_killed_registry_is_skipped_within_the_bound_and_taken_back(
    bed: geobed.GeoBed, base: str
) -> None:
    bed.kill_registry(WEST)
    try:
        assert wait_for(lambda: not bed.plane.geo.health.up(WEST), timeout=BOUND)
        assert pull(bed, WEST, "base", "v1") == HOME
    finally:
        bed.start_registry(WEST)
    assert wait_for(lambda: bed.plane.geo.health.up(WEST), timeout=BOUND)
    assert pull(bed, WEST, "base", "v1") == WEST


def test_a_push_from_between_two_regions_never_splits(bed: geobed.GeoBed, base: str) -> None:
    """Routing for the centralus client flips between eastus and westus every 50 ms while it
    pushes; every push must land wholly in one region."""
    stop = threading.Event()
    flips = [0]

    def flip() -> None:
        on = False
        while not stop.is_set():
            routed(bed, HOME, on)
            flips[0] += 1
            on = not on
            stop.wait(0.05)

    flipper = threading.Thread(target=flip, daemon=True)
    flipper.start()
    landed = []
    try:
        for i in range(8):
            push(bed, BETWEEN, f"nosplit{i}", "v1", 100 + i)
            writes = {
                r.label: skopeo_lines(
                    bed,
                    r.label,
                    rf'"(POST|PATCH|PUT) /v2/{REG}/nosplit{i}/(blobs/uploads|manifests)',
                )
                for r in bed.regions
            }
            where = [region for region, lines in writes.items() if lines]
            assert len(where) == 1, (i, {k: len(v) for k, v in writes.items()})
            landed.append(where[0])
    finally:
        stop.set()
        flipper.join(10)
        routed(bed, HOME, True)
    assert flips[0] > 8
    assert set(landed) <= {HOME, WEST}


def test_a_pull_right_after_a_push_elsewhere_never_misses(bed: geobed.GeoBed, base: str) -> None:
    for i in range(5):
        push(bed, EU, "ryw", f"v{i}", 200 + i)
        served = pull(bed, WEST, "ryw", f"v{i}")
        assert served in (EU, WEST)


def test_home_region_down_push_and_pull_go_on_and_home_converges(
    bed: geobed.GeoBed, base: str
) -> None:
    path = f"/subscriptions/{bed.server.subscription}/providers/Acrctl.Admin/drills/home-down"  # type: ignore[union-attr]
    with bed.arm() as arm:
        r = arm.put(
            f"{path}?{ADMIN_API}", json={"properties": {"kind": "RegionOutage", "region": HOME}}
        )
        assert r.status_code in (200, 201), r.text
    bed.kill_registry(HOME)
    try:
        assert wait_for(lambda: not bed.plane.geo.health.up(HOME), timeout=BOUND)
        img = push(bed, HOME, "outage", "v1", 300)
        assert skopeo_lines(bed, WEST, rf'"PUT /v2/{REG}/outage/manifests/v1 HTTP/1.1" 201')
        assert pull(bed, HOME, "outage", "v1") in (WEST, EU)
        with bed.arm() as arm:
            r = arm.patch(f"{bed.registry_id(REG)}?{ARM}", json={"tags": {"a": "b"}})
        assert r.status_code == 503
        assert r.json()["error"]["code"] == "RegionUnavailable"
        assert wait_for(lambda: digest_in(bed, EU, "outage", "v1") == img.manifest)
    finally:
        bed.start_registry(HOME)
        with bed.arm() as arm:
            arm.delete(f"{path}?{ADMIN_API}")
    assert wait_for(
        lambda: digest_in(bed, HOME, "outage", "v1") == img.manifest,
        step=bed.plane.engine.reconcile,
    )
    # the next test pushes to the home region: the front must route to it again (the
    # engine reaches it before the health probe has seen it back)
    assert wait_for(lambda: bed.plane.geo.health.up(HOME), timeout=BOUND)
    with bed.arm() as arm:
        assert (
            arm.patch(f"{bed.registry_id(REG)}?{ARM}", json={"tags": {"a": "b"}}).status_code == 200
        )


def test_a_partitioned_region_catches_up_after_the_partition_heals(
    bed: geobed.GeoBed, base: str
) -> None:
    bed.partition(HOME, EU)
    try:
        img = push(bed, HOME, "split", "v1", 400)
        # pushed to the home region (else the copy to EU would not cross the partition)
        assert skopeo_lines(bed, HOME, rf'"PUT /v2/{REG}/split/manifests/v1 HTTP/1.1" 201')
        assert wait_for(lambda: digest_in(bed, WEST, "split", "v1") == img.manifest)
        reg = bed.server.app.backend.registries.find(REG)  # type: ignore[union-attr]
        assert wait_for(
            lambda: any(
                t["target"] == EU and t.get("lastError")
                for t in bed.plane.engine.tasks.for_registry(reg)
                if t["repository"] == "split"
            )
        )
        assert digest_in(bed, EU, "split", "v1") is None
    finally:
        bed.heal(HOME, EU)
    assert wait_for(
        lambda: digest_in(bed, EU, "split", "v1") == img.manifest,
        step=bed.plane.engine.reconcile,
    )


def test_the_bed_leaves_no_namespace_behind_a_dead_run(tmp_path: Path) -> None:
    """A namespace named for a process that is gone is swept."""
    ns = "acrgeo-999999-1"  # pids here stop at 32768 (or 4194304): never alive
    geobed._sh("ip", "netns", "add", ns)
    assert ns in geobed.namespaces()
    assert ns in geobed.sweep()
    assert ns not in geobed.namespaces()
