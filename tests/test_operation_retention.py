"""Finished long-running operations expire after Settings.operation_retention_hours
(issue 12 item 16): pruned at server start and after writes, their status URLs then answer
404 OperationNotFound; an operation still in flight is kept. One behaviour per test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.register_assert_rewrite("api_harness")
pytest_plugins = ("api_harness",)

import api_harness  # noqa: E402
from api_harness import Api  # noqa: E402

from acrctl.backend.core import Backend  # noqa: E402
from acrctl.backend.operations import OPERATION, PRUNE_BATCH, PRUNE_EVERY  # noqa: E402
from acrctl.backend.sqlite import SqliteStore  # noqa: E402
from acrctl.server.serve import ServerConfig, build  # noqa: E402

HOUR = 3600.0


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    """In-process only: these tests move the (fake) clock by days."""
    yield from api_harness._inprocess(tmp_path)


def created(api: Api, name: str = "myreg1") -> str:
    """Create a registry; returns its operation's status URL."""
    resp = api.put(api.reg_path(name), {"location": "westus", "sku": {"name": "Basic"}})
    assert resp.status_code == 201, resp.text
    return str(resp.headers["Azure-AsyncOperation"])


def not_found(api: Api, url: str) -> dict[str, Any]:
    resp = api.follow(url)
    assert resp.status_code == 404, resp.text
    return dict(resp.json()["error"])


def old_operation(store: SqliteStore, started: float, status: str = "Succeeded") -> str:
    op_id = str(uuid.uuid4())
    store.put(
        OPERATION,
        op_id,
        "/subscriptions/s/x",
        op_id,
        {
            "id": op_id,
            "name": op_id,
            "status": status,
            "action": "create",
            "kind": "registry",
            "itemKey": "/subscriptions/s/x",
            "resourceId": "/subscriptions/s/x",
            "location": "westus",
            "started": started,
            "polls": 0,
        },
    )
    return op_id


def test_a_finished_operation_past_the_retention_answers_404(api: Api) -> None:
    api.create_group()
    url = created(api)
    assert api.follow(url).json()["status"] == "Succeeded"
    assert api.clock is not None
    api.clock.advance(24 * HOUR + 1)
    assert api.backend.ops.prune() == 1
    op = url.split("/operationStatuses/")[1].split("?")[0]
    assert not_found(api, url) == {
        "code": "OperationNotFound",
        "message": f"The operation '{op}' could not be found.",
    }


def test_an_operation_within_the_retention_is_kept(api: Api) -> None:
    api.create_group()
    url = created(api)
    assert api.clock is not None
    api.clock.advance(23 * HOUR)
    assert api.backend.ops.prune() == 0
    assert api.follow(url).json()["status"] == "Succeeded"


def test_an_operation_in_flight_is_kept_past_the_retention(api: Api) -> None:
    api.create_group()
    api.set_settings(lro_mode="seconds", lro_seconds=30 * 24 * HOUR)
    url = created(api)
    assert api.clock is not None
    api.clock.advance(25 * HOUR)
    assert api.backend.ops.prune() == 0
    assert api.follow(url).json()["status"] == "InProgress"


def test_a_write_after_the_retention_prunes_the_old_operations(api: Api) -> None:
    api.create_group()
    url = created(api)
    assert api.clock is not None
    api.clock.advance(24 * HOUR + PRUNE_EVERY)
    created(api, "myreg2")  # any write: its housekeeping prunes
    assert not_found(api, url)["code"] == "OperationNotFound"


def test_writes_prune_at_most_once_a_minute(api: Api) -> None:
    api.create_group()
    assert api.clock is not None
    created(api)  # the first write's housekeeping runs now (nothing is old yet)
    url = created(api, "myreg2")
    api.clock.advance(24 * HOUR + 1)
    api.backend.ops._last_prune = api.clock.now() - PRUNE_EVERY / 2
    created(api, "myreg3")
    assert api.follow(url).json()["status"] == "Succeeded"  # not pruned yet


def test_zero_retention_keeps_every_operation(api: Api) -> None:
    api.create_group()
    url = created(api)
    api.set_settings(operation_retention_hours=0)
    assert api.clock is not None
    api.clock.advance(1000 * HOUR)
    assert api.backend.ops.prune() == 0
    assert api.follow(url).json()["status"] == "Succeeded"


def test_prune_goes_through_every_batch(tmp_path: Path) -> None:
    store = SqliteStore(str(tmp_path / "s.db"))
    backend = Backend(store)
    now = backend.clock.now()
    for _ in range(PRUNE_BATCH * 2 + 5):
        old_operation(store, now - 30 * HOUR)
    fresh = old_operation(store, now - HOUR)
    assert backend.ops.prune() == PRUNE_BATCH * 2 + 5
    assert [i.key for i in store.list(OPERATION)] == [fresh]
    store.close()


def test_server_start_prunes_expired_operations(tmp_path: Path) -> None:
    db = str(tmp_path / "server.db")
    store = SqliteStore(db)
    Backend(store).bootstrap(admin_token="t0")
    import time

    expired = old_operation(store, time.time() - 25 * HOUR)
    kept = old_operation(store, time.time() - 23 * HOUR)
    store.close()
    app, _, _ = build(ServerConfig(database=db, admin_token="t0"))
    try:
        assert [i.key for i in app.backend.store.list(OPERATION)] == [kept]
        assert app.backend.store.get(OPERATION, expired) is None
    finally:
        app.backend.store.close()


def test_operations_stop_accumulating_under_steady_writes(api: Api) -> None:
    """A webhook updated once an hour for four days keeps about a day of operations."""
    api.create_group()
    api.create_registry()
    api.create_webhook()
    assert api.clock is not None
    for _ in range(96):
        api.clock.advance(HOUR)
        api.create_webhook()  # an update: one more operation
    ops = api.backend.store.count(
        OPERATION, api.backend.registries.key(api.sub, "rg1", "myreg1") + "/webhooks/hook1"
    )
    assert 20 <= ops <= 26
