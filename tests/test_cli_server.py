"""`acrctl server` end to end: the installed entry point runs the server as a subprocess on
a free port, and the installed `acrctl` CLI talks to it as a subprocess too."""

from __future__ import annotations

import contextlib
import json
import os
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from acrctl.cli.main import cli
from acrctl.cli.server import default_database
from acrctl.server.serve import free_port

ACRCTL = os.path.join(os.path.dirname(sys.executable), "acrctl")
BOOT = "acr_bootstrap_token_for_tests"


@dataclass
class Running:
    url: str
    proc: subprocess.Popen[bytes]
    stderr: Path

    def log(self) -> str:
        return self.stderr.read_text()


@contextlib.contextmanager
def server(
    tmp_path: Path,
    *args: str,
    token: str | None = BOOT,
    ca: str | None = None,
    name: str = "server",
) -> Iterator[Running]:
    """`acrctl server` on a free port with its database in tmp_path; killed on exit."""
    port = free_port()
    env = {**os.environ}
    env.pop("ACRCTL_BOOTSTRAP_TOKEN", None)
    if token:
        env["ACRCTL_BOOTSTRAP_TOKEN"] = token
    log = tmp_path / f"{name}-{port}.log"
    scheme = "https" if "--tls-cert" in args else "http"
    with open(log, "wb") as fh:
        proc = subprocess.Popen(
            [
                ACRCTL,
                "server",
                "--port",
                str(port),
                "--database",
                str(tmp_path / "server.db"),
                *args,
            ],
            stdout=fh,
            stderr=fh,
            env=env,
        )
    running = Running(f"{scheme}://127.0.0.1:{port}", proc, log)
    try:
        wait_healthy(running, ca)
        yield running
    finally:
        stop(proc)


def wait_healthy(running: Running, ca: str | None) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if running.proc.poll() is not None:
            raise AssertionError(f"acrctl server exited: {running.log()}")
        with contextlib.suppress(httpx.TransportError):
            verify = ssl.create_default_context(cafile=ca) if ca else True
            if httpx.get(f"{running.url}/healthz", verify=verify, timeout=1).status_code == 200:
                return
        time.sleep(0.05)
    raise AssertionError(f"acrctl server did not become healthy: {running.log()}")


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def acrctl(
    tmp_path: Path, url: str, *args: str, token: str | None = BOOT, **extra_env: str
) -> subprocess.CompletedProcess[str]:
    """The installed CLI against `url`, with an isolated config dir."""
    env = {
        **os.environ,
        "ACRCTL_ENDPOINT": url,
        "ACRCTL_CONFIG_DIR": str(tmp_path / "cli"),
        **extra_env,
    }
    env.pop("ACRCTL_TOKEN", None)
    if token:
        env["ACRCTL_TOKEN"] = token
    return subprocess.run(
        [ACRCTL, *args], capture_output=True, text=True, env=env, timeout=60, check=False
    )


def ok(proc: subprocess.CompletedProcess[str]) -> Any:
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout) if proc.stdout.strip() else None


# -- usage (no server needed) -----------------------------------------------------------------


def test_tls_cert_without_key_is_a_usage_error(tmp_path: Path) -> None:
    cert = tmp_path / "cert.pem"
    cert.write_text("not used")
    result = CliRunner().invoke(cli, ["server", "--tls-cert", str(cert)])
    assert result.exit_code == 2
    assert result.stderr.startswith("ERROR: --tls-cert and --tls-key must be given together.\n")


def test_default_database_is_under_the_xdg_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ACRCTL_STATE")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert default_database() == str(tmp_path / "acrctl" / "server.db")


# -- a real server -----------------------------------------------------------------------------


@pytest.mark.server
def test_registry_and_replication_through_the_server(tmp_path: Path) -> None:
    with server(tmp_path) as srv:
        ok(acrctl(tmp_path, srv.url, "group", "create", "-n", "rg1", "-l", "westus"))
        reg = ok(
            acrctl(tmp_path, srv.url, "create", "-n", "myreg1", "-g", "rg1", "--sku", "Premium")
        )
        rep = ok(acrctl(tmp_path, srv.url, "replication", "create", "-r", "myreg1", "-l", "eastus"))
    assert reg == {**reg, "loginServer": "myreg1.azurecr.io", "provisioningState": "Succeeded"}
    assert rep == {
        **rep,
        "name": "eastus",
        "location": "eastus",
        "resourceGroup": "rg1",
        "provisioningState": "Succeeded",
    }


@pytest.mark.server
def test_state_survives_a_restart_without_a_new_token(tmp_path: Path) -> None:
    with server(tmp_path, name="first") as srv:
        ok(acrctl(tmp_path, srv.url, "group", "create", "-n", "rg1", "-l", "westus"))
        ok(acrctl(tmp_path, srv.url, "create", "-n", "myreg1", "-g", "rg1", "--sku", "Basic"))
        first = srv.log()
    with server(tmp_path, token=None, name="second") as srv:
        names = ok(acrctl(tmp_path, srv.url, "list", "--query", "[].name"))
        second = srv.log()
    assert names == ["myreg1"]
    assert "Bootstrapped subscription" in first
    assert "Bootstrapped subscription" not in second
    assert "Admin token" not in second


@pytest.mark.server
def test_first_start_prints_the_admin_token_once(tmp_path: Path) -> None:
    prefix = "Admin token (shown once, store it now): "
    with server(tmp_path, token=None, name="first") as srv:
        lines = [ln for ln in srv.log().splitlines() if ln.startswith(prefix)]
        assert len(lines) == 1
        token = lines[0][len(prefix) :]
        assert ok(acrctl(tmp_path, srv.url, "list", token=token)) == []
    with server(tmp_path, token=None, name="second") as srv:
        second = srv.log()
    assert token not in second
    assert prefix not in second


@pytest.mark.server
def test_https_with_tls_cert_and_key(tmp_path: Path) -> None:
    import trustme

    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    cert_file, key_file, ca_file = (tmp_path / n for n in ("cert.pem", "key.pem", "ca.pem"))
    cert_file.write_bytes(b"".join(p.bytes() for p in cert.cert_chain_pems))
    cert.private_key_pem.write_to_path(str(key_file))
    ca.cert_pem.write_to_path(str(ca_file))
    with server(
        tmp_path, "--tls-cert", str(cert_file), "--tls-key", str(key_file), ca=str(ca_file)
    ) as srv:
        assert srv.url.startswith("https://")
        result = acrctl(tmp_path, srv.url, "list", ACRCTL_CA_BUNDLE=str(ca_file))
    assert (result.returncode, result.stdout) == (0, "[]\n")


@pytest.mark.server
def test_login_with_file_store_then_list_without_token(tmp_path: Path) -> None:
    with server(tmp_path) as srv:
        env = {**os.environ, "ACRCTL_CONFIG_DIR": str(tmp_path / "cli")}
        env.pop("ACRCTL_TOKEN", None)
        login = subprocess.run(
            [ACRCTL, "account", "login", "--endpoint", srv.url, "--store", "file"],
            input=f"{BOOT}\n",
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=False,
        )
        listed = subprocess.run(
            [ACRCTL, "list"], capture_output=True, text=True, env=env, timeout=60, check=False
        )
    assert login.returncode == 0, login.stderr
    assert (tmp_path / "cli" / "tokens.json").stat().st_mode & 0o777 == 0o600
    assert (listed.returncode, listed.stdout) == (0, "[]\n")


@pytest.mark.server
def test_reader_principal_can_list_but_not_create(tmp_path: Path) -> None:
    with server(tmp_path) as srv:
        sub = acrctl(
            tmp_path, srv.url, "account", "show", "--query", "subscription", "-o", "tsv"
        ).stdout.strip()
        ok(acrctl(tmp_path, srv.url, "group", "create", "-n", "rg1", "-l", "westus"))
        sp = ok(
            acrctl(
                tmp_path,
                srv.url,
                "ad",
                "sp",
                "create-for-rbac",
                "--name",
                "reader1",
                "--role",
                "Reader",
                "--scopes",
                f"/subscriptions/{sub}",
            )
        )
        assert isinstance(sp, dict)
        listed = acrctl(tmp_path, srv.url, "list", token=sp["password"])
        created = acrctl(
            tmp_path,
            srv.url,
            "create",
            "-n",
            "myreg1",
            "-g",
            "rg1",
            "--sku",
            "Basic",
            token=sp["password"],
        )
    assert (listed.returncode, listed.stdout) == (0, "[]\n")
    assert created.returncode == 1
    assert created.stderr.startswith(
        f"ERROR: (AuthorizationFailed) The client 'reader1' with object id '{sp['appId']}' "
        "does not have authorization to perform action "
        "'Microsoft.ContainerRegistry/registries/write'"
    )


def test_port_zero_announces_and_serves_the_port_the_system_picked(tmp_path: Path) -> None:
    log = tmp_path / "port0.log"
    env = {**os.environ, "ACRCTL_BOOTSTRAP_TOKEN": BOOT}
    with open(log, "wb") as fh:
        proc = subprocess.Popen(
            [ACRCTL, "server", "--port", "0", "--database", str(tmp_path / "s.db")],
            stdout=fh,
            stderr=fh,
            env=env,
        )
    try:
        deadline, url = time.monotonic() + 20, ""
        while not url and time.monotonic() < deadline:
            found = [w for w in log.read_text().split() if w.startswith("http://127.0.0.1:")]
            url = found[0] if found else ""
            time.sleep(0.05)
        assert url and not url.endswith(":0"), log.read_text()
        running = Running(url, proc, log)
        wait_healthy(running, None)
        assert httpx.get(f"{url}/healthz", timeout=5).status_code == 200
    finally:
        stop(proc)
