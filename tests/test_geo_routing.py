"""Routing to the nearest healthy replica, end to end on loopback (issue 17): a ThreadedServer
with its data plane and a Premium registry homed in eastus with replicas in westus and
westeurope. Clients are told apart by their source address (127.0.0.2 is in westus,
127.0.0.3 in westeurope, anything else falls back to the home region); every proxied
answer names its region in `X-Acrctl-Region`."""

from __future__ import annotations

import json
import os
import shutil
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import oci_image
import pytest
from click.testing import CliRunner
from geoclient import Client
from planebed import started

from acrctl.backend.core import Settings
from acrctl.cli.main import cli
from acrctl.dataplane.copier import ACCEPT
from acrctl.server.serve import ThreadedServer

pytestmark = pytest.mark.skipif(
    shutil.which("docker-registry") is None,
    reason="needs docker-registry (apt-get install docker-registry)",
)

ADMIN = "acr_geo_admin_token_3b9e"
ARM = "api-version=2025-11-01"
ADMIN_API = "api-version=2022-04-01"
HOME, WEST, EU = "eastus", "westus", "westeurope"
SOURCE = {HOME: "127.0.0.1", WEST: "127.0.0.2", EU: "127.0.0.3"}
REG = "georeg1"
WAIT = 30.0  # generous bound on a loaded machine
BOUND = 5.0  # routing skips a dead region within: probe interval + timeout + slack


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
    def front(self) -> str:
        return f"http://127.0.0.1:{self.plane.port}"

    def client(self, region: str, **kw: Any) -> Client:
        return Client(self.front, self.creds, source=SOURCE[region], **kw)

    def reg_id(self) -> str:
        return (
            f"/subscriptions/{self.server.subscription}/resourceGroups/rg1/providers/"
            f"Microsoft.ContainerRegistry/registries/{REG}"
        )

    def routed(self, region: str, on: bool) -> None:
        r = self.arm.patch(
            f"{self.reg_id()}/replications/{region}?{ARM}",
            json={"properties": {"regionEndpointEnabled": on}},
        )
        assert r.status_code in (200, 201, 202), r.text

    def drill(self, name: str, region: str | None, kind: str = "RegionOutage") -> None:
        path = f"/subscriptions/{self.server.subscription}/providers/Acrctl.Admin/drills/{name}"
        if region is None:
            r = self.arm.delete(f"{path}?{ADMIN_API}")
        else:
            body = {"properties": {"kind": kind, "region": region}}
            r = self.arm.put(f"{path}?{ADMIN_API}", json=body)
        assert r.status_code in (200, 201, 204), r.text

    def digest_in(self, region: str, repo: str, ref: str) -> str | None:
        r = self.plane.supervisor.region(region)
        if r is None or not r.ready:
            return None
        token = self.plane.engine.sign([{"type": "repository", "name": repo, "actions": ["pull"]}])
        try:
            resp = httpx.head(
                f"{r.url}/v2/{repo}/manifests/{ref}",
                headers={"Authorization": f"Bearer {token}", "Accept": ACCEPT},
                timeout=5,
            )
        except httpx.HTTPError:
            return None
        return resp.headers.get("docker-content-digest") if resp.status_code == 200 else None

    def image(self, name: str, seed: int) -> oci_image.Image:
        return oci_image.build(str(self.tmp / name), layers=2, seed=seed)


def wait_for(check: Callable[[], bool], timeout: float = WAIT) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return check()


@pytest.fixture(scope="module")
def bed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bed]:
    tmp = tmp_path_factory.mktemp("geo")
    s = Settings()
    s.dataplane_storage = str(tmp / "storage")
    s.dataplane_reconcile_seconds = 0.2
    s.dataplane_restart_max_seconds = 1.0
    s.dataplane_client_regions = "127.0.0.2/32=westus, 127.0.0.3/32=westeurope"
    s.dataplane_health_interval_seconds = 0.2
    s.dataplane_health_timeout_seconds = 0.5
    s.replication_reconcile_seconds = 3600.0
    s.replication_poll_seconds = 0.1
    s.replication_backoff_seconds = 0.2
    s.replication_backoff_max_seconds = 0.5
    s.replication_max_attempts = 2
    with started(s, ADMIN, HOME) as st:
        bed = Bed(st.server, st.arm, st.creds, tmp)
        r = bed.arm.put(
            f"{bed.reg_id()}?{ARM}", json={"location": HOME, "sku": {"name": "Premium"}}
        )
        assert r.status_code in (200, 201), r.text
        for region in (WEST, EU):
            r = bed.arm.put(
                f"{bed.reg_id()}/replications/{region}?{ARM}", json={"location": region}
            )
            assert r.status_code in (200, 201), r.text
        assert wait_for(lambda: all(bed.digest_in(x, "georeg1/none", "v") is None for x in SOURCE))
        assert wait_for(
            lambda: all(
                (reg := bed.plane.supervisor.region(x)) is not None and reg.ready for x in SOURCE
            )
        )
        yield bed


@pytest.fixture(scope="module")
def seeded(bed: Bed) -> str:
    """An image pushed (home) and replicated everywhere: `georeg1/base:v1`."""
    img = bed.image("base", 1)
    c = bed.client(HOME)
    try:
        c.push(f"{REG}/base", img, "v1")
    finally:
        c.close()
    assert wait_for(
        lambda: all(bed.digest_in(x, "georeg1/base", "v1") == img.manifest for x in SOURCE)
    )
    return img.manifest


def served_by(bed: Bed, region_of_client: str, **kw: Any) -> str:
    c = bed.client(region_of_client, **kw)
    try:
        r, blobs = c.pull("base" if c.host else f"{REG}/base", "v1")
        assert r.status_code == 200, r.text
        assert blobs == [200, 200, 200]
        # one region for the whole pull ("mixed" while routing changes under it)
        return r.headers["x-acrctl-region"] if len(c.regions()) == 1 else "mixed"
    finally:
        c.close()


def test_each_client_pulls_from_its_own_region(bed: Bed, seeded: str) -> None:
    assert [served_by(bed, x) for x in (HOME, WEST, EU)] == [HOME, WEST, EU]


def test_the_hint_header_beats_the_client_network(bed: Bed, seeded: str) -> None:
    assert served_by(bed, WEST, hint="West Europe") == EU


def test_a_regional_endpoint_pins_its_region(bed: Bed, seeded: str) -> None:
    host = f"{REG}.{EU}.geo.{bed.plane.login_domain}"
    assert served_by(bed, WEST, host=host) == EU


def test_a_regional_endpoint_without_a_replica_is_404(bed: Bed, seeded: str) -> None:
    c = bed.client(WEST, host=f"{REG}.japaneast.geo.{bed.plane.login_domain}")
    try:
        r = c.request("GET", "/v2/base/manifests/v1", c.token("base", "pull"))
    finally:
        c.close()
    assert r.status_code == 404
    assert r.json()["errors"][0] == {
        "code": "NAME_UNKNOWN",
        "message": "registry 'georeg1' has no replica in region 'japaneast'",
    }


def test_a_region_out_of_routing_serves_nobody_but_keeps_replicating(bed: Bed, seeded: str) -> None:
    bed.routed(WEST, False)
    try:
        assert wait_for(lambda: served_by(bed, WEST) == HOME)  # the next nearest to westus
        img = bed.image("unrouted", 2)
        c = bed.client(EU)
        c.push(f"{REG}/unrouted", img, "v1")
        c.close()
        assert c.regions() == {EU}
        assert wait_for(lambda: bed.digest_in(WEST, "georeg1/unrouted", "v1") == img.manifest)
    finally:
        bed.routed(WEST, True)
    assert wait_for(lambda: served_by(bed, WEST) == WEST)


def test_a_killed_region_is_skipped_then_taken_back(bed: Bed, seeded: str) -> None:
    region = bed.plane.supervisor.region(WEST)
    proc = region.process
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(5)
    try:
        assert wait_for(lambda: region.next_start != 0.0, timeout=BOUND)
        region.next_start = time.monotonic() + 3600  # held down until we say
        assert wait_for(lambda: served_by(bed, WEST) == HOME, timeout=BOUND)
    finally:
        region.next_start = time.monotonic()
    assert wait_for(lambda: served_by(bed, WEST) == WEST)


def test_a_push_stays_in_one_region_when_routing_changes_under_it(bed: Bed, seeded: str) -> None:
    for i in range(5):
        img = bed.image(f"pinned{i}", 10 + i)
        c = bed.client(WEST)
        c.push(f"{REG}/pinned", img, f"v{i}", between=lambda: bed.routed(WEST, False))
        c.close()
        bed.routed(WEST, True)
        assert c.regions() == {WEST}, c.seen
        assert bed.digest_in(WEST, "georeg1/pinned", f"v{i}") == img.manifest


def test_a_pull_of_an_image_only_one_region_has_is_served_by_that_region(
    bed: Bed, seeded: str
) -> None:
    # written into westeurope as the engine writes (its events start no replication), so
    # westus never gets it: a westus client must still find it
    img = bed.image("lonely", 30)
    c = bed.client(EU)
    token = bed.plane.engine.sign(
        [{"type": "repository", "name": "georeg1/lonely", "actions": ["push", "pull"]}]
    )
    c.token = lambda repo, actions: token  # type: ignore[method-assign]
    c.push(f"{REG}/lonely", img, "v1")
    c.close()
    assert bed.digest_in(WEST, "georeg1/lonely", "v1") is None
    w = bed.client(WEST)
    try:
        r, blobs = w.pull(f"{REG}/lonely", "v1")
    finally:
        w.close()
    assert (r.status_code, blobs) == (200, [200, 200, 200]), w.seen
    assert r.headers["x-acrctl-region"] == EU


def test_a_pull_right_after_a_push_elsewhere_never_misses(bed: Bed, seeded: str) -> None:
    for i in range(5):
        img = bed.image(f"ryw{i}", 40 + i)
        p = bed.client(EU)
        p.push(f"{REG}/ryw", img, f"v{i}")
        p.close()
        w = bed.client(WEST)
        r, blobs = w.pull(f"{REG}/ryw", f"v{i}")
        w.close()
        assert (r.status_code, blobs) == (200, [200, 200, 200]), w.seen


def test_home_region_outage_pushes_and_pulls_go_on_and_home_converges(
    bed: Bed, seeded: str
) -> None:
    bed.drill("home-down", HOME)
    home = bed.plane.supervisor.region(HOME)
    img = bed.image("outage", 50)
    try:
        assert wait_for(lambda: home.held and home.process is None)
        assert served_by(bed, HOME) == WEST  # westus is nearest to eastus
        c = bed.client(HOME)
        c.push(f"{REG}/outage", img, "v1")
        c.close()
        assert c.regions() == {WEST}
        r = bed.arm.patch(f"{bed.reg_id()}?{ARM}", json={"tags": {"a": "b"}})
        assert r.status_code == 503
        assert r.json()["error"]["code"] == "RegionUnavailable"
        assert wait_for(lambda: bed.digest_in(EU, "georeg1/outage", "v1") == img.manifest)
        # the home region's copy ran out of attempts while it was down
        reg = bed.server.app.backend.registries.find(REG)
        assert wait_for(
            lambda: any(
                t["target"] == HOME and t["state"] == "failed"
                for t in bed.plane.engine.tasks.for_registry(reg)
                if t["repository"] == "outage"
            )
        )
    finally:
        bed.drill("home-down", None)
    assert wait_for(lambda: home.ready and not home.held)
    # no reconcile pass (an hour away in this bed): the health probe seeing eastus answer
    # again queues its failed copy at once (Engine.region_up)
    assert wait_for(lambda: bed.digest_in(HOME, "georeg1/outage", "v1") == img.manifest)
    r = bed.arm.patch(f"{bed.reg_id()}?{ARM}", json={"tags": {"a": "b"}})
    assert r.status_code == 200, r.text


def test_a_replica_outage_stops_that_region_until_cleared(bed: Bed, seeded: str) -> None:
    region = bed.plane.supervisor.region(EU)
    bed.drill("eu-replica-down", EU, kind="ReplicaOutage")
    try:
        assert wait_for(lambda: region.held and region.process is None)
        assert served_by(bed, EU) == HOME  # eastus is nearer Europe than westus
        r = bed.arm.patch(f"{bed.reg_id()}?{ARM}", json={"tags": {"b": "c"}})
        assert r.status_code == 200, r.text  # a replica outage refuses no management
    finally:
        bed.drill("eu-replica-down", None)
    assert wait_for(lambda: not region.held and region.ready)
    assert wait_for(lambda: served_by(bed, EU) == EU)


@pytest.fixture
def cli_env(bed: Bed, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The CLI on the bed's server; returns the docker config dir `acrctl login` writes."""
    monkeypatch.setenv("ACRCTL_ENDPOINT", bed.server.url)
    monkeypatch.setenv("ACRCTL_TOKEN", ADMIN)
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker"))
    return tmp_path / "docker"


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_login_region_writes_the_regional_login_server(
    bed: Bed, seeded: str, cli_env: Path
) -> None:
    code, out, err = run("login", "-n", REG, "--region", "West Europe")
    assert (code, out) == (0, "Login Succeeded\n"), err
    host = f"{REG}.{EU}.geo.{bed.plane.login_domain}"
    doc = json.loads((cli_env / "config.json").read_text())
    assert list(doc["auths"]) == [host]
    # its refresh token works at the regional endpoint, which serves from westeurope
    r = httpx.post(
        f"{bed.front}/oauth2/token",
        headers={"Host": host},
        data={
            "grant_type": "refresh_token",
            "service": host,
            "scope": "repository:base:pull",
            "refresh_token": doc["auths"][host]["identitytoken"],
        },
    )
    assert r.status_code == 200, r.text
    m = httpx.get(
        f"{bed.front}/v2/base/manifests/v1",
        headers={
            "Host": host,
            "Authorization": f"Bearer {r.json()['access_token']}",
            "Accept": ACCEPT,
        },
    )
    assert (m.status_code, m.headers["x-acrctl-region"]) == (200, EU)


def test_login_region_without_a_replica_there_fails(bed: Bed, cli_env: Path) -> None:
    code, out, err = run("login", "-n", REG, "--region", "japaneast")
    assert (code, out) == (1, "")
    assert err == (
        f"ERROR: The registry '{REG}' has no replica in 'japaneast'; its regions are: "
        "eastus, westeurope, westus.\n"
    )
    assert not cli_env.exists()


def test_login_region_of_an_unknown_region_is_a_usage_error(bed: Bed, cli_env: Path) -> None:
    code, _, err = run("login", "-n", REG, "--region", "atlantis")
    assert code == 2
    assert "'atlantis' is not a known region; see `acrctl account list-locations`." in err
