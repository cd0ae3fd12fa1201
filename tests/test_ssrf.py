"""Issue 11 item 6: IPv6 addresses that carry an IPv4 address (mapped, translated,
IPv4-compatible, 6to4, NAT64 well-known and local-use, Teredo) are checked as the IPv4
address they carry, for an address literal in the URI and for a DNS answer alike."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from typing import Any

import pytest
from webhook_server import Arm, server

from acrctl.delivery import Policy
from acrctl.embedded_ipv4 import embedded_ipv4
from acrctl.server.serve import ThreadedServer

pytestmark = pytest.mark.server

METADATA = "169.254.169.254"
LINK_LOCAL = f"{METADATA} is link-local (cloud metadata range) and never allowed"
LOOPBACK = (
    "127.0.0.1 is a loopback address; an operator can allow it with the server "
    "setting webhook_allow or webhook_allow_local"
)


def nat64(prefix: str, length: int, v4: str) -> str:
    """RFC 6052 2.2, written out bit by bit: the IPv4 bits follow the prefix, skipping
    bits 64-71."""
    bits = format(int(ipaddress.IPv6Address(prefix)), "0128b")
    out = list(bits)
    positions = [p for p in range(length, 128) if not 64 <= p < 72][:32]
    for p, b in zip(positions, format(int(ipaddress.IPv4Address(v4)), "032b"), strict=True):
        out[p] = b
    return str(ipaddress.IPv6Address(int("".join(out), 2)))


def teredo(server: str, client: str) -> str:
    """2001:0:<server>:<flags>:<port ^ 0xffff>:<client ^ 0xffffffff>."""
    s = int(ipaddress.IPv4Address(server))
    c = int(ipaddress.IPv4Address(client)) ^ 0xFFFFFFFF
    return str(
        ipaddress.IPv6Address((0x20010000 << 96) | (s << 64) | (0x8000 << 48) | (0x63BF << 32) | c)
    )


FORMS = {  # name: (the IPv6 address as written in a URI, the IPv4 address it carries)
    "compatible": ("::169.254.169.254", METADATA),
    "mapped": ("::ffff:169.254.169.254", METADATA),
    "translated": ("::ffff:0:169.254.169.254", METADATA),
    "6to4": ("2002:a9fe:a9fe::1", METADATA),
    "nat64": ("64:ff9b::169.254.169.254", METADATA),
    "nat64-local-48": (nat64("64:ff9b:1::", 48, METADATA), METADATA),
    "nat64-local-56": (nat64("64:ff9b:1::", 56, METADATA), METADATA),
    "nat64-local-64": (nat64("64:ff9b:1::", 64, METADATA), METADATA),
    "nat64-local-96": (nat64("64:ff9b:1::", 96, METADATA), METADATA),
    "teredo": (teredo("65.54.227.120", METADATA), METADATA),
}


@pytest.mark.parametrize("form", FORMS)
def test_the_carried_ipv4_address_is_decoded(form: str) -> None:
    v6, v4 = FORMS[form]
    assert ipaddress.IPv4Address(v4) in embedded_ipv4(ipaddress.IPv6Address(v6))


@pytest.mark.parametrize("form", FORMS)
def test_the_policy_checks_the_carried_address(form: str) -> None:
    v6, _ = FORMS[form]
    everything = Policy(allow=[ipaddress.ip_network("::/0")], allow_local=True)
    assert everything.check(ipaddress.ip_address(v6)) == LINK_LOCAL


@pytest.mark.parametrize(
    "v6",
    ["::127.0.0.1", "2002:7f00:1::1", "64:ff9b::127.0.0.1", teredo("65.54.227.120", "127.0.0.1")],
)
def test_a_carried_loopback_address_is_local(v6: str) -> None:
    assert Policy().check(ipaddress.ip_address(v6)) == LOOPBACK


def test_addresses_carrying_public_ipv4_or_nothing_stay_allowed() -> None:
    strict = Policy()
    for public in (
        "2002:5db8:d822::1",
        "64:ff9b::93.184.216.34",
        "2606:4700::1111",
        nat64("64:ff9b:1::", 48, "93.184.216.34"),
        nat64("64:ff9b:1::", 96, "93.184.216.34"),
    ):
        assert strict.check(ipaddress.ip_address(public)) is None, public
    assert strict.check(ipaddress.ip_address("::1")) == (
        "::1 is a loopback address; an operator can allow it with the server setting "
        "webhook_allow or webhook_allow_local"
    )


# -- at delivery, through a real server ----------------------------------------------------
@pytest.fixture(scope="module")
def srv() -> Iterator[ThreadedServer]:
    s = server(webhook_backoff=60)  # the server default: no local destinations
    try:
        yield s
    finally:
        s.stop()


@pytest.fixture(scope="module")
def arm(srv: ThreadedServer) -> Iterator[Arm]:
    a = Arm(srv)
    a.setup_registry("Premium")
    try:
        yield a
    finally:
        a.close()


@pytest.mark.parametrize(("n", "form"), list(enumerate(FORMS)))
def test_delivery_to_a_literal_carrying_a_forbidden_ipv4_is_refused(
    arm: Arm, n: int, form: str
) -> None:
    v6, _ = FORMS[form]
    name = f"literal{n}"
    arm.hook(name, f"http://[{v6}]:8080/latest/meta-data?token=SECRET5")
    arm.ping(name)
    attempt = arm.first_attempt(name)
    assert attempt is not None
    assert attempt["error"] == f"destination refused: {v6} resolves to {LINK_LOCAL}"
    [event] = arm.events(name)
    assert event["delivery"]["state"] == "failed"
    assert "SECRET5" not in arm.events_text(name)


def test_delivery_to_loopback_in_ipv4_compatible_form_is_refused(arm: Arm) -> None:
    arm.hook("compatloop", "http://[::127.0.0.1]/hook")
    arm.ping("compatloop")
    attempt = arm.first_attempt("compatloop")
    assert attempt is not None
    assert attempt["error"] == f"destination refused: ::127.0.0.1 resolves to {LOOPBACK}"


@pytest.mark.parametrize("form", ["compatible", "6to4", "teredo"])
def test_a_dns_answer_carrying_a_forbidden_ipv4_is_refused(
    srv: ThreadedServer, arm: Arm, monkeypatch: pytest.MonkeyPatch, form: str
) -> None:
    v6, _ = FORMS[form]

    def resolver(host: str, port: int, **kw: Any) -> list[Any]:
        assert host == "hooks.example.com"
        return [(10, 1, 6, "", (v6, port, 0, 0))]

    assert srv.delivery is not None
    monkeypatch.setattr(srv.delivery.deliverer.policy, "resolver", resolver)
    name = "dns" + form.replace("6to4", "sixtofour")
    arm.hook(name, "https://hooks.example.com/hook")
    arm.ping(name)
    attempt = arm.first_attempt(name)
    assert attempt is not None
    assert attempt["error"] == f"destination refused: hooks.example.com resolves to {LINK_LOCAL}"
