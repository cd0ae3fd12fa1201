"""acrctl webhook (az acr webhook + wait) through CliRunner on the embedded backend."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest
from click.testing import CliRunner

from acrctl.backend.clock import FakeClock
from acrctl.cli import webhook_events
from acrctl.cli.main import cli
from acrctl.testing import AcrctlMock

URI = "https://user:hunter2@hooks.example/acr?token=s3cret"
HEADER = "Basic c2VjcmV0"
ENUM = (
    "ERROR: 'pull' is not a valid value for '--actions'. Allowed values: chart_delete, "
    "chart_push, delete, push, quarantine.\n"
)


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def seed(mock: AcrctlMock, sku: str = "Premium") -> None:
    client = mock.client()
    client.create_group("rg1", "westus")
    client.create_registry(
        "rg1", "myreg1", {"location": "westus", "sku": {"name": sku}, "properties": {}}
    )


def hook_body(**props: Any) -> dict[str, Any]:
    return {
        "location": "westus",
        "properties": {
            "serviceUri": URI,
            "actions": ["push"],
            "customHeaders": {"Authorization": HEADER},
            **props,
        },
    }


def stored(mock: AcrctlMock, name: str = "hook1") -> Any:
    reg = mock.backend.registries.get(mock.subscription, "rg1", "myreg1")
    return mock.backend.store.get("webhook", f"{reg['id']}/webhooks/{name}".lower())


def create(*extra: str) -> tuple[int, str, str]:
    return run(
        "webhook",
        "create",
        "-n",
        "hook1",
        "-r",
        "myreg1",
        "--uri",
        URI,
        "--actions",
        "push",
        *extra,
    )


@pytest.fixture(autouse=True)
def no_delivery(monkeypatch: pytest.MonkeyPatch) -> None:
    """Pings stay queued (the embedded mode would send them) unless a test opts in."""
    monkeypatch.setenv("ACRCTL_WEBHOOK_DELIVERY", "off")


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[dict[str, str]]]]:
    """A local HTTP endpoint that records the headers of each POST and answers 200."""
    seen: list[dict[str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the http.server API
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            seen.append(dict(self.headers))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook", seen
    server.shutdown()
    server.server_close()


@pytest.fixture
def premium(acrctl_mock: AcrctlMock) -> AcrctlMock:
    seed(acrctl_mock)
    return acrctl_mock


@pytest.fixture
def hooked(premium: AcrctlMock) -> AcrctlMock:
    premium.client().create_webhook("rg1", "myreg1", "hook1", hook_body())
    return premium


@pytest.fixture
def shared(cli_on_mock: AcrctlMock) -> AcrctlMock:
    seed(cli_on_mock)
    return cli_on_mock


# -- create -----------------------------------------------------------------------------------
def test_create_prints_the_webhook_without_secrets(premium: AcrctlMock) -> None:
    code, out, err = create("--headers", f"Authorization={HEADER}")
    assert (code, err) == (0, "")
    doc = json.loads(out)
    assert {
        k: doc[k]
        for k in (
            "name",
            "location",
            "actions",
            "status",
            "scope",
            "provisioningState",
            "resourceGroup",
        )
    } == {
        "name": "hook1",
        "location": "westus",
        "actions": ["push"],
        "status": "enabled",
        "scope": "",
        "provisioningState": "Succeeded",
        "resourceGroup": "rg1",
    }
    assert "serviceUri" not in doc and "customHeaders" not in doc
    assert "hunter2" not in out and "s3cret" not in out and HEADER not in out


def test_create_actions_are_case_insensitive_and_space_separated(premium: AcrctlMock) -> None:
    code, out, _ = run(
        "webhook",
        "create",
        "-n",
        "hook1",
        "-r",
        "myreg1",
        "--uri",
        URI,
        "--actions",
        "Push",
        "DELETE",
        "chart_push",
        "--query",
        "actions",
    )
    assert code == 0
    assert json.loads(out) == ["push", "delete", "chart_push"]


def test_create_invalid_action_exits_2_with_az_message(premium: AcrctlMock) -> None:
    code, out, err = run(
        "webhook",
        "create",
        "-n",
        "hook1",
        "-r",
        "myreg1",
        "--uri",
        URI,
        "--actions",
        "push",
        "pull",
    )
    assert (code, out) == (2, "")
    assert err == ENUM
    assert stored(premium) is None


def test_create_invalid_action_suggests_a_close_match(premium: AcrctlMock) -> None:
    code, _, err = run(
        "webhook", "create", "-n", "hook1", "-r", "myreg1", "--uri", URI, "--actions", "pussh"
    )
    assert code == 2
    assert err.endswith("\nDid you mean 'push' ?\n")


def test_create_without_actions_exits_2(premium: AcrctlMock) -> None:
    code, _, err = run("webhook", "create", "-n", "hook1", "-r", "myreg1", "--uri", URI)
    assert code == 2
    assert err.startswith("ERROR: the following arguments are required: --actions\n")


def test_create_with_an_empty_actions_list_exits_2(premium: AcrctlMock) -> None:
    code, _, err = run(
        "webhook", "create", "-n", "hook1", "-r", "myreg1", "--uri", URI, "--actions"
    )
    assert code == 2
    assert err == "ERROR: argument --actions: expected at least one argument\n"


def test_create_without_uri_exits_2(premium: AcrctlMock) -> None:
    code, _, err = run("webhook", "create", "-n", "hook1", "-r", "myreg1", "--actions", "push")
    assert code == 2
    assert err.startswith("ERROR: the following arguments are required: --uri\n")


def test_create_status_defaults_to_enabled_and_accepts_disabled(premium: AcrctlMock) -> None:
    code, out, _ = create("--status", "Disabled", "--query", "status", "-o", "tsv")
    assert (code, out) == (0, "disabled\n")


def test_create_bad_status_exits_2(premium: AcrctlMock) -> None:
    code, _, err = create("--status", "on")
    assert code == 2
    assert err == (
        "ERROR: 'on' is not a valid value for '--status'. Allowed values: disabled, enabled.\n"
    )


def test_create_scope_and_tags(premium: AcrctlMock) -> None:
    code, out, _ = create(
        "--scope", "hello:*", "--tags", "team=infra", "--query", "{s: scope, t: tags}"
    )
    assert code == 0
    assert json.loads(out) == {"s": "hello:*", "t": {"team": "infra"}}


def test_create_headers_and_signing_secret_are_stored_not_shown(premium: AcrctlMock) -> None:
    code, out, _ = create(
        "--headers", f"Authorization={HEADER}", "X-Flag", "--signing-secret", "whsec1"
    )
    assert code == 0
    assert stored(premium).secret == {
        "serviceUri": URI,
        "signingSecret": "whsec1",
        "customHeaders": {"Authorization": HEADER, "X-Flag": ""},
    }
    assert "whsec1" not in out and HEADER not in out


def test_create_debug_trace_redacts_secrets(premium: AcrctlMock) -> None:
    code, _, err = create("--headers", f"Authorization={HEADER}", "--debug")
    assert code == 0
    assert "DEBUG: " in err
    assert "hunter2" not in err and HEADER not in err


def test_create_location_defaults_to_the_registry(
    premium: AcrctlMock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ACRCTL_DEFAULTS_LOCATION", "eastus")  # az's pitfall: ignored here
    code, out, _ = create("--query", "location", "-o", "tsv")
    assert (code, out) == (0, "westus\n")


def test_create_in_a_replica_region(premium: AcrctlMock) -> None:
    premium.client().create_replication("rg1", "myreg1", "eastus", {"location": "eastus"})
    code, out, _ = create("-l", "East US", "--query", "location", "-o", "tsv")
    assert (code, out) == (0, "eastus\n")


def test_create_outside_home_and_replicas_exits_1_before_the_put(premium: AcrctlMock) -> None:
    premium.client().create_replication("rg1", "myreg1", "eastus", {"location": "eastus"})
    code, out, err = create("-l", "westeurope")
    assert (code, out) == (1, "")
    assert err == (
        "ERROR: A webhook of registry 'myreg1' can't be created in 'westeurope': it "
        "must be in the registry's home region or one of its replica regions "
        "(westus, eastus).\n"
    )
    assert stored(premium) is None


def test_create_on_a_basic_registry_allows_only_home(acrctl_mock: AcrctlMock) -> None:
    seed(acrctl_mock, sku="Basic")
    code, _, err = create("-l", "eastus")
    assert code == 1
    assert err.endswith("one of its replica regions (westus).\n")


def test_create_over_the_basic_quota_exits_1(acrctl_mock: AcrctlMock) -> None:
    seed(acrctl_mock, sku="Basic")
    for name in ("hook1", "hook2"):
        acrctl_mock.client().create_webhook("rg1", "myreg1", name, hook_body())
    code, _, err = run(
        "webhook", "create", "-n", "hook3", "-r", "myreg1", "--uri", URI, "--actions", "push"
    )
    assert code == 1
    assert err.startswith(
        "ERROR: (QuotaExceeded) Quota exceeded for resource type webhooks "
        "for the registry SKU Basic."
    )


def test_create_no_wait_prints_nothing(shared: AcrctlMock) -> None:
    shared.backend.settings.lro_mode = "polls"
    assert create("--no-wait") == (0, "", "")
    assert stored(shared).doc["properties"]["provisioningState"] == "Creating"


# -- list / show ------------------------------------------------------------------------------
def test_list_table(hooked: AcrctlMock) -> None:
    hooked.client().create_webhook(
        "rg1",
        "myreg1",
        "hook2",
        hook_body(actions=["push", "delete"], scope="foo:*", status="disabled"),
    )
    code, out, _ = run("webhook", "list", "-r", "myreg1", "-o", "table")
    assert code == 0
    assert out == (
        "NAME    LOCATION    ACTIONS             SCOPE    STATUS\n"
        "------  ----------  ------------------  -------  --------\n"
        "hook1   westus      ['push']                     enabled\n"
        "hook2   westus      ['push', 'delete']  foo:*    disabled\n"
    )


def test_list_json_has_no_secrets(hooked: AcrctlMock) -> None:
    code, out, _ = run("webhook", "list", "-r", "myreg1")
    assert code == 0
    assert [d["name"] for d in json.loads(out)] == ["hook1"]
    assert "hooks.example" not in out and HEADER not in out


def test_list_query(hooked: AcrctlMock) -> None:
    assert run("webhook", "list", "-r", "myreg1", "--query", "[].name", "-o", "tsv") == (
        0,
        "hook1\n",
        "",
    )


def test_show(hooked: AcrctlMock) -> None:
    code, out, _ = run("webhook", "show", "-n", "hook1", "-r", "myreg1")
    assert code == 0
    assert json.loads(out)["actions"] == ["push"]
    assert "hooks.example" not in out and HEADER not in out


def test_show_missing_exits_3(premium: AcrctlMock) -> None:
    code, out, err = run("webhook", "show", "-n", "nosuch1", "-r", "myreg1")
    assert (code, out) == (3, "")
    assert err.startswith(
        "ERROR: (ResourceNotFound) The Resource "
        "'Microsoft.ContainerRegistry/registries/myreg1/webhooks/nosuch1'"
    )


# -- update -----------------------------------------------------------------------------------
def test_update_changes_only_what_was_given(hooked: AcrctlMock) -> None:
    code, out, _ = run(
        "webhook",
        "update",
        "-n",
        "hook1",
        "-r",
        "myreg1",
        "--status",
        "disabled",
        "--query",
        "{a: actions, s: status}",
    )
    assert code == 0
    assert json.loads(out) == {"a": ["push"], "s": "disabled"}
    assert stored(hooked).secret["serviceUri"] == URI


def test_update_actions_scope_and_tags(hooked: AcrctlMock) -> None:
    code, out, _ = run(
        "webhook",
        "update",
        "-n",
        "hook1",
        "-r",
        "myreg1",
        "--actions",
        "delete",
        "quarantine",
        "--scope",
        "app:v1",
        "--tags",
        "a=b",
        "--query",
        "{a: actions, s: scope, t: tags}",
    )
    assert code == 0
    assert json.loads(out) == {"a": ["delete", "quarantine"], "s": "app:v1", "t": {"a": "b"}}


def test_update_uri_and_clear_headers(hooked: AcrctlMock) -> None:
    code, out, _ = run(
        "webhook",
        "update",
        "-n",
        "hook1",
        "-r",
        "myreg1",
        "--uri",
        "http://new.example/x",
        "--headers",
        "",
    )
    assert code == 0
    assert "new.example" not in out
    assert stored(hooked).secret["serviceUri"] == "http://new.example/x"
    assert stored(hooked).secret["customHeaders"] == {}


def test_update_headers_alone_clears_them(hooked: AcrctlMock) -> None:
    assert run("webhook", "update", "-n", "hook1", "-r", "myreg1", "--headers", "-o", "none") == (
        0,
        "",
        "",
    )
    assert stored(hooked).secret["customHeaders"] == {}


def test_update_signing_secret_empty_removes_it(hooked: AcrctlMock) -> None:
    run("webhook", "update", "-n", "hook1", "-r", "myreg1", "--signing-secret", "whsec1")
    assert stored(hooked).secret["signingSecret"] == "whsec1"
    assert run(
        "webhook", "update", "-n", "hook1", "-r", "myreg1", "--signing-secret", "", "-o", "none"
    ) == (0, "", "")
    assert "signingSecret" not in stored(hooked).secret


def test_update_invalid_action_exits_2(hooked: AcrctlMock) -> None:
    assert run("webhook", "update", "-n", "hook1", "-r", "myreg1", "--actions", "pull") == (
        2,
        "",
        ENUM,
    )


def test_update_missing_exits_3(premium: AcrctlMock) -> None:
    assert run("webhook", "update", "-n", "nosuch1", "-r", "myreg1", "--scope", "x")[0] == 3


def test_update_no_wait_prints_nothing(shared: AcrctlMock) -> None:
    shared.client().create_webhook("rg1", "myreg1", "hook1", hook_body())
    shared.backend.settings.lro_mode = "polls"
    assert run("webhook", "update", "-n", "hook1", "-r", "myreg1", "--scope", "x", "--no-wait") == (
        0,
        "",
        "",
    )
    assert stored(shared).doc["properties"]["provisioningState"] == "Updating"


# -- delete -----------------------------------------------------------------------------------
def test_delete_prints_nothing(hooked: AcrctlMock) -> None:
    assert run("webhook", "delete", "-n", "hook1", "-r", "myreg1") == (0, "", "")
    assert stored(hooked) is None


def test_delete_no_wait_leaves_it_deleting(shared: AcrctlMock) -> None:
    shared.client().create_webhook("rg1", "myreg1", "hook1", hook_body())
    shared.backend.settings.lro_mode = "polls"
    assert run("webhook", "delete", "-n", "hook1", "-r", "myreg1", "--no-wait") == (0, "", "")
    assert stored(shared).doc["properties"]["provisioningState"] == "Deleting"


# -- get-config / ping / list-events -----------------------------------------------------------
def test_get_config_prints_uri_and_headers(hooked: AcrctlMock) -> None:
    code, out, _ = run("webhook", "get-config", "-n", "hook1", "-r", "myreg1")
    assert code == 0
    assert json.loads(out) == {"customHeaders": {"Authorization": HEADER}, "serviceUri": URI}


def test_get_config_table(hooked: AcrctlMock) -> None:
    code, out, _ = run("webhook", "get-config", "-n", "hook1", "-r", "myreg1", "-o", "table")
    assert code == 0
    headers = f"{{'Authorization': '{HEADER}'}}"
    assert out.splitlines() == [
        "SERVICE URI".ljust(len(URI)) + "  HEADERS",
        "-" * len(URI) + "  " + "-" * len(headers),
        f"{URI}  {headers}",
    ]


def test_get_config_missing_exits_3(premium: AcrctlMock) -> None:
    assert run("webhook", "get-config", "-n", "nosuch1", "-r", "myreg1")[0] == 3


def test_ping_prints_the_event_id(hooked: AcrctlMock) -> None:
    code, out, _ = run("webhook", "ping", "-n", "hook1", "-r", "myreg1")
    assert code == 0
    event_id = json.loads(out)["id"]
    events, _ = hooked.backend.webhooks.list_events(hooked.subscription, "rg1", "myreg1", "hook1")
    assert [e["id"] for e in events] == [event_id]


def test_ping_is_delivered_by_the_embedded_backend(
    premium: AcrctlMock, receiver: tuple[str, list[dict[str, str]]], monkeypatch: pytest.MonkeyPatch
) -> None:
    uri, seen = receiver
    monkeypatch.delenv("ACRCTL_WEBHOOK_DELIVERY")
    premium.client().create_webhook(
        "rg1",
        "myreg1",
        "hook1",
        {
            "location": "westus",
            "properties": {
                "serviceUri": uri,
                "actions": ["push"],
                "customHeaders": {"X-Token": "t0ken"},
            },
        },
    )
    assert run("webhook", "ping", "-n", "hook1", "-r", "myreg1")[0] == 0
    assert [h.get("X-Token") for h in seen] == ["t0ken"]
    code, out, _ = run(
        "webhook",
        "list-events",
        "-n",
        "hook1",
        "-r",
        "myreg1",
        "-o",
        "table",
        "--query",
        "[].{s: eventResponseMessage.statusCode}",
    )
    assert (code, out) == (0, "S\n---\n200\n")


def test_ping_table(hooked: AcrctlMock) -> None:
    code, out, _ = run("webhook", "ping", "-n", "hook1", "-r", "myreg1", "-o", "table")
    assert code == 0
    lines = out.splitlines()
    assert (lines[0], lines[1]) == ("ID", "-" * 36)
    assert len(lines) == 3 and len(lines[2]) == 36


def test_list_events_shows_the_ping_with_masked_secrets(hooked: AcrctlMock) -> None:
    hooked.backend.webhooks.ping(hooked.subscription, "rg1", "myreg1", "hook1")
    code, out, _ = run("webhook", "list-events", "-n", "hook1", "-r", "myreg1")
    assert code == 0
    events = json.loads(out)
    assert [e["eventRequestMessage"]["content"]["action"] for e in events] == ["ping"]
    assert "hunter2" not in out and "s3cret" not in out and HEADER not in out


def test_list_events_table(hooked: AcrctlMock) -> None:
    hooked.backend.webhooks.ping(hooked.subscription, "rg1", "myreg1", "hook1")
    code, out, _ = run("webhook", "list-events", "-n", "hook1", "-r", "myreg1", "-o", "table")
    assert code == 0
    header, rule, row = out.splitlines()
    assert header.split() == ["ID", "ACTION", "IMAGE", "HTTP", "STATUS", "TIMESTAMP"]
    assert row.split()[1] == "ping"
    assert row.endswith("Z") and len(row.split()[2]) == 20


def test_event_table_formats_image_status_and_timestamp() -> None:
    event = {
        "id": "e1",
        "eventRequestMessage": {
            "content": {
                "action": "push",
                "timestamp": "2026-01-02T03:04:05.678901Z",
                "target": {"repository": "hello", "tag": "v1"},
            }
        },
        "eventResponseMessage": {"statusCode": "200", "reasonPhrase": "OK"},
    }
    assert webhook_events.event_table([event]) == [
        {
            "ID": "e1",
            "ACTION": "push",
            "IMAGE": "hello:v1",
            "HTTP STATUS": "200 OK",
            "TIMESTAMP": "2026-01-02T03:04:05Z",
        }
    ]


def test_event_table_prints_spaces_for_missing_parts() -> None:
    row = webhook_events.event_table(
        [
            {
                "id": "e1",
                "eventRequestMessage": {"content": {"target": {"repository": "hello"}}},
                "eventResponseMessage": {},
            }
        ]
    )[0]
    assert (row["IMAGE"], row["HTTP STATUS"], row["TIMESTAMP"]) == ("hello", " ", " ")


# -- wait ---------------------------------------------------------------------------------------
def test_wait_created(shared: AcrctlMock, fake_time: FakeClock) -> None:
    shared.backend.clock = fake_time
    shared.backend.settings.lro_mode = "seconds"
    shared.backend.settings.lro_seconds = 3
    create("--no-wait")
    assert run("webhook", "wait", "-n", "hook1", "-r", "myreg1", "--created") == (0, "", "")
    assert fake_time.now() == 3
    assert stored(shared).doc["properties"]["provisioningState"] == "Succeeded"


def test_wait_deleted(hooked: AcrctlMock, fake_time: FakeClock) -> None:
    hooked.client().delete_webhook("rg1", "myreg1", "hook1")
    assert run("webhook", "wait", "-n", "hook1", "-r", "myreg1", "--deleted") == (0, "", "")


def test_wait_times_out(hooked: AcrctlMock, fake_time: FakeClock) -> None:
    code, _, err = run(
        "webhook", "wait", "-n", "hook1", "-r", "myreg1", "--deleted", "--timeout", "2.5"
    )
    assert code == 1
    assert err == "ERROR: Timed out after 2.5 seconds waiting for webhook 'hook1' to be deleted.\n"


def test_help_lists_every_subcommand(acrctl_mock: AcrctlMock) -> None:
    code, out, _ = run("webhook", "--help")
    assert code == 0
    for name in (
        "create",
        "delete",
        "get-config",
        "list",
        "list-events",
        "ping",
        "show",
        "update",
        "wait",
    ):
        assert f"  {name} " in out


def test_redeliver_is_attached_lazily(acrctl_mock: AcrctlMock) -> None:
    code, out, _ = run("webhook", "redeliver", "--help")
    assert code == 0
    assert "--event-id" in out
