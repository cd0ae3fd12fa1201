"""What a GET costs and why its answer is still exact (issue 12 item 14): the store's
generation read once per request (SQLite's data_version; PostgreSQL's counter, bumped by
every write transaction), the RBAC, failure-drill and settled-answer caches keyed by it,
the answer's ETag from the item it was built from, store metrics without a wrapper, and
PostgreSQL GETs answered on the event loop from those caches (acrctl.server.fastpath).
Every cache must see a change made by another instance on the same database at once."""

from __future__ import annotations

import asyncio
import http.client
import json
import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

pytest.register_assert_rewrite("pg_harness")
from pg_harness import pg_database  # noqa: E402

from acrctl.backend.clock import FakeClock  # noqa: E402
from acrctl.backend.core import Backend, Settings  # noqa: E402
from acrctl.backend.rbac import ROLE_ASSIGN  # noqa: E402
from acrctl.backend.sqlite import SqliteStore  # noqa: E402
from acrctl.backend.store import open_store  # noqa: E402
from acrctl.server.app import App  # noqa: E402
from acrctl.server.fastpath import CachedGets  # noqa: E402
from acrctl.server.serve import ServerConfig, ThreadedServer  # noqa: E402
from acrctl.server.transport import InProcessTransport  # noqa: E402

TOKEN = "generation-test-token-0123456789"
API = "api-version=2025-11-01"
ACR = "Microsoft.ContainerRegistry"
READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"


class Statements:
    """Counts the SQL statements a SqliteStore runs (a stand-in for its connection)."""

    def __init__(self, db: Any) -> None:
        self.db = db
        self.sql: list[str] = []
        self.kinds: list[str] = []  # the kinds of the items read

    def execute(self, sql: str, args: Any = ()) -> Any:
        self.sql.append(sql.split()[0].upper())
        if sql.startswith("SELECT") and " FROM items " in sql and args:
            self.kinds.append(str(args[0]))
        return self.db.execute(sql, args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.db, name)


class Node:
    """A backend and an in-process client on a store (one "server process")."""

    def __init__(self, url: str, clock: FakeClock | None = None) -> None:
        self.backend = Backend(open_store(url), clock=clock, settings=Settings())
        self.sub = self.backend.bootstrap(admin_token=TOKEN)[0]["subscriptionId"]
        self.app = App(self.backend)
        self.http = httpx.Client(
            base_url="https://acrctl.local",
            transport=InProcessTransport(self.app, caller=None),
            headers={"Authorization": f"Bearer {TOKEN}"},
        )

    def reg(self, name: str = "myreg1") -> str:
        return f"/subscriptions/{self.sub}/resourceGroups/rg1/providers/{ACR}/registries/{name}"

    def call(
        self, method: str, path: str, body: Any = None, token: str | None = None
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else None
        return self.http.request(method, f"{path}?{API}", json=body, headers=headers)

    def seed(self) -> None:
        sub = f"/subscriptions/{self.sub}"
        assert self.call("PUT", f"{sub}/resourceGroups/rg1", {"location": "westus"}).is_success
        assert self.call(
            "PUT", self.reg(), {"location": "westus", "sku": {"name": "Premium"}}
        ).is_success
        assert self.call(
            "PUT", f"{self.reg()}/replications/eastus", {"location": "eastus"}
        ).is_success
        assert self.call("PUT", f"{self.reg()}/webhooks/hook1", webhook("push")).is_success

    def close(self) -> None:
        self.http.close()
        self.backend.store.close()


def webhook(action: str) -> dict[str, Any]:
    return {
        "location": "westus",
        "properties": {"serviceUri": "http://127.0.0.1:9/hook", "actions": [action]},
    }


@pytest.fixture
def sqlite_pair(tmp_path: Path) -> Iterator[tuple[Node, Node]]:
    """Two instances on one SQLite file (two server processes)."""
    db = str(tmp_path / "state.db")
    a = Node(db)
    a.seed()
    b = Node(db)
    yield a, b
    a.close()
    b.close()


@pytest.fixture
def pg_pair() -> Iterator[tuple[Node, Node]]:
    with pg_database("generation") as url:
        a = Node(url)
        a.seed()
        b = Node(url)
        yield a, b
        a.close()
        b.close()


# -- what a GET costs (SQLite) -------------------------------------------------------------------
def test_a_warm_get_runs_one_statement_the_generation_read(sqlite_pair: tuple[Node, Node]) -> None:
    a, _ = sqlite_pair
    path = f"{a.reg()}/replications/eastus"
    assert a.call("GET", path).status_code == 200
    store = a.backend.store
    assert isinstance(store, SqliteStore)
    counter = Statements(store._db)
    store._db = counter  # type: ignore[assignment]
    resp = a.call("GET", path)
    assert resp.status_code == 200
    assert counter.sql == ["PRAGMA"]  # before: 7 (3 item reads, 2 drill lists, 2 PRAGMAs)


def test_a_cold_get_reads_each_item_once_and_takes_its_etag_from_that_read(
    sqlite_pair: tuple[Node, Node],
) -> None:
    a, b = sqlite_pair
    path = f"{a.reg()}/replications/eastus"
    assert (
        b.call("PATCH", f"{b.reg()}/replications/eastus", {"tags": {"k": "v"}}).status_code == 200
    )
    store = a.backend.store
    assert isinstance(store, SqliteStore)
    counter = Statements(store._db)
    store._db = counter  # type: ignore[assignment]
    resp = a.call("GET", path)
    assert resp.status_code == 200
    assert counter.sql.count("PRAGMA") == 1
    assert counter.kinds.count("replication") == 1  # before: 2 (the ETag read again)
    assert counter.kinds.count("registry") == 1
    assert counter.kinds.count("drill") == 1  # before: 2 (the guard's, the overlay's)
    stored = b.backend.store.get("replication", resp.json()["id"].lower())
    assert stored is not None and resp.headers["ETag"] == stored.etag
    assert resp.json() == stored.doc


def test_metrics_time_the_store_without_wrapping_it(tmp_path: Path) -> None:
    from acrctl.server.serve import build

    app, _, _ = build(
        ServerConfig(database=str(tmp_path / "m.db"), metrics="on", admin_token=TOKEN)
    )
    try:
        assert type(app.backend.store) is SqliteStore
        metrics = app.obs.metrics
        assert metrics is not None
        app.backend.store.get("principal", "nobody")
        text = metrics.exposition()[0].decode()
        assert 'acrctl_store_operation_duration_seconds_count{operation="get"}' in text
    finally:
        app.backend.store.close()


# -- exact across instances (SQLite) -------------------------------------------------------------
def test_a_cached_answer_shows_another_instances_write_at_once(
    sqlite_pair: tuple[Node, Node],
) -> None:
    a, b = sqlite_pair
    path = f"{a.reg()}/webhooks/hook1"
    first = a.call("GET", path)
    assert first.json()["properties"]["actions"] == ["push"]
    assert b.call("PUT", path, webhook("delete")).status_code == 200
    second = a.call("GET", path)
    assert second.json()["properties"]["actions"] == ["delete"]
    assert second.headers["ETag"] != first.headers["ETag"]


def test_a_role_removed_by_another_instance_denies_at_once(sqlite_pair: tuple[Node, Node]) -> None:
    a, b = sqlite_pair
    doc, token = b.backend.rbac.create_principal("reader")
    grant = b.backend.rbac.create_assignment(
        f"/subscriptions/{b.sub}",
        str(uuid.uuid4()),
        {"properties": {"roleDefinitionId": READER, "principalId": doc["id"]}},
    )
    assert a.call("GET", a.reg(), token=token).status_code == 200
    assert a.call("GET", a.reg(), token=token).status_code == 200  # cached now
    assert b.backend.store.delete(ROLE_ASSIGN, grant["name"])
    resp = a.call("GET", a.reg(), token=token)
    assert resp.status_code == 403
    assert resp.json()["error"]["code"] == "AuthorizationFailed"


# -- answers the clock moves on are not kept ---------------------------------------------------
def test_an_answer_with_an_operation_in_flight_is_not_kept(tmp_path: Path) -> None:
    clock = FakeClock()
    node = Node(str(tmp_path / "c.db"), clock)
    try:
        node.backend.settings.lro_mode = "seconds"
        node.backend.settings.lro_seconds = 5
        sub = f"/subscriptions/{node.sub}"
        node.call("PUT", f"{sub}/resourceGroups/rg1", {"location": "westus"})
        node.call("PUT", node.reg(), {"location": "westus", "sku": {"name": "Basic"}})
        clock.advance(6)
        assert node.call("GET", node.reg()).json()["properties"]["provisioningState"] == "Succeeded"
        resp = node.call(
            "PUT", node.reg(), {"location": "westus", "sku": {"name": "Basic"}, "tags": {"a": "b"}}
        )
        assert resp.json()["properties"]["provisioningState"] == "Updating"
        assert node.call("GET", node.reg()).json()["properties"]["provisioningState"] == "Updating"
        clock.advance(6)  # no write in between: only the clock moved
        assert node.call("GET", node.reg()).json()["properties"]["provisioningState"] == "Succeeded"
    finally:
        node.close()


def test_a_drill_overlay_is_not_kept_past_the_drills_end(tmp_path: Path) -> None:
    clock = FakeClock()
    node = Node(str(tmp_path / "d.db"), clock)
    try:
        node.seed()
        drill = f"/subscriptions/{node.sub}/providers/Acrctl.Admin/drills/down"
        resp = node.http.put(
            f"{drill}?api-version=2022-04-01",
            json={
                "properties": {"kind": "ReplicaOutage", "region": "eastus", "durationSeconds": 60}
            },
        )
        assert resp.status_code == 201, resp.text
        path = f"{node.reg()}/replications/eastus"
        status = node.call("GET", path).json()["properties"]["status"]
        assert status["displayStatus"] == "Unavailable"
        clock.advance(61)
        status = node.call("GET", path).json()["properties"]["status"]
        assert status["displayStatus"] == "Ready"
    finally:
        node.close()


# -- PostgreSQL ------------------------------------------------------------------------------------
class PgStatements:
    """Counts the statements psycopg connections run (round trips) while active."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        import psycopg

        self.count = 0
        original = psycopg.Connection.execute

        def execute(conn: Any, *args: Any, **kw: Any) -> Any:
            self.count += 1
            return original(conn, *args, **kw)

        monkeypatch.setattr(psycopg.Connection, "execute", execute)


def test_postgres_generation_moves_with_another_instances_write(pg_pair: tuple[Node, Node]) -> None:
    a, b = pg_pair
    before = a.backend.store.generation()  # type: ignore[attr-defined]
    assert a.backend.store.generation() == before  # type: ignore[attr-defined]
    b.backend.store.meta_set("x", "1")
    assert a.backend.store.generation() != before  # type: ignore[attr-defined]
    with a.backend.store.transaction():
        assert a.backend.store.generation() is None  # type: ignore[attr-defined]


def test_postgres_warm_get_is_one_round_trip(
    pg_pair: tuple[Node, Node], monkeypatch: pytest.MonkeyPatch
) -> None:
    a, _ = pg_pair
    path = f"{a.reg()}/replications/eastus"
    assert a.call("GET", path).status_code == 200
    counter = PgStatements(monkeypatch)
    assert a.call("GET", path).status_code == 200
    assert counter.count == 1  # the generation; before: 8 (no RBAC cache on PostgreSQL)


def test_postgres_cached_answers_and_roles_follow_another_instance(
    pg_pair: tuple[Node, Node],
) -> None:
    a, b = pg_pair
    path = f"{a.reg()}/webhooks/hook1"
    doc, token = b.backend.rbac.create_principal("reader")
    grant = b.backend.rbac.create_assignment(
        f"/subscriptions/{b.sub}",
        str(uuid.uuid4()),
        {"properties": {"roleDefinitionId": READER, "principalId": doc["id"]}},
    )
    assert a.call("GET", path, token=token).json()["properties"]["actions"] == ["push"]
    assert b.call("PUT", path, webhook("delete")).status_code == 200
    assert a.call("GET", path, token=token).json()["properties"]["actions"] == ["delete"]
    assert b.backend.store.delete(ROLE_ASSIGN, grant["name"])
    assert a.call("GET", path, token=token).status_code == 403


# -- GETs on the event loop (PostgreSQL) -------------------------------------------------------
@pytest.fixture
def pg_server() -> Iterator[tuple[ThreadedServer, Node]]:
    with pg_database("fastpath") as url:
        other = Node(url)
        other.seed()
        server = ThreadedServer(ServerConfig(database=url, admin_token=TOKEN), deliver=False)
        server.start()
        try:
            yield server, other
        finally:
            server.stop()
            other.close()


def get(
    server: ThreadedServer, path: str, conn: http.client.HTTPConnection | None = None
) -> tuple[int, dict[str, Any]]:
    own = conn or http.client.HTTPConnection("127.0.0.1", server.cfg.port, timeout=10)
    own.request("GET", f"{path}?{API}", headers={"Authorization": f"Bearer {TOKEN}"})
    resp = own.getresponse()
    body = json.loads(resp.read() or b"{}")
    if conn is None:
        own.close()
    return resp.status, body


def test_postgres_gets_from_the_caches_see_another_instances_write(
    pg_server: tuple[ThreadedServer, Node],
) -> None:
    server, other = pg_server
    path = f"{other.reg()}/webhooks/hook1"
    asgi: Any = server.server.config.app
    cached = asgi.cached  # the AsgiApp's
    assert isinstance(cached, CachedGets)
    assert get(server, path)[0] == 200  # fills the caches (in a handler thread)
    hits = cached.hits
    status, body = get(server, path)
    assert (status, body["properties"]["actions"]) == (200, ["push"])
    assert cached.hits == hits + 1  # answered on the loop
    assert other.call("PUT", path, webhook("delete")).status_code == 200
    status, body = get(server, path)
    assert (status, body["properties"]["actions"]) == (200, ["delete"])


def test_postgres_concurrent_gets_all_answer(pg_server: tuple[ThreadedServer, Node]) -> None:
    """32 connections at once (a shared generation read on the loop hung them once)."""
    server, other = pg_server
    path = f"{other.reg()}/replications/eastus"
    statuses: list[int] = []
    lock = threading.Lock()

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", server.cfg.port, timeout=10)
        for _ in range(10):
            status, _ = get(server, path, conn)
            with lock:
                statuses.append(status)
        conn.close()

    threads = [threading.Thread(target=client) for _ in range(32)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert statuses == [200] * 320


def test_loop_generation_reads_are_shared_and_started_after_each_caller() -> None:
    """Callers that arrive while a read is out wait for the next one; callers already
    waiting when a read starts share it."""

    class Store:
        offline = read_generation = None

    class FakeApp:
        backend = type("B", (), {"store": Store(), "settings": Settings()})()

    reads: list[threading.Event] = []
    values = iter(range(100))

    def read() -> int:
        gate = threading.Event()
        reads.append(gate)
        gate.wait(5)
        return next(values)

    FakeApp.backend.store.read_generation = read  # type: ignore[attr-defined]
    cached = CachedGets(FakeApp())  # type: ignore[arg-type]

    async def scenario() -> list[int]:
        pool = ThreadPoolExecutor(2)
        first = asyncio.ensure_future(cached._generation(pool))
        while not reads:
            await asyncio.sleep(0.001)
        late = [asyncio.ensure_future(cached._generation(pool)) for _ in range(3)]
        await asyncio.sleep(0.01)
        reads[0].set()  # the first read returns: only the first caller may use it
        while len(reads) < 2:
            await asyncio.sleep(0.001)
        reads[1].set()
        out = [await first, *[await f for f in late]]
        pool.shutdown()
        return out

    assert asyncio.run(scenario()) == [0, 1, 1, 1]
    assert len(reads) == 2


# -- the RBAC cache: exact across connections (several server processes) ---------------------
def test_rbac_cache_sees_other_processes_changes(tmp_path: Path) -> None:
    from acrctl.backend.core import Backend
    from acrctl.backend.errors import AuthenticationFailed
    from acrctl.backend.rbac import TOKEN, hash_token
    from acrctl.backend.sqlite import SqliteStore

    db = str(tmp_path / "s.db")
    a = Backend(SqliteStore(db))
    sub, _ = a.bootstrap(admin_token="t0")
    b = Backend(SqliteStore(db))  # another server process on the same file
    doc, token = b.rbac.create_principal("ci")
    caller = a.rbac.authenticate(token)
    action, scope = "Microsoft.ContainerRegistry/registries/read", sub["id"]
    assert not a.rbac.allowed(caller, action, scope)
    assert not a.rbac.allowed(caller, action, scope)  # now cached
    grant = b.rbac.create_assignment(
        scope,
        str(uuid.uuid4()),
        {"properties": {"roleDefinitionId": "Reader", "principalId": doc["id"]}},
    )
    assert a.rbac.allowed(caller, action, scope)
    b.rbac.delete_assignment(grant["name"])
    assert not a.rbac.allowed(caller, action, scope)
    b.store.delete(TOKEN, hash_token(token))
    with pytest.raises(AuthenticationFailed):
        a.rbac.authenticate(token)
    with a.store.transaction():  # inside a transaction nothing is cached
        assert a.store.generation() is None  # type: ignore[attr-defined]
    a.store.close()
    b.store.close()
