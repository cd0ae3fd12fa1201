"""Webhooks in embedded mode (issue 12 item 9): retries go out through a background sender
(acrctl.delivery_agent) with no further command, at most one per state file, gone when
nothing is pending; and one event id everywhere (ping, payload, list-events)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from acrctl import delivery_agent, embedded
from acrctl.backend.core import Settings
from acrctl.cli.main import cli
from acrctl.delivery_agent import StateLock, log_path, running_pid
from acrctl.server.serve import ServerConfig, ThreadedServer
from acrctl.testing import AcrctlMock, WebhookReceiver, mock_acrctl


def fast(settings: Settings) -> Settings:
    """Fast retries: 0.3 s between attempts."""
    settings.webhook_backoff = settings.webhook_backoff_max = 0.3
    return settings


REFUSED = (
    "ERROR: The ping to webhook 'hook1' was not delivered: 500 Internal Server Error. "
    "Its retries show in 'acrctl webhook list-events -n hook1 -r myreg1'.\n"
)


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def ping() -> tuple[int, str, str]:
    return run("webhook", "ping", "-n", "hook1", "-r", "myreg1")


def gone(pid: int) -> bool:
    """The process has exited (a zombie left for its parent to reap counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True
    except OSError:  # no /proc here
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        return False


def until(check: Callable[[], Any], timeout: float = 5.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := check()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return value


def agents_for(state: str) -> list[int]:
    """Live processes running the delivery agent on `state` (from /proc)."""
    found = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if (
            b"acrctl.delivery_agent" in argv
            and os.fsencode(state) in argv
            and not gone(int(entry.name))
        ):
            found.append(int(entry.name))
    return found


def stop(pid: int) -> None:
    if not gone(pid):
        os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)  # our child when this process started it
    until(lambda: gone(pid), 2.0)


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """Background senders may start (they may not by default under acrctl.testing); every
    one started is recorded and stopped after the test, so no process outlives it."""
    monkeypatch.setattr(embedded, "BACKGROUND_DELIVERY", True)
    pids: list[int] = []
    spawn = delivery_agent._spawn

    def recording(*args: Any) -> int | None:
        pid = spawn(*args)
        if pid is not None:
            pids.append(pid)
        return pid

    monkeypatch.setattr(delivery_agent, "_spawn", recording)
    yield pids
    for pid in pids:
        stop(pid)


@pytest.fixture
def mock(cli_on_mock: AcrctlMock) -> AcrctlMock:
    """rg1 with the Basic registry myreg1; the embedded CLI on the mock's backend, whose
    settings (fast retries) a started agent takes on."""
    fast(cli_on_mock.backend.settings)
    client = cli_on_mock.client()
    client.create_group("rg1", "westus")
    client.create_registry("rg1", "myreg1", {"location": "westus", "sku": {"name": "Basic"}})
    return cli_on_mock


def hook(m: AcrctlMock, uri: str) -> None:
    m.client().create_webhook(
        "rg1",
        "myreg1",
        "hook1",
        {"location": "westus", "properties": {"serviceUri": uri, "actions": ["push"]}},
    )


def deliveries(m: AcrctlMock) -> list[dict[str, Any]]:
    events, _ = m.backend.webhooks.list_events(m.subscription, "rg1", "myreg1", "hook1")
    return [e["delivery"] for e in events]


# -- retries without another command ---------------------------------------------------------
def test_the_third_attempt_comes_with_no_further_command(
    mock: AcrctlMock, started: list[int]
) -> None:
    with WebhookReceiver(statuses=[500, 500, 200]) as rx:
        hook(mock, rx.url())
        assert ping()[::2] == (1, REFUSED)
        assert rx.wait_for(3, timeout=5)
        assert until(lambda: deliveries(mock)[0]["state"] == "delivered")
    assert [len(rx.requests), [a["statusCode"] for a in deliveries(mock)[0]["attempts"]]] == [
        3,
        [500, 500, 200],
    ]


def test_the_agent_exits_when_nothing_is_pending(mock: AcrctlMock, started: list[int]) -> None:
    with WebhookReceiver(statuses=[500, 200]) as rx:
        hook(mock, rx.url())
        assert ping()[0] == 1
        assert len(started) == 1
        assert until(lambda: gone(started[0]))
    assert (len(rx.requests), deliveries(mock)[0]["state"]) == (2, "delivered")
    assert running_pid(mock.path) is None


def test_a_second_command_does_not_start_a_second_agent(
    mock: AcrctlMock, started: list[int]
) -> None:
    settings = mock.backend.settings
    settings.webhook_backoff, settings.webhook_backoff_max = 2.0, 2.0
    with WebhookReceiver(statuses=[500] * 4) as rx:
        hook(mock, rx.url())
        assert ping()[0] == 1
        assert run("webhook", "list-events", "-n", "hook1", "-r", "myreg1")[0] == 0
        assert ping()[0] == 1
        assert (started, running_pid(mock.path)) == (started[:1], started[0])
        if Path("/proc/self/cmdline").exists():
            assert agents_for(mock.path) == started


def test_the_agent_logs_next_to_the_state_file_not_to_the_terminal(
    mock: AcrctlMock, started: list[int]
) -> None:
    with WebhookReceiver(statuses=[500, 200]) as rx:
        hook(mock, rx.url())
        code, _, err = ping()
        assert until(lambda: started and gone(started[0]))
    assert (code, err) == (1, REFUSED)
    text = Path(log_path(mock.path)).read_text(encoding="utf-8")
    assert "delivery agent started" in text
    assert "attempt 2: 200 -> delivered" in text
    assert text.rstrip().endswith("delivery agent exiting: nothing pending")


def test_the_agent_stops_at_its_lifetime_cap(mock: AcrctlMock, started: list[int]) -> None:
    settings = mock.backend.settings
    settings.webhook_agent_lifetime, settings.webhook_max_attempts = 1.0, 100
    settings.webhook_backoff, settings.webhook_backoff_max = 0.2, 0.2
    with WebhookReceiver(statuses=[500] * 100) as rx:
        hook(mock, rx.url())
        assert ping()[0] == 1
        assert until(lambda: gone(started[0]), 8.0)
    assert deliveries(mock)[0]["state"] == "pending"
    text = Path(log_path(mock.path)).read_text(encoding="utf-8")
    assert text.rstrip().endswith("delivery agent exiting: lifetime reached")


def test_a_delivered_ping_starts_no_agent(mock: AcrctlMock, started: list[int]) -> None:
    with WebhookReceiver() as rx:
        hook(mock, rx.url())
        assert ping()[0] == 0
    assert (started, running_pid(mock.path)) == ([], None)


def test_no_agent_starts_under_the_test_harness_by_default(
    mock: AcrctlMock, monkeypatch: pytest.MonkeyPatch
) -> None:
    spawned: list[Any] = []
    monkeypatch.setattr(delivery_agent, "_spawn", lambda *a: spawned.append(a))
    with WebhookReceiver(statuses=[500]) as rx:
        hook(mock, rx.url())
        assert ping()[0] == 1
    assert spawned == []


def test_only_one_agent_runs_per_state_file(mock: AcrctlMock) -> None:
    hook(mock, "http://127.0.0.1:9/hook")
    mock.client().ping_webhook("rg1", "myreg1", "hook1")  # pending
    held = StateLock(mock.path)
    assert held.acquire()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "acrctl.delivery_agent", "--state", mock.path],
            capture_output=True,
            timeout=30,
        )
    finally:
        held.release()
        held.close()
    assert (done.returncode, done.stdout, done.stderr) == (0, b"", b"")
    assert (
        Path(log_path(mock.path))
        .read_text(encoding="utf-8")
        .rstrip()
        .endswith("another delivery agent works on this state file; exiting")
    )
    assert deliveries(mock)[0]["attempts"] == []


# -- one event id ---------------------------------------------------------------------------
def test_the_ping_id_is_the_payload_id_and_the_list_events_id(mock: AcrctlMock) -> None:
    with WebhookReceiver() as rx:
        hook(mock, rx.url())
        code, out, _ = ping()
        assert rx.wait_for(1)
    code2, events, _ = run("webhook", "list-events", "-n", "hook1", "-r", "myreg1")
    [event] = json.loads(events)
    ping_id = json.loads(out)["id"]
    assert (code, code2) == (0, 0)
    assert [
        rx.requests[0].json()["id"],
        event["id"],
        event["eventRequestMessage"]["content"]["id"],
    ] == [ping_id] * 3


# -- a server on the same state file ---------------------------------------------------------
def test_no_double_send_with_a_server_on_the_same_state(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, started: list[int]
) -> None:
    state = str(tmp_path / "shared.db")
    monkeypatch.setenv("ACRCTL_STATE", state)
    cfg = ServerConfig(database=state, settings=fast(Settings(webhook_allow=["127.0.0.0/8"])))
    with (
        ThreadedServer(cfg),
        mock_acrctl(state, fast(Settings())) as m,
        WebhookReceiver(statuses=[500, 500, 200], delay=0.3) as rx,
    ):  # long in flight
        monkeypatch.setattr(
            embedded, "transport", lambda path=None: (m.transport(), m.subscription)
        )
        client = m.client()
        client.create_group("rg1", "westus")
        client.create_registry("rg1", "myreg1", {"location": "westus", "sku": {"name": "Basic"}})
        hook(m, rx.url())
        assert ping()[0] == 1
        assert len(started) == 1
        until(lambda: deliveries(m)[0]["state"] == "delivered")
        time.sleep(1.0)  # a few more rounds of the server's worker and the agent
        delivery = deliveries(m)[0]
        assert (
            len(rx.requests),
            [a["attempt"] for a in delivery["attempts"]],
            delivery["state"],
        ) == (3, [1, 2, 3], "delivered")
