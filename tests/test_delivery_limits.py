"""Issue 11 item 3: a slow webhook receiver must not stall anyone. Each attempt has one
total deadline (webhook_timeout: DNS, connect, send and the whole answer), the lease of a
claimed event outlives that deadline, and one receiving host holds at most
webhook_per_endpoint of the delivery workers. Real HTTP on loopback, small settings."""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from webhook_server import Arm, Trickler, server, wait_until

from acrctl.backend.webhooks import Claim
from acrctl.delivery import Deliverer, Policy
from acrctl.testing import AcrctlMock, WebhookReceiver

pytestmark = pytest.mark.server

LOOPBACK = ["127.0.0.0/8"]


def test_a_receiver_trickling_its_answer_is_cut_at_the_deadline() -> None:
    # one header byte every 0.1 s: no single read ever waits long, the whole answer would
    # take 14 s; the attempt must end at webhook_timeout = 1 s
    with Trickler(interval=0.1) as slow:
        srv = server(webhook_allow=LOOPBACK, webhook_timeout=1, webhook_backoff=60)
        arm = Arm(srv)
        try:
            arm.setup_registry()
            arm.hook("slowhook", slow.url())
            t0 = time.monotonic()
            arm.ping("slowhook")
            attempt = arm.first_attempt("slowhook", timeout=5)
            took = time.monotonic() - t0
        finally:
            arm.close()
            srv.stop()
    print(
        f"trickling receiver: attempt {attempt and attempt.get('durationMs')} ms, "
        f"recorded {took:.2f} s after the ping"
    )
    assert attempt is not None, "no attempt recorded within 5 s"
    assert attempt["error"] == "no answer within 1s"
    assert 1000 <= attempt["durationMs"] < 1500
    assert took < 2.0


def test_a_body_trickling_after_the_status_is_cut_and_the_status_kept(
    acrctl_mock: AcrctlMock,
) -> None:
    acrctl_mock.backend.settings.webhook_timeout = 1
    head = b"HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n"
    with Trickler(head=head, answer=b"b" * 500, interval=0.05) as fast_head:
        d = Deliverer(acrctl_mock.backend, local_default=True)
        t0 = time.monotonic()
        attempt = d.send(claim_for(fast_head.url()))
        took = time.monotonic() - t0
    assert attempt["statusCode"] == 200
    assert 0 < len(attempt["responseContent"]) < 40
    assert 1.0 <= took < 1.5


def test_slow_hooks_on_one_host_leave_workers_for_an_unrelated_ping() -> None:
    # 4 webhooks x 2 pings on one trickling host could take all 8 workers for the whole
    # deadline; the per-host cap (webhook_per_endpoint = 2) keeps 6 free
    with Trickler(host="127.0.0.2", interval=0.1) as slow, WebhookReceiver() as fast:
        srv = server(webhook_allow=LOOPBACK, webhook_timeout=2, webhook_backoff=60)
        arm = Arm(srv)
        try:
            arm.setup_registry()
            for n in range(4):
                arm.hook(f"slowhook{n}", slow.url(f"/{n}"))
            arm.hook("fasthook", fast.url())
            for n in range(4):
                arm.ping(f"slowhook{n}")
                arm.ping(f"slowhook{n}")
            assert wait_until(lambda: slow.accepted >= 2, timeout=3)
            time.sleep(0.5)  # more than a worker interval: every slow ping had its chance
            t0 = time.monotonic()
            arm.ping("fasthook")
            arrived = fast.wait_for(1, timeout=5)
            lateness = fast.requests[0].at - t0 if arrived else None
            in_flight_to_slow_host = slow.accepted
        finally:
            arm.close()
            srv.stop()
    print(
        f"unrelated ping lateness: {lateness} s; connections to the slow host: "
        f"{in_flight_to_slow_host}"
    )
    assert lateness is not None and lateness < 0.5, lateness
    assert in_flight_to_slow_host == 2


def test_an_event_is_sent_once_when_the_send_outlasts_a_short_lease(tmp_path: Path) -> None:
    # webhook_lease = 0.3 s, the receiver answers after 1 s: two server instances on one
    # database keep claiming; the lease must outlive the attempt (at least twice the
    # deadline), so nobody claims the event again while it is being sent
    db = str(tmp_path / "server.db")
    settings = {"webhook_allow": LOOPBACK, "webhook_lease": 0.3, "webhook_timeout": 2}
    with WebhookReceiver(delay=1.0) as rx:
        first = server(db, **settings)
        second = server(db, **settings)
        arm = Arm(first)
        try:
            arm.setup_registry()
            arm.hook("hook1", rx.url())
            arm.ping("hook1")
            wait_until(
                lambda: arm.events("hook1")[0]["delivery"]["state"] == "delivered", timeout=5
            )
            time.sleep(1.0)  # time for a second POST, were the event claimed again
            [event] = arm.events("hook1")
        finally:
            arm.close()
            second.stop()
            first.stop()
        posts = len(rx.requests)
    print(f"POSTs of one event with a 0.3 s lease and a 1 s answer: {posts}")
    assert posts == 1
    assert event["delivery"]["state"] == "delivered"
    assert len(event["delivery"]["attempts"]) == 1


def test_a_tls_handshake_that_never_completes_is_cut_at_the_deadline(
    acrctl_mock: AcrctlMock,
) -> None:
    acrctl_mock.backend.settings.webhook_timeout = 1
    with Trickler(answer=b"") as silent:  # accepts, never answers the ClientHello
        d = Deliverer(acrctl_mock.backend, local_default=True)
        t0 = time.monotonic()
        attempt = d.send(claim_for(silent.url().replace("http:", "https:")))
        took = time.monotonic() - t0
    assert attempt["error"] == "no answer within 1s"
    assert 1.0 <= took < 1.5


def test_a_slow_dns_lookup_counts_against_the_deadline(acrctl_mock: AcrctlMock) -> None:
    acrctl_mock.backend.settings.webhook_timeout = 1
    done = threading.Event()

    def slow_resolver(host: str, port: int, **kw: Any) -> list[Any]:
        done.wait(3)  # a DNS server that answers after 3 s
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port))]

    d = Deliverer(acrctl_mock.backend, policy=Policy(resolver=slow_resolver))
    t0 = time.monotonic()
    attempt = d.send(claim_for("http://hooks.example.com/x"))
    took = time.monotonic() - t0
    done.set()
    assert attempt["error"] == "could not resolve the host hooks.example.com in time"
    assert 1.0 <= took < 1.5


# -- the deadline client over TLS ----------------------------------------------------------
@pytest.fixture(scope="module")
def tls_receiver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """An HTTPS receiver on 127.0.0.1 (certificate for 127.0.0.1 and localhost from a test
    CA). Yields (its URL, the CA file)."""
    import trustme

    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    tmp = tmp_path_factory.mktemp("tls-receiver")
    ca_file = str(tmp / "ca.pem")
    ca.cert_pem.write_to_path(ca_file)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            body = f"sni={getattr(self.connection, 'sni', None)}".encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    cert.configure_cert(context)

    def remember_sni(sock: Any, name: str, ctx: ssl.SSLContext) -> None:
        sock.sni = name

    context.sni_callback = remember_sni
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True).start()
    try:
        yield f"https://localhost:{httpd.server_address[1]}/hook", ca_file
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_tls_delivery_sends_the_name_and_checks_the_certificate(
    acrctl_mock: AcrctlMock, tls_receiver: tuple[str, str]
) -> None:
    url, ca_file = tls_receiver
    d = Deliverer(acrctl_mock.backend, local_default=True, verify=ca_file)
    attempt = d.send(claim_for(url))
    assert (attempt["statusCode"], attempt["responseContent"]) == (200, "sni=localhost")


def test_tls_delivery_refuses_an_unknown_certificate(
    acrctl_mock: AcrctlMock, tls_receiver: tuple[str, str]
) -> None:
    url, _ = tls_receiver
    d = Deliverer(acrctl_mock.backend, local_default=True)  # the public CAs only
    attempt = d.send(claim_for(url))
    assert attempt["error"] == (
        "TLS certificate not accepted: unable to get local issuer certificate"
    )


def claim_for(uri: str, **kw: Any) -> Claim:
    return Claim(
        event_key="k",
        event_id="e",
        lease_id="l",
        attempt=1,
        content={"action": "ping"},
        hook_key="h",
        hook_id="hook",
        service_uri=uri,
        custom_headers=kw.pop("headers", {}),
        **kw,
    )
