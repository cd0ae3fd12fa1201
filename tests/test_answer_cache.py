"""Kept GET answers (acrctl.server.answers, issue 12): a repeated GET of a settled resource
by the same token is answered without routing, authentication, authorization, the drill
guard or the handler, and is still exact: any write retires it (on this instance or another
one on the same database), an expired token gets its 401, a drill or a read rate limit keeps
answers out, and the request log says the same of a kept answer as of a computed one."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from acrctl.backend.clock import FakeClock
from acrctl.backend.core import Backend, Settings
from acrctl.backend.store import open_store
from acrctl.server.app import App
from acrctl.server.serve import ServerConfig, ThreadedServer
from acrctl.server.transport import InProcessTransport

TOKEN = "answer-cache-test-token-0123456789"
API = {"api-version": "2025-11-01"}
ADMIN_API = {"api-version": "2022-04-01"}
ACR = "Microsoft.ContainerRegistry"
READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"


class Node:
    """One server process's backend and App on a store, with an in-process client."""

    def __init__(self, db: str, clock: FakeClock, bootstrap: bool = True) -> None:
        self.backend = Backend(open_store(db), clock=clock, settings=Settings())
        if bootstrap:
            self.backend.bootstrap(admin_token=TOKEN)
        self.sub = self.backend.list_subscriptions()[0]["subscriptionId"]
        self.app = App(self.backend)
        self.http = httpx.Client(
            base_url="https://acrctl.local", transport=InProcessTransport(self.app, caller=None)
        )

    def reg(self) -> str:
        return f"/subscriptions/{self.sub}/resourceGroups/rg1/providers/{ACR}/registries/myreg1"

    def call(
        self, method: str, path: str, body: Any = None, token: str = TOKEN, **params: str
    ) -> httpx.Response:
        return self.http.request(
            method,
            path,
            json=body,
            params=params or API,
            headers={"Authorization": f"Bearer {token}"},
        )

    def close(self) -> None:
        self.http.close()
        self.backend.store.close()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def node(tmp_path: Path, clock: FakeClock) -> Iterator[Node]:
    n = Node(str(tmp_path / "state.db"), clock)
    group = f"/subscriptions/{n.sub}/resourcegroups/rg1"
    assert n.call("PUT", group, {"location": "westus"}, **ADMIN_API).status_code in (200, 201)
    resp = n.call("PUT", n.reg(), {"location": "westus", "sku": {"name": "Premium"}})
    assert resp.status_code in (200, 201), resp.text
    yield n
    n.close()


def reader(node: Node) -> tuple[str, str]:
    """A new principal holding Reader on the subscription: (its token, the assignment)."""
    doc, token = node.backend.rbac.create_principal("reader1", "Application")
    guid = str(uuid.uuid4())
    node.backend.rbac.create_assignment(
        f"/subscriptions/{node.sub}",
        guid,
        {"properties": {"roleDefinitionId": READER, "principalId": doc["id"]}},
    )
    return token, guid


def test_a_repeated_get_is_answered_from_the_kept_answer(node: Node) -> None:
    first, second = node.call("GET", node.reg()), node.call("GET", node.reg())
    assert (first.status_code, second.status_code) == (200, 200)
    assert node.app.answers.hits == 1
    assert second.content == first.content
    assert second.headers["etag"] == first.headers["etag"]
    assert second.headers["x-ms-request-id"] != first.headers["x-ms-request-id"]


def test_a_kept_answer_echoes_this_requests_client_ids(node: Node) -> None:
    node.call("GET", node.reg())
    resp = node.http.get(
        node.reg(),
        params=API,
        headers={
            "Authorization": f"Bearer {TOKEN}",
            "x-ms-client-request-id": "client-1",
            "x-ms-correlation-request-id": "corr-1",
        },
    )
    assert node.app.answers.hits == 1
    assert (
        resp.headers["x-ms-client-request-id"],
        resp.headers["x-ms-correlation-request-id"],
    ) == (
        "client-1",
        "corr-1",
    )


def test_a_write_retires_the_kept_answer(node: Node) -> None:
    node.call("GET", node.reg())
    patched = node.call("PATCH", node.reg(), {"tags": {"team": "a"}})
    assert patched.status_code == 200, patched.text
    resp = node.call("GET", node.reg())
    assert node.app.answers.hits == 0
    assert resp.json()["tags"] == {"team": "a"}


def test_a_removed_role_assignment_refuses_the_next_get(node: Node) -> None:
    token, guid = reader(node)
    assert node.call("GET", node.reg(), token=token).status_code == 200
    assert node.call("GET", node.reg(), token=token).status_code == 200
    assert node.app.answers.hits == 1
    assert node.backend.rbac.delete_assignment(guid)
    resp = node.call("GET", node.reg(), token=token)
    assert (resp.status_code, resp.json()["error"]["code"]) == (403, "AuthorizationFailed")


def test_another_token_never_gets_the_kept_answer(node: Node) -> None:
    node.call("GET", node.reg())
    _, token = node.backend.rbac.create_principal("nobody", "Application")
    resp = node.call("GET", node.reg(), token=token)
    assert (resp.status_code, node.app.answers.hits) == (403, 0)


def test_an_expired_token_gets_its_401(node: Node, clock: FakeClock) -> None:
    doc, token = node.backend.rbac.create_principal("ci", "Application")
    node.backend.rbac.create_assignment(
        f"/subscriptions/{node.sub}",
        str(uuid.uuid4()),
        {"properties": {"roleDefinitionId": READER, "principalId": doc["id"]}},
    )
    node.call("GET", node.reg(), token=token)
    assert node.call("GET", node.reg(), token=token).status_code == 200
    clock.advance(400 * 24 * 3600)  # past the default credential lifetime (one year)
    resp = node.call("GET", node.reg(), token=token)
    assert (resp.status_code, resp.json()["error"]["code"]) == (401, "ExpiredAuthenticationToken")
    assert node.app.answers.hits == 1


def test_a_subscription_with_a_drill_is_never_kept(node: Node, clock: FakeClock) -> None:
    drill = f"/subscriptions/{node.sub}/providers/Acrctl.Admin/drills/slow"
    props = {"kind": "Latency", "ms": 1, "durationSeconds": 60}
    assert node.call("PUT", drill, {"properties": props}, **ADMIN_API).status_code in (200, 201)
    clock.advance(120)  # the drill has ended by the clock; it is still defined
    for _ in range(3):
        assert node.call("GET", node.reg()).status_code == 200
    assert node.app.answers.hits == 0


def test_a_read_rate_limit_counts_every_get(node: Node) -> None:
    node.call("GET", node.reg())
    node.call("GET", node.reg())  # kept
    node.backend.settings.rate_limit_reads = 0.001
    node.backend.settings.rate_limit_read_burst = 1
    assert node.call("GET", node.reg()).status_code == 200
    resp = node.call("GET", node.reg())
    assert (resp.status_code, resp.json()["error"]["code"]) == (
        429,
        "SubscriptionRequestsThrottled",
    )
    assert node.app.answers.hits == 1


def test_zero_entries_turns_the_cache_off(node: Node) -> None:
    node.backend.settings.answer_cache_entries = 0
    for _ in range(3):
        assert node.call("GET", node.reg()).status_code == 200
    assert node.app.answers.hits == 0


def test_a_write_by_another_instance_retires_the_kept_answer(
    node: Node, tmp_path: Path, clock: FakeClock
) -> None:
    other = Node(str(tmp_path / "state.db"), clock, bootstrap=False)
    try:
        node.call("GET", node.reg())
        assert node.call("GET", node.reg()).status_code == 200
        assert other.call("PATCH", other.reg(), {"tags": {"by": "other"}}).status_code == 200
        assert node.call("GET", node.reg()).json()["tags"] == {"by": "other"}
        assert node.app.answers.hits == 1
    finally:
        other.close()


def test_the_request_log_of_a_kept_answer_names_route_and_principal(
    node: Node, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="acrctl.access"):
        node.call("GET", node.reg())
        node.call("GET", node.reg())
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "acrctl.access"]
    assert node.app.answers.hits == 1
    keys = ("method", "route", "status", "principal")
    assert [{k: line[k] for k in keys} for line in lines][1] == {k: lines[0][k] for k in keys}


def test_a_real_server_keeps_answers_across_connections(tmp_path: Path) -> None:
    server = ThreadedServer(
        ServerConfig(database=str(tmp_path / "srv.db"), admin_token=TOKEN), deliver=False
    )
    server.start()
    try:
        sub = server.app.backend.list_subscriptions()[0]["subscriptionId"]
        path = f"/subscriptions/{sub}/resourcegroups/rg1"
        auth = {"Authorization": f"Bearer {TOKEN}"}
        with httpx.Client(base_url=server.url, headers=auth, timeout=10) as http:
            assert http.put(path, json={"location": "westus"}, params=ADMIN_API).is_success
        bodies = []
        for _ in range(2):  # a new connection each time
            with httpx.Client(base_url=server.url, headers=auth, timeout=10) as http:
                bodies.append(http.get(path, params=ADMIN_API).json())
        assert bodies[0] == bodies[1]
        assert server.app.answers.hits == 1
    finally:
        server.stop()
