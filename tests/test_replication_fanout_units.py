"""FanOut against in-memory registries (the Fake of test_replication_copier): one source
read per blob for every target, a failing target dropping out alone, a stream retried for
the target it failed only, and the bounded hand-off between the read and each upload."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest
from test_replication_copier import REPO, Fake, sha

from acrctl.dataplane.copier import Copier, Stats
from acrctl.dataplane.fanout import FanOut, Pipe

TARGETS = ("westus", "westeurope")


@dataclass
class Regions:
    src: Fake
    dst: dict[str, Fake]
    client: httpx.Client
    blob_gets: list[str] = field(default_factory=list)  # digests GET from the source


@pytest.fixture
def regions() -> Iterator[Regions]:
    src = Fake("src")
    dst = {t: Fake(t) for t in TARGETS}
    gets: list[str] = []

    def route(req: httpx.Request) -> httpx.Response:
        if req.url.host == "src":
            if req.method == "GET" and "/blobs/" in req.url.path:
                gets.append(req.url.path.rsplit("/", 1)[1])
            return src.handle(req)
        return dst[req.url.host].handle(req)

    client = httpx.Client(transport=httpx.MockTransport(route))
    try:
        yield Regions(src, dst, client, gets)
    finally:
        client.close()


def copiers(r: Regions, stats: Stats) -> list[Copier]:
    return [
        Copier(
            r.client,
            lambda access: "t",
            "http://src",
            f"http://{t}",
            REPO,
            t,
            stats,
            mount_from=lambda d: None,
            placed=lambda d: None,
            blob_retries=3,
            chunk=1024,
            parallel=2,
        )
        for t in TARGETS
    ]


def fan_out(r: Regions, stats: Stats) -> dict[str, tuple[str | None, str | None]]:
    """Copy v1 to both targets; (digest, error) reported for each."""
    done: dict[str, tuple[str | None, str | None]] = {}

    def on_done(target: str, digest: str | None, error: str | None) -> None:
        done[target] = (digest, error)

    FanOut(copiers(r, stats), depth=2, on_done=on_done).copy("v1")
    return done


def test_each_blob_is_read_once_for_every_target(regions: Regions) -> None:
    layers = [bytes([i]) * 5000 for i in range(3)]
    digest = regions.src.push("v1", layers)
    stats = Stats()
    assert fan_out(regions, stats) == {t: (digest, None) for t in TARGETS}
    blobs = sorted(regions.src.blobs[REPO])
    assert sorted(regions.blob_gets) == blobs  # 3 layers and the config, once each
    for t in TARGETS:
        assert regions.dst[t].tags["v1"] == digest
        assert regions.dst[t].blobs[REPO] == regions.src.blobs[REPO]
        c = stats.get(t)
        assert (c.blobs_copied, c.bytes_copied, c.manifests_put) == (
            4,
            sum(len(b) for b in regions.src.blobs[REPO].values()),
            1,
        )


def test_a_target_failing_every_upload_drops_out_alone(regions: Regions) -> None:
    digest = regions.src.push("v1", [b"a" * 5000])
    regions.dst["westeurope"].fail_puts = 100
    done = fan_out(regions, Stats())
    assert done["westus"] == (digest, None)
    assert done["westeurope"][0] is None
    assert str(done["westeurope"][1]).startswith("CopyError: blob sha256:")
    assert regions.dst["westus"].tags["v1"] == digest
    assert "v1" not in regions.dst["westeurope"].tags  # never a manifest before its blobs


def test_a_stream_is_retried_only_for_the_target_it_failed(regions: Regions) -> None:
    layer = b"b" * 5000
    digest = regions.src.push("v1", [layer])
    regions.dst["westeurope"].fail_puts = 1  # the first blob upload there fails
    assert fan_out(regions, Stats()) == {t: (digest, None) for t in TARGETS}
    puts = {t: regions.dst[t].blob_puts for t in TARGETS}
    assert puts == {"westus": 2, "westeurope": 3}  # layer and config; one failed, again
    assert len(regions.blob_gets) == 3  # the retry read the source again for westeurope
    assert regions.dst["westeurope"].blobs[REPO][sha(layer)] == layer


def test_the_source_read_waits_for_a_slow_upload() -> None:
    pipe = Pipe(depth=2)
    queued: list[bool] = []

    def produce() -> None:
        queued.extend(pipe.put(b"x" * 10) for _ in range(5))

    t = threading.Thread(target=produce)
    t.start()
    try:
        time.sleep(0.2)
        assert (len(pipe.chunks), queued) == (2, [True, True])  # blocked: two chunks wait
    finally:
        pipe.drop()  # the upload gives up: the reader is released, nothing more queued
        t.join(5)
    assert (len(pipe.chunks), queued) == (0, [True, True, False, False, False])
