"""The activity log: every management write and action, allowed, denied or failed, recorded
in the store and read back through the ARM endpoint (both harness modes), the backend
(retention, time windows, scan limits) and `acrctl monitor activity-log list` against a real
server with two principals."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from click.testing import CliRunner

from acrctl.backend.activity import ACTIVITY, parse_filter
from acrctl.backend.clock import FakeClock
from acrctl.backend.core import Backend, Settings
from acrctl.backend.errors import InvalidInput
from acrctl.backend.sqlite import SqliteStore
from acrctl.cli.main import cli
from acrctl.cli.monitor import build_filter, parse_offset, time_range
from acrctl.server.serve import ServerConfig, ThreadedServer

pytest.register_assert_rewrite("api_harness")
from api_harness import ACR, CONTRIBUTOR, READER, Api  # noqa: E402

pytest_plugins = ("api_harness",)

LOG = "providers/Microsoft.Insights/eventtypes/management/values"
INSIGHTS_VERSION = "2015-04-01"
ALL = "eventTimestamp ge '2000-01-01T00:00:00Z'"


def log_path(api: Api) -> str:
    return f"{api.sub_path}/{LOG}"


def read_log(
    api: Api, flt: str = ALL, token: Any = None, top: str | None = None
) -> tuple[list[dict[str, Any]], int]:
    params = {"api-version": INSIGHTS_VERSION, "$filter": flt}
    if top:
        params["$top"] = top
    return api.collect(log_path(api), params=params, token=token)


def reg_body() -> dict[str, Any]:
    return {"location": "westus", "sku": {"name": "Basic"}}


# -- the ARM endpoint (in process and through a real server) ----------------------------------


def test_writes_denials_and_failures_are_recorded_reads_are_not(api: Api) -> None:
    reader = api.principal("reader1", READER)
    created = api.put(
        api.rg_path(), {"location": "westus"}, headers={"x-ms-client-request-id": "client-abc"}
    )
    reg = api.put(api.reg_path(), reg_body())
    denied = api.put(api.reg_path("other1"), reg_body(), token=reader)
    bad = api.put(api.reg_path("x"), reg_body())  # an invalid name: 400
    assert api.get(api.reg_path()).status_code == 200  # a read: not recorded
    assert [r.status_code for r in (created, reg, denied, bad)] == [201, 201, 403, 400]

    events, pages = read_log(api)

    assert pages == 1
    assert [
        (e["operationId"], e["status"]["value"], e["subStatus"]["localizedValue"]) for e in events
    ] == [
        (bad.headers["x-ms-request-id"], "Failed", "BadRequest (HTTP Status Code: 400)"),
        (denied.headers["x-ms-request-id"], "Failed", "Forbidden (HTTP Status Code: 403)"),
        (reg.headers["x-ms-request-id"], "Succeeded", "Created (HTTP Status Code: 201)"),
        (created.headers["x-ms-request-id"], "Succeeded", "Created (HTTP Status Code: 201)"),
    ]
    bad_e, denied_e, reg_e, rg_e = events
    assert denied_e["caller"] == reader.id
    assert denied_e["claims"]["name"] == "reader1"
    assert denied_e["level"] == "Error" and denied_e["description"] == "AuthorizationFailed"
    assert denied_e["authorization"] == {
        "action": f"{ACR}/registries/write",
        "scope": api.reg_path("other1"),
    }
    assert reg_e["operationName"] == {
        "value": f"{ACR}/registries/write",
        "localizedValue": "Create or Update Container Registry",
    }
    assert reg_e["resourceId"] == api.reg_path()
    assert reg_e["resourceGroupName"] == "rg1"
    assert reg_e["resourceType"]["value"] == f"{ACR}/registries"
    assert reg_e["resourceProviderName"]["value"] == ACR
    assert reg_e["httpRequest"] == {"clientRequestId": "", "method": "PUT"}
    assert reg_e["correlationId"] == reg.headers["x-ms-correlation-request-id"]
    assert reg_e["subscriptionId"] == api.sub
    assert reg_e["eventDataId"] in reg_e["id"] and reg_e["id"].startswith(api.reg_path())
    assert rg_e["httpRequest"]["clientRequestId"] == "client-abc"
    assert rg_e["operationName"]["localizedValue"] == "Create or Update Resource Group"
    assert bad_e["caller"] == reg_e["caller"] == rg_e["caller"] != denied_e["caller"]


def test_actions_and_deletes_are_recorded(api: Api) -> None:
    api.create_group()
    api.create_registry()
    api.create_webhook()
    ping = api.post(f"{api.hook_path()}/ping")
    gone = api.delete(api.hook_path())
    assert (ping.status_code, gone.status_code) == (200, 202)
    events, _ = read_log(api)
    ops = [
        (e["operationName"]["value"], e["httpRequest"]["method"], e["status"]["value"])
        for e in events[:2]
    ]
    assert ops == [
        (f"{ACR}/registries/webhooks/delete", "DELETE", "Accepted"),
        (f"{ACR}/registries/webhooks/ping/action", "POST", "Succeeded"),
    ]
    assert events[1]["operationName"]["localizedValue"] == "Ping Webhook"
    assert events[1]["resourceId"] == api.hook_path()


def test_filters_by_group_caller_status_and_correlation(api: Api) -> None:
    dev = api.principal("dev1", CONTRIBUTOR, api.rg_path("rg2"))
    api.create_group("rg1")
    api.create_group("rg2")
    api.create_registry("devreg1", rg="rg2")
    assert api.put(api.reg_path("devreg2", "rg2"), reg_body(), token=dev).status_code == 201
    assert api.put(api.reg_path("devreg3", "rg1"), reg_body(), token=dev).status_code == 403
    mine = api.put(
        api.rg_path("rg3"),
        {"location": "westus"},
        headers={"x-ms-correlation-request-id": "corr-42"},
    )

    def names(flt: str) -> list[str]:
        return [e["resourceId"].rsplit("/", 1)[-1] for e in read_log(api, flt)[0]]

    assert names(f"{ALL} and resourceGroupName eq 'RG2'") == ["devreg2", "devreg1", "rg2"]
    assert names(f"{ALL} and caller eq '{dev.id}'") == ["devreg3", "devreg2"]
    assert names(f"{ALL} and caller eq 'dev1'") == ["devreg3", "devreg2"]
    assert names(f"{ALL} and caller eq 'dev1' and status eq 'Failed'") == ["devreg3"]
    assert names(f"{ALL} and correlationId eq 'corr-42'") == ["rg3"]
    assert names(f"{ALL} and resourceUri eq '{api.rg_path('rg2')}'") == [
        "devreg2",
        "devreg1",
        "rg2",
    ]
    assert mine.headers["x-ms-correlation-request-id"] == "corr-42"


def test_pages_follow_next_link_with_the_filter(api: Api) -> None:
    for n in range(5):
        api.create_group(f"rg{n}")
    api.put(api.reg_path("x"), reg_body())  # a failure the filter leaves out
    events, pages = read_log(api, f"{ALL} and status eq 'Succeeded'", top="2")
    assert [e["resourceGroupName"] for e in events] == ["rg4", "rg3", "rg2", "rg1", "rg0"]
    assert pages == 3


def test_readers_see_the_scopes_they_may_read_others_are_refused(api: Api) -> None:
    api.create_group("rg1")
    api.create_group("rg2")
    api.create_registry("inside1", rg="rg1")
    api.create_registry("outside1", rg="rg2")
    scoped = api.principal("scoped", READER, api.rg_path("rg1"))
    everyone = api.principal("everyone", READER)
    nobody = api.principal("nobody")
    puller = api.principal("puller", "AcrPull")

    seen = {e["resourceId"].rsplit("/", 1)[-1] for e in read_log(api, token=scoped)[0]}
    all_ = {e["resourceId"].rsplit("/", 1)[-1] for e in read_log(api, token=everyone)[0]}
    refused = [
        api.get(log_path(api), token=p, api_version=INSIGHTS_VERSION, params={"$filter": ALL})
        for p in (nobody, puller)
    ]

    assert seen == {"rg1", "inside1"}
    assert all_ == {"rg1", "rg2", "inside1", "outside1"}
    assert [r.status_code for r in refused] == [403, 403]
    assert refused[0].json()["error"]["code"] == "AuthorizationFailed"
    assert "Microsoft.Insights/eventtypes/values/read" in refused[0].json()["error"]["message"]


@pytest.mark.parametrize(
    "flt",
    [
        "foo eq 'x'",
        "eventTimestamp ge 'yesterday'",
        "caller ge 'x'",
        f"{ALL} or status eq 'Failed'",
        "eventTimestamp ge '2030-01-01T00:00:00Z' and eventTimestamp le '2020-01-01T00:00:00Z'",
    ],
)
def test_a_bad_filter_is_a_400(api: Api, flt: str) -> None:
    resp = api.get(log_path(api), api_version=INSIGHTS_VERSION, params={"$filter": flt})
    assert resp.status_code == 400, resp.text
    assert resp.json()["error"]["code"] == "InvalidFilter"


def test_unauthenticated_attempts_are_not_recorded(api: Api) -> None:
    assert api.put(api.rg_path(), {"location": "westus"}, token="bogus").status_code == 401
    assert read_log(api)[0] == []


# -- the backend: time windows, retention, scan limits -----------------------------------------


@pytest.fixture
def backend(tmp_path: Any) -> Iterator[Backend]:
    b = Backend(
        SqliteStore(str(tmp_path / "activity.db")),
        clock=FakeClock(),
        settings=Settings(activity_retention_days=30),
    )
    b.bootstrap()
    yield b
    b.store.close()


def record(b: Backend, sub: str, n: int, status: int = 201) -> dict[str, Any] | None:
    return b.activity.record(
        sub,
        caller_id="p1",
        caller_name="alice",
        method="PUT",
        action="Microsoft.Resources/subscriptions/resourceGroups/write",
        scope=f"/subscriptions/{sub}/resourceGroups/rg{n}",
        resource_id=f"/subscriptions/{sub}/resourceGroups/rg{n}",
        status_code=status,
        request_id=str(uuid.uuid4()),
        correlation_id="c",
    )


def test_time_windows_select_by_event_timestamp(backend: Backend) -> None:
    sub = backend.list_subscriptions()[0]["subscriptionId"]
    clock = backend.clock
    assert isinstance(clock, FakeClock)
    for n in range(4):
        record(backend, sub, n)
        clock.advance(3600)
    t0 = clock.iso(1_800_000_000 + 3600)
    t2 = clock.iso(1_800_000_000 + 2 * 3600)
    flt = parse_filter(f"eventTimestamp ge '{t0}' and eventTimestamp le '{t2}'", clock.now())
    got, last = backend.activity.query(sub, flt)
    assert [e["resourceGroupName"] for e in got] == ["rg2", "rg1"] and last is None


def test_records_past_the_retention_are_pruned_on_write(backend: Backend) -> None:
    sub = backend.list_subscriptions()[0]["subscriptionId"]
    clock = backend.clock
    assert isinstance(clock, FakeClock)
    record(backend, sub, 0)
    record(backend, sub, 1)
    clock.advance(31 * 86400)
    record(backend, sub, 2)
    kept = [i.doc["resourceGroupName"] for i in backend.store.list(ACTIVITY)]
    assert kept == ["rg2"]
    backend.settings.activity_retention_days = 0  # forever
    clock.advance(365 * 86400)
    assert backend.activity.prune() == 0
    assert backend.store.count(ACTIVITY, backend.activity.parent(sub)) == 1


def test_a_made_up_subscription_gets_no_record(backend: Backend) -> None:
    assert record(backend, str(uuid.uuid4()), 0) is None
    assert backend.store.list(ACTIVITY) == []


def test_a_sparse_filter_answers_short_pages_that_continue(backend: Backend) -> None:
    sub = backend.list_subscriptions()[0]["subscriptionId"]
    for n in range(7):
        record(backend, sub, n, 201 if n != 1 else 403)
    flt = parse_filter(f"{ALL} and status eq 'Failed'", backend.clock.now())
    first, cursor = backend.activity.query(sub, flt, limit=10, scan_limit=3)
    assert first == [] and cursor is not None
    found: list[dict[str, Any]] = []
    while cursor is not None:
        page, cursor = backend.activity.query(sub, flt, cursor, limit=10, scan_limit=3)
        found += page
    assert [e["resourceGroupName"] for e in found] == ["rg1"]


def test_filter_rejects_non_eq_on_plain_fields() -> None:
    with pytest.raises(InvalidInput):
        parse_filter("status le 'Failed'", 0.0)


def test_filter_takes_bare_timestamps_as_az_monitor_sends_them() -> None:
    flt = parse_filter(
        "eventTimestamp ge 2026-12-01T00:00:00Z and "
        "eventTimestamp le 2026-12-02T00:00:00Z and status eq 'Failed'",
        0.0,
    )
    assert (flt.start, flt.end) == (
        dt.datetime(2026, 12, 1, tzinfo=dt.UTC).timestamp(),
        dt.datetime(2026, 12, 2, tzinfo=dt.UTC).timestamp(),
    )


# -- the CLI: az monitor activity-log list -------------------------------------------------------


def test_offset_and_time_range_follow_az() -> None:
    now = dt.datetime(2026, 12, 31, 12, 0, tzinfo=dt.UTC)
    assert parse_offset("1d12h") == dt.timedelta(days=1, hours=12)
    assert time_range(None, None, None, now) == (now - dt.timedelta(hours=6), now)
    assert time_range("2026-12-30T00:00:00Z", None, "1d", now) == (
        dt.datetime(2026, 12, 30, tzinfo=dt.UTC),
        dt.datetime(2026, 12, 31, tzinfo=dt.UTC),
    )
    assert time_range(None, "2026-12-30T00:00:00Z", "2h", now)[0] == dt.datetime(
        2026, 12, 29, 22, tzinfo=dt.UTC
    )
    assert time_range("2026-12-01T00:00:00", "2026-12-02T00:00:00+01:00", "1h", now) == (
        dt.datetime(2026, 12, 1, tzinfo=dt.UTC),
        dt.datetime(2026, 12, 1, 23, tzinfo=dt.UTC),
    )
    start, end = time_range(None, None, "1h", now.replace(microsecond=5))
    assert build_filter(start, end, caller="o'brien") == (
        "eventTimestamp ge '2026-12-31T11:00:00Z' and eventTimestamp le "
        "'2026-12-31T12:00:01Z' and caller eq 'o''brien'"
    )


@pytest.mark.parametrize(
    "args, message",
    [
        (["--offset", "6x"], "not an offset"),
        (["--start-time", "yesterday"], "not an ISO 8601 time"),
        (["-g", "rg1", "--resource-id", "/subscriptions/x"], "usage error: --correlation-id"),
    ],
)
def test_cli_usage_errors(args: list[str], message: str) -> None:
    result = CliRunner().invoke(cli, ["monitor", "activity-log", "list", *args])
    assert result.exit_code == 2
    assert message in result.stderr


@pytest.mark.server
def test_cli_reads_the_log_after_allowed_and_denied_operations_of_two_principals(
    tmp_path: Any,
) -> None:
    srv = ThreadedServer(
        ServerConfig(
            database=str(tmp_path / "server.db"), admin_token="acr_operate_admin_token_0001"
        ),
        deliver=False,
    ).start()
    try:
        rbac, sub = srv.app.backend.rbac, srv.subscription
        rg1 = f"/subscriptions/{sub}/resourceGroups/rg1"

        def principal(name: str, role: str, scope: str) -> tuple[str, str]:
            doc, token = rbac.create_principal(name, "Application")
            rbac.create_assignment(
                scope,
                str(uuid.uuid4()),
                {"properties": {"roleDefinitionId": role, "principalId": doc["id"]}},
            )
            return doc["id"], token

        dev_id, dev = principal("dev", CONTRIBUTOR, rg1)
        viewer_id, viewer = principal("viewer", READER, f"/subscriptions/{sub}")

        def run(token: str, *args: str) -> tuple[int, str, str]:
            result = CliRunner().invoke(
                cli, list(args), env={"ACRCTL_ENDPOINT": srv.url, "ACRCTL_TOKEN": token}
            )
            return result.exit_code, result.stdout, result.stderr

        admin = str(srv.admin_token)
        assert run(admin, "group", "create", "-n", "rg1", "-l", "westus")[0] == 0
        assert run(dev, "create", "-n", "devreg1", "-g", "rg1", "--sku", "Basic")[0] == 0
        assert run(dev, "group", "create", "-n", "rg2", "-l", "westus")[0] == 1  # 403
        assert run(viewer, "create", "-n", "viewreg1", "-g", "rg1", "--sku", "Basic")[0] == 1
        code, _, err = run(viewer, "delete", "-n", "devreg1", "-g", "rg1", "--yes")
        assert code == 1 and "AuthorizationFailed" in err
        denied_id = err.strip().rsplit("Request id: ", 1)[-1]

        def events(token: str, *args: str) -> list[dict[str, Any]]:
            code, out, err = run(token, "monitor", "activity-log", "list", *args)
            assert code == 0, err
            return list(json.loads(out))

        every = events(admin)
        by_dev = events(viewer, "--caller", dev_id)
        failed = events(admin, "--status", "failed", "--offset", "1h")
        by_name = events(admin, "--caller", "viewer", "-g", "rg1")
        dev_view = events(dev)
        table = run(admin, "monitor", "activity-log", "list", "--max-events", "2", "-o", "table")

        def brief(evs: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
            return [
                (
                    e["claims"]["name"],
                    e["operationName"]["value"].rsplit("/", 2)[-2],
                    e["subStatus"]["value"],
                )
                for e in evs
            ]

        assert brief(every) == [
            ("viewer", "registries", "Forbidden"),
            ("viewer", "registries", "Forbidden"),
            ("dev", "resourceGroups", "Forbidden"),
            ("dev", "registries", "Created"),
            ("admin", "resourceGroups", "Created"),
        ]
        assert every[0]["operationId"] == denied_id
        assert every[0]["operationName"]["value"].endswith("/registries/delete")
        assert brief(by_dev) == brief(every)[2:4] and by_dev[0]["caller"] == dev_id
        assert [e["status"]["value"] for e in failed] == ["Failed"] * 3
        assert all(e["caller"] == viewer_id for e in by_name) and len(by_name) == 2
        # dev holds read only in rg1: the attempt on rg2 (its scope) is not shown to it
        assert brief(dev_view) == [
            b for b in brief(every) if b[1:] != ("resourceGroups", "Forbidden")
        ]
        lines = table[1].splitlines()
        assert table[0] == 0 and lines[0].split() == [
            "Time",
            "Caller",
            "Operation",
            "Status",
            "SubStatus",
            "ResourceGroup",
        ]
        assert len(lines) == 4 and "Microsoft.ContainerRegistry/registries/delete" in lines[2]
    finally:
        srv.stop()
