"""The data plane on the path a user takes (issues 16 and 17): `acrctl server` (a real
process) with --tls-cert/--tls-key from a private CA (trustme); a service principal logs in
with `account login --ca-bundle`, creates a Premium registry with two more replicas, `acrctl
login` writes docker's config, skopeo pushes through the front over TLS trusting the CA
(`--dest-cert-dir`), and the replication tools report. The server runs with default settings
but one: the replication reconcile pass is an hour apart, so an image only reaches the other
regions in time when the regions' notifications arrive (over TLS they used to be off).

The login server names resolve the way docs/dataplane.md tells users: a hosts line, here a
hosts file bind-mounted over /etc/hosts for skopeo only (`unshare --mount`, root)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import oci_image
import pytest
import trustme
import yaml
from click.testing import CliRunner
from plain_registry import plain_registry

from acrctl.cli.main import cli
from acrctl.server.serve import free_port

pytestmark = pytest.mark.skipif(
    shutil.which("docker-registry") is None
    or shutil.which("skopeo") is None
    or shutil.which("unshare") is None
    or os.geteuid() != 0,
    reason="needs docker-registry, skopeo and root (unshare --mount for a hosts file)",
)

ADMIN = "acr_dataplane_tls_admin_8c1d5e"
REG, HOME, REPLICAS = "tlsuser1", "eastus", ("westus", "westeurope")
DOMAIN = "acrctl.test"
START_TIMEOUT = 60.0
STEP_TIMEOUT = 120


@dataclass
class User:
    """A running `acrctl server` over TLS and the home of a user logged in to it."""

    url: str
    data_port: int
    ca: Path
    home: Path
    log: Path
    hosts: Path

    @property
    def env(self) -> dict[str, str]:
        return {
            "ACRCTL_CONFIG_DIR": str(self.home / "config"),
            "DOCKER_CONFIG": str(self.home / "docker"),
            "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
        }

    def run(self, *args: str, token: str | None = None, stdin: str | None = None) -> Result:
        env = dict(self.env)
        if token:  # the administrator, before any login
            env |= {
                "ACRCTL_ENDPOINT": self.url,
                "ACRCTL_TOKEN": token,
                "ACRCTL_CA_BUNDLE": str(self.ca),
            }
        result = CliRunner().invoke(cli, list(args), env=env, input=stdin)
        return Result(result.exit_code, result.stdout, result.stderr)

    def skopeo(self, *args: str) -> subprocess.CompletedProcess[str]:
        """skopeo as a user runs it: docker's config for credentials, the CA in a cert
        dir, the login servers named in the hosts file."""
        certs = self.home / "certs"
        certs.mkdir(exist_ok=True)
        shutil.copy(self.ca, certs / "ca.crt")
        inner = " ".join(
            [
                f"mount --bind {self.hosts} /etc/hosts &&",
                "exec skopeo",
                *(f"'{a}'" for a in args),
            ]
        )
        return subprocess.run(
            ["unshare", "--mount", "--propagation", "private", "sh", "-c", inner],
            env={**os.environ, **self.env, "HOME": str(self.home)},
            capture_output=True,
            text=True,
            timeout=STEP_TIMEOUT,
            check=False,
        )

    @property
    def certs(self) -> str:
        return str(self.home / "certs")


@dataclass
class Result:
    code: int
    out: str
    err: str


def _cert(tmp: Path, *names: str) -> tuple[Path, Path, Path]:
    """A private CA and a certificate for `names`."""
    ca = trustme.CA()
    cert = ca.issue_cert(*names)
    ca_pem, chain, key = tmp / "ca.pem", tmp / "server.pem", tmp / "server.key"
    ca.cert_pem.write_to_path(str(ca_pem))
    for i, blob in enumerate(cert.cert_chain_pems):
        blob.write_to_path(str(chain), append=i > 0)
    cert.private_key_pem.write_to_path(str(key))
    return ca_pem, chain, key


def _wait_ready(url: str, ca: Path, proc: subprocess.Popen[bytes], log: Path) -> None:
    ctx = ssl.create_default_context(cafile=str(ca))
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text()
        try:
            if httpx.get(f"{url}/readyz", verify=ctx, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"acrctl server did not become ready:\n{log.read_text()}")


@contextmanager
def acrctl_server(tmp: Path, *names: str) -> Iterator[User]:
    """`acrctl server --tls-cert --tls-key` with a certificate for `names`, ready."""
    ca, chain, key = _cert(tmp, *names)
    (tmp / "server.toml").write_text(
        "webhook_allow_local = true\n"  # import from a registry on loopback
        "[settings]\n"
        "replication_reconcile_seconds = 3600\n"  # replication must come from notifications
    )
    port, data_port = free_port(), free_port()
    log = tmp / "server.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACRCTL_")}
    env["ACRCTL_SERVER_BOOTSTRAP_TOKEN"] = ADMIN
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable, "-m", "acrctl", "server", "--config", str(tmp / "server.toml"),
                "--port", str(port), "--data-port", str(data_port),
                "--database", str(tmp / "state.db"),
                "--tls-cert", str(chain), "--tls-key", str(key),
            ],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
    url = f"https://127.0.0.1:{port}"
    try:
        _wait_ready(url, ca, proc, log)
        home = tmp / "home"
        home.mkdir()
        yield User(url, data_port, ca, home, log, tmp / "hosts")
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def startup_lines(log: Path) -> list[str]:
    """The server's own lines (no region output, no access log)."""
    return [
        line
        for line in log.read_text().splitlines()
        if line.startswith("acrctl server: ") and not line.startswith("acrctl server: data plane:")
    ]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[User]:
    """The login servers and regional endpoints are in the certificate, as the start-up
    message asks."""
    names = ["127.0.0.1", f"*.{DOMAIN}", *(f"*.{r}.geo.{DOMAIN}" for r in (HOME, *REPLICAS))]
    with acrctl_server(tmp_path_factory.mktemp("tlsuser"), *names) as user:
        yield user


@pytest.fixture(scope="module")
def user(server: User) -> User:
    """A service principal with AcrPush and Contributor on the subscription, logged in
    with the CA bundle; the registry with its replicas; `acrctl login`; the hosts file
    from the line `acrctl login` suggests."""
    sub = server.run("account", "show", "--query", "id", "-o", "tsv", token=ADMIN)
    assert (sub.code, sub.err) == (0, ""), sub.err
    scope = f"/subscriptions/{sub.out.strip()}"
    sp = server.run(
        "ad", "sp", "create-for-rbac", "-n", "ci", "--role", "Contributor", "--scopes", scope,
        token=ADMIN,
    )  # fmt: skip
    assert sp.code == 0, sp.err
    creds = json.loads(sp.out)
    push = server.run(
        "role", "assignment", "create", "--assignee", creds["appId"], "--role", "AcrPush",
        "--scope", scope, token=ADMIN,
    )  # fmt: skip
    assert push.code == 0, push.err
    login = server.run(
        "account", "login", "--endpoint", server.url, "--ca-bundle", str(server.ca),
        "--store", "file", stdin=f"{creds['password']}\n",
    )  # fmt: skip
    assert (login.code, login.err) == (0, ""), login.err
    who = json.loads(login.out)
    assert (who["id"], who["displayName"]) == (creds["appId"], "ci")
    steps = [
        ("group", "create", "-n", "rg1", "-l", HOME),
        ("create", "-n", REG, "-g", "rg1", "--sku", "Premium", "-l", HOME),
        *(("replication", "create", "-r", REG, "-l", r) for r in REPLICAS),
    ]
    for step in steps:
        done = server.run(*step)
        assert done.code == 0, (step, done.err)
    done = server.run("login", "-n", REG)
    assert (done.code, done.out) == (0, "Login Succeeded\n"), done.err
    host = f"{REG}.{DOMAIN}:{server.data_port}"
    assert done.err == (
        f"WARNING: The login server {host} does not resolve on this machine; docker and "
        f"skopeo need it to (for example a line '127.0.0.1 {REG}.{DOMAIN}' in /etc/hosts).\n"
    )
    server.hosts.write_text(f"127.0.0.1 localhost\n127.0.0.1 {REG}.{DOMAIN}\n")
    return server


@pytest.fixture(scope="module")
def pushed(user: User, tmp_path_factory: pytest.TempPathFactory) -> str:
    """web/app:v1 pushed by skopeo through the front over TLS; its digest."""
    img = oci_image.build(str(tmp_path_factory.mktemp("img") / "layout"), layers=3, seed=1701)
    done = user.skopeo(
        "copy", "-q", "--dest-cert-dir", user.certs, img.ref,
        f"docker://{REG}.{DOMAIN}:{user.data_port}/web/app:v1",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return img.manifest


def test_replication_wait_sees_the_push_in_every_region(user: User, pushed: str) -> None:
    done = user.run("replication", "wait", "-r", REG, "--image", "web/app:v1", "--timeout", "20")
    assert (done.code, done.err) == (0, ""), done.err
    doc = json.loads(done.out)
    assert (doc["complete"], doc["digest"], doc["home"], doc["missing"]) == (
        True,
        pushed,
        HOME,
        [],
    )
    assert sorted((r["region"], r["state"], r["digest"]) for r in doc["value"]) == [
        ("eastus", "present", pushed),
        ("westeurope", "present", pushed),
        ("westus", "present", pushed),
    ]


def test_replication_status_lists_the_image_in_every_region(user: User, pushed: str) -> None:
    done = user.run("replication", "status", "-r", REG, "--image", "web/app:v1")
    assert (done.code, done.err) == (0, "")
    assert sorted((r["region"], r["state"], r["digest"]) for r in json.loads(done.out)) == [
        ("eastus", "present", pushed),
        ("westeurope", "present", pushed),
        ("westus", "present", pushed),
    ]


def test_replication_verify_finds_no_drift(user: User, pushed: str) -> None:
    done = user.run("replication", "verify", "-r", REG)
    assert (done.code, done.err) == (0, ""), done.err
    report = json.loads(done.out)
    assert (report["inSync"], report["drift"]) == (True, [])


def test_import_from_a_plain_registry_reaches_every_replica(user: User, tmp_path: Path) -> None:
    img = oci_image.build(str(tmp_path / "layout"), layers=2, seed=1702)
    with plain_registry(tmp_path / "plain", free_port()) as plain:
        copied = subprocess.run(
            ["skopeo", "copy", "-q", "--dest-tls-verify=false", img.ref,
             f"docker://{plain}/lib/app:v1"],
            capture_output=True, text=True, timeout=STEP_TIMEOUT, check=False,
        )  # fmt: skip
        assert copied.returncode == 0, copied.stderr
        done = user.run("import", "-n", REG, "--source", f"{plain}/lib/app:v1")
        assert (done.code, done.out, done.err) == (0, "", "")
    done = user.run("replication", "wait", "-r", REG, "--image", "lib/app:v1", "--timeout", "20")
    assert (done.code, done.err) == (0, ""), done.err
    assert json.loads(done.out)["digest"] == img.manifest


def test_login_region_serves_skopeo_at_the_regional_endpoint(user: User, pushed: str) -> None:
    done = user.run("login", "-n", REG, "--region", "westus")
    assert (done.code, done.out) == (0, "Login Succeeded\n"), done.err
    host = f"{REG}.westus.geo.{DOMAIN}"
    assert done.err == (
        f"WARNING: The login server {host}:{user.data_port} does not resolve on this "
        f"machine; docker and skopeo need it to (for example a line '127.0.0.1 {host}' "
        "in /etc/hosts).\n"
    )
    with open(user.hosts, "a") as fh:
        fh.write(f"127.0.0.1 {host}\n")
    inspected = user.skopeo(
        "inspect", "--raw", "--cert-dir", user.certs,
        f"docker://{host}:{user.data_port}/web/app:v1",
    )  # fmt: skip
    assert inspected.returncode == 0, inspected.stderr
    assert f"sha256:{hashlib.sha256(inspected.stdout.encode()).hexdigest()}" == pushed


def test_startup_says_where_the_data_plane_is(server: User) -> None:
    lines = startup_lines(server.log)
    assert (
        f"acrctl server: data plane on https://127.0.0.1:{server.data_port} (login servers "
        f"<name>.{DOMAIN}:{server.data_port}; regions: none yet)"
    ) in lines
    assert not [line for line in lines if "WARNING" in line]


def test_startup_warns_when_the_certificate_does_not_name_the_login_servers(
    tmp_path: Path,
) -> None:
    with acrctl_server(tmp_path, "127.0.0.1") as other:
        lines = startup_lines(other.log)
    assert (
        "acrctl server: WARNING: the TLS certificate does not name *.acrctl.test; clients "
        "will refuse those login servers. Issue it for *.acrctl.test (or pick a "
        "--login-domain it names)."
    ) in lines


def test_the_notification_listener_serves_the_regions_only(user: User) -> None:
    """Its URL and secret are in each region's 0600 configuration file; it answers nothing
    else, and nothing without the secret."""
    config = user.home.parent / "dataplane" / HOME / "config.yml"
    deadline = time.monotonic() + START_TIMEOUT  # the region starts on the next reconcile
    while not config.exists():
        assert time.monotonic() < deadline, "region eastus did not start"
        time.sleep(0.1)
    assert config.stat().st_mode & 0o777 == 0o600
    endpoint = yaml.safe_load(config.read_text())["notifications"]["endpoints"][0]
    url, secret = endpoint["url"], endpoint["headers"]["Authorization"][0]
    assert url.startswith("http://127.0.0.1:") and url.endswith(f"/_acrctl/events/{HOME}")
    base = url.rsplit("/_acrctl/", 1)[0]
    assert httpx.post(url, json={"events": []}).status_code == 401
    assert httpx.post(url, json={"events": []}, headers={"Authorization": secret}).json() == {}
    for path in ("/v2/", "/oauth2/token", f"/v2/{REG}/web/app/manifests/v1"):
        assert httpx.get(f"{base}{path}", headers={"Authorization": secret}).status_code == 404


def test_repository_commands_read_the_login_server_over_tls(user: User, pushed: str) -> None:
    listed = user.run("repository", "list", "-n", REG)
    assert (listed.code, listed.err) == (0, ""), listed.err
    assert "web/app" in json.loads(listed.out)
    tags = user.run("repository", "show-tags", "-n", REG, "--repository", "web/app")
    assert (tags.code, tags.out, tags.err) == (0, '[\n  "v1"\n]\n', "")
