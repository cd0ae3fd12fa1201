"""The request log: one JSON line per request on `acrctl.access`, with the route template and
the request's ids and nothing secret; and, against a real `acrctl server` process, every
error the CLI prints carries a request id that the server's log line for it shows."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from acrctl.backend.core import Backend
from acrctl.backend.sqlite import SqliteStore
from acrctl.server.app import App
from acrctl.server.serve import free_port
from acrctl.server.transport import InProcessTransport

pytest.register_assert_rewrite("test_cli_server")
from test_cli_server import stop, wait_healthy  # noqa: E402

ACRCTL = os.path.join(os.path.dirname(sys.executable), "acrctl")
ACR = "Microsoft.ContainerRegistry"
TOKEN = "acr_log_test_admin_token_9c2e11"
FIELDS = {
    "time",
    "method",
    "route",
    "status",
    "duration_ms",
    "principal",
    "request_id",
    "correlation_id",
    "client_request_id",
    "api_version",
}


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())

    def json(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.lines]


@pytest.fixture
def access() -> Iterator[Lines]:
    logger = logging.getLogger("acrctl.access")
    handler, level = Lines(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


@pytest.fixture
def http(tmp_path: Path) -> Iterator[tuple[httpx.Client, str]]:
    backend = Backend(SqliteStore(str(tmp_path / "log.db")))
    sub = backend.bootstrap(admin_token=TOKEN)[0]["subscriptionId"]
    with httpx.Client(
        base_url="https://acrctl.local",
        transport=InProcessTransport(App(backend)),
        headers={"Authorization": f"Bearer {TOKEN}"},
    ) as client:
        yield client, sub
    backend.store.close()


def test_one_line_per_request_with_the_template_and_ids(
    access: Lines, http: tuple[httpx.Client, str]
) -> None:
    client, sub = http
    rg = f"/subscriptions/{sub}/resourceGroups/rg1"
    created = client.put(
        rg,
        params={"api-version": "2022-09-01"},
        json={"location": "westus"},
        headers={
            "x-ms-client-request-id": "my-client-id-1",
            "x-ms-correlation-request-id": "corr-7",
        },
    )
    missing = client.get("/no/such/path", params={"api-version": "2025-11-01"})
    anonymous = client.get("/healthz", headers={"Authorization": ""})

    lines = access.json()
    assert len(lines) == 3
    put, miss, health = lines
    assert set(put) == FIELDS
    assert put == {
        **put,
        "method": "PUT",
        "route": "/subscriptions/{sub}/resourceGroups/{rg}",
        "status": 201,
        "request_id": created.headers["x-ms-request-id"],
        "correlation_id": "corr-7",
        "client_request_id": "my-client-id-1",
        "api_version": "2022-09-01",
    }
    assert put["principal"] and put["duration_ms"] >= 0 and put["time"].endswith("Z")
    assert miss == {
        **miss,
        "route": None,
        "status": 404,
        "principal": None,
        "request_id": missing.headers["x-ms-request-id"],
        "correlation_id": missing.headers["x-ms-request-id"],
    }
    assert health == {
        **health,
        "route": "/healthz",
        "status": 200,
        "request_id": anonymous.headers["x-ms-request-id"],
    }


def test_no_secret_reaches_the_log(access: Lines, http: tuple[httpx.Client, str]) -> None:
    client, sub = http
    reg = f"/subscriptions/{sub}/resourceGroups/secretgroup/providers/{ACR}/registries/secretreg1"
    client.put(
        reg,
        params={"api-version": "2025-11-01", "sig": "querysecret"},
        json={"location": "westus", "sku": {"name": "Basic"}, "properties": {"note": "bodysecret"}},
        headers={"x-api-key": "headersecret"},
    )
    client.get(
        "/providers/Microsoft.Authorization/whoami",
        params={"api-version": "2022-04-01"},
        headers={"Authorization": "Bearer bearersecret"},
    )
    text = "\n".join(access.lines)
    assert len(access.lines) == 2
    for secret in (
        "querysecret",
        "bodysecret",
        "headersecret",
        "bearersecret",
        TOKEN,
        "secretreg1",
        "secretgroup",
        "sig=",
    ):
        assert secret not in text
    assert access.json()[1]["status"] == 401


def test_nothing_is_formatted_when_nobody_listens(
    http: tuple[httpx.Client, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[Any] = []

    def iso(ts: Any) -> str:
        calls.append(ts)
        return ""

    monkeypatch.setattr("acrctl.server.observability._iso", iso)
    logging.getLogger("acrctl.access").setLevel(logging.WARNING)
    assert http[0].get("/healthz").status_code == 200
    assert calls == []


# -- a real server process, the installed CLI -------------------------------------------------


def running_sub(url: str, tmp_path: Path) -> str:
    sub = cli(url, tmp_path, "account", "show", "--query", "subscription", "-o", "tsv")
    return f"/subscriptions/{sub.stdout.strip()}"


def cli(
    url: str, tmp_path: Path, *args: str, token: str = TOKEN
) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "ACRCTL_ENDPOINT": url,
        "ACRCTL_TOKEN": token,
        "ACRCTL_CONFIG_DIR": str(tmp_path / "cli"),
    }
    return subprocess.run(
        [ACRCTL, *args], capture_output=True, text=True, env=env, timeout=60, check=False
    )


@pytest.mark.server
def test_every_cli_error_shows_a_request_id_the_server_logged(tmp_path: Path) -> None:
    from test_cli_server import Running

    port = free_port()
    log = tmp_path / "access.log"
    out = tmp_path / "server.out"
    env = {k: v for k, v in os.environ.items() if not k.startswith("ACRCTL_SERVER_")}
    env["ACRCTL_SERVER_BOOTSTRAP_TOKEN"] = TOKEN
    with open(out, "wb") as fh:
        proc = subprocess.Popen(
            [
                ACRCTL,
                "server",
                "--port",
                str(port),
                "--database",
                str(tmp_path / "server.db"),
                "--access-log",
                str(log),
            ],
            stdout=fh,
            stderr=fh,
            env=env,
        )
    running = Running(f"http://127.0.0.1:{port}", proc, out)
    try:
        wait_healthy(running, None)
        url = running.url
        assert cli(url, tmp_path, "group", "create", "-n", "rg1", "-l", "westus").returncode == 0
        assert cli(url, tmp_path, "group", "create", "-n", "rg2", "-l", "westus").returncode == 0
        assert (
            cli(url, tmp_path, "create", "-n", "myreg1", "-g", "rg1", "--sku", "Basic").returncode
            == 0
        )
        reader = cli(
            url,
            tmp_path,
            "ad",
            "sp",
            "create-for-rbac",
            "--name",
            "reader1",
            "--role",
            "Reader",
            "--scopes",
            running_sub(url, tmp_path),
        )
        reader_token = json.loads(reader.stdout)["password"]
        errors = [
            cli(url, tmp_path, "show", "-n", "nosuchreg1", "-g", "rg1"),  # 404
            cli(
                url, tmp_path, "create", "-n", "myreg2", "-g", "nosuchrg", "--sku", "Basic"
            ),  # 404 on the group
            cli(url, tmp_path, "list", token="acr_not_a_token"),  # 401
            cli(
                url,
                tmp_path,
                "create",
                "-n",
                "myreg3",
                "-g",
                "rg1",
                "--sku",
                "Basic",
                token=reader_token,
            ),  # 403
            cli(
                url, tmp_path, "create", "-n", "myreg1", "-g", "rg2", "--sku", "Basic"
            ),  # 409: the name is taken
            cli(
                url, tmp_path, "update", "-n", "myreg1", "-g", "rg1", "--default-action", "Deny"
            ),  # 400: Basic has no network rules
            cli(
                url,
                tmp_path,
                "webhook",
                "create",
                "-r",
                "myreg1",
                "-g",
                "rg1",
                "-n",
                "hook1",
                "--uri",
                "ftp://example.com/x",
                "--actions",
                "push",
            ),  # 400
        ]
    finally:
        stop(proc)
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    by_id = {line["request_id"]: line for line in lines}
    assert len(by_id) == len(lines)
    for result in errors:
        assert result.returncode in (1, 3), result.stderr
        printed = [ln for ln in result.stderr.splitlines() if ln.startswith("Request id: ")]
        assert len(printed) == 1, result.stderr
        request_id = printed[0].removeprefix("Request id: ")
        assert request_id in by_id, (request_id, result.stderr)
        assert by_id[request_id]["status"] >= 400
    statuses = sorted(
        by_id[ln.removeprefix("Request id: ")]["status"]
        for r in errors
        for ln in r.stderr.splitlines()
        if ln.startswith("Request id: ")
    )
    assert statuses == [400, 400, 401, 403, 404, 404, 409]
    assert "stopped" in out.read_text()
