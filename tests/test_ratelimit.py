"""Abuse of the activity log (issue 11, item 9): per-principal request rate limits (429
with Retry-After, as ARM throttles), records of refused attempts that cannot flood the log,
and a size bound per subscription.

A real server on a SQLite file, one per module; each test gets fresh buckets whose clock
it drives (no sleeping), and the settings back at their defaults afterwards."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import fields
from typing import Any

import httpx
import pytest

from acrctl.backend.activity import ACTIVITY
from acrctl.backend.core import Settings
from acrctl.server.ratelimit import Buckets
from acrctl.server.serve import ServerConfig, ThreadedServer
from acrctl.testing import mock_acrctl

pytest.register_assert_rewrite("api_harness")
from api_harness import ADMIN_TOKEN, CONTRIBUTOR, NO_TOKEN, Api  # noqa: E402

pytestmark = pytest.mark.server

DEFAULTS = {f.name: f.default for f in fields(Settings) if f.name != "extra"}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreadedServer]:
    db = tmp_path_factory.mktemp("ratelimit") / "state.db"
    with ThreadedServer(
        ServerConfig(database=str(db), admin_token=ADMIN_TOKEN), deliver=False
    ) as srv:
        yield srv


@pytest.fixture
def clock(server: ThreadedServer) -> Iterator[Clock]:
    """A fresh store, and fresh request and refused-record buckets on a clock the test
    moves."""
    c = Clock()
    app = server.app
    app.backend.reset()
    app.backend.bootstrap(admin_token=ADMIN_TOKEN, subscription=server.subscription)
    app.limiter.buckets = Buckets(lambda: 10_000, clock=c)
    app.obs.refused = Buckets(lambda: 10_000, clock=c)
    yield c
    for k, v in DEFAULTS.items():
        setattr(app.backend.settings, k, v)


@pytest.fixture
def api(server: ThreadedServer, clock: Clock) -> Iterator[Api]:
    with httpx.Client(base_url=server.url, timeout=10) as http:
        yield Api("server", server.app.backend, http, server.url, "", None)


def records(api: Api, caller: str) -> list[dict[str, Any]]:
    return [i.doc for i in api.backend.store.list(ACTIVITY) if i.doc["caller"] == caller]


def hammer(api: Api, n: int, token: Any) -> list[httpx.Response]:
    return [
        api.put(api.rg_path(f"hammer{i}"), {"location": "westus"}, token=token) for i in range(n)
    ]


def test_a_principal_without_roles_gets_429_after_the_burst(api: Api, clock: Clock) -> None:
    api.set_settings(rate_limit_writes=0.5, rate_limit_write_burst=20)
    nobody = api.principal("noroles")
    answers = hammer(api, 30, nobody)
    assert [r.status_code for r in answers] == [403] * 20 + [429] * 10
    r = answers[-1]
    assert r.headers["Retry-After"] == "2"
    assert r.json() == {
        "error": {
            "code": "SubscriptionRequestsThrottled",
            "message": f"Number of 'write' requests for subscription '{api.sub}' actor "
            f"'{nobody.id}' exceeded. Please try again after '2' seconds.",
        }
    }
    clock.now += 2.0  # one token back
    assert [r.status_code for r in hammer(api, 2, nobody)] == [403, 429]


def test_another_principal_is_unaffected(api: Api, clock: Clock) -> None:
    api.set_settings(rate_limit_writes=0.5, rate_limit_write_burst=20)
    nobody = api.principal("noroles")
    dev = api.principal("dev", CONTRIBUTOR)
    assert {r.status_code for r in hammer(api, 40, nobody)} == {403, 429}
    answers = [
        api.put(api.rg_path(f"dev{i}"), {"location": "westus"}, token=dev) for i in range(15)
    ]
    assert [r.status_code for r in answers] == [201] * 15
    kept = {d["operationId"] for d in records(api, dev.id)}
    assert kept == {r.headers["x-ms-request-id"] for r in answers}


def test_reads_are_not_limited_by_default(api: Api, clock: Clock) -> None:
    api.set_settings(rate_limit_write_burst=1)
    answers = [api.get(api.sub_path) for _ in range(30)]
    assert {r.status_code for r in answers} == {200}
    api.set_settings(rate_limit_reads=1.0, rate_limit_read_burst=5)
    answers = [api.get(f"{api.sub_path}/resourcegroups") for _ in range(6)]
    assert [r.status_code for r in answers] == [200] * 5 + [429]
    assert answers[-1].json()["error"]["message"].startswith("Number of 'read' requests")


def test_records_of_refused_attempts_are_rate_limited(api: Api, clock: Clock) -> None:
    api.set_settings(
        rate_limit_writes=0.5,
        rate_limit_write_burst=20,
        activity_refused_rate=0.1,
        activity_refused_burst=5,
    )
    nobody = api.principal("noroles")
    answers = hammer(api, 60, nobody)
    assert [r.status_code for r in answers] == [403] * 20 + [429] * 40
    kept = records(api, nobody.id)
    assert [d["operationId"] for d in kept] == [r.headers["x-ms-request-id"] for r in answers[:5]]
    assert all(d["description"] == "AuthorizationFailed" for d in kept)
    clock.now += 10.0  # one more refused record allowed, and 5 write tokens back
    more = hammer(api, 6, nobody)
    assert [r.status_code for r in more] == [403] * 5 + [429]
    last = records(api, nobody.id)[-1]
    assert last["operationId"] == more[0].headers["x-ms-request-id"]
    assert last["properties"] == {"suppressedEvents": "55"}
    assert len(records(api, nobody.id)) == 6


def test_the_log_of_a_subscription_keeps_at_most_activity_max_records(
    api: Api, clock: Clock
) -> None:
    api.set_settings(activity_max_records=30)
    answers = [api.put(api.rg_path(f"cap{i}"), {"location": "westus"}) for i in range(100)]
    assert {r.status_code for r in answers} == {201}
    kept = [i.doc["operationId"] for i in api.backend.store.list(ACTIVITY)]
    # past 30 the oldest go, down to 27 (90%): 31 -> 27, ..., 99 -> 27, 100 -> 28
    assert kept == [r.headers["x-ms-request-id"] for r in answers[-28:]]


def test_requests_without_valid_credentials_are_limited_per_address(api: Api, clock: Clock) -> None:
    api.set_settings(rate_limit_anonymous=1.0, rate_limit_anonymous_burst=5)
    answers = [api.get(api.sub_path, token="acr_not_a_token") for _ in range(4)]
    answers += [api.get(api.sub_path, token=NO_TOKEN) for _ in range(3)]
    assert [r.status_code for r in answers] == [401] * 5 + [429] * 2
    assert answers[-1].headers["Retry-After"] == "1"
    assert answers[-1].json() == {
        "error": {
            "code": "TooManyRequests",
            "message": "Too many requests without valid credentials from this client address. "
            "Please try again after '1' seconds.",
        }
    }
    assert api.get(api.sub_path).status_code == 200  # a valid token from the same address


def test_trusted_in_process_callers_are_not_limited() -> None:
    with mock_acrctl() as mock:
        mock.backend.settings.rate_limit_writes = 0.001
        mock.backend.settings.rate_limit_write_burst = 1
        client = mock.client()
        for i in range(5):
            client.create_group(f"inproc{i}", "westus")
        assert len(client.list_groups()) == 5


def test_buckets_track_a_bounded_number_of_keys() -> None:
    clock = Clock()
    buckets = Buckets(lambda: 3, clock=clock)
    for key in ("a", "b", "c", "d"):
        assert buckets.take(key, 1.0, 1)[0] == 0.0
    assert len(buckets) == 3
    assert buckets.take("d", 1.0, 1)[0] == 1.0  # d is tracked and empty
    assert buckets.take("a", 1.0, 1)[0] == 0.0  # a was forgotten: a full bucket again
    assert buckets.take("x", 0.0, 1) == (0.0, None)  # a rate of 0: no limit


def test_uvicorn_workers_take_the_limits_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from acrctl.server.factory import settings_from_env

    monkeypatch.setenv("ACRCTL_SERVER_RATE_LIMIT_WRITES", "0")
    monkeypatch.setenv("ACRCTL_SERVER_ACTIVITY_MAX_RECORDS", "500")
    s = settings_from_env()
    assert (s.rate_limit_writes, s.activity_max_records, s.rate_limit_write_burst) == (
        0.0,
        500,
        DEFAULTS["rate_limit_write_burst"],
    )
    monkeypatch.setenv("ACRCTL_SERVER_RATE_LIMIT_WRITES", "fast")
    with pytest.raises(
        ValueError, match="^ACRCTL_SERVER_RATE_LIMIT_WRITES must be a number, not 'fast'.$"
    ):
        settings_from_env()
