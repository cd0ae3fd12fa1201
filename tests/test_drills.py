"""Failure drills over the API, in-process and against a real server: region outages (503
RegionUnavailable on management of registries homed there, replica status Unavailable),
replica outages, throttling (429 the acrctl client retries), latency, admin-only access,
and drills kept in the store so every instance on one database applies them."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

pytest.register_assert_rewrite("api_harness")
pytest_plugins = ("api_harness",)

from api_harness import (  # noqa: E402
    ADMIN_API_VERSION,
    ADMIN_TOKEN,
    CONTRIBUTOR,
    OWNER,
    READER,
    Api,
)

from acrctl.backend.core import Backend  # noqa: E402
from acrctl.backend.drills import Drills, RequestInfo, matches, validate  # noqa: E402
from acrctl.backend.errors import InvalidInput  # noqa: E402
from acrctl.backend.sqlite import SqliteStore  # noqa: E402
from acrctl.client.acr import AcrClient  # noqa: E402
from acrctl.client.errors import Throttled  # noqa: E402
from acrctl.server import drills as server_drills  # noqa: E402
from acrctl.server.app import App  # noqa: E402
from acrctl.server.transport import InProcessTransport  # noqa: E402


# == helpers ====================================================================================
def drills_path(api: Api, name: str | None = None) -> str:
    base = f"{api.sub_path}/providers/Acrctl.Admin/drills"
    return f"{base}/{name}" if name else base


def start(api: Api, name: str, token: Any = None, **props: Any) -> dict[str, Any]:
    resp = api.put(
        drills_path(api, name), {"properties": props}, token=token, api_version=ADMIN_API_VERSION
    )
    assert resp.status_code in (200, 201), resp.text
    return dict(resp.json())


def clear(api: Api, name: str | None = None) -> httpx.Response:
    return api.delete(drills_path(api, name), api_version=ADMIN_API_VERSION)


def drill(api: Api, name: str) -> dict[str, Any]:
    resp = api.get(drills_path(api, name), api_version=ADMIN_API_VERSION)
    assert resp.status_code == 200, resp.text
    return dict(resp.json()["properties"])


def statuses(api: Api, registry: str = "myreg1") -> dict[str, dict[str, Any]]:
    items, _ = api.collect(f"{api.reg_path(registry)}/replications")
    return {r["name"]: r["properties"]["status"] for r in items}


def client(api: Api, sleeps: list[float]) -> AcrClient:
    """The acrctl client against this API (a real socket in server mode), as the admin,
    with its sleep recorded instead of slept."""
    transport = None if api.mode == "server" else InProcessTransport(App(api.backend))
    return AcrClient(
        api.base_url,
        subscription=api.sub,
        token=ADMIN_TOKEN,
        transport=transport,
        sleep=sleeps.append,
    )


@pytest.fixture
def world(api: Api) -> Api:
    """rg1 / Premium myreg1 homed in westus with a replica in eastus and webhook hook1, and
    Premium otherreg1 homed in eastus."""
    api.create_group()
    api.create_registry(sku="Premium")
    api.create_replication("eastus")
    api.create_webhook()
    api.create_registry("otherreg1", sku="Premium", location="eastus")
    return api


@pytest.fixture
def slept(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[float]]:
    """Injected latency recorded instead of slept (the server thread shares the module)."""
    calls: list[float] = []
    monkeypatch.setattr(server_drills, "sleep", calls.append)
    yield calls


def unavailable(resp: httpx.Response, region: str = "westus") -> str:
    assert resp.status_code == 503, resp.text
    err = resp.json()["error"]
    assert err["code"] == "RegionUnavailable"
    assert f"'{region}'" in err["message"]
    assert resp.headers["Retry-After"] == "7"
    return str(err["message"])


# == region outage ==============================================================================
def test_home_region_outage_fails_management_of_registries_homed_there(world: Api) -> None:
    api = world
    doc = start(api, "westus-down", kind="RegionOutage", region="West US", retryAfter=7)
    assert doc["properties"]["region"] == "westus"
    assert doc["properties"]["state"] == "Active"
    msg = unavailable(api.patch(api.reg_path(), {"tags": {"a": "b"}}))
    assert "failure drill 'westus-down'" in msg and "registry 'myreg1'" in msg
    unavailable(api.put(api.reg_path(), {"location": "westus", "sku": {"name": "Premium"}}))
    unavailable(api.put(api.repl_path("northeurope"), {"location": "northeurope"}))
    unavailable(api.delete(api.repl_path("eastus")))
    unavailable(api.patch(api.hook_path(), {"tags": {}}))
    unavailable(api.post(f"{api.hook_path()}/ping"))
    unavailable(api.delete(api.reg_path()))
    # reads keep working, and management of a registry homed elsewhere is not affected
    assert api.get(api.reg_path()).status_code == 200
    assert api.get(api.hook_path()).status_code == 200
    assert api.patch(api.reg_path("otherreg1"), {"tags": {"a": "b"}}).status_code == 200


def test_outage_shows_on_the_home_replica_only(world: Api) -> None:
    api = world
    start(api, "westus-down", kind="RegionOutage", region="westus", retryAfter=7)
    status = statuses(api)
    assert status["westus"]["displayStatus"] == "Unavailable"
    assert "home region 'westus'" in status["westus"]["message"]
    assert "'westus-down'" in status["westus"]["message"]
    assert status["eastus"]["displayStatus"] == "Ready"
    one = api.get(api.repl_path("westus")).json()
    assert one["properties"]["status"]["displayStatus"] == "Unavailable"
    assert one["properties"]["provisioningState"] == "Succeeded"
    assert statuses(api, "otherreg1")["eastus"]["displayStatus"] == "Ready"


def test_clearing_the_outage_restores_management_and_status(world: Api) -> None:
    api = world
    start(api, "westus-down", kind="RegionOutage", region="westus", retryAfter=7)
    unavailable(api.patch(api.reg_path(), {"tags": {"a": "b"}}))
    resp = clear(api, "westus-down")
    assert resp.status_code == 200 and resp.json()["name"] == "westus-down"
    assert api.patch(api.reg_path(), {"tags": {"a": "b"}}).status_code == 200
    assert statuses(api)["westus"]["displayStatus"] == "Ready"
    assert clear(api, "westus-down").status_code == 204


def test_outage_refuses_creating_resources_in_the_region(world: Api) -> None:
    api = world
    start(api, "westus-down", kind="RegionOutage", region="westus", retryAfter=7)
    msg = unavailable(
        api.put(api.reg_path("newreg1"), {"location": "westus", "sku": {"name": "Basic"}})
    )
    assert "located there" in msg
    unavailable(api.put(api.repl_path("westus", "otherreg1"), {"location": "westus"}))
    assert (
        api.put(
            api.reg_path("newreg2"), {"location": "eastus", "sku": {"name": "Basic"}}
        ).status_code
        == 201
    )
    assert (
        api.put(api.repl_path("northeurope", "otherreg1"), {"location": "northeurope"}).status_code
        == 201
    )


def test_outage_of_a_replica_region_blocks_only_that_replica(world: Api) -> None:
    api = world
    start(api, "eastus-down", kind="RegionOutage", region="eastus", retryAfter=7)
    assert statuses(api)["eastus"]["displayStatus"] == "Unavailable"
    assert statuses(api)["westus"]["displayStatus"] == "Ready"
    assert api.patch(api.reg_path(), {"tags": {"a": "b"}}).status_code == 200
    unavailable(api.patch(api.repl_path("eastus"), {"tags": {}}), "eastus")
    # otherreg1 is homed in eastus: its management fails
    unavailable(api.patch(api.reg_path("otherreg1"), {"tags": {}}), "eastus")


def test_fail_reads_fails_gets_of_registries_homed_there(world: Api) -> None:
    api = world
    start(api, "westus-down", kind="RegionOutage", region="westus", retryAfter=7, failReads=True)
    unavailable(api.get(api.reg_path()))
    unavailable(api.get(f"{api.reg_path()}/replications"))
    assert api.get(api.reg_path("otherreg1")).status_code == 200
    items, _ = api.collect(f"{api.rg_path()}/providers/Microsoft.ContainerRegistry/registries")
    assert {r["name"] for r in items} == {"myreg1", "otherreg1"}


# == replica outage =============================================================================
def test_replica_outage_shows_in_status_without_blocking_management(world: Api) -> None:
    api = world
    start(api, "eastus-replicas", kind="ReplicaOutage", region="eastus")
    status = statuses(api)
    assert status["eastus"]["displayStatus"] == "Unavailable"
    assert "Management of the registry is not affected" in status["eastus"]["message"]
    assert status["westus"]["displayStatus"] == "Ready"
    assert api.patch(api.reg_path(), {"tags": {"a": "b"}}).status_code == 200
    assert api.patch(api.repl_path("eastus"), {"tags": {"b": "c"}}).status_code == 200
    assert api.patch(api.reg_path("otherreg1"), {"tags": {}}).status_code == 200
    assert statuses(api, "otherreg1")["eastus"]["displayStatus"] == "Unavailable"
    clear(api, "eastus-replicas")
    assert statuses(api)["eastus"]["displayStatus"] == "Ready"


# == throttling =================================================================================
def test_every_nth_request_is_throttled_with_retry_after(world: Api) -> None:
    api = world
    start(api, "every3", kind="Throttle", every=3, retryAfter=4)
    codes = [api.get(api.reg_path()).status_code for _ in range(6)]
    assert codes == [200, 200, 429, 200, 200, 429]
    resp = api.get(api.reg_path("otherreg1"))
    resp = api.get(api.reg_path("otherreg1"))
    resp = api.get(api.reg_path("otherreg1"))
    assert resp.status_code == 429
    assert resp.headers["Retry-After"] == "4"
    err = resp.json()["error"]
    assert err["code"] == "ResourceRequestsThrottled"
    assert "Please try again after '4' seconds" in err["message"]
    props = drill(api, "every3")
    assert (props["matchedRequests"], props["throttledRequests"]) == (9, 3)


def test_throttling_makes_the_acrctl_client_retry_and_succeed(world: Api) -> None:
    api = world
    start(api, "twice", kind="Throttle", count=2, retryAfter=1, route="registries/myreg1")
    sleeps: list[float] = []
    acr = client(api, sleeps)
    try:
        assert acr.get_registry("rg1", "myreg1").name == "myreg1"
        assert sleeps == [1.0, 1.0]
        assert acr.get_registry("rg1", "myreg1").name == "myreg1"
    finally:
        acr.close()
    props = drill(api, "twice")
    assert (props["throttledRequests"], props["state"]) == (2, "Exhausted")


def test_throttling_the_client_past_its_budget_fails_with_the_arm_error(world: Api) -> None:
    api = world
    start(api, "always", kind="Throttle", retryAfter=600)
    acr = client(api, [])
    try:
        with pytest.raises(Throttled) as exc:
            acr.list_registries("rg1")
    finally:
        acr.close()
    assert exc.value.code == "ResourceRequestsThrottled"
    assert exc.value.status == 429


def test_throttle_filters_by_route_method_and_principal(world: Api) -> None:
    api = world
    reader = api.principal("reader", READER)
    start(api, "reader-only", kind="Throttle", principal="reader", retryAfter=1)
    assert api.get(api.reg_path(), token=reader).status_code == 429
    assert api.get(api.reg_path()).status_code == 200
    clear(api, "reader-only")
    start(api, "writes", kind="Throttle", methods=["patch"], route="*/replications/*", retryAfter=1)
    assert api.patch(api.repl_path("eastus"), {"tags": {}}).status_code == 429
    assert api.get(api.repl_path("eastus")).status_code == 200
    assert api.patch(api.reg_path(), {"tags": {}}).status_code == 200


def test_drills_never_touch_the_admin_endpoints_or_requests_outside_a_subscription(
    world: Api,
) -> None:
    api = world
    start(api, "everything", kind="Throttle", retryAfter=5)
    assert api.get(api.reg_path()).status_code == 429
    assert api.get("/subscriptions", api_version="2022-09-01").status_code == 200
    assert api.get(drills_path(api), api_version=ADMIN_API_VERSION).status_code == 200
    resp = clear(api)
    assert resp.status_code == 200
    assert [d["name"] for d in resp.json()["value"]] == ["everything"]
    assert api.get(api.reg_path()).status_code == 200


# == latency ====================================================================================
def test_latency_is_measurable(world: Api) -> None:
    api = world
    start(api, "slow", kind="Latency", ms=150, route="*/registries/myreg1")
    began = time.monotonic()
    assert api.get(api.reg_path()).status_code == 200
    assert time.monotonic() - began >= 0.15


def test_latency_is_scoped_and_adds_up(world: Api, slept: list[float]) -> None:
    api = world
    start(api, "slow", kind="Latency", ms=200, methods=["GET"], route="replications")
    start(api, "slower", kind="Latency", ms=50, principal="admin")
    api.get(api.repl_path("eastus"))
    api.patch(api.repl_path("eastus"), {"tags": {}})
    api.get(api.reg_path())
    assert slept == [0.25, 0.05, 0.05]
    api.get(api.reg_path(), token=api.principal("other", READER))
    assert slept == [0.25, 0.05, 0.05]


# == administration =============================================================================
@pytest.mark.parametrize("role", [None, READER, CONTRIBUTOR])
def test_only_owners_may_manage_drills(world: Api, role: str | None) -> None:
    api = world
    start(api, "kept", kind="ReplicaOutage", region="eastus")
    who = api.principal("someone", role)
    for method, name in (
        ("GET", None),
        ("GET", "kept"),
        ("PUT", "mine"),
        ("DELETE", "kept"),
        ("DELETE", None),
    ):
        body = {"properties": {"kind": "Latency", "ms": 5}} if method == "PUT" else None
        resp = api.request(
            method, drills_path(api, name), json=body, token=who, api_version=ADMIN_API_VERSION
        )
        assert resp.status_code == 403, (method, name, resp.text)
        assert resp.json()["error"]["code"] == "AuthorizationFailed"
        assert "elevateAccess" in resp.json()["error"]["message"]
    owner = api.principal("owner", OWNER)
    assert (
        api.get(drills_path(api, "kept"), token=owner, api_version=ADMIN_API_VERSION).status_code
        == 200
    )


def test_put_replaces_a_drill_and_list_shows_all(world: Api) -> None:
    api = world
    created = api.put(
        drills_path(api, "t1"),
        {"properties": {"kind": "throttle", "count": 1}},
        api_version=ADMIN_API_VERSION,
    )
    assert created.status_code == 201
    assert created.json()["properties"] == {
        "kind": "Throttle",
        "count": 1,
        "retryAfter": 10,
        "matchedRequests": 0,
        "throttledRequests": 0,
        "createdAt": created.json()["properties"]["createdAt"],
        "createdBy": "admin",
        "state": "Active",
    }
    assert created.json()["id"] == f"{api.sub_path}/providers/Acrctl.Admin/drills/t1"
    replaced = api.put(
        drills_path(api, "T1"),
        {"properties": {"kind": "Latency", "ms": 1}},
        api_version=ADMIN_API_VERSION,
    )
    assert replaced.status_code == 200
    start(api, "r1", kind="replica-outage", region="eastus")
    listed = api.get(drills_path(api), api_version=ADMIN_API_VERSION).json()["value"]
    assert [(d["name"], d["properties"]["kind"]) for d in listed] == [
        ("T1", "Latency"),
        ("r1", "ReplicaOutage"),
    ]


@pytest.mark.parametrize(
    "props, fragment",
    [
        ({"kind": "Earthquake"}, "Unknown drill kind"),
        ({"kind": "RegionOutage"}, "needs a 'region'"),
        ({"kind": "RegionOutage", "region": "atlantis"}, "atlantis"),
        ({"kind": "RegionOutage", "region": "westus", "retryAfter": 0}, "'retryAfter' 0"),
        ({"kind": "Throttle", "retryAfter": 0}, "'retryAfter' 0"),
        ({"kind": "Throttle", "every": 2, "count": 1}, "one of"),
        ({"kind": "Throttle", "fraction": 1.5}, "fraction"),
        ({"kind": "Throttle", "evry": 2}, "does not take evry"),
        ({"kind": "Throttle", "methods": ["FETCH"]}, "methods"),
        ({"kind": "Latency"}, "needs 'ms'"),
        ({"kind": "Latency", "ms": 600000}, "between 1 and 60000"),
        ({"kind": "Latency", "ms": "fast"}, "whole number"),
        ({"kind": "ReplicaOutage", "region": "eastus", "failReads": True}, "does not take"),
    ],
)
def test_invalid_drills_are_400(api: Api, props: dict[str, Any], fragment: str) -> None:
    resp = api.put(drills_path(api, "bad"), {"properties": props}, api_version=ADMIN_API_VERSION)
    assert resp.status_code == 400, resp.text
    assert resp.json()["error"]["code"] == "InvalidDrill"
    assert fragment in resp.json()["error"]["message"]


def test_bad_names_and_missing_drills(api: Api) -> None:
    resp = api.put(
        drills_path(api, "-bad"),
        {"properties": {"kind": "Latency", "ms": 1}},
        api_version=ADMIN_API_VERSION,
    )
    assert resp.json()["error"]["code"] == "InvalidDrillName"
    resp = api.get(drills_path(api, "nosuch"), api_version=ADMIN_API_VERSION)
    assert resp.status_code == 404 and resp.json()["error"]["code"] == "DrillNotFound"
    assert clear(api, "nosuch").status_code == 204
    assert clear(api).json() == {"value": []}


# == shared state ===============================================================================
def test_instances_on_one_database_share_drills_and_counters(world: Api) -> None:
    """A second backend and app on the same database file: a drill started through one
    applies to requests through the other, and a throttle's count is shared."""
    api = world
    other = Backend(SqliteStore(api.db_path))
    try:
        with httpx.Client(
            base_url="https://other.local", transport=InProcessTransport(App(other))
        ) as second:

            def via_second(path: str) -> int:
                return second.get(
                    path,
                    params={"api-version": "2025-11-01"},
                    headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
                ).status_code

            start(api, "westus-down", kind="RegionOutage", region="westus", retryAfter=7)
            resp = second.patch(
                api.reg_path(),
                json={"tags": {}},
                params={"api-version": "2025-11-01"},
                headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
            )
            assert resp.status_code == 503
            clear(api, "westus-down")
            start(api, "three", kind="Throttle", count=3, retryAfter=1)
            codes = []
            for i in range(6):
                codes.append(
                    via_second(api.reg_path()) if i % 2 else api.get(api.reg_path()).status_code
                )
            assert codes == [429, 429, 429, 200, 200, 200]
    finally:
        other.store.close()


def test_a_drill_with_a_duration_expires(api: Api) -> None:
    if api.clock is None:
        pytest.skip("needs the in-process fake clock")
    api.create_group()
    api.create_registry()
    start(api, "brief", kind="Throttle", retryAfter=1, durationSeconds=30)
    assert api.get(api.reg_path()).status_code == 429
    api.clock.advance(31)
    assert api.get(api.reg_path()).status_code == 200
    props = drill(api, "brief")
    assert props["state"] == "Expired" and "expiresAt" in props


def test_reset_removes_drills(world: Api) -> None:
    start(world, "t", kind="Throttle", retryAfter=1)
    world.backend.reset()
    assert Drills(world.backend).list(world.sub) == []


# == the decision functions =====================================================================
@pytest.mark.parametrize(
    "route, path, hit",
    [
        ("*/replications/*", "/subscriptions/s/x/registries/r/replications/eastus", True),
        ("*/replications/*", "/subscriptions/s/x/registries/r/replications", False),
        ("Replications", "/subscriptions/s/x/registries/r/replications", True),
        ("*/REGISTRIES/r", "/subscriptions/s/x/registries/r", True),
        ("webhooks", "/subscriptions/s/x/registries/r", False),
    ],
)
def test_route_patterns(route: str, path: str, hit: bool) -> None:
    assert matches({"route": route}, RequestInfo("s", "GET", path)) is hit


def test_validate_canonicalizes() -> None:
    assert validate({"properties": {"kind": "region_outage", "region": "West Europe"}}) == {
        "kind": "RegionOutage",
        "region": "westeurope",
        "retryAfter": 60,
        "failReads": False,
    }
    assert validate({"properties": {"kind": "Throttle", "methods": "put"}})["methods"] == ["PUT"]
    with pytest.raises(InvalidInput):
        validate({})


def test_the_data_plane_releases_a_region_when_its_outage_drill_ends(tmp_path: Any) -> None:
    from acrctl.backend.clock import FakeClock
    from acrctl.backend.rbac_rules import Caller

    clock = FakeClock()
    b = Backend(SqliteStore(str(tmp_path / "d.db")), clock=clock)
    body = {"properties": {"kind": "RegionOutage", "region": "westus", "durationSeconds": 60}}
    b.drills.put(Caller("admin", "admin"), "00000000-0000-0000-0000-000000000001", "down", body)
    from types import SimpleNamespace

    from acrctl.dataplane.georouter import GeoRouter

    router = GeoRouter(SimpleNamespace(settings=b.settings, b=b))  # type: ignore[arg-type]
    assert router.drilled() == {"westus"}
    clock.advance(61)  # no write in between: the generation cache still holds the drill
    assert router.drilled() == set()
