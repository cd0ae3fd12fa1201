"""Concurrent clients against real servers, with both stores: two `acrctl server` instances
(ThreadedServer, real HTTP on 127.0.0.1) share one database, a SQLite file or a PostgreSQL
schema, and many client threads talk to both at once.

ARM's ETag rules (If-Match / If-None-Match -> 412), no lost update under If-Match retry
loops, exactly one creation among racing creates, quotas held under racing creates, and
409 OperationInProgress for a mutation while an operation is in flight."""

from __future__ import annotations

import contextlib
import os
import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from acrctl.backend import ids
from acrctl.backend.core import Settings
from acrctl.backend.registries import REGISTRY
from acrctl.server.serve import ServerConfig, ThreadedServer

pytest.register_assert_rewrite("api_harness", "pg_harness")
from api_harness import ACR, API_VERSION, Api, op_id  # noqa: E402
from pg_harness import pg_database  # noqa: E402

pytestmark = pytest.mark.server

TOKEN = "acr_concurrency_admin_token_5b0e7c2d"


@dataclass
class Cluster:
    """Two server instances on one database."""

    servers: list[ThreadedServer]
    store: str
    clients: list[httpx.Client] = field(default_factory=list)

    def api(self, i: int = 0) -> Api:
        srv = self.servers[i % len(self.servers)]
        http = httpx.Client(base_url=srv.url, timeout=30)
        self.clients.append(http)
        api = Api("server", srv.app.backend, http, srv.url, str(srv.cfg.database), None)
        api.admin_token = TOKEN
        return api

    def settings(self, **kw: Any) -> None:
        for srv in self.servers:
            for k, v in kw.items():
                setattr(srv.app.backend.settings, k, v)


def start_servers(database: str, n: int = 2) -> list[ThreadedServer]:
    out: list[ThreadedServer] = []
    try:
        for _ in range(n):
            cfg = ServerConfig(database=database, admin_token=TOKEN, settings=Settings())
            out.append(ThreadedServer(cfg, deliver=False).start())
    except BaseException:
        for s in out:
            s.stop()
        raise
    return out


@pytest.fixture(params=["sqlite", "postgres"])
def cluster(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Cluster]:
    with (
        pg_database("conc")
        if request.param == "postgres"
        else contextlib.nullcontext(str(tmp_path / "server.db"))
    ) as db:
        servers = start_servers(db)
        c = Cluster(servers, request.param)
        try:
            yield c
        finally:
            for http in c.clients:
                http.close()
            for s in servers:
                s.stop()


def run_threads(n: int, target: Callable[[int], None], timeout: float = 90) -> None:
    """Run target(0..n-1) on n threads released at once; re-raise the first failure."""
    barrier = threading.Barrier(n)
    errors: list[BaseException] = []

    def wrap(i: int) -> None:
        try:
            barrier.wait(10)
            target(i)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=wrap, args=(i,), daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout)
    assert not any(t.is_alive() for t in threads), "a client thread hung"
    if errors:
        raise errors[0]


# -- ETag rules, on both instances ------------------------------------------------------------
def resources(api: Api) -> list[tuple[str, dict[str, Any]]]:
    """(path, PUT body) of one registry, one replication and one webhook."""
    return [
        (api.reg_path("etagreg1"), {"location": "westus", "sku": {"name": "Premium"}}),
        (api.repl_path("eastus", "etagreg1"), {"location": "eastus"}),
        (
            api.hook_path("etaghook1", "etagreg1"),
            {
                "location": "westus",
                "properties": {"serviceUri": "http://127.0.0.1:9/h", "actions": ["push"]},
            },
        ),
    ]


def test_arm_etag_rules_hold_across_instances(cluster: Cluster) -> None:
    a, b = cluster.api(0), cluster.api(1)
    a.create_group()
    for path, body in resources(a):
        # If-Match on a missing resource -> 412, nothing created
        for value in ("*", '"nope"'):
            r = a.put(path, body, headers={"If-Match": value})
            assert r.status_code == 412, r.text
            assert r.json()["error"]["code"] == "PreconditionFailed"
        assert b.get(path).status_code == 404
        # If-None-Match: * creates when missing, 412 once it exists (on either instance)
        r = a.put(path, body, headers={"If-None-Match": "*"})
        assert r.status_code == 201, r.text
        etag = r.headers["ETag"]
        got = b.get(path)
        assert got.status_code == 200 and got.headers["ETag"] == etag
        assert b.put(path, body, headers={"If-None-Match": "*"}).status_code == 412
        # If-Match: the current etag wins once; the old one then fails, on both instances
        r = b.patch(path, {"tags": {"v": "1"}}, headers={"If-Match": etag})
        assert r.status_code == 200, r.text
        new = r.headers["ETag"]
        assert new != etag and a.get(path).headers["ETag"] == new
        for api, verb in ((a, "PUT"), (b, "PATCH"), (a, "PATCH")):
            payload = body if verb == "PUT" else {"tags": {"v": "2"}}
            r = api.request(verb, path, json=payload, headers={"If-Match": etag})
            assert r.status_code == 412, (verb, r.text)
        assert a.get(path).json()["tags"] == {"v": "1"}
        r = a.put(path, {**body, "tags": {"v": "3"}}, headers={"If-Match": new})
        assert r.status_code == 200, r.text
        r = b.put(path, {**body, "tags": {"v": "4"}}, headers={"If-Match": "*"})
        assert r.status_code == 200, r.text
        assert a.get(path).json()["tags"] == {"v": "4"}


# -- no lost update ---------------------------------------------------------------------------
THREADS = 16
ROUNDS = int(os.environ.get("ACRCTL_STRESS_ROUNDS", "10"))  # 20 for the 16 x 20


def test_concurrent_if_match_patches_lose_no_update(cluster: Cluster) -> None:
    """16 threads (half on each instance) x ROUNDS PATCHes of the registry's whole tag map,
    each with If-Match and a retry on 412: every thread's last value is there at the end."""
    setup = cluster.api(0)
    setup.create_group()
    setup.create_registry("tagreg1")
    path = setup.reg_path("tagreg1")
    done, retries = [0] * THREADS, [0] * THREADS

    def client(i: int) -> None:
        api = cluster.api(i)
        rng = random.Random(i)
        for r in range(ROUNDS):
            tries = 0
            while True:
                got = api.get(path)
                assert got.status_code == 200, got.text
                tags = dict(got.json()["tags"])
                tags[f"t{i:02d}"] = str(r)
                resp = api.patch(path, {"tags": tags}, headers={"If-Match": got.headers["ETag"]})
                if resp.status_code == 200:
                    done[i] += 1
                    break
                assert resp.status_code == 412, resp.text
                retries[i] += 1
                tries += 1
                time.sleep(rng.uniform(0, 0.002 * 2 ** min(tries, 6)))  # jittered backoff

    t0 = time.monotonic()
    run_threads(THREADS, client)
    print(
        f"\n{cluster.store}: {THREADS}x{ROUNDS} PATCHes, {sum(retries)} retries on 412, "
        f"{time.monotonic() - t0:.1f}s"
    )
    assert done == [ROUNDS] * THREADS
    final = cluster.api(1).get(path).json()["tags"]
    assert final == {f"t{i:02d}": str(ROUNDS - 1) for i in range(THREADS)}, (
        f"{cluster.store}: lost updates after {sum(retries)} retries"
    )


def test_a_get_answers_the_etag_of_the_body_it_returns(
    cluster: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Deterministic form of the race: another instance's write lands between the two
    reads of one GET."""
    api = cluster.api(0)
    api.create_group()
    api.create_registry("tornreg1", tags={"v": "1"})
    backend = cluster.servers[0].app.backend
    real_get = backend.registries.get

    def get_then_another_instance_writes(sub: str, rg: str, name: str) -> dict[str, Any]:
        doc = real_get(sub, rg, name)
        item = cluster.servers[1].app.backend.store.get(REGISTRY, ids.key(doc["id"]))
        assert item is not None
        cluster.servers[1].app.backend.store.put(
            item.kind,
            item.key,
            item.parent,
            item.name,
            {**item.doc, "tags": {"v": "2"}},
            item.secret,
        )
        return doc

    monkeypatch.setattr(backend.registries, "get", get_then_another_instance_writes)
    resp = api.get(api.reg_path("tornreg1"))
    assert resp.status_code == 200
    stored = backend.store.get(REGISTRY, ids.key(resp.json()["id"]))
    assert stored is not None
    # either no ETag (the server saw the body go stale) or the ETag of exactly this body
    if resp.headers.get("ETag") == stored.etag:
        assert resp.json()["tags"] == stored.doc["tags"], "the body is older than its ETag"


def test_concurrent_creates_of_one_name_make_one_resource(cluster: Cluster) -> None:
    setup = cluster.api(0)
    n = 12
    for i in range(n):
        setup.create_group(f"rg{i}")
    plain: list[int] = [0] * n
    guarded: list[int] = [0] * n
    elsewhere: list[int] = [0] * n
    body = {"location": "westus", "sku": {"name": "Basic"}}

    def create(i: int) -> None:
        api = cluster.api(i)
        plain[i] = api.put(api.reg_path("samename1", rg="rg0"), body).status_code
        guarded[i] = api.put(
            api.reg_path("samename2", rg="rg0"), body, headers={"If-None-Match": "*"}
        ).status_code
        # one registry name, a different resource group per thread: names are global
        elsewhere[i] = api.put(api.reg_path("samename3", rg=f"rg{i}"), body).status_code

    run_threads(n, create)
    assert sorted(plain) == [200] * (n - 1) + [201]
    assert sorted(guarded) == [201] + [412] * (n - 1)
    assert sorted(elsewhere) == [201] + [409] * (n - 1)
    items, _ = cluster.api(1).collect(f"{setup.sub_path}/providers/{ACR}/registries")
    assert sorted(r["name"] for r in items) == ["samename1", "samename2", "samename3"]


def test_racing_webhook_creates_respect_the_quota(cluster: Cluster) -> None:
    """Basic allows 2 webhooks: of 10 racing creates (different names), exactly 2 win."""
    setup = cluster.api(0)
    setup.create_group()
    setup.create_registry("quotareg1", sku="Basic")
    statuses = [0] * 10

    def create(i: int) -> None:
        api = cluster.api(i)
        statuses[i] = api.put(
            api.hook_path(f"racehook{i}", "quotareg1"),
            {
                "location": "westus",
                "properties": {"serviceUri": "http://127.0.0.1:9/h", "actions": ["push"]},
            },
        ).status_code

    run_threads(10, create)
    assert sorted(statuses) == [201, 201] + [409] * 8
    hooks, _ = cluster.api(1).collect(setup.reg_path("quotareg1") + "/webhooks")
    assert len(hooks) == 2


# -- operations in flight -----------------------------------------------------------------------
def test_a_mutation_while_an_operation_is_in_flight_is_409_on_any_instance(
    cluster: Cluster,
) -> None:
    cluster.settings(lro_mode="polls", lro_polls=3)
    a, b = cluster.api(0), cluster.api(1)
    assert a.put(a.rg_path(), {"location": "westus"}).status_code in (200, 201)
    path = a.reg_path("busyreg1")
    r = a.put(path, {"location": "westus", "sku": {"name": "Standard"}})
    assert r.status_code == 201 and r.json()["properties"]["provisioningState"] == "Creating"
    status_url = r.headers["Azure-AsyncOperation"]
    for api, verb, payload in (
        (b, "PATCH", {"tags": {"x": "1"}}),
        (a, "PUT", {"location": "westus", "sku": {"name": "Standard"}}),
        (b, "DELETE", None),
    ):
        resp = api.request(verb, path, json=payload)
        assert resp.status_code == 409, (verb, resp.text)
        assert resp.json()["error"]["code"] == "OperationInProgress"
    assert b.get(path).json()["properties"]["provisioningState"] == "Creating"
    # three status reads, spread over both instances, finish it
    seen = [
        api.follow(status_url.replace(a.base_url, api.base_url)).json()["status"]
        for api in (b, a, b)
    ]
    assert seen == ["InProgress", "InProgress", "Succeeded"]
    assert a.get(path).json()["properties"]["provisioningState"] == "Succeeded"
    r = b.patch(path, {"tags": {"x": "1"}})
    assert r.status_code == 200, r.text
    assert op_id(r.headers["Azure-AsyncOperation"]) != op_id(status_url)


def test_concurrent_status_polls_each_count_once(cluster: Cluster) -> None:
    """lro_polls=N status reads from N threads at once (on both instances) finish the
    operation: no poll is lost, and it finishes once (one etag change)."""
    polls = 8
    cluster.settings(lro_mode="polls", lro_polls=polls)
    setup = cluster.api(0)
    assert setup.put(setup.rg_path(), {"location": "westus"}).status_code in (200, 201)
    path = setup.reg_path("pollreg1")
    r = setup.put(path, {"location": "westus", "sku": {"name": "Basic"}})
    assert r.status_code == 201, r.text
    status_path = r.headers["Azure-AsyncOperation"].replace(setup.base_url, "")
    before = setup.get(path).headers["ETag"]

    def poll(i: int) -> None:
        api = cluster.api(i)
        assert api.request("GET", status_path, api_version=None).status_code == 200

    run_threads(polls, poll)
    got = cluster.api(1).get(path)
    assert got.json()["properties"]["provisioningState"] == "Succeeded"
    after = got.headers["ETag"]
    assert after != before
    run_threads(polls, poll)
    assert setup.get(path).headers["ETag"] == after


def test_a_poll_on_another_instance_in_between_still_counts(
    cluster: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Deterministic form of the race: instance B counts a poll between instance A's read
    of the operation and A's own update of it. Two polls in all: the operation is done."""
    cluster.settings(lro_mode="polls", lro_polls=2)
    a, b = cluster.api(0), cluster.api(1)
    assert a.put(a.rg_path(), {"location": "westus"}).status_code in (200, 201)
    r = a.put(a.reg_path("racereg1"), {"location": "westus", "sku": {"name": "Basic"}})
    assert r.status_code == 201, r.text
    status_path = r.headers["Azure-AsyncOperation"].replace(a.base_url, "")
    ops = cluster.servers[0].app.backend.ops
    real_advance = ops._advance
    other: list[str] = []

    def advance_after_a_poll_elsewhere(doc: dict[str, Any], count_poll: bool) -> Any:
        if count_poll and not other:
            other.append(b.request("GET", status_path, api_version=None).json()["status"])
        return real_advance(doc, count_poll)

    monkeypatch.setattr(ops, "_advance", advance_after_a_poll_elsewhere)
    mine = a.request("GET", status_path, api_version=None).json()["status"]
    assert other == ["InProgress"]
    assert mine == "Succeeded"


def test_one_instance_serves_what_the_other_wrote_at_once(cluster: Cluster) -> None:
    a, b = cluster.api(0), cluster.api(1)
    a.create_group()
    for n in range(5):
        b.create_registry(f"seenreg{n}")
        assert a.get(a.reg_path(f"seenreg{n}")).status_code == 200
    items, pages = a.collect(
        f"{a.rg_path()}/providers/{ACR}/registries",
        params={"$top": "2", "api-version": API_VERSION},
    )
    assert [r["name"] for r in items] == [f"seenreg{n}" for n in range(5)] and pages == 3
