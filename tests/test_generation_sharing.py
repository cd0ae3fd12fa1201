"""GETs answered on the server's event loop share one read of the store's generation per
loop iteration (acrctl.server.asgi): the read is released by a call_soon callback, so a
request that arrives after the read (its step queued after the release) reads again."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from acrctl.backend.clock import FakeClock
from acrctl.backend.core import Backend, Settings
from acrctl.backend.rbac import Caller
from acrctl.backend.sqlite import SqliteStore
from acrctl.server.app import App
from acrctl.server.asgi import AsgiApp

TOKEN = "generation-sharing-token-0123456789"
API = b"api-version=2025-11-01"
ACR = "Microsoft.ContainerRegistry"


class Pragmas:
    """Counts `PRAGMA data_version` reads of a SqliteStore's connection."""

    def __init__(self, db: Any) -> None:
        self.db = db
        self.reads = 0

    def execute(self, sql: str, args: Any = ()) -> Any:
        if sql.startswith("PRAGMA data_version"):
            self.reads += 1
        return self.db.execute(sql, args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.db, name)


class Node:
    def __init__(self, db: str, bootstrap: bool) -> None:
        self.backend = Backend(SqliteStore(db), clock=FakeClock(), settings=Settings())
        if bootstrap:
            self.backend.bootstrap(admin_token=TOKEN)
        self.sub = self.backend.list_subscriptions()[0]["subscriptionId"]
        self.asgi = AsgiApp(App(self.backend))

    @property
    def group(self) -> str:
        return f"/subscriptions/{self.sub}/resourcegroups/rg1"

    def tag(self, value: str) -> None:
        self.backend.groups.put(
            Caller("", "test"), self.sub, "rg1", {"location": "westus", "tags": {"v": value}}
        )


@pytest.fixture
def nodes(tmp_path: Path) -> Iterator[tuple[Node, Node]]:
    db = str(tmp_path / "state.db")
    one = Node(db, bootstrap=True)
    one.tag("1")
    two = Node(db, bootstrap=False)
    yield one, two
    for n in (one, two):
        n.asgi.close()
        n.backend.store.close()


async def get(asgi: AsgiApp, path: str) -> tuple[int, dict[str, Any]]:
    """One GET through the ASGI adapter, as uvicorn calls it."""
    scope = {
        "type": "http",
        "method": "GET",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"api-version=2022-04-01",
        "headers": [(b"authorization", f"Bearer {TOKEN}".encode()), (b"host", b"t")],
        "scheme": "http",
        "server": ("127.0.0.1", 80),
        "client": ("127.0.0.1", 5000),
    }
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(msg: Any) -> None:
        sent.append(dict(msg))

    await asgi(scope, receive, send)
    return int(sent[0]["status"]), json.loads(sent[1]["body"])


def test_gets_of_one_loop_iteration_share_one_generation_read(
    nodes: tuple[Node, Node],
) -> None:
    one, _ = nodes
    store = one.backend.store
    assert isinstance(store, SqliteStore)
    counter = Pragmas(store._db)
    store._db = counter  # type: ignore[assignment]

    async def main() -> list[tuple[int, dict[str, Any]]]:
        return await asyncio.gather(*(get(one.asgi, one.group) for _ in range(8)))

    answers = asyncio.run(main())
    assert [status for status, _ in answers] == [200] * 8
    assert counter.reads == 1


def test_a_get_arriving_after_the_read_sees_a_write_made_since(
    nodes: tuple[Node, Node],
) -> None:
    one, two = nodes
    seen: list[str] = []

    async def main() -> None:
        first = asyncio.ensure_future(get(one.asgi, one.group))  # its step: this iteration
        later: list[asyncio.Future[tuple[int, dict[str, Any]]]] = []

        def write_then_get() -> None:  # queued after the first GET's step
            two.tag("2")  # another instance commits after the first GET read the generation
            later.append(asyncio.ensure_future(get(one.asgi, one.group)))

        asyncio.get_running_loop().call_soon(write_then_get)
        seen.append((await first)[1]["tags"]["v"])
        await asyncio.sleep(0)
        seen.append((await later[0])[1]["tags"]["v"])

    asyncio.run(main())
    assert seen == ["1", "2"]
