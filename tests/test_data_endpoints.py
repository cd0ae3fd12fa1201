"""Data endpoints (issue 17): blob GETs of a registry with dataEndpointEnabled answer 307 to a
pre-signed URL on the serving region's data endpoint, which checks the signature and expiry
and serves the blob from the region's storage. Unit tests of the signing, then end to end
with docker-registry and skopeo on loopback (a private hosts file names the data host)."""

from __future__ import annotations

import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import oci_image
import pytest
from planebed import ACR_PUSH, started

from acrctl.backend.core import Settings
from acrctl.dataplane import dataep
from acrctl.server.serve import ThreadedServer

ADMIN = "acr_dataep_admin_token_3c81"
ARM = "api-version=2025-11-01"
ACR_PULL = "7f951dda-4ed3-4680-a7ca-43fe172d538d"
DIGEST = "sha256:" + "ab" * 32


# == signing (no server) ==========================================================================
@pytest.fixture
def signer(tmp_path: Path) -> dataep.Signer:
    return dataep.Signer(str(tmp_path / "data.secret"))


def test_a_signed_url_is_accepted_until_it_expires(signer: dataep.Signer) -> None:
    sig = signer.sign("contoso", "eastus", DIGEST, 1000)
    assert signer.refusal("contoso", "eastus", DIGEST, "1000", sig, now=999.0) is None
    assert signer.refusal("contoso", "eastus", DIGEST, "1000", sig, now=1001.0) == (
        "the URL has expired; request the blob again"
    )


@pytest.mark.parametrize(
    ("registry", "region", "digest", "exp"),
    [
        ("fabrikam", "eastus", DIGEST, "1000"),
        ("contoso", "westus", DIGEST, "1000"),
        ("contoso", "eastus", "sha256:" + "cd" * 32, "1000"),
        ("contoso", "eastus", DIGEST, "1001"),
    ],
    ids=["other registry", "other region", "other digest", "later expiry"],
)
def test_a_url_signed_for_something_else_is_refused(
    signer: dataep.Signer, registry: str, region: str, digest: str, exp: str
) -> None:
    sig = signer.sign("contoso", "eastus", DIGEST, 1000)
    assert signer.refusal(registry, region, digest, exp, sig, now=0.0) == (
        "the URL's signature is not valid"
    )


def test_an_unsigned_url_is_refused(signer: dataep.Signer) -> None:
    assert signer.refusal("contoso", "eastus", DIGEST, "", "", now=0.0) == "the URL is not signed"
    assert signer.refusal("contoso", "eastus", DIGEST, "x1", "abc", now=0.0) == (
        "the URL is not signed"
    )


def test_rotation_keeps_the_previous_secret_verifying(signer: dataep.Signer) -> None:
    first = signer.sign("contoso", "eastus", DIGEST, 1000)
    signer.rotate()
    second = signer.sign("contoso", "eastus", DIGEST, 1000)
    assert second != first
    assert signer.refusal("contoso", "eastus", DIGEST, "1000", first, now=0.0) is None
    signer.rotate()
    assert signer.refusal("contoso", "eastus", DIGEST, "1000", first, now=0.0) == (
        "the URL's signature is not valid"
    )
    assert signer.refusal("contoso", "eastus", DIGEST, "1000", second, now=0.0) is None


def test_the_secret_file_is_private_and_reread_when_replaced(tmp_path: Path) -> None:
    path = tmp_path / "data.secret"
    signer = dataep.Signer(str(path))
    assert path.stat().st_mode & 0o777 == 0o600
    before = signer.sign("contoso", "eastus", DIGEST, 1000)
    path.write_text("a-new-secret-written-by-the-operator\n")
    assert signer.sign("contoso", "eastus", DIGEST, 1000) != before


def test_blob_files_follow_distributions_layout() -> None:
    hx = "ab" * 32
    assert dataep.blob_file("/r", f"sha256:{hx}") == (
        f"/r/docker/registry/v2/blobs/sha256/ab/{hx}/data"
    )
    assert dataep.blob_file("/r", "sha256:../../etc/passwd") is None


# == end to end ===================================================================================
needs_binaries = pytest.mark.skipif(
    shutil.which("docker-registry") is None
    or shutil.which("skopeo") is None
    or shutil.which("unshare") is None,
    reason="needs docker-registry, skopeo and unshare",
)


class Bed:
    def __init__(self, server: ThreadedServer, arm: httpx.Client, tmp: Path) -> None:
        self.server, self.arm, self.tmp = server, arm, tmp
        self.port = int(server.dataplane.port)
        self.url = f"http://127.0.0.1:{self.port}"
        self.seen: list[tuple[str, str, str, bool]] = []  # data endpoint: method, host, path, auth
        front = server.dataplane.front
        serve = front._data

        async def recording(scope: dict[str, Any], send: Any, *named: str) -> None:
            hdrs = dict(scope["headers"])
            self.seen.append(
                (
                    scope["method"],
                    hdrs.get(b"host", b"").decode(),
                    scope["path"],
                    b"authorization" in hdrs,
                )
            )
            await serve(scope, send, *named)

        front._data = recording

    def registry_id(self, name: str) -> str:
        return (
            f"/subscriptions/{self.server.subscription}/resourceGroups/rg1/providers/"
            f"Microsoft.ContainerRegistry/registries/{name}"
        )

    def registry(self, name: str, data_endpoints: bool) -> dict[str, Any]:
        body = {
            "location": "eastus",
            "sku": {"name": "Premium"},
            "properties": {"dataEndpointEnabled": data_endpoints},
        }
        r = self.arm.put(f"{self.registry_id(name)}?{ARM}", json=body)
        assert r.status_code in (200, 201), r.text
        return dict(r.json())

    def principal(self, role: str) -> tuple[str, str]:
        b = self.server.app.backend
        doc, token = b.rbac.create_principal(f"p-{uuid.uuid4().hex[:8]}", "Application")
        b.rbac.create_assignment(
            f"/subscriptions/{self.server.subscription}",
            str(uuid.uuid4()),
            {"properties": {"roleDefinitionId": role, "principalId": doc["id"]}},
        )
        return doc["id"], token

    def token(self, creds: tuple[str, str], registry: str, repo: str) -> dict[str, str]:
        host = f"{registry}.acrctl.test:{self.port}"
        r = httpx.get(
            f"{self.url}/oauth2/token",
            headers={"Host": host},
            params={"service": host, "scope": f"repository:{repo}:pull"},
            auth=creds,
        )
        assert r.status_code == 200, r.text
        return {"Host": host, "Authorization": f"Bearer {r.json()['access_token']}"}

    def skopeo(self, *args: str) -> subprocess.CompletedProcess[str]:
        """skopeo with a hosts file naming the login servers and their data endpoints."""
        script = 'mount --bind "$0" /etc/hosts && exec skopeo "$@"'
        return subprocess.run(
            ["unshare", "--mount", "--propagation", "private", "sh", "-c", script]
            + [str(self.tmp / "hosts"), *args],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )


@pytest.fixture(scope="module")
def bed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bed]:
    tmp = tmp_path_factory.mktemp("dataep")
    settings = Settings()
    settings.dataplane_storage = str(tmp / "storage")
    settings.dataplane_reconcile_seconds = 0.2
    with started(settings, ADMIN) as st:
        b = Bed(st.server, st.arm, tmp)
        (tmp / "hosts").write_text(
            "127.0.0.1 contoso6.acrctl.test contoso6.eastus.data.acrctl.test "
            f"fabrikam6.acrctl.test\n{Path('/etc/hosts').read_text()}"
        )
        b.registry("contoso6", data_endpoints=True)
        b.registry("fabrikam6", data_endpoints=False)
        yield b


@pytest.fixture(scope="module")
def pushed(bed: Bed, tmp_path_factory: pytest.TempPathFactory) -> oci_image.Image:
    image = oci_image.build(str(tmp_path_factory.mktemp("img") / "layout"), layers=3)
    creds = bed.principal(ACR_PUSH)
    for reg in ("contoso6", "fabrikam6"):
        done = subprocess.run(
            ["skopeo", "copy", "-q", "--dest-tls-verify=false"]
            + [f"--dest-creds={creds[0]}:{creds[1]}", image.ref]
            + [f"docker://127.0.0.1:{bed.port}/{reg}/web/app:v1"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
    return image


def layer(image: oci_image.Image) -> str:
    return next(d for d, data in image.blobs.items() if len(data) > 1000)


@needs_binaries
def test_the_registry_names_its_data_endpoint(bed: Bed) -> None:
    r = bed.arm.get(f"{bed.registry_id('contoso6')}?{ARM}")
    assert r.json()["properties"]["dataEndpointHostNames"] == [
        f"contoso6.eastus.data.acrctl.test:{bed.port}"
    ]


@needs_binaries
def test_skopeo_pull_takes_blobs_from_the_data_endpoint_without_authorization(
    bed: Bed, pushed: oci_image.Image, tmp_path: Path
) -> None:
    creds = bed.principal(ACR_PULL)
    bed.seen.clear()
    out = tmp_path / "pulled"
    done = bed.skopeo(
        "copy",
        "-q",
        "--src-tls-verify=false",
        f"--src-creds={creds[0]}:{creds[1]}",
        f"docker://contoso6.acrctl.test:{bed.port}/web/app:v1",
        f"oci:{out}:v1",
    )
    assert done.returncode == 0, done.stderr
    assert oci_image.read_layout(str(out)) == {
        **pushed.blobs,
        pushed.manifest: pushed.manifest_bytes,
    }
    host = f"contoso6.eastus.data.acrctl.test:{bed.port}"
    assert sorted(bed.seen) == sorted(("GET", host, f"/blobs/{d}", False) for d in pushed.blobs)


@needs_binaries
def test_a_blob_get_answers_307_to_a_url_valid_twenty_minutes(
    bed: Bed, pushed: oci_image.Image
) -> None:
    auth = bed.token(bed.principal(ACR_PULL), "contoso6", "web/app")
    before = int(time.time())
    r = httpx.get(f"{bed.url}/v2/web/app/blobs/{layer(pushed)}", headers=auth)
    assert r.status_code == 307
    assert r.content == b""
    assert r.headers["x-acrctl-region"] == "eastus"
    url = urlsplit(r.headers["location"])
    assert (url.scheme, url.netloc, url.path) == (
        "http",
        f"contoso6.eastus.data.acrctl.test:{bed.port}",
        f"/blobs/{layer(pushed)}",
    )
    q = parse_qs(url.query)
    assert sorted(q) == ["exp", "sig"]
    assert before + 1200 <= int(q["exp"][0]) <= int(time.time()) + 1200


@needs_binaries
def test_the_data_endpoint_serves_the_blob_with_its_digest(
    bed: Bed, pushed: oci_image.Image
) -> None:
    auth = bed.token(bed.principal(ACR_PULL), "contoso6", "web/app")
    loc = httpx.get(f"{bed.url}/v2/web/app/blobs/{layer(pushed)}", headers=auth)
    url = urlsplit(loc.headers["location"])
    r = httpx.get(f"{bed.url}{url.path}?{url.query}", headers={"Host": url.netloc})
    assert r.status_code == 200
    assert r.content == pushed.blobs[layer(pushed)]
    assert r.headers["docker-content-digest"] == layer(pushed)
    assert r.headers["content-length"] == str(len(pushed.blobs[layer(pushed)]))


@needs_binaries
def test_the_data_endpoint_serves_a_range(bed: Bed, pushed: oci_image.Image) -> None:
    auth = bed.token(bed.principal(ACR_PULL), "contoso6", "web/app")
    loc = httpx.get(f"{bed.url}/v2/web/app/blobs/{layer(pushed)}", headers=auth)
    url = urlsplit(loc.headers["location"])
    r = httpx.get(
        f"{bed.url}{url.path}?{url.query}", headers={"Host": url.netloc, "Range": "bytes=10-19"}
    )
    size = len(pushed.blobs[layer(pushed)])
    assert r.status_code == 206
    assert r.content == pushed.blobs[layer(pushed)][10:20]
    assert r.headers["content-range"] == f"bytes 10-19/{size}"


@needs_binaries
def test_path_form_redirects_to_the_listener(bed: Bed, pushed: oci_image.Image) -> None:
    creds = bed.principal(ACR_PULL)
    r = httpx.get(
        f"{bed.url}/oauth2/token",
        params={"service": f"127.0.0.1:{bed.port}", "scope": "repository:contoso6/web/app:pull"},
        auth=creds,
    )
    auth = {"Authorization": f"Bearer {r.json()['access_token']}"}
    loc = httpx.get(f"{bed.url}/v2/contoso6/web/app/blobs/{layer(pushed)}", headers=auth)
    assert loc.status_code == 307
    url = urlsplit(loc.headers["location"])
    assert (url.netloc, url.path) == (
        f"127.0.0.1:{bed.port}",
        f"/_acrctl/data/contoso6/eastus/blobs/{layer(pushed)}",
    )
    assert httpx.get(loc.headers["location"]).content == pushed.blobs[layer(pushed)]


@needs_binaries
def test_a_keep_alive_client_follows_every_307_on_one_connection(
    bed: Bed, pushed: oci_image.Image, monkeypatch: pytest.MonkeyPatch
) -> None:
    front = bed.server.dataplane.front
    seen: list[tuple[str, tuple[str, int]]] = []  # (handler, client address) per request
    for name in ("_oci", "_data"):
        inner = getattr(front, name)

        async def counting(
            scope: dict[str, Any], *rest: Any, _in: Any = inner, _n: str = name
        ) -> None:
            seen.append((_n, tuple(scope["client"])))
            await _in(scope, *rest)

        monkeypatch.setattr(front, name, counting)
    creds = bed.principal(ACR_PULL)
    r = httpx.get(
        f"{bed.url}/oauth2/token",
        params={"service": f"127.0.0.1:{bed.port}", "scope": "repository:contoso6/web/app:pull"},
        auth=creds,
    )
    auth = {"Authorization": f"Bearer {r.json()['access_token']}"}
    with httpx.Client(base_url=bed.url, headers=auth, follow_redirects=True) as client:
        got = {d: client.get(f"/v2/contoso6/web/app/blobs/{d}").content for d in pushed.blobs}
    assert got == pushed.blobs
    assert [n for n, _ in seen] == ["_oci", "_data"] * len(pushed.blobs)
    assert len({address for _, address in seen}) == 1


@needs_binaries
def test_a_closing_client_in_another_region_than_the_blobs_is_proxied(
    bed: Bed, pushed: oci_image.Image
) -> None:
    auth = bed.token(bed.principal(ACR_PULL), "contoso6", "web/app")
    r = httpx.get(
        f"{bed.url}/v2/web/app/blobs/{layer(pushed)}",
        headers={**auth, "X-Acrctl-Region": "westus", "Connection": "close"},
    )
    assert (r.status_code, r.headers["x-acrctl-region"]) == (200, "eastus")
    assert "location" not in r.headers
    assert r.content == pushed.blobs[layer(pushed)]


@needs_binaries
def test_a_keep_alive_client_in_another_region_is_redirected(
    bed: Bed, pushed: oci_image.Image
) -> None:
    auth = bed.token(bed.principal(ACR_PULL), "contoso6", "web/app")
    r = httpx.get(
        f"{bed.url}/v2/web/app/blobs/{layer(pushed)}",
        headers={**auth, "X-Acrctl-Region": "westus"},
    )
    assert r.status_code == 307
    assert urlsplit(r.headers["location"]).netloc == f"contoso6.eastus.data.acrctl.test:{bed.port}"


@needs_binaries
def test_policy_always_redirects_a_closing_client_in_another_region(
    bed: Bed, pushed: oci_image.Image, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bed.server.dataplane.settings, "dataplane_data_redirect", "always")
    auth = bed.token(bed.principal(ACR_PULL), "contoso6", "web/app")
    r = httpx.get(
        f"{bed.url}/v2/web/app/blobs/{layer(pushed)}",
        headers={**auth, "X-Acrctl-Region": "westus", "Connection": "close"},
    )
    assert r.status_code == 307
    assert urlsplit(r.headers["location"]).netloc == f"contoso6.eastus.data.acrctl.test:{bed.port}"


@needs_binaries
def test_policy_client_region_proxies_a_keep_alive_client_in_another_region(
    bed: Bed, pushed: oci_image.Image, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bed.server.dataplane.settings, "dataplane_data_redirect", "client-region")
    auth = bed.token(bed.principal(ACR_PULL), "contoso6", "web/app")
    r = httpx.get(
        f"{bed.url}/v2/web/app/blobs/{layer(pushed)}",
        headers={**auth, "X-Acrctl-Region": "westus"},
    )
    assert (r.status_code, r.headers["x-acrctl-region"]) == (200, "eastus")
    assert r.content == pushed.blobs[layer(pushed)]


@pytest.mark.parametrize(
    "change",
    ["signature", "expiry", "digest", "region", "registry"],
)
@needs_binaries
def test_a_tampered_url_is_refused_with_403(bed: Bed, pushed: oci_image.Image, change: str) -> None:
    auth = bed.token(bed.principal(ACR_PULL), "contoso6", "web/app")
    loc = httpx.get(f"{bed.url}/v2/web/app/blobs/{layer(pushed)}", headers=auth)
    url = urlsplit(loc.headers["location"])
    q = {k: v[0] for k, v in parse_qs(url.query).items()}
    host, path = url.netloc, url.path
    other = next(d for d in pushed.blobs if d != layer(pushed))
    if change == "signature":
        q["sig"] = ("A" if q["sig"][0] != "A" else "B") + q["sig"][1:]
    elif change == "expiry":
        q["exp"] = str(int(q["exp"]) + 1)
    elif change == "digest":
        path = f"/blobs/{other}"
    elif change == "region":
        host = host.replace(".eastus.", ".westus.")
    else:
        host = host.replace("contoso6.", "fabrikam6.")
    r = httpx.get(f"{bed.url}{path}", params=q, headers={"Host": host})
    assert r.status_code == 403
    assert r.json() == {
        "errors": [{"code": "DENIED", "message": "the URL's signature is not valid"}]
    }


@needs_binaries
def test_an_expired_url_is_refused_with_403(bed: Bed, pushed: oci_image.Image) -> None:
    digest = layer(pushed)
    exp = int(time.time()) - 1
    sig = bed.server.dataplane.data_signer.sign("contoso6", "eastus", digest, exp)
    r = httpx.get(
        f"{bed.url}/blobs/{digest}",
        params={"exp": exp, "sig": sig},
        headers={"Host": f"contoso6.eastus.data.acrctl.test:{bed.port}"},
    )
    assert r.status_code == 403
    assert r.json() == {
        "errors": [{"code": "DENIED", "message": "the URL has expired; request the blob again"}]
    }


@needs_binaries
def test_a_client_without_pull_is_challenged_not_redirected(
    bed: Bed, pushed: oci_image.Image
) -> None:
    creds = bed.principal(ACR_PULL)
    auth = bed.token(creds, "contoso6", "other/repo")  # a token for another repository
    r = httpx.get(f"{bed.url}/v2/web/app/blobs/{layer(pushed)}", headers=auth)
    assert r.status_code == 401
    assert r.json()["errors"][0]["code"] == "UNAUTHORIZED"
    assert "location" not in r.headers


@needs_binaries
def test_head_and_manifests_stay_proxied(bed: Bed, pushed: oci_image.Image) -> None:
    auth = bed.token(bed.principal(ACR_PULL), "contoso6", "web/app")
    head = httpx.head(f"{bed.url}/v2/web/app/blobs/{layer(pushed)}", headers=auth)
    assert head.status_code == 200
    assert head.headers["docker-content-digest"] == layer(pushed)
    man = httpx.get(
        f"{bed.url}/v2/web/app/manifests/v1",
        headers={**auth, "Accept": oci_image.MANIFEST},
    )
    assert man.status_code == 200
    assert man.content == pushed.manifest_bytes


@needs_binaries
def test_without_data_endpoints_blobs_are_proxied(bed: Bed, pushed: oci_image.Image) -> None:
    auth = bed.token(bed.principal(ACR_PULL), "fabrikam6", "web/app")
    r = httpx.get(f"{bed.url}/v2/web/app/blobs/{layer(pushed)}", headers=auth)
    assert r.status_code == 200
    assert r.content == pushed.blobs[layer(pushed)]


@needs_binaries
def test_a_blob_not_in_the_repository_is_proxied_to_its_404(
    bed: Bed, pushed: oci_image.Image
) -> None:
    auth = bed.token(bed.principal(ACR_PULL), "contoso6", "web/app")
    r = httpx.get(f"{bed.url}/v2/web/app/blobs/{DIGEST}", headers=auth)
    assert r.status_code == 404
    assert r.json()["errors"][0]["code"] == "BLOB_UNKNOWN"


@needs_binaries
def test_a_token_for_another_registry_is_not_redirected(bed: Bed, pushed: oci_image.Image) -> None:
    auth = bed.token(bed.principal(ACR_PULL), "fabrikam6", "web/app")  # fabrikam6/web/app
    auth["Host"] = f"contoso6.acrctl.test:{bed.port}"
    r = httpx.get(f"{bed.url}/v2/web/app/blobs/{layer(pushed)}", headers=auth)
    assert r.status_code == 401
    assert "location" not in r.headers


def replicated(bed: Bed, region: str, repo: str, digest: str, timeout: float = 60.0) -> bool:
    """The blob has arrived in the region (bounded wait on the replication engine)."""
    plane = bed.server.dataplane
    token = plane.engine.sign([{"type": "repository", "name": repo, "actions": ["pull"]}])
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = plane.supervisor.region(region)
        if r is not None and r.ready:
            resp = httpx.head(
                f"{r.url}/v2/{repo}/blobs/{digest}",
                headers={"Authorization": f"Bearer {token}"},
                timeout=5,
            )
            if resp.status_code == 200:
                return True
        time.sleep(0.1)
    return False


@needs_binaries
def test_each_client_is_redirected_to_its_own_regions_data_endpoint(
    bed: Bed, pushed: oci_image.Image
) -> None:
    bed.registry("contoso8", data_endpoints=True)
    r = bed.arm.put(
        f"{bed.registry_id('contoso8')}/replications/westus?{ARM}", json={"location": "westus"}
    )
    assert r.status_code in (200, 201), r.text
    creds = bed.principal(ACR_PUSH)
    done = subprocess.run(
        ["skopeo", "copy", "-q", "--dest-tls-verify=false"]
        + [f"--dest-creds={creds[0]}:{creds[1]}", pushed.ref]
        + [f"docker://127.0.0.1:{bed.port}/contoso8/web/app:v1"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert replicated(bed, "westus", "contoso8/web/app", layer(pushed))
    auth = bed.token(bed.principal(ACR_PULL), "contoso8", "web/app")
    hosts = {}
    for region in ("eastus", "westus"):
        r = httpx.get(
            f"{bed.url}/v2/web/app/blobs/{layer(pushed)}",
            headers={**auth, "X-Acrctl-Region": region},
        )
        assert r.status_code == 307
        hosts[region] = urlsplit(r.headers["location"]).netloc
    assert hosts == {
        "eastus": f"contoso8.eastus.data.acrctl.test:{bed.port}",
        "westus": f"contoso8.westus.data.acrctl.test:{bed.port}",
    }
