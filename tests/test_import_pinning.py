"""An import's connections go to the addresses the destination policy checked
(acrctl.dataplane.pinned), not to a second DNS answer: the DNS rebinding window between the
check of a URL and its connection is closed. The names here (`*.rebind.test`) exist only in
the policy's resolver, so a connection made by any other lookup fails."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from acrctl.dataplane.importer import ImportFailed, unreachable
from acrctl.dataplane.pinned import checked_transport
from acrctl.delivery_policy import Policy

NAME = "registry.rebind.test"
METADATA = "169.254.169.254"


class Hits(BaseHTTPRequestHandler):
    seen: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        Hits.seen.append(self.path)
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def server() -> Iterator[int]:
    Hits.seen = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Hits)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield httpd.server_address[1]
    finally:
        httpd.shutdown()
        httpd.server_close()


def answers(*addresses: str) -> Callable[..., Any]:
    """A resolver giving each answer in turn (the last one from then on)."""
    left = list(addresses)

    def resolve(host: str, port: int, **kw: Any) -> list[Any]:
        assert host == NAME
        ip = left.pop(0) if len(left) > 1 else left[0]
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port))]

    return resolve


def client(policy: Policy, exempt: set[tuple[str, int]] | None = None) -> httpx.Client:
    return httpx.Client(transport=checked_transport(policy, exempt or set(), unreachable))


def test_the_connection_goes_to_the_checked_address(server: int) -> None:
    policy = Policy(allow_local=True, resolver=answers("127.0.0.1"))
    with client(policy) as c:
        assert c.get(f"http://{NAME}:{server}/v2/").status_code == 200
    assert Hits.seen == ["/v2/"]


def test_a_name_that_turns_to_metadata_is_refused_at_the_connection(server: int) -> None:
    # the first answer (what a check before the request would see) is allowed, the one
    # the connection gets is not: nothing is sent anywhere
    policy = Policy(allow_local=True, resolver=answers("127.0.0.1", METADATA))
    assert policy.resolve(f"http://{NAME}:{server}/").addresses[0].is_loopback
    with client(policy) as c, pytest.raises(ImportFailed) as info:
        c.get(f"http://{NAME}:{server}/v2/")
    assert f"{NAME} resolves to {METADATA} is link-local" in info.value.message
    assert Hits.seen == []


def test_a_refused_address_is_refused(server: int) -> None:
    with client(Policy()) as c, pytest.raises(ImportFailed) as info:
        c.get(f"http://127.0.0.1:{server}/v2/")
    assert "127.0.0.1 is a loopback address" in info.value.message
    assert Hits.seen == []


def test_the_servers_own_regions_are_exempt(server: int) -> None:
    with client(Policy(), {("127.0.0.1", server)}) as c:
        assert c.get(f"http://127.0.0.1:{server}/v2/").status_code == 200
