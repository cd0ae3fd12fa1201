"""The data plane end to end, with the real binaries on loopback: a ThreadedServer with its
data plane (one docker-registry per region), skopeo through the front."""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import oci_image
import pytest

from acrctl.backend.core import Settings
from acrctl.server.serve import ServerConfig, ThreadedServer

pytestmark = pytest.mark.skipif(
    shutil.which("docker-registry") is None or shutil.which("skopeo") is None,
    reason="needs docker-registry and skopeo (apt-get install docker-registry skopeo)",
)

ADMIN = "acr_dataplane_admin_token_5f2a9c"
ARM = "api-version=2025-11-01"
ROLES = {
    "AcrPull": "7f951dda-4ed3-4680-a7ca-43fe172d538d",
    "AcrPush": "8311e382-0749-4cb8-b61a-304f252e45ec",
    "Reader": "acdd72a7-3385-48ef-bd42-f606fba81ae7",
}
SKOPEO_TIMEOUT = 60


@dataclass
class Plane:
    server: ThreadedServer
    arm: httpx.Client
    tmp: Path

    @property
    def port(self) -> int:
        return int(self.server.dataplane.port)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def registry_id(self, name: str) -> str:
        return (
            f"/subscriptions/{self.server.subscription}/resourceGroups/rg1/providers/"
            f"Microsoft.ContainerRegistry/registries/{name}"
        )

    def registry(self, name: str, sku: str = "Premium") -> dict[str, Any]:
        r = self.arm.put(
            f"{self.registry_id(name)}?{ARM}", json={"location": "eastus", "sku": {"name": sku}}
        )
        assert r.status_code in (200, 201), r.text
        return dict(r.json())

    def principal(self, role: str, registry: str | None = None) -> tuple[str, str]:
        b = self.server.app.backend
        doc, token = b.rbac.create_principal(f"p-{uuid.uuid4().hex[:8]}", "Application")
        scope = (
            self.registry_id(registry) if registry else f"/subscriptions/{self.server.subscription}"
        )
        b.rbac.create_assignment(
            scope,
            str(uuid.uuid4()),
            {"properties": {"roleDefinitionId": ROLES[role], "principalId": doc["id"]}},
        )
        return doc["id"], token

    def token(self, creds: tuple[str, str], scope: str) -> str:
        r = httpx.get(
            f"{self.url}/oauth2/token",
            params={"service": f"127.0.0.1:{self.port}", "scope": scope},
            auth=creds,
        )
        assert r.status_code == 200, r.text
        return str(r.json()["access_token"])


def skopeo(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["skopeo", *args], capture_output=True, text=True, timeout=SKOPEO_TIMEOUT, check=False
    )


@pytest.fixture(scope="module")
def plane(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Plane]:
    tmp = tmp_path_factory.mktemp("dataplane")
    settings = Settings()
    settings.dataplane_storage = str(tmp / "storage")
    settings.dataplane_reconcile_seconds = 0.2
    settings.dataplane_restart_max_seconds = 1.0
    server = ThreadedServer(ServerConfig(data_port=1, settings=settings, admin_token=ADMIN))
    server.start()
    arm = httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {ADMIN}"})
    try:
        r = arm.put(
            f"/subscriptions/{server.subscription}/resourcegroups/rg1?api-version=2021-04-01",
            json={"location": "eastus"},
        )
        assert r.status_code in (200, 201), r.text
        p = Plane(server, arm, tmp)
        p.registry("contoso1")
        p.registry("fabrikam1")
        yield p
    finally:
        arm.close()
        server.stop()


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> oci_image.Image:
    return oci_image.build(str(tmp_path_factory.mktemp("img") / "layout"), layers=4)


def push(
    plane: Plane, creds: tuple[str, str], ref: str, image: oci_image.Image
) -> subprocess.CompletedProcess[str]:
    return skopeo(
        "copy",
        "-q",
        "--dest-tls-verify=false",
        f"--dest-creds={creds[0]}:{creds[1]}",
        image.ref,
        f"docker://127.0.0.1:{plane.port}/{ref}",
    )


def test_login_server_is_on_the_login_domain(plane: Plane) -> None:
    r = plane.arm.get(f"{plane.registry_id('contoso1')}?{ARM}")
    assert r.json()["properties"]["loginServer"] == f"contoso1.acrctl.test:{plane.port}"


def test_skopeo_push_then_pull_back_byte_identical(
    plane: Plane, image: oci_image.Image, tmp_path: Path
) -> None:
    creds = plane.principal("AcrPush")
    done = push(plane, creds, "contoso1/web/app:v1", image)
    assert done.returncode == 0, done.stderr
    out = tmp_path / "pulled"
    pulled = skopeo(
        "copy",
        "-q",
        "--src-tls-verify=false",
        f"--src-creds={creds[0]}:{creds[1]}",
        f"docker://127.0.0.1:{plane.port}/contoso1/web/app:v1",
        f"oci:{out}:v1",
    )
    assert pulled.returncode == 0, pulled.stderr
    assert oci_image.read_layout(str(out)) == {**image.blobs, image.manifest: image.manifest_bytes}


def test_reader_pulls_but_cannot_push(plane: Plane, image: oci_image.Image) -> None:
    assert push(plane, plane.principal("AcrPush"), "contoso1/readme:v1", image).returncode == 0
    reader = plane.principal("Reader")
    inspect = skopeo(
        "inspect",
        "--raw",
        "--tls-verify=false",
        f"--creds={reader[0]}:{reader[1]}",
        f"docker://127.0.0.1:{plane.port}/contoso1/readme:v1",
    )
    assert inspect.returncode == 0, inspect.stderr
    assert inspect.stdout.encode() == image.manifest_bytes
    refused = push(plane, reader, "contoso1/readme:v2", image)
    assert refused.returncode == 1
    assert "requested access to the resource is denied" in refused.stderr


def test_principal_of_another_registry_learns_nothing(plane: Plane, image: oci_image.Image) -> None:
    assert push(plane, plane.principal("AcrPush"), "contoso1/secret:v1", image).returncode == 0
    other = plane.principal("AcrPull", registry="fabrikam1")
    answers = []
    for repo in ("secret", "nosuchrepo"):
        token = plane.token(other, f"repository:contoso1/{repo}:pull")
        r = httpx.get(
            f"{plane.url}/v2/contoso1/{repo}/manifests/v1",
            headers={"Authorization": f"Bearer {token}"},
        )
        answers.append(
            (
                r.status_code,
                r.content.replace(repo.encode(), b"REPO"),
                r.headers["www-authenticate"].replace(repo, "REPO"),
            )
        )
    assert answers[0] == answers[1]
    assert answers[0][0] == 401
    assert json.loads(answers[0][1])["errors"][0]["code"] == "UNAUTHORIZED"
    assert answers[0][2] == (
        f'Bearer realm="http://127.0.0.1:{plane.port}/oauth2/token",'
        f'service="127.0.0.1:{plane.port}",'
        'scope="repository:contoso1/REPO:pull",error="insufficient_scope"'
    )


def test_challenge_without_credentials_is_acr_shaped(plane: Plane) -> None:
    host = f"contoso1.acrctl.test:{plane.port}"
    r = httpx.get(f"{plane.url}/v2/web/app/manifests/v1", headers={"Host": host})
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == (
        f'Bearer realm="http://{host}/oauth2/token",service="{host}",'
        'scope="repository:web/app:pull"'
    )
    assert r.json() == {
        "errors": [
            {
                "code": "UNAUTHORIZED",
                "message": "authentication required",
                "detail": [
                    {"Type": "repository", "Class": "", "Name": "web/app", "Action": "pull"}
                ],
            }
        ]
    }


def test_host_form_names_and_catalog_of_one_registry(plane: Plane, image: oci_image.Image) -> None:
    pusher = plane.principal("AcrPush")
    assert push(plane, pusher, "contoso1/cat/one:v1", image).returncode == 0
    assert push(plane, pusher, "fabrikam1/cat/two:v1", image).returncode == 0
    host = f"fabrikam1.acrctl.test:{plane.port}"
    r = httpx.get(
        f"{plane.url}/oauth2/token",
        headers={"Host": host},
        auth=pusher,
        params={"service": host, "scope": ["registry:catalog:*", "repository:cat/two:pull"]},
    )
    token = r.json()["access_token"]
    auth = {"Host": host, "Authorization": f"Bearer {token}"}
    catalog = httpx.get(f"{plane.url}/v2/_catalog", headers=auth)
    assert catalog.status_code == 200
    assert catalog.json() == {"repositories": ["cat/two"]}
    tags = httpx.get(f"{plane.url}/v2/cat/two/tags/list", headers=auth)
    assert tags.json() == {"name": "cat/two", "tags": ["v1"]}


def test_refresh_token_flow_skopeo_uses(
    plane: Plane, image: oci_image.Image, tmp_path: Path
) -> None:
    app_id, secret = plane.principal("AcrPush")
    service = f"127.0.0.1:{plane.port}"
    r = httpx.post(
        f"{plane.url}/oauth2/exchange",
        data={
            "grant_type": "access_token",
            "service": service,
            "tenant": "t",
            "access_token": secret,
        },
    )
    assert r.status_code == 200, r.text
    refresh = r.json()["refresh_token"]
    null = "00000000-0000-0000-0000-000000000000"
    authfile = tmp_path / "auth.json"
    authfile.write_text(
        json.dumps(
            {
                "auths": {
                    service: {
                        "auth": base64.b64encode(f"{null}:".encode()).decode(),
                        "identitytoken": refresh,
                    }
                }
            }
        )
    )
    done = skopeo(
        "copy",
        "-q",
        "--dest-tls-verify=false",
        f"--dest-authfile={authfile}",
        image.ref,
        f"docker://{service}/contoso1/refreshed:v1",
    )
    assert done.returncode == 0, done.stderr
    # and the null-GUID user whose password is the refresh token (GET with Basic)
    token = plane.token((null, refresh), "repository:contoso1/refreshed:pull")
    m = httpx.get(
        f"{plane.url}/v2/contoso1/refreshed/manifests/v1",
        headers={"Authorization": f"Bearer {token}", "Accept": oci_image.MANIFEST},
    )
    assert m.status_code == 200
    assert m.content == image.manifest_bytes


def test_refresh_token_is_refused_by_the_region(plane: Plane) -> None:
    _, secret = plane.principal("AcrPush")
    refresh = httpx.post(
        f"{plane.url}/oauth2/exchange",
        data={"grant_type": "access_token", "service": "x", "access_token": secret},
    ).json()["refresh_token"]
    r = httpx.get(
        f"{plane.url}/v2/contoso1/web/app/manifests/v1",
        headers={"Authorization": f"Bearer {refresh}"},
    )
    assert r.status_code == 401
    assert 'error="invalid_token"' in r.headers["www-authenticate"]


def test_bad_basic_credentials_get_401(plane: Plane) -> None:
    app_id, _ = plane.principal("AcrPush")
    r = httpx.get(
        f"{plane.url}/oauth2/token",
        params={"scope": "repository:contoso1/a:pull"},
        auth=(app_id, "wrong"),
    )
    assert r.status_code == 401
    assert r.json() == {
        "errors": [{"code": "UNAUTHORIZED", "message": "invalid username or password"}]
    }


def test_killed_region_is_restarted_and_serves_again(plane: Plane, image: oci_image.Image) -> None:
    creds = plane.principal("AcrPush")
    region = plane.server.dataplane.supervisor.region("eastus")
    old = region.process.pid
    os.kill(old, signal.SIGKILL)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        proc = region.process
        if proc is not None and proc.pid != old and region.ready:
            break
        time.sleep(0.05)
    assert region.process.pid != old and region.ready
    assert region.restarts >= 1
    assert push(plane, creds, "contoso1/after/restart:v1", image).returncode == 0


def test_deleting_a_registry_removes_its_data(plane: Plane, image: oci_image.Image) -> None:
    plane.registry("gone12345")
    assert push(plane, plane.principal("AcrPush"), "gone12345/web:v1", image).returncode == 0
    data = (
        Path(plane.server.dataplane.storage)
        / "eastus"
        / "data"
        / "docker"
        / "registry"
        / "v2"
        / "repositories"
    )
    assert (data / "gone12345" / "web").is_dir()
    r = plane.arm.delete(f"{plane.registry_id('gone12345')}?{ARM}")
    assert r.status_code in (200, 202, 204), r.text
    deadline = time.monotonic() + 10
    while (data / "gone12345").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not (data / "gone12345").exists()
    assert (data / "contoso1").is_dir()


def test_push_emits_the_webhook_event_with_the_digest(plane: Plane, image: oci_image.Image) -> None:
    hook = f"{plane.registry_id('contoso1')}/webhooks/hook1?{ARM}"
    r = plane.arm.put(
        hook,
        json={
            "location": "eastus",
            "properties": {"serviceUri": "http://192.0.2.1/never", "actions": ["push"]},
        },
    )
    assert r.status_code in (200, 201), r.text
    assert push(plane, plane.principal("AcrPush"), "contoso1/hooked:v7", image).returncode == 0
    deadline = time.monotonic() + 10
    events: list[dict[str, Any]] = []
    while time.monotonic() < deadline and not events:
        r = plane.arm.post(f"{plane.registry_id('contoso1')}/webhooks/hook1/listEvents?{ARM}")
        events = [
            e for e in r.json()["value"] if e["eventRequestMessage"]["content"]["action"] == "push"
        ]
        time.sleep(0.1)
    assert events, "no push event"
    target = events[0]["eventRequestMessage"]["content"]["target"]
    assert (target["repository"], target["tag"], target["digest"]) == (
        "hooked",
        "v7",
        image.manifest,
    )


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_server_killed_with_sigkill_leaves_no_region_behind(tmp_path: Path) -> None:
    port, data_port = _free_port(), _free_port()
    env = {
        **os.environ,
        "ACRCTL_SERVER_BOOTSTRAP_TOKEN": ADMIN,
        "ACRCTL_CONFIG_DIR": str(tmp_path / "cfg"),
    }
    proc = subprocess.Popen(
        [
            os.path.join(
                os.path.dirname(os.path.realpath(__file__)), "..", ".venv", "bin", "acrctl"
            ),
            "server",
            "--port",
            str(port),
            "--data-port",
            str(data_port),
            "--database",
            str(tmp_path / "server.db"),
            "--access-log",
            "off",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    region_pid = None
    arm = httpx.Client(
        base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {ADMIN}"}
    )
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                sub = arm.get("/subscriptions?api-version=2022-12-01").json()["value"][0]
                break
            except (httpx.HTTPError, KeyError, IndexError):
                time.sleep(0.1)
        base = f"/subscriptions/{sub['subscriptionId']}/resourcegroups/rg1"
        arm.put(f"{base}?api-version=2021-04-01", json={"location": "eastus"})
        arm.put(
            f"{base}/providers/Microsoft.ContainerRegistry/registries/killme1?{ARM}",
            json={"location": "eastus", "sku": {"name": "Basic"}},
        )
        config = str(tmp_path / "dataplane" / "eastus" / "config.yml")
        while time.monotonic() < deadline and region_pid is None:
            found = subprocess.run(["pgrep", "-f", config], capture_output=True, text=True)
            region_pid = int(found.stdout.split()[0]) if found.stdout.split() else None
            time.sleep(0.1)
        assert region_pid is not None, "the region did not start"
        proc.kill()
        proc.wait(10)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and os.path.exists(f"/proc/{region_pid}"):
            time.sleep(0.05)
        assert not os.path.exists(f"/proc/{region_pid}")
        region_pid = None
    finally:
        arm.close()
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        if region_pid is not None and os.path.exists(f"/proc/{region_pid}"):
            os.kill(region_pid, signal.SIGKILL)
