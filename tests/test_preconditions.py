"""If-Match / If-None-Match on every conditional write, and resource-group ETags (issue 11
item 10), in-process and against a real server.

Each route (PUT, PATCH, DELETE of resource groups, registries, replications and webhooks)
answers 412 PreconditionFailed to a stale ETag, changing nothing, and succeeds with the
current one. `If-Match: *` means "exists", `If-None-Match: *` "create only". Eight writers
doing read-modify-write of one group's or registry's tags with If-Match lose no update; with
no precondition the last writer wins, as before."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

pytest.register_assert_rewrite("api_harness")
pytest_plugins = ("api_harness",)

from api_harness import INPROCESS_BASE, Api  # noqa: E402

from acrctl.backend import etags  # noqa: E402
from acrctl.server.app import App, Route  # noqa: E402
from acrctl.server.handlers import resources  # noqa: E402
from acrctl.server.routes import RES, RG, ROUTES, r  # noqa: E402
from acrctl.server.transport import InProcessTransport  # noqa: E402

STALE = "The resource's etag does not match the If-Match header."
MISSING = "The resource does not exist, so the If-Match condition does not hold."
EXISTS = "The resource exists already (If-None-Match: *)."
HOOK_PROPS = {"serviceUri": "http://127.0.0.1:9/x", "actions": ["push"]}
RESOURCES_API = "2022-09-01"


def error(resp: httpx.Response, status: int, code: str, message: str) -> None:
    assert resp.status_code == status, (resp.status_code, resp.text)
    assert resp.json() == {"error": {"code": code, "message": message}}


def group_routes() -> list[Route]:
    """The route table with PATCH of a resource group (ResourceGroups_Update), which the
    backend and handler support; added here until the table itself carries it."""
    if any(x.method == "PATCH" and x.template == RG for x in ROUTES):
        return ROUTES
    return [
        *ROUTES,
        r("PATCH", RG, resources.patch_group, f"{RES}/resourceGroups/write", acr=False),
    ]


@dataclass
class Target:
    """One kind of resource: where it lives, how to create it, a PUT and a PATCH body."""

    path: Callable[[Api], str]
    create: Callable[[Api], Any]
    put_body: dict[str, Any]
    api_version: str | None = None

    def request(
        self, api: Api, method: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> httpx.Response:
        kw: dict[str, Any] = {"headers": headers or {}}
        if self.api_version:
            kw["api_version"] = self.api_version
        return api.request(method, self.path(api), json=body, **kw)

    def etag(self, api: Api) -> str:
        resp = self.request(api, "GET")
        assert resp.status_code == 200, resp.text
        return resp.headers["ETag"]

    def touch(self, api: Api, value: str) -> httpx.Response:
        """An unconditional write that changes the resource (and so its ETag)."""
        resp = self.request(api, "PUT", {**self.put_body, "tags": {"touched": value}})
        assert resp.status_code == 200, resp.text
        return resp


def _premium(api: Api, child: str | None = None) -> None:
    """rg1 with a Premium registry myreg1 and, if asked, its replication or webhook."""
    api.create_group()
    api.create_registry(sku="Premium")
    if child == "replication":
        api.create_replication("eastus")
    elif child == "webhook":
        api.create_webhook()


TARGETS = {
    "group": Target(
        lambda a: a.rg_path(), lambda a: a.create_group(), {"location": "westus"}, RESOURCES_API
    ),
    "registry": Target(
        lambda a: a.reg_path(), _premium, {"location": "westus", "sku": {"name": "Premium"}}
    ),
    "replication": Target(
        lambda a: a.repl_path("eastus"),
        lambda a: _premium(a, "replication"),
        {"location": "eastus"},
    ),
    "webhook": Target(
        lambda a: a.hook_path(),
        lambda a: _premium(a, "webhook"),
        {"location": "westus", "properties": HOOK_PROPS},
    ),
}
SUCCESS = {"PUT": 200, "PATCH": 200, "DELETE": 202}
ROUTE_CASES = [(k, m) for k in TARGETS for m in ("PUT", "PATCH", "DELETE")]


def _client_for(api: Api, kind: str, method: str) -> Iterator[Api]:
    """`api`, or for a group PATCH while the route table lacks it, an in-process app with
    the route on the same backend (the real server's, in server mode)."""
    if kind != "group" or method != "PATCH" or group_routes() is ROUTES:
        yield api
        return
    transport = InProcessTransport(App(api.backend, group_routes()), caller=None)
    with httpx.Client(base_url=INPROCESS_BASE, transport=transport) as http:
        yield Api("inprocess", api.backend, http, INPROCESS_BASE, api.db_path, None)


def _body(target: Target, method: str, value: str) -> dict[str, Any] | None:
    if method == "DELETE":
        return None
    if method == "PATCH":
        return {"tags": {"v": value}}
    return {**target.put_body, "tags": {"v": value}}


# == a stale ETag is 412 and changes nothing; the current one succeeds ====================


@pytest.mark.parametrize(("kind", "method"), ROUTE_CASES)
def test_a_stale_etag_is_412(api: Api, kind: str, method: str) -> None:
    target = TARGETS[kind]
    target.create(api)
    stale = target.etag(api)
    target.touch(api, "1")
    current = target.etag(api)
    for client in _client_for(api, kind, method):
        resp = target.request(
            client, method, _body(target, method, "2"), headers={"If-Match": stale}
        )
        error(resp, 412, "PreconditionFailed", STALE)
    after = target.request(api, "GET")
    assert after.headers["ETag"] == current
    assert after.json()["tags"] == {"touched": "1"}


@pytest.mark.parametrize(("kind", "method"), ROUTE_CASES)
def test_the_current_etag_succeeds(api: Api, kind: str, method: str) -> None:
    target = TARGETS[kind]
    target.create(api)
    target.touch(api, "1")
    current = target.etag(api)
    for client in _client_for(api, kind, method):
        resp = target.request(
            client, method, _body(target, method, "2"), headers={"If-Match": current}
        )
        expected = 200 if kind == "group" and method == "DELETE" else SUCCESS[method]
        assert resp.status_code == expected, resp.text
    after = target.request(api, "GET")
    if method == "DELETE":
        assert (
            after.status_code == 404
            or after.json()["properties"]["provisioningState"] == "Deleting"
        )
    else:
        assert after.json()["tags"] == {"v": "2"}
        assert after.headers["ETag"] != current


# == If-Match: * means "exists"; If-None-Match: * means "create only" ======================


@pytest.mark.parametrize("kind", list(TARGETS))
def test_delete_if_match_star_on_a_missing_resource_is_412(api: Api, kind: str) -> None:
    target = TARGETS[kind]
    target.create(api)
    target.request(api, "DELETE")
    error(
        target.request(api, "DELETE", headers={"If-Match": "*"}), 412, "PreconditionFailed", MISSING
    )


@pytest.mark.parametrize("kind", list(TARGETS))
def test_delete_if_match_star_on_an_existing_resource_deletes(api: Api, kind: str) -> None:
    target = TARGETS[kind]
    target.create(api)
    resp = target.request(api, "DELETE", headers={"If-Match": "*"})
    assert resp.status_code == (200 if kind == "group" else 202), resp.text


@pytest.mark.parametrize("kind", list(TARGETS))
def test_delete_if_none_match_star_on_an_existing_resource_is_412(api: Api, kind: str) -> None:
    target = TARGETS[kind]
    target.create(api)
    error(
        target.request(api, "DELETE", headers={"If-None-Match": "*"}),
        412,
        "PreconditionFailed",
        EXISTS,
    )
    assert target.request(api, "GET").status_code == 200


def test_group_put_if_none_match_star_creates(api: Api) -> None:
    resp = api.put(
        api.rg_path(),
        {"location": "westus"},
        headers={"If-None-Match": "*"},
        api_version=RESOURCES_API,
    )
    assert resp.status_code == 201, resp.text


def test_group_put_if_none_match_star_on_an_existing_group_is_412(api: Api) -> None:
    api.create_group()
    resp = api.put(
        api.rg_path(),
        {"location": "westus", "tags": {"a": "b"}},
        headers={"If-None-Match": "*"},
        api_version=RESOURCES_API,
    )
    error(resp, 412, "PreconditionFailed", EXISTS)
    assert api.get(api.rg_path(), api_version=RESOURCES_API).json()["tags"] == {}


def test_group_put_if_match_star_on_a_missing_group_is_412(api: Api) -> None:
    resp = api.put(
        api.rg_path(), {"location": "westus"}, headers={"If-Match": "*"}, api_version=RESOURCES_API
    )
    error(resp, 412, "PreconditionFailed", MISSING)
    assert api.get(api.rg_path(), api_version=RESOURCES_API).status_code == 404


def test_group_patch_of_a_missing_group_is_404(api: Api) -> None:
    for client in _client_for(api, "group", "PATCH"):
        resp = client.patch(
            client.rg_path(), {"tags": {}}, headers={"If-Match": "*"}, api_version=RESOURCES_API
        )
        assert resp.status_code == 404
        assert resp.json()["error"]["code"] == "ResourceGroupNotFound"


# == entity-tag lists and comparison ========================================================


def test_if_match_list_holding_the_current_etag_succeeds(api: Api) -> None:
    api.create_group()
    current = TARGETS["group"].etag(api)
    resp = api.put(
        api.rg_path(),
        {"location": "westus"},
        headers={"If-Match": f'"stale-1", {current}'},
        api_version=RESOURCES_API,
    )
    assert resp.status_code == 200, resp.text


def test_if_match_is_a_strong_comparison(api: Api) -> None:
    """A weak tag never satisfies If-Match (RFC 9110 13.1.1)."""
    api.create_group()
    current = TARGETS["group"].etag(api)
    resp = api.put(
        api.rg_path(),
        {"location": "westus"},
        headers={"If-Match": f"W/{current}"},
        api_version=RESOURCES_API,
    )
    error(resp, 412, "PreconditionFailed", STALE)


def test_if_none_match_with_the_current_etag_is_412(api: Api) -> None:
    api.create_group()
    current = TARGETS["group"].etag(api)
    resp = api.put(
        api.rg_path(),
        {"location": "westus"},
        headers={"If-None-Match": current},
        api_version=RESOURCES_API,
    )
    error(resp, 412, "PreconditionFailed", "The resource's etag matches the If-None-Match header.")


def test_if_none_match_with_another_etag_writes(api: Api) -> None:
    api.create_group()
    resp = api.put(
        api.rg_path(),
        {"location": "westus"},
        headers={"If-None-Match": '"x"'},
        api_version=RESOURCES_API,
    )
    assert resp.status_code == 200, resp.text


def test_parse_splits_only_commas_outside_quotes() -> None:
    assert etags.parse('"a,b", W/"c" ,d') == [(False, "a,b"), (True, "c"), (False, "d")]
    assert etags.parse(" * ") is None
    assert etags.parse("") == []


# == resource group ETags ====================================================================


def test_group_get_carries_an_etag(api: Api) -> None:
    api.create_group()
    resp = api.get(api.rg_path(), api_version=RESOURCES_API)
    assert resp.status_code == 200
    assert resp.headers["ETag"].startswith('"') and resp.headers["ETag"].endswith('"')
    assert "etag" not in resp.json()  # as ARM: the header only, none in the body


def test_group_put_answers_the_new_etag(api: Api) -> None:
    before = api.put(api.rg_path(), {"location": "westus"}, api_version=RESOURCES_API)
    after = api.put(
        api.rg_path(), {"location": "westus", "tags": {"a": "b"}}, api_version=RESOURCES_API
    )
    assert before.headers["ETag"] != after.headers["ETag"]
    assert after.headers["ETag"] == TARGETS["group"].etag(api)


def test_group_patch_answers_the_new_etag(api: Api) -> None:
    api.create_group()
    for client in _client_for(api, "group", "PATCH"):
        resp = client.patch(client.rg_path(), {"tags": {"a": "b"}}, api_version=RESOURCES_API)
        assert resp.status_code == 200, resp.text
        assert resp.json()["tags"] == {"a": "b"}
        assert resp.headers["ETag"] == TARGETS["group"].etag(api)


# == the race: eight read-modify-write writers on a real server ==============================

WRITERS = 8
ROUNDS = 6


def _race(api: Api, target: Target, conditional: bool) -> tuple[dict[str, str], int]:
    """WRITERS threads, each ROUNDS times: GET the tags, add its own, PUT them back (with
    If-Match and a retry on 412 when `conditional`). Returns (final tags, 412 retries)."""
    retries = [0] * WRITERS
    barrier = threading.Barrier(WRITERS)
    failures: list[BaseException] = []

    def writer(i: int) -> None:
        try:
            with httpx.Client(base_url=api.base_url, timeout=10) as http:
                mine = Api(api.mode, api.backend, http, api.base_url, api.db_path, None)
                barrier.wait(10)
                for n in range(ROUNDS):
                    while True:
                        got = target.request(mine, "GET")
                        tags = {**got.json()["tags"], f"w{i}": str(n)}
                        hdrs = {"If-Match": got.headers["ETag"]} if conditional else {}
                        resp = target.request(
                            mine, "PUT", {**target.put_body, "tags": tags}, headers=hdrs
                        )
                        if resp.status_code == 200:
                            break
                        assert resp.status_code == 412, resp.text
                        retries[i] += 1
                        time.sleep(0.001 * (i + 1))
        except BaseException as exc:  # noqa: BLE001 - re-raised below
            failures.append(exc)

    threads = [threading.Thread(target=writer, args=(i,), daemon=True) for i in range(WRITERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not any(t.is_alive() for t in threads), "a writer hung"
    if failures:
        raise failures[0]
    return target.request(api, "GET").json()["tags"], sum(retries)


@pytest.mark.parametrize("api", ["server"], indirect=True)
@pytest.mark.parametrize("kind", ["group", "registry"])
def test_eight_if_match_writers_lose_no_update(api: Api, kind: str) -> None:
    target = TARGETS[kind]
    target.create(api)
    tags, retries = _race(api, target, conditional=True)
    print(f"\n{kind}: {WRITERS}x{ROUNDS} conditional writes, {retries} retries on 412")
    assert tags == {f"w{i}": str(ROUNDS - 1) for i in range(WRITERS)}


@pytest.mark.parametrize("kind", ["group", "registry"])
def test_without_a_precondition_the_last_writer_wins(api: Api, kind: str) -> None:
    """Two writers read the same state; both write unconditionally: both succeed and the
    second one's tags replace the first one's (no 412, as before)."""
    target = TARGETS[kind]
    target.create(api)
    seen = target.request(api, "GET").json()["tags"]
    first = target.request(api, "PUT", {**target.put_body, "tags": {**seen, "a": "1"}})
    second = target.request(api, "PUT", {**target.put_body, "tags": {**seen, "b": "2"}})
    assert (first.status_code, second.status_code) == (200, 200)
    assert target.request(api, "GET").json()["tags"] == {"b": "2"}
