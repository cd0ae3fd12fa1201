"""Issue 16's user-facing tools end to end with the real binaries on loopback: `replication
wait --image`, `replication verify` and `acrctl import` (from plain docker-registry
processes, with and without basic auth, and from another registry of the server), through
the CLI against a ThreadedServer with its data plane. Drift is made by hand in one region's
registry (writes signed as the engine are not replicated: the loop guard). The periodic
reconcile is off (a long interval); tests that need a pass run one."""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from typing import Any

import httpx
import oci_image
import pytest
from click.testing import CliRunner
from plain_registry import PASSWORD, USER, plain_registry
from planebed import started
from test_replication_engine import ARM, Bed, wait_for

from acrctl.backend.core import Settings
from acrctl.cli.main import cli
from acrctl.server.serve import free_port

pytestmark = pytest.mark.skipif(
    shutil.which("docker-registry") is None or shutil.which("skopeo") is None,
    reason="needs docker-registry and skopeo (apt-get install docker-registry skopeo)",
)

ADMIN = "acr_replication_tools_admin_3e9a"
HOME, B, C = "eastus", "westus", "westeurope"
REG = "geotools1"


@pytest.fixture(scope="module")
def bed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bed]:
    tmp = tmp_path_factory.mktemp("tools")
    settings = Settings()
    settings.dataplane_storage = str(tmp / "storage")
    settings.dataplane_reconcile_seconds = 0.2
    settings.replication_reconcile_seconds = 3600.0
    settings.replication_poll_seconds = 0.1
    settings.replication_backoff_seconds = 0.2
    settings.replication_backoff_max_seconds = 1.0
    settings.replication_max_attempts = 30
    settings.webhook_allow_local = True  # import sources on loopback
    with started(settings, ADMIN, HOME) as st:
        bed = Bed(st.server, st.arm, st.creds, tmp)
        for name, sku, loc in ((REG, "Premium", HOME), ("srctools1", "Basic", B)):
            r = bed.arm.put(
                f"{bed.reg_id(name)}?{ARM}", json={"location": loc, "sku": {"name": sku}}
            )
            assert r.status_code in (200, 201), r.text
        bed.replicate(REG, B)
        bed.replicate(REG, C)
        assert wait_for(lambda: bed.replica_status(REG, C) == "Ready", step=bed.engine.reconcile)
        yield bed


@pytest.fixture
def cli_env(bed: Bed, monkeypatch: pytest.MonkeyPatch) -> Bed:
    monkeypatch.setenv("ACRCTL_ENDPOINT", bed.server.url)
    monkeypatch.setenv("ACRCTL_TOKEN", ADMIN)
    return bed


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def image(bed: Bed, name: str, **kw: Any) -> oci_image.Image:
    return oci_image.build(str(bed.tmp / name), **kw)


def skopeo(src: str, dest: str, *flags: str) -> None:
    done = subprocess.run(
        ["skopeo", "copy", "-q", "--dest-tls-verify=false", *flags, src, dest],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def write_direct(bed: Bed, region: str, img: oci_image.Image, ref: str) -> None:
    """Push into one region's registry with an engine token: the loop guard drops the
    event, so nothing replicates (drift made by hand)."""
    repo = ref.rsplit(":", 1)[0]
    token = bed.engine.sign([{"type": "repository", "name": repo, "actions": ["pull", "push"]}])
    url = bed.region_url(region).removeprefix("http://")
    skopeo(img.ref, f"docker://{url}/{ref}", f"--dest-registry-token={token}")


def everywhere(bed: Bed, repo: str, tag: str, digest: str) -> bool:
    return all(bed.digest_in(r, f"{REG}/{repo}", tag) == digest for r in (HOME, B, C))


@pytest.fixture(scope="module")
def plain(bed: Bed) -> Iterator[dict[str, str]]:
    """Two plain docker-registry processes on loopback: 'open' (no auth) and 'basic'
    (htpasswd)."""
    with (
        plain_registry(bed.tmp / "plain-open", free_port()) as open_,
        plain_registry(bed.tmp / "plain-basic", free_port(), basic=True) as basic,
    ):
        yield {"open": open_, "basic": basic}


# -- replication wait --image ----------------------------------------------------------------
def test_wait_image_returns_when_every_region_has_it(cli_env: Bed) -> None:
    img = image(cli_env, "w1", layers=2, seed=301)
    cli_env.push(img, f"{REG}/web/wait:v1")
    code, out, err = run("replication", "wait", "-r", REG, "--image", "web/wait:v1")
    assert (code, err) == (0, "")
    doc = json.loads(out)
    assert doc["complete"] is True and doc["missing"] == []
    assert {r["region"]: (r["state"], r["digest"]) for r in doc["value"]} == {
        region: ("present", img.manifest) for region in (HOME, B, C)
    }
    assert everywhere(cli_env, "web/wait", "v1", img.manifest)


def test_wait_image_times_out_naming_the_missing_regions(cli_env: Bed) -> None:
    img = image(cli_env, "w2", layers=1, seed=302)
    write_direct(cli_env, HOME, img, f"{REG}/solo/app:v1")  # only in the home region
    code, out, err = run(
        "replication", "wait", "-r", REG, "--image", "solo/app:v1", "--timeout", "1"
    )
    assert (code, out) == (1, "")
    assert err == (
        "ERROR: Timed out after 1 seconds waiting for image 'solo/app:v1' in every replica "
        f"region; missing in: {C}, {B}.\n"
    )


# -- replication verify ----------------------------------------------------------------------
def test_verify_finds_a_retag_made_in_one_region_and_passes_after_repair(cli_env: Bed) -> None:
    good = image(cli_env, "v1", layers=2, seed=311)
    other = image(cli_env, "v2", layers=2, seed=312)
    cli_env.push(good, f"{REG}/web/verify:v1")
    assert wait_for(lambda: everywhere(cli_env, "web/verify", "v1", good.manifest))
    cli_env.engine.reconcile()  # earlier tests' hand-made drift is repaired first
    assert wait_for(lambda: run("replication", "verify", "-r", REG)[0] == 0)
    write_direct(cli_env, B, other, f"{REG}/web/verify:v1")  # re-tag in westus only
    code, out, err = run("replication", "verify", "-r", REG)
    assert code == 1
    assert err == "ERROR: Replication drift: 1 problem found.\n"
    report = json.loads(out)
    assert report["inSync"] is False
    assert report["drift"] == [
        {
            "region": B,
            "image": "web/verify:v1",
            "problem": "digestMismatch",
            "expected": good.manifest,
            "actual": other.manifest,
        }
    ]
    cli_env.engine.reconcile()  # the reconcile pass queues the copy back
    assert wait_for(lambda: cli_env.digest_in(B, f"{REG}/web/verify", "v1") == good.manifest)
    code, out, _ = run("replication", "verify", "-r", REG)
    assert code == 0
    assert json.loads(out)["inSync"] is True


def test_verify_finds_a_blob_deleted_in_one_region(cli_env: Bed) -> None:
    img = image(cli_env, "v3", layers=3, seed=313)
    cli_env.push(img, f"{REG}/web/blob:v1")
    assert wait_for(lambda: everywhere(cli_env, "web/blob", "v1", img.manifest))
    layer = [d for d in img.blobs if d in img.manifest_bytes.decode()][-1]
    storage = cli_env.plane.storage
    files = glob.glob(
        f"{storage}/{C}/**/blobs/sha256/{layer[7:9]}/{layer[7:]}/data", recursive=True
    )
    assert len(files) == 1, files
    os.remove(files[0])
    code, out, _ = run("replication", "verify", "-r", REG, "-o", "table")
    assert code == 1
    rows = [line.split() for line in out.splitlines()[2:]]
    assert rows == [[C, "web/blob:v1", "missingBlob", layer[:19]]]
    _put_blob(cli_env, C, f"{REG}/web/blob", layer, img.blobs[layer])  # the repair
    assert run("replication", "verify", "-r", REG)[0] == 0


def _put_blob(bed: Bed, region: str, repo: str, digest: str, data: bytes) -> None:
    token = bed.engine.sign([{"type": "repository", "name": repo, "actions": ["pull", "push"]}])
    auth = {"Authorization": f"Bearer {token}"}
    base = bed.region_url(region)
    r = httpx.post(f"{base}/v2/{repo}/blobs/uploads/", headers=auth)
    assert r.status_code == 202, r.text
    loc = r.headers["location"]
    loc = loc if loc.startswith("http") else f"{base}{loc}"
    r = httpx.put(
        f"{loc}{'&' if '?' in loc else '?'}digest={digest}",
        content=data,
        headers={**auth, "Content-Type": "application/octet-stream"},
    )
    assert r.status_code == 201, r.text


# -- import ----------------------------------------------------------------------------------
def test_import_from_a_plain_registry_reaches_every_replica(
    cli_env: Bed, plain: dict[str, str]
) -> None:
    img = image(cli_env, "i1", layers=3, seed=321)
    skopeo(img.ref, f"docker://{plain['open']}/lib/app:v1")
    code, out, err = run("import", "-n", REG, "--source", f"{plain['open']}/lib/app:v1")
    assert (code, out, err) == (0, "", "")
    assert cli_env.digest_in(HOME, f"{REG}/lib/app", "v1") == img.manifest
    code, out, _ = run("replication", "wait", "-r", REG, "--image", "lib/app:v1", "--timeout", "60")
    assert code == 0 and json.loads(out)["complete"] is True
    assert everywhere(cli_env, "lib/app", "v1", img.manifest)


def test_import_with_basic_auth_under_another_name(cli_env: Bed, plain: dict[str, str]) -> None:
    img = image(cli_env, "i2", layers=2, seed=322)
    skopeo(img.ref, f"docker://{plain['basic']}/lib/secret:v1", f"--dest-creds={USER}:{PASSWORD}")
    src = f"{plain['basic']}/lib/secret:v1"
    code, out, err = run(
        "import", "-n", REG, "--source", src, "-t", "moved/secret:v2", "-u", USER, "-p", PASSWORD
    )
    assert (code, out, err) == (0, "", "")
    assert wait_for(lambda: everywhere(cli_env, "moved/secret", "v2", img.manifest))
    dump = json.dumps([i.doc for i in cli_env.server.app.backend.store.list("importOperation")])
    assert PASSWORD not in dump and USER not in dump


def test_import_without_the_credentials_fails(cli_env: Bed, plain: dict[str, str]) -> None:
    code, out, err = run("import", "-n", REG, "--source", f"{plain['basic']}/lib/secret:v1")
    assert (code, out) == (1, "")
    message = "The source registry requires credentials."
    assert err == f"ERROR: (Unauthorized) {message}\nCode: Unauthorized\nMessage: {message}\n"


def test_import_from_another_acrctl_registry(cli_env: Bed) -> None:
    img = image(cli_env, "i3", layers=2, seed=323)
    cli_env.push(img, "srctools1/src/app:v1")
    code, out, err = run(
        "import", "-n", REG, "-r", "srctools1", "--source", "src/app:v1", "-t", "copied/app:v1"
    )
    assert (code, out, err) == (0, "", "")
    assert wait_for(lambda: everywhere(cli_env, "copied/app", "v1", img.manifest))


def test_import_by_login_server_of_an_acrctl_registry(cli_env: Bed) -> None:
    img = image(cli_env, "i4", layers=1, seed=324)
    cli_env.push(img, "srctools1/src/other:v1")
    login = f"srctools1.{cli_env.plane.login_domain}"
    code, _, err = run("import", "-n", REG, "--source", f"{login}/src/other:v1")
    assert (code, err) == (0, "")
    assert wait_for(lambda: everywhere(cli_env, "src/other", "v1", img.manifest))


def test_import_over_an_existing_tag_needs_force(cli_env: Bed) -> None:
    first = image(cli_env, "i5", layers=1, seed=325)
    second = image(cli_env, "i6", layers=1, seed=326)
    cli_env.push(first, "srctools1/force/a:v1")
    cli_env.push(second, "srctools1/force/b:v1")
    base = ("import", "-n", REG, "-r", "srctools1", "-t", "forced:v1")
    assert run(*base, "--source", "force/a:v1")[0] == 0
    code, out, err = run(*base, "--source", "force/b:v1")
    assert (code, out) == (1, "")
    message = "Tag forced:v1 already exists in target registry."
    assert err == f"ERROR: (Conflict) {message}\nCode: Conflict\nMessage: {message}\n"
    assert cli_env.digest_in(HOME, f"{REG}/forced", "v1") == first.manifest
    assert run(*base, "--source", "force/b:v1", "--force")[0] == 0
    assert cli_env.digest_in(HOME, f"{REG}/forced", "v1") == second.manifest


def test_import_source_refused_by_the_destination_policy(
    cli_env: Bed, plain: dict[str, str]
) -> None:
    settings = cli_env.server.app.backend.settings
    settings.webhook_allow_local = False
    try:
        code, out, err = run("import", "-n", REG, "--source", f"{plain['open']}/lib/app:v1")
    finally:
        settings.webhook_allow_local = True
    assert (code, out) == (1, "")
    reason = (
        "The source registry cannot be reached: destination refused: 127.0.0.1 is a loopback "
        "address; an operator can allow it with the server setting webhook_allow or "
        "webhook_allow_local"
    )
    assert err.splitlines()[:3] == [
        f"ERROR: (InvalidParameter) {reason}",
        "Code: InvalidParameter",
        f"Message: {reason}",
    ]


def test_import_image_route_by_login_server_reports_progress(cli_env: Bed) -> None:
    img = image(cli_env, "i7", layers=3, seed=327)
    cli_env.push(img, "srctools1/api/route:v1")
    login = f"srctools1.{cli_env.plane.login_domain}"
    r = cli_env.arm.post(
        f"{cli_env.reg_id(REG)}/importImage?{ARM}",
        json={
            "source": {"registryUri": login, "sourceImage": "api/route:v1"},
            "targetTags": ["api/route:v9"],
        },
    )
    assert r.status_code == 202, r.text
    status_url = r.headers["Azure-AsyncOperation"]
    assert "/importOperations/" in status_url and r.headers["Retry-After"] == "1"

    def finished() -> bool:
        return cli_env.arm.get(status_url).json()["status"] != "InProgress"

    assert wait_for(finished)
    body = cli_env.arm.get(status_url).json()
    assert (body["status"], body["percentComplete"]) == ("Succeeded", 100)
    assert body["properties"] == {
        "image": "api/route:v1",
        "progress": {
            "blobsTotal": 4,
            "blobsDone": 4,
            "bytes": sum(len(b) for b in img.blobs.values()),
        },
    }
    assert wait_for(lambda: everywhere(cli_env, "api/route", "v9", img.manifest))
