"""Routing to the nearest healthy replica, the pure parts (acrctl.dataplane.geo): the
client's region, the order of regions, push pins, health state and regional endpoint
names. No I/O."""

from __future__ import annotations

import base64
import io
import json
import logging
from types import SimpleNamespace

import pytest

from acrctl.backend.core import Settings
from acrctl.dataplane import geo, supervisor
from acrctl.dataplane.front import _pushes
from acrctl.dataplane.georouter import GeoRouter
from acrctl.dataplane.routing import Router

US_EU = geo.Placement(
    "eastus",
    (geo.Replica("eastus"), geo.Replica("westeurope"), geo.Replica("westus")),
)


def always(region: str) -> bool:
    return True


def test_client_map_is_parsed_longest_prefix_first() -> None:
    nets = geo.parse_client_regions("10.0.0.0/8=eastus, 10.2.0.0/16=West Europe")
    assert [(str(n), r) for n, r in nets] == [
        ("10.2.0.0/16", "westeurope"),
        ("10.0.0.0/8", "eastus"),
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("10.0.0.0/8", "'10.0.0.0/8': use CIDR=region with a known region"),
        ("10.0.0.0/8=atlantis", "'10.0.0.0/8=atlantis': use CIDR=region with a known region"),
        ("10.0.0/33=eastus", "'10.0.0/33=eastus': '10.0.0/33' is not a network (CIDR)"),
    ],
)
def test_a_bad_client_map_names_the_entry(text: str, message: str) -> None:
    with pytest.raises(ValueError, match="^" + message.replace("(", r"\(").replace(")", r"\)")):
        geo.parse_client_regions(text)


def test_a_bad_client_map_keeps_the_data_plane_off_with_the_reason() -> None:
    plane = SimpleNamespace(settings=Settings(dataplane_client_regions="10.0.0.0/8"), b=None)
    with pytest.raises(RuntimeError, match="^dataplane_client_regions: '10.0.0.0/8': use CIDR"):
        GeoRouter(plane)  # type: ignore[arg-type]


def test_a_routers_client_region_is_the_one_routing_orders_by(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    plane = SimpleNamespace(
        settings=Settings(dataplane_client_regions="10.2.0.0/16=westus"), b=None
    )
    router = GeoRouter(plane)  # type: ignore[arg-type]
    monkeypatch.setattr(router, "placement", lambda name: US_EU if name == "contoso" else None)
    assert [
        router.origin("contoso", "10.2.0.9", None),
        router.origin("contoso", "10.3.0.9", None),
        router.origin("contoso", "10.2.0.9", "westeurope"),
        router.origin("fabrikam", "10.2.0.9", None),
    ] == ["westus", "eastus", "westeurope", None]


def test_the_longest_network_wins() -> None:
    nets = geo.parse_client_regions("10.0.0.0/8=eastus,10.2.0.0/16=westeurope")
    assert geo.client_region("10.2.3.4", None, nets, "westus") == "westeurope"
    assert geo.client_region("10.3.3.4", None, nets, "westus") == "eastus"


def test_a_known_hint_beats_the_network() -> None:
    nets = geo.parse_client_regions("10.0.0.0/8=eastus")
    assert geo.client_region("10.1.1.1", "West Europe", nets, "westus") == "westeurope"


def test_an_unknown_hint_and_address_fall_back_to_home() -> None:
    nets = geo.parse_client_regions("10.0.0.0/8=eastus")
    assert geo.client_region("192.168.1.1", "atlantis", nets, "westus") == "westus"
    assert geo.client_region("not-an-ip", None, nets, "westus") == "westus"
    assert geo.client_region("::1", None, nets, "westus") == "westus"


def test_distances_come_from_the_catalog_coordinates() -> None:
    assert geo.distance_km("eastus", "eastus") == 0.0
    assert 5500 < geo.distance_km("eastus", "westeurope") < 6500
    assert 3300 < geo.distance_km("eastus", "westus") < 3900
    assert geo.distance_km("eastus", "atlantis") == float("inf")


def test_order_is_by_distance_from_the_client() -> None:
    assert geo.order("westeurope", US_EU, always) == ["westeurope", "eastus", "westus"]
    assert geo.order("westus", US_EU, always) == ["westus", "eastus", "westeurope"]


def test_a_region_out_of_routing_comes_after_every_routed_one() -> None:
    place = geo.Placement(
        "eastus",
        (geo.Replica("eastus"), geo.Replica("westeurope", routed=False), geo.Replica("westus")),
    )
    assert geo.order("westeurope", place, always) == ["eastus", "westus", "westeurope"]


def test_unhealthy_regions_come_last() -> None:
    assert geo.order("westeurope", US_EU, lambda r: r != "westeurope") == [
        "eastus",
        "westus",
        "westeurope",
    ]


def test_equidistant_regions_always_give_the_same_first() -> None:
    place = geo.Placement("b", (geo.Replica("westus"), geo.Replica("eastus")))
    # "atlantis" is nowhere: both regions are at the same (infinite) distance
    orders = {tuple(geo.order("atlantis", place, always)) for _ in range(20)}
    assert orders == {("eastus", "westus")}


def test_a_regional_endpoint_pins_its_region_even_when_unhealthy() -> None:
    assert geo.order("westus", US_EU, lambda r: False, pinned="westeurope") == ["westeurope"]
    assert geo.order("westus", US_EU, always, pinned="japaneast") == []


def test_health_changes_are_reported_once() -> None:
    h = geo.Health()
    assert h.up("eastus")
    assert h.mark("eastus", False, 1.0) is True
    assert h.mark("eastus", False, 2.0) is False
    assert h.down() == {"eastus": 1.0}
    assert h.mark("eastus", True, 3.0) is True
    assert h.up("eastus")


def test_a_pin_lives_while_used_then_expires() -> None:
    pins = geo.Pins(10.0, 100)
    pins.put(("ip", "sub", "r", "repo"), "eastus", 0.0)
    assert pins.get(("ip", "sub", "r", "repo"), 9.0) == "eastus"
    assert pins.get(("ip", "sub", "r", "repo"), 18.0) == "eastus"  # renewed at 9
    assert pins.get(("ip", "sub", "r", "repo"), 28.1) is None


def test_pins_past_the_limit_drop_the_least_recently_used() -> None:
    pins = geo.Pins(10.0, 2)
    pins.put(("a",), "eastus", 0.0)
    pins.put(("b",), "eastus", 0.0)
    assert pins.get(("a",), 1.0) == "eastus"
    pins.put(("c",), "westus", 1.0)
    assert (pins.get(("a",), 1.0), pins.get(("b",), 1.0), pins.get(("c",), 1.0)) == (
        "eastus",
        None,
        "westus",
    )


def test_regional_endpoint_hosts_name_registry_and_region() -> None:
    r = Router("acrctl.test:8444")
    assert r.parse_host("contoso.westus.geo.acrctl.test:8444") == ("contoso", "westus")
    assert r.parse_host("contoso.acrctl.test") == ("contoso", None)
    assert r.registry_of_host("contoso.westus.geo.acrctl.test") == "contoso"
    assert r.parse_host("contoso.westus.data.acrctl.test") == (None, None)
    assert r.parse_host("a.b.acrctl.test") == (None, None)
    assert r.parse_host("127.0.0.1:8444") == (None, None)


def _bearer(claims: dict[str, object]) -> str:
    part = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"Bearer e30.{part}.sig"


def test_a_token_granting_push_on_the_repository_is_a_push_session() -> None:
    auth = _bearer({"sub": "p1", "access": [{"name": "contoso/web", "actions": ["pull", "push"]}]})
    assert _pushes(auth, "contoso/web") == "p1"
    assert _pushes(auth, "contoso/other") == ""


def test_a_pull_token_or_garbage_is_no_push_session() -> None:
    pull = _bearer({"sub": "p1", "access": [{"name": "contoso/web", "actions": ["pull"]}]})
    assert _pushes(pull, "contoso/web") == ""
    assert _pushes("Bearer not-a-jwt", "contoso/web") == ""
    assert _pushes("Bearer a.!!!.c", "contoso/web") == ""


def test_routing_probes_stay_out_of_the_server_log(caplog: pytest.LogCaptureFixture) -> None:
    lines = (
        b'level=warning msg="authorization token required" '
        b"http.request.useragent=acrctl-health\n"
        b'level=info msg="response completed" http.request.useragent=skopeo/1.9.3\n'
    )
    with caplog.at_level(logging.INFO, logger="acrctl.dataplane"):
        supervisor._forward("westus", io.BytesIO(lines))
    assert [r.getMessage() for r in caplog.records] == [
        'region westus: level=info msg="response completed" http.request.useragent=skopeo/1.9.3'
    ]
