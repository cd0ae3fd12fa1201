"""Webhook delivery through a real `acrctl server` (ThreadedServer, its delivery worker):
restarts, and secrets kept out of every answer, log line and --debug trace."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from acrctl.backend.core import Settings
from acrctl.client.acr import AcrClient
from acrctl.server.serve import ServerConfig, ThreadedServer, free_port
from acrctl.testing import AcrctlMock, WebhookReceiver

pytestmark = pytest.mark.server

RG, REG = "rg1", "myreg1"
TOKEN = "test-admin-token-0123456789"


def settings(**extra: Any) -> Settings:
    return Settings(**{"webhook_allow": ["127.0.0.0/8"], "webhook_backoff": 0.05, **extra})


def server(database: str | None = None, deliver: bool = True, **extra: Any) -> ThreadedServer:
    cfg = ServerConfig(database=database, admin_token=TOKEN, settings=settings(**extra))
    return ThreadedServer(cfg, deliver=deliver).start()


def connect(srv: ThreadedServer, **kw: Any) -> AcrClient:
    return AcrClient(srv.url, token=TOKEN, subscription=srv.subscription, **kw)


def setup_hook(client: AcrClient, uri: str, **props: Any) -> None:
    client.create_group(RG, "westus")
    client.create_registry(RG, REG, {"location": "westus", "sku": {"name": "Standard"}})
    client.create_webhook(
        RG,
        REG,
        "hook1",
        {"location": "westus", "properties": {"serviceUri": uri, "actions": ["push"], **props}},
    )


def wait_until(check: Callable[[], Any], timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.05)


def states(client: AcrClient) -> list[tuple[str, int]]:
    return [
        (e.to_arm()["delivery"]["state"], len(e.to_arm()["delivery"]["attempts"]))
        for e in client.webhook_events(RG, REG, "hook1")
    ]


@pytest.fixture
def srv() -> Iterator[ThreadedServer]:
    s = server()
    try:
        yield s
    finally:
        s.stop()


def test_the_server_worker_delivers_a_ping(srv: ThreadedServer) -> None:
    with WebhookReceiver() as rx:
        client = connect(srv)
        setup_hook(client, rx.url(), customHeaders={"Authorization": "Bearer abc"})
        t0 = time.monotonic()
        event_id = client.ping_webhook(RG, REG, "hook1").id
        assert rx.wait_for(1, timeout=5)
        assert rx.requests[0].at - t0 < 1.0
        assert rx.requests[0].header("Authorization") == "Bearer abc"
        assert wait_until(lambda: states(client) == [("delivered", 1)])
        [ev] = [e.to_arm() for e in client.webhook_events(RG, REG, "hook1")]
        assert ev["id"] == event_id
        assert ev["eventResponseMessage"]["statusCode"] == "200"
        assert ev["eventRequestMessage"]["headers"]["Authorization"] == "******"
        client.close()


def test_the_server_retries_until_the_endpoint_answers(srv: ThreadedServer) -> None:
    with WebhookReceiver(statuses=[500, 500, 200]) as rx:
        client = connect(srv)
        setup_hook(client, rx.url())
        client.ping_webhook(RG, REG, "hook1")
        assert rx.wait_for(3, timeout=5)
        assert wait_until(lambda: states(client) == [("delivered", 3)])
        client.close()


def test_an_event_queued_while_the_endpoint_is_down_arrives_after_a_restart(tmp_path: Path) -> None:
    db = str(tmp_path / "server.db")
    port = free_port()  # nothing listens here yet
    first = server(db, webhook_backoff=1.0)
    try:
        client = connect(first)
        setup_hook(client, f"http://127.0.0.1:{port}/hook")
        client.ping_webhook(RG, REG, "hook1")
        assert wait_until(lambda: states(client) == [("pending", 1)])
        client.close()
    finally:
        first.stop()
    with WebhookReceiver(port=port) as rx:
        second = server(db)
        try:
            assert rx.wait_for(1, timeout=5)
            client = connect(second)
            assert wait_until(lambda: states(client) == [("delivered", 2)])
            client.close()
        finally:
            second.stop()


def test_an_event_recorded_before_any_send_survives_a_restart(tmp_path: Path) -> None:
    db = str(tmp_path / "server.db")
    with WebhookReceiver() as rx:
        first = server(db, deliver=False)  # the server goes down before its worker sends
        try:
            client = connect(first)
            setup_hook(client, rx.url())
            event_id = client.ping_webhook(RG, REG, "hook1").id
            client.close()
        finally:
            first.stop()
        assert rx.requests == []
        second = server(db)
        try:
            assert rx.wait_for(1, timeout=5)
            assert rx.requests[0].json()["action"] == "ping"
            client = connect(second)
            assert wait_until(lambda: states(client) == [("delivered", 1)])
            assert client.webhook_events(RG, REG, "hook1")[0].id == event_id
            client.close()
        finally:
            second.stop()


def test_redeliver_over_http(srv: ThreadedServer) -> None:
    with WebhookReceiver() as rx:
        client = connect(srv)
        setup_hook(client, rx.url())
        first = client.ping_webhook(RG, REG, "hook1").id
        assert rx.wait_for(1, timeout=5)
        client.redeliver_webhook_event(RG, REG, "hook1", first)
        assert rx.wait_for(2, timeout=5)
        assert rx.requests[0].body == rx.requests[1].body
        client.close()


# -- secrets ----------------------------------------------------------------------------------
SECRETS = ("PATHSECRET77", "QUERYSECRET77", "HEADERSECRET77", "SIGNSECRET77")


def assert_no_secret(text: str, where: str) -> None:
    for s in SECRETS:
        assert s not in text, f"{s} leaked into {where}"


def test_no_secret_in_answers_or_server_logs(
    srv: ThreadedServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    with WebhookReceiver(echo=True, statuses=[500, 200]) as rx:
        client = connect(srv)
        uri = rx.url("/hooks/PATHSECRET77?token=QUERYSECRET77")
        setup_hook(
            client,
            uri,
            customHeaders={"Authorization": "Bearer HEADERSECRET77"},
            signingSecret="SIGNSECRET77",
        )
        client.ping_webhook(RG, REG, "hook1")
        assert rx.wait_for(2, timeout=5)
        # the receiver got the secrets, and echoes them back in its answer
        assert rx.requests[0].header("Authorization") == "Bearer HEADERSECRET77"
        assert "QUERYSECRET77" in rx.requests[0].path
        assert wait_until(lambda: states(client) == [("delivered", 2)])
        base = (
            f"/subscriptions/{srv.subscription}/resourceGroups/{RG}/providers/"
            f"Microsoft.ContainerRegistry/registries/{REG}/webhooks"
        )
        answers = {
            "GET webhook": client.call("GET", f"{base}/hook1"),
            "list webhooks": client.call("GET", base),
            "listEvents": client.call("POST", f"{base}/hook1/listEvents"),
            "PATCH webhook": client.call("PATCH", f"{base}/hook1", {"tags": {"a": "b"}}),
        }
        for where, body in answers.items():
            assert_no_secret(json.dumps(body), where)
        config = client.webhook_config(RG, REG, "hook1")  # the one place that shows them
        assert config.service_uri == uri
        client.close()
    logs = "\n".join(r.getMessage() + (r.exc_text or "") for r in caplog.records)
    assert "webhook" in logs  # the delivery worker did log its attempts
    assert_no_secret(logs, "server logs")


def test_no_secret_in_the_client_debug_trace(srv: ThreadedServer) -> None:
    lines: list[str] = []
    client = connect(srv, debug=lines.append)
    setup_hook(
        client,
        "http://127.0.0.1:9/hooks/PATHSECRET77?token=QUERYSECRET77",
        customHeaders={"Authorization": "Bearer HEADERSECRET77"},
        signingSecret="SIGNSECRET77",
    )
    client.update_webhook(
        RG, REG, "hook1", {"properties": {"serviceUri": "http://127.0.0.1:9/QUERYSECRET77"}}
    )
    client.ping_webhook(RG, REG, "hook1")
    client.webhook_events(RG, REG, "hook1")
    client.close()
    trace = "\n".join(lines)
    assert "Request: PUT" in trace and "serviceUri" in trace
    assert_no_secret(trace, "the --debug trace")


def test_no_secret_in_the_cli_debug_output(acrctl_mock: AcrctlMock) -> None:
    client = acrctl_mock.client()
    with WebhookReceiver() as rx:
        setup_hook(
            client,
            rx.url("/hooks/PATHSECRET77?token=QUERYSECRET77"),
            customHeaders={"Authorization": "Bearer HEADERSECRET77"},
            signingSecret="SIGNSECRET77",
        )
        first = client.ping_webhook(RG, REG, "hook1").id
        runner = CliRunner()
        try:
            from acrctl.cli.main import cli

            runner.invoke(cli, ["webhook", "--help"])
            has_webhook_cli = "ping" in runner.invoke(cli, ["webhook", "--help"]).stdout
        except Exception:  # noqa: BLE001 - the webhook group may not exist yet
            has_webhook_cli = False
        if has_webhook_cli:
            result = runner.invoke(cli, ["webhook", "ping", "-n", "hook1", "-r", REG, "--debug"])
            assert result.exit_code == 0, result.stderr
            assert_no_secret(result.stdout + result.stderr, "webhook ping --debug")
        from acrctl.cli.webhook_redeliver import redeliver

        result = runner.invoke(
            redeliver, ["-n", "hook1", "-r", REG, "--event-id", first, "--debug"]
        )
        assert result.exit_code == 0, result.stderr
        assert "DEBUG: acrctl.client: Request: POST" in result.stderr
        assert_no_secret(result.stdout + result.stderr, "webhook redeliver --debug")
        new_id = json.loads(result.stdout)["id"]
        # the embedded command delivered it before exiting
        assert rx.wait_for(1, timeout=5)
        assert any(
            e.id == new_id and e.to_arm()["delivery"]["state"] == "delivered"
            for e in client.webhook_events(RG, REG, "hook1")
        )
