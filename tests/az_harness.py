"""The real Azure CLI against a real `acrctl server`: a reusable harness.

* `AzServer`: `acrctl server` as its own process (what a user runs), HTTPS with a trustme CA
  on a free 127.0.0.1 port, a SQLite file, its request log in a file (one JSON line per
  request: `unmatched()` lists those no route matched).
* `Az`: the real az from the separate virtualenv `.venv-az` (tests/install_az.sh), run with a
  private AZURE_CONFIG_DIR, telemetry off and REQUESTS_CA_BUNDLE = the test CA.
* Fixtures (load with `pytest_plugins = ("az_harness",)`): `az_server` (one per session),
  `az_principal` (a Contributor service principal minted with `acrctl ad sp
  create-for-rbac`) and `az` (an Az whose cloud is set up and which is logged in as it).

If `.venv-az` is missing, the fixtures fail (never skip) with the command that installs it.
"""

from __future__ import annotations

import json
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import trustme

ROOT = Path(__file__).resolve().parents[1]
AZ_VENV = ROOT / ".venv-az"
AZ_BIN = AZ_VENV / "bin" / "az"
INSTALL = "tests/install_az.sh"
ADMIN_TOKEN = "acr_az_harness_admin_token_4c7e91"
CLOUD = "acrlocal"
AZ_TIMEOUT = 120.0  # seconds one az command may take (it starts in 1-3 s)
START_TIMEOUT = 30.0  # seconds for acrctl server to answer /healthz


def require_az() -> Path:
    """The az executable of .venv-az, or a loud failure saying how to install it."""
    if not AZ_BIN.exists():
        pytest.fail(
            f"The Azure CLI is not installed in {AZ_VENV}: run `{INSTALL}` (from "
            f"{ROOT}; about a minute) and run the tests again.",
            pytrace=False,
        )
    return AZ_BIN


@dataclass
class Result:
    """One finished command."""

    args: list[str]
    rc: int
    stdout: str
    stderr: str

    @property
    def json(self) -> Any:
        return json.loads(self.stdout)

    def ok(self) -> Result:
        """Assert exit code 0 (with the output in the message); returns self."""
        assert self.rc == 0, self.describe()
        return self

    def describe(self) -> str:
        return (
            f"{' '.join(self.args)}\nexit {self.rc}\n--- stdout\n{self.stdout}\n"
            f"--- stderr\n{self.stderr}"
        )


def _run(cmd: list[str], env: dict[str, str], timeout: float = AZ_TIMEOUT) -> Result:
    proc = subprocess.run(
        cmd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    return Result(cmd, proc.returncode, proc.stdout, proc.stderr)


def _free_port() -> int:
    from acrctl.server.serve import free_port

    return free_port()


class AzServer:
    """`acrctl server` over HTTPS in its own process, management only (`--data-port 0`:
    concurrent servers must not share the data plane's fixed default port). `env` adds
    environment variables (ACRCTL_SERVER_* options), `extra_args` flags (e.g. --config with
    a [settings] table; a later `--data-port N` wins)."""

    def __init__(
        self, tmp: Path, env: dict[str, str] | None = None, extra_args: list[str] | None = None
    ) -> None:
        self.tmp = tmp
        ca = trustme.CA()
        cert = ca.issue_cert("127.0.0.1", "localhost")
        self.ca_pem = str(tmp / "ca.pem")
        chain, key = tmp / "server.pem", tmp / "server.key"
        ca.cert_pem.write_to_path(self.ca_pem)
        for i, blob in enumerate(cert.cert_chain_pems):
            blob.write_to_path(str(chain), append=i > 0)
        cert.private_key_pem.write_to_path(str(key))
        self.port = _free_port()
        self.url = f"https://127.0.0.1:{self.port}"
        self.access_log = tmp / "requests.log"
        self.admin_token = ADMIN_TOKEN
        self.config_dir = tmp / "acrctl-config"
        server_env = {
            **os.environ,
            **(env or {}),
            "ACRCTL_CONFIG_DIR": str(self.config_dir),
            "ACRCTL_SERVER_BOOTSTRAP_TOKEN": ADMIN_TOKEN,
        }
        server_env.pop("ACRCTL_SERVER_CONFIG", None)
        self.stderr = open(tmp / "server.stderr", "w")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "acrctl",
                "server",
                "--port",
                str(self.port),
                "--tls-cert",
                str(chain),
                "--tls-key",
                str(key),
                "--database",
                str(tmp / "server.db"),
                "--access-log",
                str(self.access_log),
                "--retry-after",
                "0",
                "--allow-reset",
                "--data-port",
                "0",
                *(extra_args or []),
            ],
            env=server_env,
            stdin=subprocess.DEVNULL,
            stdout=self.stderr,
            stderr=self.stderr,
        )
        self._wait_ready()
        self.subscription = (
            self.acrctl("account", "show", "--query", "id", "-o", "tsv").ok().stdout.strip()
        )
        self.tenant = (
            self.acrctl("account", "show", "--query", "tenantId", "-o", "tsv").ok().stdout.strip()
        )

    def _wait_ready(self) -> None:
        ctx = ssl.create_default_context(cafile=self.ca_pem)
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"acrctl server exited {self.proc.returncode}:\n"
                    f"{(self.tmp / 'server.stderr').read_text()}"
                )
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", context=ctx, timeout=2):
                    return
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    # -- acrctl's own CLI against this server ------------------------------------------------
    def acrctl_env(self, token: str | None = None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ACRCTL_")}
        env.update(
            ACRCTL_ENDPOINT=self.url,
            ACRCTL_TOKEN=token or self.admin_token,
            ACRCTL_CA_BUNDLE=self.ca_pem,
            ACRCTL_CONFIG_DIR=str(self.config_dir),
            PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring",
        )
        return env

    def acrctl(self, *args: str, token: str | None = None) -> Result:
        """`acrctl ARGS` against this server, as the admin unless `token` is given."""
        return _run([sys.executable, "-m", "acrctl", *args], self.acrctl_env(token))

    def create_sp(
        self, name: str, role: str = "Contributor", scope: str | None = None
    ) -> dict[str, str]:
        """`acrctl ad sp create-for-rbac`: {appId, displayName, password, tenant}."""
        out = self.acrctl(
            "ad",
            "sp",
            "create-for-rbac",
            "--name",
            name,
            "--role",
            role,
            "--scopes",
            scope or f"/subscriptions/{self.subscription}",
        ).ok()
        return dict(out.json)

    # -- what the server saw -----------------------------------------------------------------
    def requests(self) -> list[dict[str, Any]]:
        """Every request so far, from the request log (one JSON object per request)."""
        if not self.access_log.exists():
            return []
        lines = self.access_log.read_text().splitlines()
        return [json.loads(line) for line in lines if line.startswith("{")]

    def unmatched(self) -> list[dict[str, Any]]:
        """The requests no route matched (404 "No route matches" or 405)."""
        return [r for r in self.requests() if r.get("route") is None]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self.stderr.close()


class Az:
    """The real az with its own config dir (a temporary one unless given)."""

    def __init__(self, server: AzServer, config_dir: Path | None = None) -> None:
        self.bin = str(require_az())
        self.server = server
        self.config_dir = config_dir or Path(tempfile.mkdtemp(prefix="az-config-"))
        self.env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("AZURE_", "ACRCTL_", "IDENTITY_", "MSI_"))
        }
        self.env.update(
            AZURE_CONFIG_DIR=str(self.config_dir),
            AZURE_EXTENSION_DIR=str(self.config_dir / "cliextensions"),
            AZURE_CORE_COLLECT_TELEMETRY="false",
            AZURE_CORE_SURVEY_MESSAGE="false",
            AZURE_CORE_NO_COLOR="true",
            AZURE_CORE_ONLY_SHOW_ERRORS="false",
            REQUESTS_CA_BUNDLE=server.ca_pem,
        )

    def run(self, *args: str, env: dict[str, str] | None = None) -> Result:
        """`az ARGS`; returns its exit code and output (no assertion)."""
        return _run([self.bin, *args], {**self.env, **(env or {})})

    def setup_cloud(self, name: str = CLOUD) -> None:
        """The set-up commands of docs/azure-cli.md (before `az login`)."""
        for cmd in setup_commands(self.server.url, name):
            self.run(*cmd).ok()

    def login_sp(self, app_id: str, secret: str) -> Result:
        return self.run(
            "login",
            "--service-principal",
            "--username",
            app_id,
            "--password",
            secret,
            "--tenant",
            self.server.tenant,
        )

    def cleanup(self) -> None:
        shutil.rmtree(self.config_dir, ignore_errors=True)


def setup_commands(url: str, cloud: str = CLOUD) -> list[list[str]]:
    """az's set-up against an acrctl server at `url` (as docs/azure-cli.md gives them)."""
    return [
        ["cloud", "register", "--name", cloud, "--endpoint-resource-manager", f"{url}/"],
        ["cloud", "set", "--name", cloud],
        ["config", "set", "core.instance_discovery=false"],
    ]


@pytest.fixture(scope="session")
def az_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AzServer]:
    require_az()
    server = AzServer(tmp_path_factory.mktemp("az-server"))
    yield server
    server.stop()


@pytest.fixture(scope="session")
def az_principal(az_server: AzServer) -> dict[str, str]:
    """A Contributor service principal of the subscription: appId, password, tenant."""
    return az_server.create_sp("az-contributor")


@pytest.fixture(scope="session")
def az(az_server: AzServer, az_principal: dict[str, str]) -> Iterator[Az]:
    """az with the acrlocal cloud set and logged in as `az_principal`."""
    client = Az(az_server)
    client.setup_cloud()
    client.login_sp(az_principal["appId"], az_principal["password"]).ok()
    yield client
    client.cleanup()
