"""The replication engine end to end, with the real binaries on loopback: a ThreadedServer
with its data plane, a Premium registry homed in eastus with replicas in westus and
westeurope; skopeo pushes through the front, the regions' registries are read directly with
an engine token. The periodic reconcile is off here (a long interval): the tests that need
it run a pass themselves, so the engine's counters stay exact."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import oci_image
import pytest
from planebed import started

from acrctl.backend.core import Settings
from acrctl.dataplane.copier import ACCEPT, ENGINE_SUB
from acrctl.server.serve import ThreadedServer

pytestmark = pytest.mark.skipif(
    shutil.which("docker-registry") is None or shutil.which("skopeo") is None,
    reason="needs docker-registry and skopeo (apt-get install docker-registry skopeo)",
)

ADMIN = "acr_replication_admin_token_7c1d"
ARM = "api-version=2025-11-01"
HOME, B, C = "eastus", "westus", "westeurope"
WAIT = 30.0  # generous bound for one convergence on a loaded machine


@dataclass
class Bed:
    server: ThreadedServer
    arm: httpx.Client
    creds: tuple[str, str]
    tmp: Path

    @property
    def plane(self) -> Any:
        return self.server.dataplane

    @property
    def engine(self) -> Any:
        return self.plane.engine

    def reg_id(self, name: str) -> str:
        return (
            f"/subscriptions/{self.server.subscription}/resourceGroups/rg1/providers/"
            f"Microsoft.ContainerRegistry/registries/{name}"
        )

    def replicate(self, registry: str, location: str) -> None:
        r = self.arm.put(
            f"{self.reg_id(registry)}/replications/{location}?{ARM}", json={"location": location}
        )
        assert r.status_code in (200, 201), r.text

    def replica_status(self, registry: str, location: str) -> str:
        r = self.arm.get(f"{self.reg_id(registry)}/replications/{location}?{ARM}")
        assert r.status_code == 200, r.text
        return str(r.json()["properties"]["status"]["displayStatus"])

    def push(self, image: oci_image.Image, ref: str) -> None:
        done = subprocess.run(
            [
                "skopeo",
                "copy",
                "-q",
                "--dest-tls-verify=false",
                f"--dest-creds={self.creds[0]}:{self.creds[1]}",
                image.ref,
                f"docker://127.0.0.1:{self.plane.port}/{ref}",
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr

    def region_url(self, region: str) -> str:
        return str(self.plane.supervisor.ensure(region).url)

    def digest_in(self, region: str, repo: str, ref: str) -> str | None:
        """The manifest digest a region's registry holds for repo:ref (None: absent)."""
        token = self.engine.sign([{"type": "repository", "name": repo, "actions": ["pull"]}])
        try:
            r = httpx.head(
                f"{self.region_url(region)}/v2/{repo}/manifests/{ref}",
                headers={"Authorization": f"Bearer {token}", "Accept": ACCEPT},
                timeout=5,
            )
        except httpx.HTTPError:
            return None
        return r.headers.get("docker-content-digest") if r.status_code == 200 else None

    def blob_in(self, region: str, repo: str, digest: str) -> bytes | None:
        """A blob as a region's registry serves it (None: absent)."""
        token = self.engine.sign([{"type": "repository", "name": repo, "actions": ["pull"]}])
        r = httpx.get(
            f"{self.region_url(region)}/v2/{repo}/blobs/{digest}",
            headers={"Authorization": f"Bearer {token}"},
            timeout=5,
        )
        return r.content if r.status_code == 200 else None


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


@pytest.fixture(scope="module")
def bed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bed]:
    tmp = tmp_path_factory.mktemp("replication")
    settings = Settings()
    settings.dataplane_storage = str(tmp / "storage")
    settings.dataplane_reconcile_seconds = 0.2
    settings.dataplane_restart_max_seconds = 1.0
    settings.replication_reconcile_seconds = 3600.0
    settings.replication_poll_seconds = 0.1
    settings.replication_backoff_seconds = 0.2
    settings.replication_backoff_max_seconds = 1.0
    settings.replication_max_attempts = 30
    with started(settings, ADMIN, HOME) as st:
        bed = Bed(st.server, st.arm, st.creds, tmp)
        r = bed.arm.put(
            f"{bed.reg_id('geoone1')}?{ARM}", json={"location": HOME, "sku": {"name": "Premium"}}
        )
        assert r.status_code in (200, 201), r.text
        bed.replicate("geoone1", B)
        bed.replicate("geoone1", C)
        assert wait_for(
            lambda: bed.replica_status("geoone1", C) == "Ready", step=bed.engine.reconcile
        )
        yield bed


def tasks_of(bed: Bed, repo: str) -> list[tuple[Any, ...]]:
    """The engine's tasks of a repository (for failure messages)."""
    reg = bed.server.app.backend.registries.find("geoone1")
    return [
        (t["target"], t["reference"], t["state"], t["tries"], t.get("lastError"), t.get("note"))
        for t in bed.engine.tasks.for_registry(reg)
        if t["repository"] == repo
    ]


def image(bed: Bed, name: str, **kw: Any) -> oci_image.Image:
    return oci_image.build(str(bed.tmp / name), **kw)


def test_push_through_the_front_reaches_every_replica(bed: Bed) -> None:
    img = image(bed, "one", layers=4, seed=11)
    bed.push(img, "geoone1/web/app:v1")
    assert bed.digest_in(HOME, "geoone1/web/app", "v1") == img.manifest
    for region in (B, C):
        assert wait_for(
            lambda r=region: (
                bed.digest_in(r, "geoone1/web/app", "v1")  # type: ignore[misc]
                == img.manifest
            )
        ), region


def test_shared_layers_move_once(bed: Bed) -> None:
    first = image(bed, "nine", layers=9, seed=21)
    bed.push(first, "geoone1/shared:v1")
    assert wait_for(lambda: bed.digest_in(B, "geoone1/shared", "v1") == first.manifest), tasks_of(
        bed, "shared"
    )
    before = bed.engine.stats.get(B)
    second = image(bed, "ten", layers=10, seed=21)  # the same 9 layers and one more
    assert len(set(second.blobs) & set(first.blobs)) == 9
    bed.push(second, "geoone1/shared:v2")
    assert wait_for(lambda: bed.digest_in(B, "geoone1/shared", "v2") == second.manifest)
    after = bed.engine.stats.get(B)
    assert after.blobs_copied - before.blobs_copied == 2  # the new layer and the config
    assert after.blobs_skipped - before.blobs_skipped == 9
    assert after.manifests_put - before.manifests_put == 1
    assert after.bytes_copied - before.bytes_copied == sum(
        len(v) for d, v in second.blobs.items() if d not in first.blobs
    )


def test_engine_writes_do_not_replicate_back(bed: Bed) -> None:
    img = image(bed, "loop", layers=2, seed=31)
    bed.push(img, "geoone1/loop:v1")
    assert wait_for(lambda: bed.digest_in(C, "geoone1/loop", "v1") == img.manifest)
    time.sleep(1.0)  # the regions' notifications of the engine's writes arrive meanwhile
    tasks = [
        t
        for t in bed.engine.tasks.for_registry(bed.server.app.backend.registries.find("geoone1"))
        if t["repository"] == "loop"
    ]
    assert sorted(t["target"] for t in tasks) == [C, B]
    assert {t["source"] for t in tasks} == {HOME}


def test_delete_replicates(bed: Bed) -> None:
    img = image(bed, "del", layers=2, seed=41)
    bed.push(img, "geoone1/gone:v1")
    assert wait_for(lambda: bed.digest_in(B, "geoone1/gone", "v1") == img.manifest)
    assert wait_for(lambda: bed.digest_in(C, "geoone1/gone", "v1") == img.manifest)
    token = bed.plane.keys.sign(
        {
            "iss": bed.plane.issuer,
            "sub": "some-user",
            "aud": bed.plane.service,
            "iat": int(time.time()),
            "nbf": int(time.time()) - 5,
            "exp": int(time.time()) + 60,
            "access": [{"type": "repository", "name": "geoone1/gone", "actions": ["delete"]}],
        }
    )
    r = httpx.delete(
        f"{bed.region_url(HOME)}/v2/geoone1/gone/manifests/{img.manifest}",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert r.status_code == 202, r.text
    for region in (B, C):
        assert wait_for(
            lambda r=region: (
                bed.digest_in(
                    r,
                    "geoone1/gone",  # type: ignore[misc]
                    img.manifest,
                )
                is None
            )
        ), region


def test_killed_region_converges_without_a_re_push(bed: Bed) -> None:
    region = bed.plane.supervisor.region(C)
    proc = region.process
    assert proc is not None
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(5)
    reg = bed.server.app.backend.registries.find("geoone1")

    def to_c() -> list[dict[str, Any]]:
        return [
            t
            for t in bed.engine.tasks.for_registry(reg)
            if t["repository"] == "survivor" and t["target"] == C
        ]

    try:
        # hold C down (the supervisor would restart it within a second) until the engine
        # has failed to reach it at least once
        assert wait_for(lambda: region.next_start != 0.0, timeout=10)
        region.next_start = time.monotonic() + 3600
        img = image(bed, "kill", layers=3, seed=51)
        bed.push(img, "geoone1/survivor:v1")
        assert wait_for(lambda: bed.digest_in(B, "geoone1/survivor", "v1") == img.manifest)
        assert wait_for(lambda: any(t.get("lastError") for t in to_c())), to_c()
    finally:
        region.next_start = time.monotonic()  # C restarts now
    assert wait_for(
        lambda: bed.digest_in(C, "geoone1/survivor", "v1") == img.manifest,
        step=bed.engine.reconcile,
    ), to_c()


def test_new_replica_syncs_then_reads_ready(bed: Bed) -> None:
    img = image(bed, "back", layers=2, seed=61)
    r = bed.arm.put(
        f"{bed.reg_id('lateone1')}?{ARM}", json={"location": HOME, "sku": {"name": "Premium"}}
    )
    assert r.status_code in (200, 201), r.text
    bed.push(img, "lateone1/old:v1")
    bed.replicate("lateone1", B)
    assert bed.replica_status("lateone1", B) == "Syncing"
    assert wait_for(lambda: bed.replica_status("lateone1", B) == "Ready", step=bed.engine.reconcile)
    assert bed.digest_in(B, "lateone1/old", "v1") == img.manifest


def build_index(bed: Bed, name: str) -> tuple[str, list[str], str]:
    """An OCI layout whose tag names an index of two images: (index digest, children, ref)."""
    import hashlib
    import json

    root = bed.tmp / name
    kids = [oci_image.build(str(root), layers=2, seed=seed) for seed in (71, 72)]
    index = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [
                {
                    "mediaType": oci_image.MANIFEST,
                    "digest": k.manifest,
                    "size": len(k.manifest_bytes),
                    "platform": {"architecture": arch, "os": "linux"},
                }
                for k, arch in zip(kids, ("amd64", "arm64"), strict=True)
            ],
        },
        separators=(",", ":"),
    ).encode()
    digest = "sha256:" + hashlib.sha256(index).hexdigest()
    (root / "blobs" / "sha256" / digest[7:]).write_bytes(index)
    (root / "index.json").write_text(
        json.dumps(
            {
                "schemaVersion": 2,
                "manifests": [
                    {
                        "mediaType": "application/vnd.oci.image.index.v1+json",
                        "digest": digest,
                        "size": len(index),
                        "annotations": {"org.opencontainers.image.ref.name": "multi"},
                    }
                ],
            }
        )
    )
    return digest, [k.manifest for k in kids], f"oci:{root}:multi"


def test_an_index_arrives_with_its_children(bed: Bed) -> None:
    digest, kids, ref = build_index(bed, "multi")
    done = subprocess.run(
        [
            "skopeo",
            "copy",
            "-q",
            "--all",
            "--dest-tls-verify=false",
            f"--dest-creds={bed.creds[0]}:{bed.creds[1]}",
            ref,
            f"docker://127.0.0.1:{bed.plane.port}/geoone1/multi:v1",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert wait_for(lambda: bed.digest_in(B, "geoone1/multi", "v1") == digest)
    assert [bed.digest_in(B, "geoone1/multi", k) for k in kids] == kids
    # a direct copy into a region without the children puts them before the index
    token = bed.engine.sign(
        [{"type": "repository", "name": "geoone1/multi", "actions": ["delete"]}]
    )
    for d in (digest, *kids):
        r = httpx.delete(
            f"{bed.region_url(B)}/v2/geoone1/multi/manifests/{d}",
            headers={"Authorization": f"Bearer {token}"},
        )
        assert r.status_code == 202, r.text
    assert bed.digest_in(B, "geoone1/multi", kids[0]) is None
    assert bed.engine.copier("geoone1", "multi", HOME, B).copy("v1") == digest
    assert [bed.digest_in(B, "geoone1/multi", d) for d in (digest, *kids)] == [digest, *kids]


def test_status_route_shows_the_image_in_every_region(bed: Bed) -> None:
    img = image(bed, "stat", layers=2, seed=81)
    bed.push(img, "geoone1/stat:v1")
    assert wait_for(
        lambda: all(bed.digest_in(r, "geoone1/stat", "v1") == img.manifest for r in (B, C))
    )

    def rows() -> dict[str, Any]:
        r = bed.arm.get(
            f"{bed.reg_id('geoone1')}/replicationStatus",
            params={"api-version": "2025-11-01", "image": "stat:v1"},
        )
        assert r.status_code == 200, r.text
        return {row["region"]: (row["state"], row["digest"]) for row in r.json()["value"]}

    assert wait_for(
        lambda: (
            rows()
            == {
                HOME: ("present", img.manifest),
                B: ("present", img.manifest),
                C: ("present", img.manifest),
            }
        )
    ), rows()


def test_blobs_of_another_repository_are_mounted_not_copied(bed: Bed) -> None:
    img = image(bed, "mount", layers=2, seed=91)
    bed.push(img, "geoone1/m1:v1")
    assert wait_for(lambda: bed.digest_in(B, "geoone1/m1", "v1") == img.manifest)
    before = bed.engine.stats.get(B)
    bed.push(img, "geoone1/m2:v1")
    assert wait_for(lambda: bed.digest_in(B, "geoone1/m2", "v1") == img.manifest)
    after = bed.engine.stats.get(B)
    assert after.blobs_mounted - before.blobs_mounted == 3  # two layers and the config
    assert after.blobs_copied - before.blobs_copied == 0
    assert after.bytes_copied - before.bytes_copied == 0


def test_the_mount_index_outlives_the_engines_memory(bed: Bed) -> None:
    img = image(bed, "remount", layers=2, seed=92)
    bed.push(img, "geoone1/r1:v1")
    assert wait_for(lambda: bed.digest_in(B, "geoone1/r1", "v1") == img.manifest)
    bed.engine._mounts.clear()  # what a restart (or another instance) starts with
    before = bed.engine.stats.get(B)
    bed.push(img, "geoone1/r2:v1")
    assert wait_for(lambda: bed.digest_in(B, "geoone1/r2", "v1") == img.manifest)
    after = bed.engine.stats.get(B)
    assert after.blobs_mounted - before.blobs_mounted == 3  # read back from the store
    assert after.blobs_copied - before.blobs_copied == 0


def test_a_regional_webhook_fires_when_the_image_reaches_its_region(bed: Bed) -> None:
    b = bed.server.app.backend
    for name, location in (("hookhome", HOME), ("hookwest", B)):
        r = bed.arm.put(
            f"{bed.reg_id('geoone1')}/webhooks/{name}?{ARM}",
            json={
                "location": location,
                "properties": {
                    "serviceUri": "http://127.0.0.1:9/hook",
                    "actions": ["push"],
                    "scope": "hooked:*",
                },
            },
        )
        assert r.status_code in (200, 201), r.text
    img = image(bed, "hooked", layers=2, seed=101)
    bed.push(img, "geoone1/hooked:v1")

    def pushed(hook: str) -> list[Any]:
        events, _ = b.webhooks.list_events(bed.server.subscription, "rg1", "geoone1", hook)
        return [
            e
            for e in events
            if (e.get("eventRequestMessage") or {}).get("content", {}).get("target", {}).get("tag")
            == "v1"
        ]

    assert wait_for(lambda: bool(pushed("hookwest")))
    assert bed.digest_in(B, "geoone1/hooked", "v1") == img.manifest
    assert len(pushed("hookhome")) == 1


def push_direct(bed: Bed, img: oci_image.Image, region: str, repo: str) -> None:
    """Put an image straight into one region's registry with the engine's token: no task, no
    tag head (the loop guard), as a region restored from an old backup would hold it."""
    token = bed.engine.sign([{"type": "repository", "name": repo, "actions": ["pull", "push"]}])
    done = subprocess.run(
        [
            "skopeo",
            "copy",
            "-q",
            "--dest-tls-verify=false",
            "--dest-registry-token",
            token,
            img.ref,
            f"docker://127.0.0.1:{bed.plane.supervisor.ensure(region).port}/{repo}:v1",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert bed.digest_in(region, repo, "v1") == img.manifest


def delete_in_home(bed: Bed, repo: str, digest: str, sub: str = "some-user") -> None:
    now = int(time.time())
    token = bed.plane.keys.sign(
        {
            "iss": bed.plane.issuer,
            "sub": sub,
            "aud": bed.plane.service,
            "iat": now,
            "nbf": now - 5,
            "exp": now + 60,
            "access": [{"type": "repository", "name": repo, "actions": ["delete"]}],
        }
    )
    r = httpx.delete(
        f"{bed.region_url(HOME)}/v2/{repo}/manifests/{digest}",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert r.status_code == 202, r.text


def test_reconcile_deletes_what_a_replica_missed(bed: Bed) -> None:
    img = image(bed, "tomb", layers=2, seed=111)
    bed.push(img, "geoone1/tomb:v1")
    for region in (B, C):
        assert wait_for(
            lambda r=region: bed.digest_in(r, "geoone1/tomb", "v1") == img.manifest  # type: ignore[misc]
        )
    # the delete in the home region with its tasks lost: made with the engine's subject (no
    # event is acted on), then the tombstone its notification leaves
    delete_in_home(bed, "geoone1/tomb", img.manifest, sub=ENGINE_SUB)
    reg = bed.server.app.backend.registries.find("geoone1")
    bed.engine.index.tombstone(reg, "tomb", img.manifest, time.time(), HOME)
    assert [t for t in tasks_of(bed, "tomb") if t[1] == img.manifest] == []
    bed.engine.reconcile()
    for region in (B, C):
        assert wait_for(
            lambda r=region: bed.digest_in(r, "geoone1/tomb", img.manifest) is None  # type: ignore[misc]
        ), tasks_of(bed, "tomb")
    deletes = [t for t in tasks_of(bed, "tomb") if t[1] == img.manifest]
    assert sorted(t[0] for t in deletes) == [C, B]
    assert wait_for(
        lambda: all(t[2] == "done" for t in tasks_of(bed, "tomb") if t[1] == img.manifest)
    )
    bed.engine.reconcile()  # no region holds it now: the tombstone is settled
    stones = [t for t in bed.engine.index.tombstones(reg) if t["repository"] == "tomb"]
    assert [t.get("settled") for t in stones] == [True]
    assert len([t for t in tasks_of(bed, "tomb") if t[1] == img.manifest]) == 2


def test_reconcile_never_deletes_what_was_not_deleted(bed: Bed) -> None:
    img = image(bed, "lagging", layers=2, seed=121)
    push_direct(bed, img, B, "geoone1/lagging")  # the home region lacks it: not yet copied
    bed.engine.reconcile()
    assert tasks_of(bed, "lagging") == []
    assert bed.digest_in(B, "geoone1/lagging", "v1") == img.manifest


def scrape(bed: Bed) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    from prometheus_client.parser import text_string_to_metric_families

    r = httpx.get(f"{bed.server.url}/metrics", timeout=10)
    assert r.status_code == 200, r.text
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for fam in text_string_to_metric_families(r.text)
        for s in fam.samples
    }


def metric(
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **kw: str
) -> float:
    return samples.get((name, tuple(sorted(kw.items()))), 0.0)


def test_metrics_show_the_lag_and_what_moved(bed: Bed) -> None:
    assert wait_for(lambda: bed.engine.tasks.depth() == 0)  # earlier tests' tasks are done
    lag = "acrctl_replication_lag_seconds_count"
    blobs = "acrctl_replication_blobs_total"
    before = scrape(bed)
    first = image(bed, "met1", layers=2, seed=131)
    bed.push(first, "geoone1/metrics:v1")
    for region in (B, C):
        assert wait_for(
            lambda r=region: (
                metric(scrape(bed), lag, source=HOME, target=r)  # type: ignore[misc]
                > metric(before, lag, source=HOME, target=r)
            )
        ), tasks_of(bed, "metrics")
    mid = scrape(bed)
    assert metric(mid, lag, source=HOME, target=B) - metric(before, lag, source=HOME, target=B) == 1
    assert metric(mid, lag, source=HOME, target=C) - metric(before, lag, source=HOME, target=C) == 1
    assert bed.digest_in(B, "geoone1/metrics", "v1") == first.manifest
    second = image(bed, "met2", layers=3, seed=131)  # the same two layers and one more
    assert len(set(second.blobs) & set(first.blobs)) == 2
    bed.push(second, "geoone1/metrics:v2")
    assert wait_for(
        lambda: (
            metric(scrape(bed), lag, source=HOME, target=B)
            > metric(mid, lag, source=HOME, target=B)
        )
    )
    after = scrape(bed)

    def moved(name: str, **kw: str) -> float:
        return metric(after, name, **kw) - metric(mid, name, **kw)

    assert moved(blobs, target=B, outcome="copied") == 2  # the new layer and the config
    assert moved(blobs, target=B, outcome="skipped") == 2
    assert moved(blobs, target=B, outcome="mounted") == 0
    assert moved("acrctl_replication_bytes_copied_total", target=B) == sum(
        len(v) for d, v in second.blobs.items() if d not in first.blobs
    )
    assert moved("acrctl_replication_manifests_total", target=B, outcome="put") == 1
    assert moved(lag, source=HOME, target=B) == 1
    assert metric(after, "acrctl_replication_lag_seconds_sum", source=HOME, target=B) > 0
    assert wait_for(lambda: bed.engine.tasks.depth() == 0)
    gauges = scrape(bed)
    assert metric(gauges, "acrctl_replication_queue_tasks", state="pending") == 0
    assert metric(gauges, "acrctl_replication_queue_oldest_age_seconds") == 0
