"""Durability of the activity log (issue 11, item 7): a write and its activity record are
stored together or not at all, and a lost database connection answers 503
DatabaseUnavailable with Retry-After, never 500.

The fault: a real server on PostgreSQL takes a bounded stream of writes while another
thread kills the server's database connections (pg_terminate_backend) every 0.2 s. Only
this server's connections are killed: they carry an application_name of their own."""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from acrctl.backend.activity import ACTIVITY
from acrctl.backend.core import Backend, Settings
from acrctl.backend.errors import connection_lost
from acrctl.backend.sqlite import SqliteStore
from acrctl.server.app import App
from acrctl.server.http import Request
from acrctl.server.serve import ServerConfig, ThreadedServer

pytest.register_assert_rewrite("pg_harness")
from pg_harness import PG_URL, pg_database  # noqa: E402

pytestmark = pytest.mark.server

TOKEN = "acr_durability_admin_token_5e21c0a7"
API = {"api-version": "2025-11-01"}
ACR = "Microsoft.ContainerRegistry"
WRITES = 300  # bounded: the stream stops after this many writes or DEADLINE seconds
DEADLINE = 12.0
KILL_EVERY = 0.2


@dataclass
class Tally:
    answers: list[tuple[int, str, str]] = field(default_factory=list)  # status, id, body
    kills: int = 0


@pytest.fixture
def server() -> Iterator[tuple[ThreadedServer, str]]:
    app_name = f"acrctl_dur_{uuid.uuid4().hex[:8]}"
    with pg_database("dur") as url:
        cfg = ServerConfig(
            database=f"{url}&application_name={app_name}",
            admin_token=TOKEN,
            settings=Settings(rate_limit_writes=0),
        )
        srv = ThreadedServer(cfg, deliver=False).start()
        try:
            yield srv, app_name
        finally:
            srv.stop()


def killer(app_name: str, stop: threading.Event, tally: Tally) -> None:
    """Terminate every backend of `app_name` every KILL_EVERY seconds."""
    import psycopg

    with psycopg.connect(PG_URL, autocommit=True, connect_timeout=3) as conn:
        while not stop.wait(KILL_EVERY):
            rows = conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = %s AND pid <> pg_backend_pid()",
                (app_name,),
            ).fetchall()
            tally.kills += sum(1 for (ok,) in rows if ok)


def write_stream(url: str, sub: str, tally: Tally) -> None:
    """PUT groups and registries, PATCH a registry: WRITES writes at most. The group and
    the registry the stream writes into are made first, before any kill."""
    rg = f"/subscriptions/{sub}/resourceGroups"
    home = f"{rg}/durhome/providers/{ACR}/registries"
    deadline = time.monotonic() + DEADLINE
    with httpx.Client(
        base_url=url, timeout=30, params=API, headers={"Authorization": f"Bearer {TOKEN}"}
    ) as http:
        for i in range(WRITES):
            if time.monotonic() > deadline:
                break
            body: dict[str, Any]
            if i % 3 == 0:
                method, path, body = "PUT", f"{rg}/dur{i}", {"location": "westus"}
            elif i % 3 == 1:
                method, path = "PUT", f"{home}/durreg{i}"
                body = {"location": "westus", "sku": {"name": "Basic"}}
            else:
                method, path, body = "PATCH", f"{home}/durhome1", {"tags": {"i": str(i)}}
            r = http.request(method, path, json=body)
            tally.answers.append(
                (r.status_code, r.headers.get("x-ms-request-id", ""), r.text[:300])
            )


def prepare(url: str, sub: str) -> None:
    with httpx.Client(
        base_url=url, timeout=30, params=API, headers={"Authorization": f"Bearer {TOKEN}"}
    ) as http:
        rg = f"/subscriptions/{sub}/resourceGroups/durhome"
        assert http.put(rg, json={"location": "westus"}).status_code == 201
        assert (
            http.put(
                f"{rg}/providers/{ACR}/registries/durhome1",
                json={"location": "westus", "sku": {"name": "Basic"}},
            ).status_code
            == 201
        )


def records_by_request(srv: ThreadedServer) -> dict[str, int]:
    counts: dict[str, int] = {}
    for item in srv.app.backend.store.list(ACTIVITY):
        op = str(item.doc["operationId"])
        counts[op] = counts.get(op, 0) + 1
    return counts


def test_killed_connections_lose_no_record_of_an_acknowledged_write(
    server: tuple[ThreadedServer, str],
) -> None:
    srv, app_name = server
    prepare(srv.url, srv.subscription)
    tally, stop = Tally(), threading.Event()
    kill = threading.Thread(target=killer, args=(app_name, stop, tally), daemon=True)
    kill.start()
    try:
        write_stream(srv.url, srv.subscription, tally)
    finally:
        stop.set()
        kill.join(10)

    statuses = [s for s, _, _ in tally.answers]
    acked = [rid for s, rid, _ in tally.answers if 200 <= s < 300]
    refused = [(s, body) for s, _, body in tally.answers if s >= 300]
    counts = records_by_request(srv)
    print(
        f"\n{len(statuses)} writes, {len(acked)} acknowledged, {tally.kills} connections "
        f"killed, answers {sorted({s: statuses.count(s) for s in statuses}.items())}"
    )
    assert tally.kills >= 5  # the fault did happen (about 12-30 kills on this machine)
    assert all(s == 503 for s, _ in refused), refused[:5]
    assert all('"code":"DatabaseUnavailable"' in body for _, body in refused), refused[:5]
    assert [rid for rid in acked if counts.get(rid) != 1] == []
    assert len(acked) >= WRITES // 2


def test_a_lost_connection_answers_503_with_retry_after(server: tuple[ThreadedServer, str]) -> None:
    """One write whose connection is killed while its transaction is open."""
    import psycopg

    srv, app_name = server
    backend = srv.app.backend
    original = backend.groups.put
    killed: list[bool] = []

    def put_then_kill(*args: object, **kw: object) -> object:
        result = original(*args, **kw)  # type: ignore[arg-type]
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            rows = conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE application_name = %s",
                (app_name,),
            ).fetchall()
        killed.append(any(ok for (ok,) in rows))
        return result

    backend.groups.put = put_then_kill  # type: ignore[method-assign,assignment]
    try:
        r = httpx.put(
            f"{srv.url}/subscriptions/{srv.subscription}/resourceGroups/lost1",
            params=API,
            headers={"Authorization": f"Bearer {TOKEN}"},
            json={"location": "westus"},
            timeout=30,
        )
    finally:
        backend.groups.put = original  # type: ignore[method-assign]
    assert killed == [True]
    assert (r.status_code, r.headers.get("Retry-After")) == (503, "1")
    assert r.json()["error"]["code"] == "DatabaseUnavailable"
    rid = r.headers["x-ms-request-id"]
    # the group and the record of its write were rolled back together
    assert (
        httpx.get(
            f"{srv.url}/subscriptions/{srv.subscription}/resourceGroups/lost1",
            params=API,
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=30,
        ).status_code
        == 404
    )
    assert [
        d
        for d in (i.doc for i in backend.store.list(ACTIVITY))
        if d["operationId"] == rid and d["status"]["value"] == "Succeeded"
    ] == []


def test_a_write_is_rolled_back_when_its_record_cannot_be_stored() -> None:
    """SQLite: the record fails to store, so the write is not acknowledged either."""
    backend = Backend(SqliteStore(":memory:"))
    backend.bootstrap(admin_token=TOKEN)
    app = App(backend)
    sub = backend.list_subscriptions()[0]["subscriptionId"]

    def broken(*args: object, **kw: object) -> None:
        raise OSError("disk full")

    backend.activity.add = broken  # type: ignore[method-assign]
    resp = app.handle(
        Request(
            "PUT",
            f"/subscriptions/{sub}/resourceGroups/rg1",
            query=API,
            headers={"authorization": f"Bearer {TOKEN}"},
            body=b'{"location": "westus"}',
        )
    )
    assert resp.status == 500
    assert not backend.groups.exists(sub, "rg1")


@pytest.mark.parametrize(
    ("make", "code"),
    [
        (
            lambda: __import__("psycopg").errors.AdminShutdown("terminating connection"),
            "DatabaseUnavailable",
        ),
        (
            lambda: __import__("psycopg").OperationalError("the connection is closed"),
            "DatabaseUnavailable",
        ),
        (
            lambda: __import__("psycopg").InterfaceError("the connection is closed"),
            "DatabaseUnavailable",
        ),
        (lambda: __import__("sqlite3").OperationalError("database is locked"), "DatabaseBusy"),
    ],
)
def test_connection_loss_errors_map_to_503(make: object, code: str) -> None:
    exc = make()  # type: ignore[operator]
    mapped = connection_lost(exc)
    assert mapped is not None and (mapped.code, mapped.retry_after) == (code, 1)


def test_other_errors_are_not_connection_loss() -> None:
    import sqlite3

    assert connection_lost(ValueError("x")) is None
    assert connection_lost(sqlite3.OperationalError("no such table: items")) is None


# -- the stores' unit of work -----------------------------------------------------------------


@pytest.fixture(params=["sqlite", "pg"])
def store(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[Any]:
    if request.param == "sqlite":
        s: Any = SqliteStore(str(tmp_path / "unit.db"))
        yield s
        s.close()
        return
    from acrctl.backend.pg import PostgresStore

    with pg_database("unit") as url:
        s = PostgresStore(url)
        yield s
        s.close()


def keys(store: Any) -> list[str]:
    return [i.key for i in store.list("thing")]


def test_a_unit_commits_its_writes_and_inner_transactions_together(store: Any) -> None:
    with store.unit():
        assert store.get("thing", "a") is None  # a read before any write
        store.put("thing", "a", "", "a", {"n": 1})
        with contextlib.suppress(RuntimeError), store.transaction():
            store.put("thing", "b", "", "b", {"n": 2})
            raise RuntimeError("an inner block fails: only it is rolled back")
        with store.transaction():
            store.put("thing", "c", "", "c", {"n": 3})
    assert keys(store) == ["a", "c"]


def test_a_unit_that_raises_keeps_nothing(store: Any) -> None:
    with pytest.raises(RuntimeError), store.unit():
        store.put("thing", "a", "", "a", {"n": 1})
        with store.transaction():
            store.put("thing", "b", "", "b", {"n": 2})
        raise RuntimeError("the request failed")
    assert keys(store) == []
    with store.unit():  # and the store is usable again
        store.put("thing", "d", "", "d", {"n": 4})
    assert keys(store) == ["d"]
