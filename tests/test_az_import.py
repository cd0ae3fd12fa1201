"""`az acr import` (the real az, .venv-az) and `acrctl import` side by side against one
`acrctl server` with its data plane, importing from a plain docker-registry on loopback:
az's SDK drives importImage's LRO to the end, both print the same and exit the same, also
for NoForce's conflict (issue 16). Select with `pytest -m az`."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator

import oci_image
import pytest
from plain_registry import plain_registry

pytest.register_assert_rewrite("az_harness")
pytest_plugins = ("az_harness",)

from az_harness import Az, AzServer, require_az  # noqa: E402

pytestmark = [
    pytest.mark.az,
    pytest.mark.skipif(
        shutil.which("docker-registry") is None or shutil.which("skopeo") is None,
        reason="needs docker-registry and skopeo (apt-get install docker-registry skopeo)",
    ),
]

GROUP, REGISTRY = "azimprg1", "azimpreg1"


def _port() -> int:
    from acrctl.server.serve import free_port

    return free_port()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AzServer]:
    require_az()
    tmp = tmp_path_factory.mktemp("az-import")
    srv = AzServer(tmp, extra_args=["--data-port", str(_port()), "--webhook-allow-local"])
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def source(server: AzServer) -> Iterator[tuple[str, dict[str, str]]]:
    """A plain registry holding lib/one:v1 and lib/two:v1 (different images)."""
    with plain_registry(server.tmp / "plain", _port()) as hostport:
        digests = {}
        for i, name in enumerate(("one", "two")):
            img = oci_image.build(str(server.tmp / f"img-{name}"), layers=2, seed=400 + i)
            subprocess.run(
                ["skopeo", "copy", "-q", "--dest-tls-verify=false", img.ref,
                 f"docker://{hostport}/lib/{name}:v1"],
                check=True, capture_output=True, timeout=60,
            )  # fmt: skip
            digests[name] = img.manifest
        yield hostport, digests


@pytest.fixture(scope="module")
def az_client(server: AzServer) -> Iterator[Az]:
    principal = server.create_sp("az-importer")
    client = Az(server)
    client.setup_cloud()
    client.login_sp(principal["appId"], principal["password"]).ok()
    client.run("group", "create", "-n", GROUP, "-l", "westus", "-o", "none").ok()
    client.run("acr", "create", "-n", REGISTRY, "-g", GROUP, "--sku", "Basic", "-o", "none").ok()
    yield client
    client.cleanup()


def digest(server: AzServer, image: str) -> str:
    """The digest the registry holds for the image (through imagePresence)."""
    out = server.acrctl("replication", "wait", "-r", REGISTRY, "--image", image, "--timeout", "30")
    return str(out.ok().json["digest"])


def test_az_and_acrctl_import_alike(
    server: AzServer, az_client: Az, source: tuple[str, dict[str, str]]
) -> None:
    hostport, digests = source
    az = az_client.run("acr", "import", "-n", REGISTRY, "--source", f"{hostport}/lib/one:v1",
                       "-t", "byaz:v1")  # fmt: skip
    ours = server.acrctl("import", "-n", REGISTRY, "--source", f"{hostport}/lib/one:v1",
                         "-t", "byacrctl:v1")  # fmt: skip
    assert (az.rc, az.stdout) == (ours.rc, ours.stdout) == (0, ""), (az.describe(), ours.describe())
    assert digest(server, "byaz:v1") == digest(server, "byacrctl:v1") == digests["one"]


def test_az_and_acrctl_fail_alike_on_an_existing_tag(
    server: AzServer, az_client: Az, source: tuple[str, dict[str, str]]
) -> None:
    hostport, _ = source
    args = ("-n", REGISTRY, "--source", f"{hostport}/lib/two:v1", "-t", "taken:v1")
    server.acrctl(
        "import", "-n", REGISTRY, "--source", f"{hostport}/lib/one:v1", "-t", "taken:v1"
    ).ok()
    az = az_client.run("acr", "import", *args)
    ours = server.acrctl("import", *args)
    assert (az.rc, ours.rc) == (1, 1), (az.describe(), ours.describe())
    assert ours.stderr == az.stderr, (az.describe(), ours.describe())
