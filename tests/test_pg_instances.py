"""Two `acrctl server` instances on one PostgreSQL database give one consistent view:
what one writes the other serves, operations progress the same through either, and
webhook deliveries from both delivery workers reach a real receiver exactly once each."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from acrctl.backend.core import Settings
from acrctl.server.serve import ServerConfig, ThreadedServer
from acrctl.testing import WebhookReceiver

pytest.register_assert_rewrite("api_harness", "pg_harness")
from api_harness import API_VERSION, Api  # noqa: E402
from pg_harness import pg_database  # noqa: E402

pytestmark = pytest.mark.server

TOKEN = "acr_pg_instances_admin_token_3c9d2e71"


def settings(**kw: Any) -> Settings:
    return Settings(**kw, webhook_allow=["127.0.0.0/8"], webhook_backoff=0.05)


@pytest.fixture
def pg_url() -> Iterator[str]:
    with pg_database("inst") as url:
        yield url


def start(url: str, deliver: bool = False, **kw: Any) -> ThreadedServer:
    cfg = ServerConfig(database=url, admin_token=TOKEN, settings=settings(**kw))
    return ThreadedServer(cfg, deliver=deliver).start()


class Pair:
    def __init__(self, url: str, deliver: bool = False, **kw: Any) -> None:
        self.servers = [start(url, deliver, **kw)]
        self.servers.append(start(url, deliver, **kw))
        self.apis = []
        for srv in self.servers:
            api = Api(
                "server",
                srv.app.backend,
                httpx.Client(base_url=srv.url, timeout=30),
                srv.url,
                url,
                None,
            )
            api.admin_token = TOKEN
            self.apis.append(api)

    def close(self) -> None:
        for api in self.apis:
            api.http.close()
        for srv in self.servers:
            srv.stop()


@pytest.fixture
def pair(pg_url: str) -> Iterator[Pair]:
    p = Pair(pg_url, lro_mode="polls", lro_polls=2)
    try:
        yield p
    finally:
        p.close()


def wait_until(check: Callable[[], Any], timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.05)


def local(api: Api, url: str) -> str:
    """An absolute URL handed out by one instance, pointed at `api`'s instance."""
    return api.base_url + "/" + url.split("://", 1)[1].split("/", 1)[1]


def test_both_instances_share_one_subscription_and_admin(pair: Pair) -> None:
    a, b = pair.apis
    assert a.sub == b.sub
    for api in (a, b):
        subs = api.get("/subscriptions").json()["value"]
        assert [s["subscriptionId"] for s in subs] == [a.sub]


def test_a_replication_made_through_one_is_seen_and_deleted_through_the_other(pair: Pair) -> None:
    a, b = pair.apis
    assert a.put(a.rg_path(), {"location": "westus"}).status_code == 201
    r = a.put(a.reg_path(), {"location": "westus", "sku": {"name": "Premium"}})
    assert r.status_code == 201, r.text
    for api in (b, a):  # the registry's create finishes after two polls, one on each
        api.follow(local(api, r.headers["Azure-AsyncOperation"]))
    r = a.put(a.repl_path("eastus"), {"location": "eastus"})
    assert r.status_code == 201, r.text
    status = r.headers["Azure-AsyncOperation"]
    seen = b.get(b.repl_path("eastus"))
    assert seen.status_code == 200 and seen.headers["ETag"] == r.headers["ETag"]
    assert seen.json()["properties"]["provisioningState"] == "Creating"
    assert b.patch(b.repl_path("eastus"), {"tags": {"x": "1"}}).status_code == 409
    assert [api.follow(local(api, status)).json()["status"] for api in (b, a)] == [
        "InProgress",
        "Succeeded",
    ]
    got = b.get(b.repl_path("eastus")).json()
    assert got["properties"]["provisioningState"] == "Succeeded"
    assert got["properties"]["status"]["displayStatus"] == "Ready"
    names, _ = b.collect(b.reg_path() + "/replications")
    assert sorted(x["name"] for x in names) == ["eastus", "westus"]

    d = b.delete(b.repl_path("eastus"))
    assert d.status_code == 202, d.text
    location = d.headers["Location"]
    assert a.follow(local(a, location)).status_code == 202  # first poll: still deleting
    assert a.follow(local(a, location)).status_code in (200, 204)
    for api in (a, b):
        assert api.get(api.repl_path("eastus")).status_code == 404
        names, _ = api.collect(api.reg_path() + "/replications")
        assert [x["name"] for x in names] == ["westus"]
    assert a.delete(a.repl_path("eastus")).status_code == 204


def test_two_instances_starting_at_once_on_an_empty_database_bootstrap_once(pg_url: str) -> None:
    servers: list[ThreadedServer] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(3)

    def boot() -> None:
        try:
            barrier.wait(10)
            servers.append(start(pg_url))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=boot) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    try:
        assert not errors, errors
        assert len({s.subscription for s in servers}) == 1
        assert len(servers[0].app.backend.list_subscriptions()) == 1
        for s in servers:
            r = httpx.get(
                f"{s.url}/subscriptions",
                params={"api-version": API_VERSION},
                headers={"Authorization": f"Bearer {TOKEN}"},
            )
            assert r.status_code == 200 and len(r.json()["value"]) == 1
    finally:
        for s in servers:
            s.stop()


def events(api: Api, hook: str = "hook1") -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    url: str | None = api.hook_path(hook) + "/listEvents"
    resp = api.post(api.hook_path(hook) + "/listEvents")
    while True:
        assert resp.status_code == 200, resp.text
        out += resp.json()["value"]
        url = resp.json().get("nextLink")
        if not url:
            return out
        resp = api.request("POST", url, api_version=None)


@pytest.mark.parametrize("failures", [0, 6], ids=["first-try", "with-retries"])
def test_pings_through_two_instances_are_delivered_exactly_once(pg_url: str, failures: int) -> None:
    """Both instances run a delivery worker on the same outbox; N pings (half through
    each) reach a real 127.0.0.1 receiver exactly N times (plus the failed attempts that
    were retried), each event's payload once with a 2xx."""
    n = 40
    with WebhookReceiver(statuses=[500] * failures) as rx:
        p = Pair(pg_url, deliver=True)
        try:
            a, b = p.apis
            a.create_group()
            a.create_registry(sku="Premium")
            a.create_webhook(uri=rx.url("/hook"))
            ids = []
            for i in range(n):
                api = p.apis[i % 2]
                r = api.post(api.hook_path() + "/ping")
                assert r.status_code == 200, r.text
                ids.append(r.json()["id"])
            assert rx.wait_for(n + failures, timeout=30)

            def all_delivered() -> bool:
                return [e["delivery"]["state"] for e in events(b)] == ["delivered"] * n

            assert wait_until(all_delivered)
            time.sleep(0.6)  # a few more worker rounds: nothing else may be sent
            assert len(rx.requests) == n + failures
            ok = [r for r in rx.requests if r.json()["action"] == "ping"]
            payload_ids = [r.json()["id"] for r in ok]
            assert len(set(payload_ids)) == n
            evs = events(a)
            assert sorted(e["id"] for e in evs) == sorted(ids)
            attempts = [len(e["delivery"]["attempts"]) for e in evs]
            assert sum(attempts) == n + failures
            assert all(e["delivery"]["attempts"][-1]["statusCode"] == 200 for e in evs)
            assert a.backend.webhooks.next_due() is None  # the outbox is empty
            sent = [s.delivery.deliverer._n for s in p.servers if s.delivery]
            assert sum(sent) == n + failures and all(sent), sent  # both workers took part
        finally:
            p.close()


def test_each_instance_pages_what_both_wrote(pair: Pair) -> None:
    a, b = pair.apis
    a.set_settings(lro_mode="immediate")
    b.set_settings(lro_mode="immediate")
    a.create_group()
    for i in range(6):
        pair.apis[i % 2].create_registry(f"pagereg{i}")
    for api in (a, b):
        items, pages = api.collect(
            api.rg_path() + "/providers/Microsoft.ContainerRegistry/registries",
            params={"$top": "4", "api-version": API_VERSION},
        )
        assert [x["name"] for x in items] == [f"pagereg{i}" for i in range(6)]
        assert pages == 2
