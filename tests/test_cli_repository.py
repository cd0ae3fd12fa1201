"""The OCI client (acrctl.client.oci) and `acrctl repository|manifest` against a real CNCF
distribution (`docker-registry`, no auth) on loopback, with images pushed by skopeo; and the
clear stop when a registry has no data plane."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import oci_image
import pytest
from click.testing import CliRunner

from acrctl.cli import oci_session
from acrctl.cli.main import cli
from acrctl.client.errors import NotFoundError
from acrctl.client.oci import OciClient
from acrctl.testing import AcrctlMock

needs_binaries = pytest.mark.skipif(
    shutil.which("docker-registry") is None or shutil.which("skopeo") is None,
    reason="needs docker-registry and skopeo (apt-get install docker-registry skopeo)",
)
START_SECONDS = 10.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Registry:
    def __init__(self, tmp: Path) -> None:
        self.port = free_port()
        self.host = f"127.0.0.1:{self.port}"
        tmp.mkdir(parents=True, exist_ok=True)
        config = tmp / "config.yml"
        config.write_text(
            "version: 0.1\nlog: {level: error}\n"
            f"storage: {{filesystem: {{rootdirectory: {tmp / 'data'}}}, "
            "delete: {enabled: true}}\n"
            f"http: {{addr: '{self.host}'}}\n"
        )
        self.proc = subprocess.Popen(
            ["docker-registry", "serve", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + START_SECONDS
        while True:
            try:
                if httpx.get(f"http://{self.host}/v2/", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self.stop()
                raise RuntimeError("docker-registry did not start")
            time.sleep(0.05)

    def push(self, image: oci_image.Image, ref: str) -> None:
        done = subprocess.run(
            [
                "skopeo",
                "copy",
                "-q",
                "--dest-tls-verify=false",
                image.ref,
                f"docker://{self.host}/{ref}",
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[Registry]:
    reg = Registry(tmp_path / "registry")
    try:
        yield reg
    finally:
        reg.stop()


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> tuple[oci_image.Image, oci_image.Image]:
    root = tmp_path_factory.mktemp("images")
    return (
        oci_image.build(str(root / "a"), layers=2, seed=1),
        oci_image.build(str(root / "b"), layers=3, seed=2),
    )


@pytest.fixture
def pushed(registry: Registry, images: tuple[oci_image.Image, oci_image.Image]) -> Registry:
    """web/app:v1 and :latest (image a), web/app:v2 (image b), tools/cli:1 (image b)."""
    a, b = images
    registry.push(a, "web/app:v1")
    registry.push(a, "web/app:latest")
    registry.push(b, "web/app:v2")
    registry.push(b, "tools/cli:1")
    return registry


# == the client ================================================================================


@needs_binaries
def test_client_lists_catalog_and_tags(pushed: Registry) -> None:
    with OciClient(f"http://{pushed.host}") as oci:
        assert oci.catalog() == ["tools/cli", "web/app"]
        assert oci.catalog(top=1) == ["tools/cli"]
        assert sorted(oci.tags("web/app")) == ["latest", "v1", "v2"]


@needs_binaries
def test_client_follows_catalog_pages(pushed: Registry, monkeypatch: pytest.MonkeyPatch) -> None:
    from acrctl.client import oci as oci_mod

    monkeypatch.setattr(oci_mod, "PAGE_SIZE", 1)
    with OciClient(f"http://{pushed.host}") as oci:
        assert oci.catalog() == ["tools/cli", "web/app"]


@needs_binaries
def test_client_reads_a_manifest_byte_identical(
    pushed: Registry, images: tuple[oci_image.Image, oci_image.Image]
) -> None:
    a, _ = images
    with OciClient(f"http://{pushed.host}") as oci:
        m = oci.manifest("web/app", "v1")
        assert (m.digest, m.raw) == (a.manifest, a.manifest_bytes)
        assert m.media_type == oci_image.MANIFEST
        assert oci.head_manifest("web/app", "latest") == (
            a.manifest,
            oci_image.MANIFEST,
            len(a.manifest_bytes),
        )


@needs_binaries
def test_client_missing_manifest_is_not_found(pushed: Registry) -> None:
    with OciClient(f"http://{pushed.host}") as oci, pytest.raises(NotFoundError) as err:
        oci.manifest("web/app", "nosuchtag")
    assert err.value.code == "MANIFEST_UNKNOWN"


@needs_binaries
def test_client_connects_elsewhere_with_the_login_server_as_host(pushed: Registry) -> None:
    seen: list[str] = []

    def hook(request: httpx.Request) -> None:
        seen.append(f"{request.url.netloc.decode()} {request.headers['host']}")

    oci = OciClient(f"http://contoso1.acrctl.test:{pushed.port}", connect=pushed.host)
    oci.http.event_hooks["request"] = [hook]
    with oci:
        assert oci.catalog() == ["tools/cli", "web/app"]
    assert seen == [f"{pushed.host} contoso1.acrctl.test:{pushed.port}"]


def test_client_gets_a_token_on_a_bearer_challenge() -> None:
    """The 401 challenge -> POST realm with the refresh token and each scope -> retry."""
    calls: list[tuple[str, str, str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        body = request.content.decode()
        calls.append(
            (request.method, request.url.path, body or request.headers.get("authorization", ""))
        )
        if request.url.path == "/oauth2/token":
            return httpx.Response(200, json={"access_token": "tok1"})
        if request.headers.get("authorization") == "Bearer tok1":
            return httpx.Response(200, json={"name": "web/app", "tags": ["v1"]})
        return httpx.Response(
            401,
            headers={
                "www-authenticate": (
                    'Bearer realm="https://r1.acrctl.test/oauth2/token",service="r1.acrctl.test",'
                    'scope="repository:web/app:pull"'
                )
            },
        )

    with OciClient(
        "https://r1.acrctl.test", refresh_token="rt", transport=httpx.MockTransport(handler)
    ) as oci:
        assert oci.tags("web/app") == ["v1"]
        assert oci.tags("web/app") == ["v1"]  # the token is kept for the repository
    assert calls == [
        ("GET", "/v2/web/app/tags/list", ""),
        (
            "POST",
            "/oauth2/token",
            "grant_type=refresh_token&service=r1.acrctl.test&"
            "refresh_token=rt&scope=repository%3Aweb%2Fapp%3Apull",
        ),
        ("GET", "/v2/web/app/tags/list", "Bearer tok1"),
        ("GET", "/v2/web/app/tags/list", "Bearer tok1"),
    ]


def test_client_refuses_an_answer_past_its_size_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    from acrctl.client import oci as oci_mod

    monkeypatch.setattr(oci_mod, "MAX_RESPONSE_BYTES", 1000)
    sent: list[int] = []

    def chunks() -> Iterator[bytes]:
        for _ in range(100):
            sent.append(1)
            yield b"x" * 100

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=chunks())

    with (
        OciClient("http://r1.acrctl.test", transport=httpx.MockTransport(handler)) as oci,
        pytest.raises(oci_mod.ResponseTooLarge) as err,
    ):
        oci.tags("web/app")
    assert str(err.value) == (
        "(ResponseTooLarge) The registry's answer to GET "
        "/v2/web/app/tags/list is larger than 1000 bytes."
    )
    assert len(sent) == 11  # stopped reading at the limit


# == the CLI ===================================================================================


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def cli_registry(
    acrctl_mock: AcrctlMock, monkeypatch: pytest.MonkeyPatch, pushed: Registry
) -> Registry:
    """Registry myreg1 whose login server is the plain distribution above (no auth, so
    the -u/-p the tests pass are never asked for)."""
    assert run("group", "create", "-n", "rg1", "-l", "westus")[0] == 0
    assert run("create", "-n", "myreg1", "-g", "rg1", "--sku", "Basic")[0] == 0
    monkeypatch.setattr(
        oci_session,
        "login_server",
        lambda env, name, rg: oci_session.LoginServer(name, pushed.host, "http", None),
    )
    return pushed


CREDS = ("-u", "myreg1", "-p", "unused")


def cli_json(*args: str) -> Any:
    code, out, err = run(*args, *CREDS)
    assert code == 0, err
    return json.loads(out) if out else None


@needs_binaries
def test_cli_repository_list(cli_registry: Registry) -> None:
    assert cli_json("repository", "list", "-n", "myreg1") == ["tools/cli", "web/app"]
    code, out, _ = run("repository", "list", "-n", "myreg1", "--top", "1", "-o", "tsv", *CREDS)
    assert (code, out) == (0, "tools/cli\n")


@needs_binaries
def test_cli_repository_show_tags(
    cli_registry: Registry, images: tuple[oci_image.Image, oci_image.Image]
) -> None:
    assert sorted(
        cli_json("repository", "show-tags", "-n", "myreg1", "--repository", "web/app")
    ) == ["latest", "v1", "v2"]
    detail = cli_json(
        "repository", "show-tags", "-n", "myreg1", "--repository", "tools/cli", "--detail"
    )
    assert detail == [{"digest": images[1].manifest, "name": "1"}]


@needs_binaries
def test_cli_repository_show_manifests_groups_tags_by_digest(
    cli_registry: Registry, images: tuple[oci_image.Image, oci_image.Image]
) -> None:
    a, b = images
    out = cli_json("repository", "show-manifests", "-n", "myreg1", "--repository", "web/app")
    got = {d["digest"]: sorted(d["tags"]) for d in out}
    assert got == {a.manifest: ["latest", "v1"], b.manifest: ["v2"]}


@needs_binaries
def test_cli_repository_show(
    cli_registry: Registry, images: tuple[oci_image.Image, oci_image.Image]
) -> None:
    assert cli_json("repository", "show", "-n", "myreg1", "--repository", "web/app") == {
        "imageName": "web/app",
        "manifestCount": 2,
        "registry": cli_registry.host,
        "tagCount": 3,
    }
    assert cli_json("repository", "show", "-n", "myreg1", "--image", "web/app:v2") == {
        "digest": images[1].manifest,
        "mediaType": oci_image.MANIFEST,
        "name": "v2",
        "size": len(images[1].manifest_bytes),
    }


@needs_binaries
def test_cli_manifest_list_metadata(
    cli_registry: Registry, images: tuple[oci_image.Image, oci_image.Image]
) -> None:
    _, b = images
    out = cli_json("manifest", "list-metadata", "-r", "myreg1", "-n", "tools/cli")
    manifest = json.loads(b.manifest_bytes)
    size = manifest["config"]["size"] + sum(x["size"] for x in manifest["layers"])
    assert out == [
        {
            "architecture": "amd64",
            "configMediaType": oci_image.CONFIG,
            "digest": b.manifest,
            "imageSize": size,
            "mediaType": oci_image.MANIFEST,
            "os": "linux",
            "tags": ["1"],
        }
    ]


@needs_binaries
def test_cli_manifest_show_raw_is_byte_identical(
    cli_registry: Registry, images: tuple[oci_image.Image, oci_image.Image]
) -> None:
    result = CliRunner().invoke(
        cli, ["manifest", "show", "-r", "myreg1", "-n", "web/app:v1", "--raw", *CREDS]
    )
    assert result.exit_code == 0, result.stderr
    assert result.stdout_bytes == images[0].manifest_bytes
    assert cli_json(
        "manifest", "show", "-r", "myreg1", "-n", f"web/app@{images[0].manifest}"
    ) == json.loads(images[0].manifest_bytes)


@needs_binaries
def test_cli_manifest_delete_removes_every_tag_of_it(cli_registry: Registry) -> None:
    code, out, err = run("manifest", "delete", "-r", "myreg1", "-n", "web/app:v1", "--yes", *CREDS)
    assert (code, out) == (0, ""), err
    assert cli_json("repository", "show-tags", "-n", "myreg1", "--repository", "web/app") == ["v2"]


@needs_binaries
def test_cli_repository_delete_image_without_yes_needs_a_tty(cli_registry: Registry) -> None:
    code, _, err = run("repository", "delete", "-n", "myreg1", "--image", "web/app:v1", *CREDS)
    assert code == 1
    assert err == "ERROR: Unable to prompt for confirmation as no tty available. Use --yes.\n"
    assert len(cli_json("repository", "show-tags", "-n", "myreg1", "--repository", "web/app")) == 3


@needs_binaries
def test_cli_repository_delete_repository(cli_registry: Registry) -> None:
    code, _, err = run(
        "repository", "delete", "-n", "myreg1", "--repository", "web/app", "--yes", *CREDS
    )
    assert code == 0, err
    code, _, err = run("repository", "show-tags", "-n", "myreg1", "--repository", "web/app", *CREDS)
    assert code == 0, err  # distribution keeps the (empty) repository name
    assert cli_json("repository", "show-tags", "-n", "myreg1", "--repository", "tools/cli") == ["1"]


@needs_binaries
def test_cli_repository_untag_keeps_the_manifest_and_other_tags(
    cli_registry: Registry, images: tuple[oci_image.Image, oci_image.Image]
) -> None:
    code, out, err = run("repository", "untag", "-n", "myreg1", "--image", "web/app:latest", *CREDS)
    assert (code, out) == (0, ""), err
    assert sorted(
        cli_json("repository", "show-tags", "-n", "myreg1", "--repository", "web/app")
    ) == ["v1", "v2"]
    with OciClient(f"http://{cli_registry.host}") as oci:
        assert oci.manifest("web/app", "v1").raw == images[0].manifest_bytes


@needs_binaries
def test_cli_repository_untag_of_the_last_tag_keeps_it_by_digest(
    cli_registry: Registry, images: tuple[oci_image.Image, oci_image.Image]
) -> None:
    assert run("repository", "untag", "-n", "myreg1", "--image", "tools/cli:1", *CREDS)[0] == 0
    assert cli_json("repository", "show-tags", "-n", "myreg1", "--repository", "tools/cli") in (
        [],
        None,
    )
    with OciClient(f"http://{cli_registry.host}") as oci:
        assert oci.manifest("tools/cli", images[1].manifest).raw == images[1].manifest_bytes


@needs_binaries
def test_cli_repository_update_says_it_is_not_supported(cli_registry: Registry) -> None:
    code, _, err = run(
        "repository",
        "update",
        "-n",
        "myreg1",
        "--image",
        "web/app:v1",
        "--write-enabled",
        "false",
        *CREDS,
    )
    assert code == 1
    assert err.startswith(
        "ERROR: Repository and image attributes (delete/list/read/"
        "write-enabled) are not supported by acrctl's data plane"
    )


def test_cli_repository_needs_repository_or_image(acrctl_mock: AcrctlMock) -> None:
    code, _, err = run("repository", "show", "-n", "myreg1")
    assert code == 2
    assert err == "ERROR: Usage error: supply either --repository or --image, not both.\n"


def test_cli_without_a_data_plane_says_what_to_start(acrctl_mock: AcrctlMock) -> None:
    assert run("group", "create", "-n", "rg1", "-l", "westus")[0] == 0
    assert run("create", "-n", "myreg1", "-g", "rg1", "--sku", "Basic")[0] == 0
    for args in (
        ("repository", "list", "-n", "myreg1"),
        ("manifest", "list-metadata", "-r", "myreg1", "-n", "web"),
        ("login", "-n", "myreg1"),
    ):
        code, out, err = run(*args)
        assert (code, out) == (1, ""), args
        assert err == (
            "ERROR: The registry 'myreg1' has no data plane here: its login server "
            "'myreg1.azurecr.io' is not served by acrctl. Start 'acrctl server' with the "
            "docker-registry package installed (apt-get install docker-registry) so that it "
            "runs the data plane, and use that server (acrctl account login --endpoint URL; "
            "in embedded mode, the server must use this state file as its --database).\n"
        )


# == end to end through acrctl's data plane (acrctl.dataplane) ==================================

E2E_ADMIN = "acr_cli_repository_admin_token_51c0"


class Front:
    def __init__(self, server: Any, tmp: Path) -> None:
        self.server, self.tmp = server, tmp
        self.port = int(server.dataplane.port)
        self.login_server = f"contoso2.acrctl.test:{self.port}"
        self.hosts = tmp / "hosts"
        self.hosts.write_text(f"127.0.0.1 contoso2.acrctl.test\n{Path('/etc/hosts').read_text()}")

    def skopeo(self, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
        """skopeo with the login server in its hosts file (a private mount namespace) and
        only the auth that `acrctl login` wrote under `home`."""
        env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "XDG_RUNTIME_DIR": str(home / "run")}
        script = 'mount --bind "$0" /etc/hosts && exec skopeo "$@"'
        return subprocess.run(
            [
                "unshare",
                "--mount",
                "--propagation",
                "private",
                "sh",
                "-c",
                script,
                str(self.hosts),
                *args,
            ],
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
            check=False,
        )


@pytest.fixture(scope="module")
def front(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Front]:
    if shutil.which("unshare") is None:
        pytest.skip("needs unshare (util-linux) to give skopeo a hosts file")
    from acrctl.backend.core import Settings
    from acrctl.server.serve import ServerConfig, ThreadedServer

    tmp = tmp_path_factory.mktemp("front")
    settings = Settings()
    settings.dataplane_storage = str(tmp / "storage")
    server = ThreadedServer(
        ServerConfig(
            database=str(tmp / "state.db"), data_port=1, settings=settings, admin_token=E2E_ADMIN
        )
    )
    server.start()
    try:
        if server.dataplane is None:
            pytest.skip("the data plane did not start")
        with httpx.Client(
            base_url=server.url, headers={"Authorization": f"Bearer {E2E_ADMIN}"}
        ) as arm:
            sub = f"/subscriptions/{server.subscription}/resourcegroups/rg1"
            assert arm.put(
                f"{sub}?api-version=2021-04-01", json={"location": "eastus"}
            ).status_code in (200, 201)
            r = arm.put(
                f"{sub}/providers/Microsoft.ContainerRegistry/registries/contoso2"
                "?api-version=2025-11-01",
                json={
                    "location": "eastus",
                    "sku": {"name": "Premium"},
                    "properties": {"adminUserEnabled": True},
                },
            )
            assert r.status_code in (200, 201), r.text
        yield Front(server, tmp)
    finally:
        server.stop()


@pytest.fixture
def server_mode(front: Front, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """The CLI on the front's server; returns the HOME whose ~/.docker it logs in to."""
    monkeypatch.setenv("ACRCTL_ENDPOINT", front.server.url)
    monkeypatch.setenv("ACRCTL_TOKEN", E2E_ADMIN)
    monkeypatch.delenv("DOCKER_CONFIG", raising=False)
    home = tmp_path / "home"
    (home / "run").mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    return home


@pytest.fixture(scope="module")
def pushed_via_front(
    front: Front,
    tmp_path_factory: pytest.TempPathFactory,
    images: tuple[oci_image.Image, oci_image.Image],
) -> oci_image.Image:
    """`acrctl login` then a plain skopeo push of web/app:v1 through the login server."""
    home = tmp_path_factory.mktemp("pushhome")
    (home / "run").mkdir()
    mp = pytest.MonkeyPatch()
    try:
        mp.setenv("ACRCTL_ENDPOINT", front.server.url)
        mp.setenv("ACRCTL_TOKEN", E2E_ADMIN)
        mp.setenv("HOME", str(home))
        mp.delenv("DOCKER_CONFIG", raising=False)
        code, out, err = run("login", "-n", "contoso2")
        assert (code, out) == (0, "Login Succeeded\n"), err
    finally:
        mp.undo()
    done = front.skopeo(
        home,
        "copy",
        "-q",
        "--dest-tls-verify=false",
        images[0].ref,
        f"docker://{front.login_server}/web/app:v1",
    )
    assert done.returncode == 0, done.stderr
    return images[0]


@needs_binaries
def test_e2e_login_writes_the_null_user_and_a_refresh_token(
    front: Front, server_mode: Path
) -> None:
    code, out, err = run("login", "-n", "contoso2")
    assert (code, out) == (0, "Login Succeeded\n"), err
    assert "does not resolve on this machine" in err
    doc = json.loads((server_mode / ".docker" / "config.json").read_text())
    entry = doc["auths"][front.login_server]
    assert sorted(entry) == ["auth", "identitytoken"]
    assert entry["auth"] == "MDAwMDAwMDAtMDAwMC0wMDAwLTAwMDAtMDAwMDAwMDAwMDAwOg=="
    assert entry["identitytoken"].count(".") == 2  # a JWT


@needs_binaries
def test_e2e_login_honours_docker_config(
    front: Front, server_mode: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    where = tmp_path / "dockercfg"
    where.mkdir()
    (where / "config.json").write_text('{"auths": {"other.io": {"auth": "eDp5"}}, "psFormat": "x"}')
    monkeypatch.setenv("DOCKER_CONFIG", str(where))
    assert run("login", "-n", "contoso2")[0] == 0
    doc = json.loads((where / "config.json").read_text())
    assert sorted(doc["auths"]) == [front.login_server, "other.io"]
    assert doc["psFormat"] == "x"
    assert (where / "config.json").stat().st_mode & 0o777 == 0o600
    assert not (server_mode / ".docker").exists()


@needs_binaries
def test_e2e_login_expose_token_prints_it_and_writes_nothing(
    front: Front, server_mode: Path
) -> None:
    code, out, err = run("login", "-n", "contoso2", "--expose-token")
    assert code == 0, err
    doc = json.loads(out)
    assert sorted(doc) == ["accessToken", "loginServer", "username"]
    assert doc["loginServer"] == front.login_server
    assert doc["username"] == "00000000-0000-0000-0000-000000000000"
    assert err.startswith(
        "WARNING: You can perform manual login using the provided access "
        "token below, for example: 'docker login "
    )
    assert not (server_mode / ".docker").exists()


@needs_binaries
def test_e2e_login_with_the_admin_user(front: Front, server_mode: Path) -> None:
    pw = json.loads(run("credential", "show", "-n", "contoso2")[1])["passwords"][1]["value"]
    code, out, err = run("login", "-n", "contoso2", "-u", "contoso2", "-p", pw)
    assert (code, out) == (0, "Login Succeeded\n"), err
    code, out, err = run("login", "-n", "contoso2", "-u", "contoso2", "-p", pw + "x")
    assert (code, out) == (1, "")
    assert err == (
        f"ERROR: (UNAUTHORIZED) Could not log in to {front.login_server}: access "
        "denied (invalid username or password).\n"
    )


@needs_binaries
def test_e2e_repository_list_and_show_tags_after_a_skopeo_push(
    server_mode: Path, pushed_via_front: oci_image.Image
) -> None:
    code, out, err = run("repository", "list", "-n", "contoso2")
    assert (code, json.loads(out) if out else None) == (0, ["web/app"]), err
    code, out, err = run("repository", "show-tags", "-n", "contoso2", "--repository", "web/app")
    assert (code, json.loads(out) if out else None) == (0, ["v1"]), err


@needs_binaries
def test_e2e_manifest_list_metadata_after_a_skopeo_push(
    server_mode: Path, pushed_via_front: oci_image.Image
) -> None:
    code, out, err = run("manifest", "list-metadata", "-r", "contoso2", "-n", "web/app")
    assert code == 0, err
    assert [(m["digest"], m["tags"]) for m in json.loads(out)] == [
        (pushed_via_front.manifest, ["v1"])
    ]


@needs_binaries
def test_e2e_skopeo_pulls_back_byte_identical_with_the_login(
    front: Front, server_mode: Path, pushed_via_front: oci_image.Image
) -> None:
    assert run("login", "-n", "contoso2")[0] == 0
    done = front.skopeo(
        server_mode,
        "inspect",
        "--raw",
        "--tls-verify=false",
        f"docker://{front.login_server}/web/app:v1",
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.encode() == pushed_via_front.manifest_bytes


@needs_binaries
def test_e2e_repository_delete_image(server_mode: Path, pushed_via_front: oci_image.Image) -> None:
    code, _, err = run("repository", "delete", "-n", "contoso2", "--image", "web/app:v1", "--yes")
    assert code == 0, err
    code, out, err = run("repository", "show-tags", "-n", "contoso2", "--repository", "web/app")
    assert code == 0, err
    assert (json.loads(out) if out else []) == []


@needs_binaries
def test_e2e_embedded_mode_on_the_servers_state_file(
    front: Front, monkeypatch: pytest.MonkeyPatch, pushed_via_front: oci_image.Image
) -> None:
    """No endpoint: the CLI works on the state file the running server uses, and reaches
    its data plane as the local user."""
    monkeypatch.delenv("ACRCTL_ENDPOINT", raising=False)
    monkeypatch.setenv("ACRCTL_STATE", str(front.tmp / "state.db"))
    code, out, err = run("repository", "list", "-n", "contoso2")
    assert (code, json.loads(out) if out else None) == (0, ["web/app"]), err
