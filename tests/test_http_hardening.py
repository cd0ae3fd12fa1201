"""HTTP hygiene of `acrctl server` (issue 11, items 2 and 11): request smuggling framings,
slow clients, oversized heads, unknown methods, Cache-Control and HSTS, a webhook URI that
does not parse, and a database that cannot be reached at start. Raw sockets against a real
server, once with each HTTP implementation (h11, httptools) where they differ."""

from __future__ import annotations

import os
import ssl
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

pytest.register_assert_rewrite("api_harness")
pytest_plugins = ("api_harness",)

from api_harness import Api  # noqa: E402
from rawhttp import Answer, Exchange, dribble, exchange, request  # noqa: E402

from acrctl.server.serve import ServerConfig, ThreadedServer  # noqa: E402

pytestmark = pytest.mark.server

TIMEOUT = 1.0  # header, body and keep-alive timeouts of the servers here
SLACK = 1.5  # how late a timeout may fire on a loaded 2-core machine
MAX_HEAD = 4096
REG = (
    "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/rg1/providers/"
    "Microsoft.ContainerRegistry/registries/myreg1"
)
BAD = "InvalidHttpRequest"


@pytest.fixture(scope="module", params=["h11", "httptools"])
def server(request: pytest.FixtureRequest) -> Iterator[ThreadedServer]:
    cfg = ServerConfig(
        http=request.param,
        header_timeout=TIMEOUT,
        body_timeout=TIMEOUT,
        keep_alive_timeout=TIMEOUT,
        max_header_bytes=MAX_HEAD,
    )
    with ThreadedServer(cfg, deliver=False) as srv:
        yield srv


def impl(srv: ThreadedServer) -> str:
    return srv.cfg.http


def refused(ex: Exchange, status: int, code: str, message: str) -> Answer:
    """Exactly one answer, the refusal, then the connection closed."""
    assert ex.closed, ex
    assert [a.status for a in ex.answers] == [status], ex.answers
    answer = ex.answers[0]
    assert answer.error() == {"code": code, "message": message}
    assert answer.headers["connection"] == "close"
    return answer


# == framing (RFC 9112) ===========================================================================
SMUGGLED = request("GET", "/healthz")
LENGTH, CHUNKED = "Content-Length: 5", "Transfer-Encoding: chunked"


@pytest.mark.parametrize("first,second", [(LENGTH, CHUNKED), (CHUNKED, LENGTH)])
def test_content_length_with_transfer_encoding_is_refused_and_closed(
    server: ThreadedServer, first: str, second: str
) -> None:
    data = (
        f"POST /healthz HTTP/1.1\r\nHost: a\r\n{first}\r\n{second}\r\n\r\n0\r\n\r\n"
    ).encode() + SMUGGLED
    message = {
        "h11": "The request has both Content-Length and Transfer-Encoding headers "
        "(RFC 9112, section 6.1).",
        "httptools": "Invalid HTTP request: Transfer-Encoding can't be present with Content-Length"
        if first == LENGTH
        else "Invalid HTTP request: Content-Length can't be present with Transfer-Encoding",
    }[impl(server)]
    refused(exchange(server.cfg.port, data), 400, BAD, message)  # the GET is never answered


def test_obs_fold_is_refused(server: ThreadedServer) -> None:
    data = b"GET /healthz HTTP/1.1\r\nHost: a\r\nX-Folded: one\r\n two\r\n\r\n"
    message = {
        "h11": "The request header uses obsolete line folding (a line that starts with "
        "whitespace; RFC 9112, section 5.2).",
        "httptools": "Invalid HTTP request: Unexpected whitespace after header value",
    }[impl(server)]
    refused(exchange(server.cfg.port, data), 400, BAD, message)


def test_bare_lf_line_ends_are_refused(server: ThreadedServer) -> None:
    data = b"GET /healthz HTTP/1.1\r\nHost: a\nX-Other: b\r\n\r\n"
    message = {
        "h11": "A line of the request header ends in a bare LF; header lines must end in "
        "CRLF (RFC 9112, section 2.2).",
        "httptools": "Invalid HTTP request: Missing expected CR after header value",
    }[impl(server)]
    refused(exchange(server.cfg.port, data), 400, BAD, message)


def test_oversized_head_is_431(server: ThreadedServer) -> None:
    data = request("GET", "/healthz", {"X-Big": "b" * MAX_HEAD})
    refused(
        exchange(server.cfg.port, data),
        431,
        "RequestHeaderFieldsTooLarge",
        f"The request header is larger than {MAX_HEAD} bytes.",
    )


def test_oversized_head_sent_slowly_is_431(server: ThreadedServer) -> None:
    ex = dribble(
        server.cfg.port,
        b"GET /healthz HTTP/1.1\r\nHost: a\r\n",
        b"X-Pad: " + b"p" * 1000 + b"\r\n",
        every=0.01,
        wait=3,
    )
    refused(
        ex,
        431,
        "RequestHeaderFieldsTooLarge",
        f"The request header is larger than {MAX_HEAD} bytes.",
    )


# == methods ======================================================================================
def test_unknown_method_is_405(server: ThreadedServer) -> None:
    ex = exchange(server.cfg.port, request("FOO", f"{REG}?api-version=2025-11-01"))
    if impl(server) == "h11":  # h11 passes any token on: the route table answers
        [answer] = ex.answers
        assert answer.status == 405
        assert answer.error() == {
            "code": "MethodNotAllowed",
            "message": f"The HTTP method 'FOO' is not supported on the resource '{REG}'.",
        }
        assert answer.headers["allow"] == "DELETE, GET, PATCH, PUT"
    else:  # llhttp stops at a method it does not know
        answer = refused(ex, 405, "MethodNotAllowed", "The HTTP method is not supported.")
        assert answer.headers["allow"] == "GET, PUT, PATCH, POST, DELETE"


def test_known_method_on_a_path_without_it_is_405(server: ThreadedServer) -> None:
    resp = httpx.delete(f"{server.url}/healthz")
    assert resp.status_code == 405
    assert resp.json() == {
        "error": {
            "code": "MethodNotAllowed",
            "message": "The HTTP method 'DELETE' is not supported on the resource '/healthz'.",
        }
    }
    assert resp.headers["Allow"] == "GET"


# == slow and idle clients ========================================================================
def test_slow_header_is_cut_with_408(server: ThreadedServer) -> None:
    ex = dribble(
        server.cfg.port, b"GET /healthz HTTP/1.1\r\n", b"X-Slow: 1\r\n", every=0.2, wait=TIMEOUT + 3
    )
    refused(ex, 408, "RequestTimeout", f"The request header was not received within {TIMEOUT:g} s.")
    assert TIMEOUT - 0.1 <= ex.seconds <= TIMEOUT + SLACK


def test_connection_that_sends_nothing_is_closed(server: ThreadedServer) -> None:
    ex = exchange(server.cfg.port, b"", wait=TIMEOUT + 3)
    assert (ex.answers, ex.closed) == ([], True)
    assert ex.seconds <= TIMEOUT + SLACK


def test_idle_keep_alive_connection_is_closed(server: ThreadedServer) -> None:
    ex = exchange(server.cfg.port, request("GET", "/healthz"), wait=TIMEOUT + 3)
    assert [a.status for a in ex.answers] == [200]
    assert ex.closed
    assert ex.seconds <= TIMEOUT + SLACK


def test_slow_body_is_cut_with_408(server: ThreadedServer) -> None:
    head = (
        f"PUT {REG}?api-version=2025-11-01 HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\n"
    ).encode()
    ex = dribble(server.cfg.port, head, b"x", every=0.2, wait=TIMEOUT + 3)
    refused(ex, 408, "RequestTimeout", f"The request body was not received within {TIMEOUT:g} s.")
    assert ex.seconds <= TIMEOUT + SLACK


# == headers ======================================================================================
def test_every_answer_is_no_store(server: ThreadedServer) -> None:
    token = {"Authorization": f"Bearer {server.admin_token}"}
    answers = [
        httpx.get(f"{server.url}/healthz"),
        httpx.get(f"{server.url}/subscriptions?api-version=2022-12-01", headers=token),
        httpx.get(f"{server.url}/subscriptions?api-version=2022-12-01"),  # 401
        httpx.get(f"{server.url}/nowhere"),  # 404
    ]
    assert [r.status_code for r in answers] == [200, 200, 401, 404]
    assert [r.headers.get("Cache-Control") for r in answers] == ["no-store"] * 4
    assert [r.headers.get("Strict-Transport-Security") for r in answers] == [None] * 4


def test_hsts_when_serving_tls(tmp_path: Path) -> None:
    import trustme

    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    cert_file, key_file, ca_file = (tmp_path / n for n in ("cert.pem", "key.pem", "ca.pem"))
    cert_file.write_bytes(b"".join(p.bytes() for p in cert.cert_chain_pems))
    cert.private_key_pem.write_to_path(str(key_file))
    ca.cert_pem.write_to_path(str(ca_file))
    cfg = ServerConfig(tls_cert=str(cert_file), tls_key=str(key_file))
    with ThreadedServer(cfg, deliver=False) as srv:
        resp = httpx.get(
            f"{srv.url}/healthz", verify=ssl.create_default_context(cafile=str(ca_file))
        )
    assert resp.status_code == 200
    assert resp.headers["Strict-Transport-Security"] == "max-age=31536000"
    assert resp.headers["Cache-Control"] == "no-store"


# == webhook serviceUri ===========================================================================
def test_webhook_service_uri_that_does_not_parse_is_400(api: Api) -> None:
    api.create_group()
    api.create_registry()
    resp = api.put(
        api.hook_path(),
        {"location": "westus", "properties": {"serviceUri": "http://[x", "actions": ["push"]}},
    )
    assert resp.status_code == 400, resp.text
    assert resp.json() == {
        "error": {
            "code": "WebhookInvalidParameterValue",
            "message": "The webhook serviceUri must be an absolute http or https URI.",
        }
    }
    assert api.get(api.hook_path()).status_code == 404


# == database unreachable at start ================================================================
def test_unreachable_database_at_start_says_why(tmp_path: Path) -> None:
    env = {**os.environ, "ACRCTL_CONFIG_DIR": str(tmp_path)}
    env.pop("ACRCTL_SERVER_DATABASE", None)
    proc = subprocess.run(
        [
            os.path.join(os.path.dirname(sys.executable), "acrctl"),
            "server",
            "--port",
            "0",
            "--database",
            "postgresql://u:secret@127.0.0.1:1/x",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 1
    assert proc.stderr.startswith(
        "ERROR: Cannot connect to the PostgreSQL database at 127.0.0.1 port 1 (database x, "
        'user u): connection failed: connection to server at "127.0.0.1", port 1 failed: '
        "Connection refused"
    ), proc.stderr
    assert "secret" not in proc.stderr + proc.stdout
    assert "Traceback" not in proc.stderr


# == implementations ==============================================================================
FALLBACK = """
import sys
sys.modules["httptools"] = sys.modules["uvloop"] = None  # not installed
import asyncio, httpx
from acrctl.server.serve import ServerConfig, ThreadedServer
with ThreadedServer(ServerConfig(), deliver=False) as srv:
    smuggled = httpx.post(srv.url + "/healthz", headers={"Content-Length": "5",
                                                         "Transfer-Encoding": "chunked"})
    loop = srv.server.config.get_loop_factory()
    print(srv.server.config.http_protocol_class.__name__, type(loop()).__module__,
          httpx.get(srv.url + "/healthz").status_code, smuggled.status_code)
"""


def test_without_httptools_and_uvloop_it_serves_with_h11_and_asyncio() -> None:
    out = subprocess.run(
        [sys.executable, "-c", FALLBACK], capture_output=True, text=True, timeout=60, check=True
    ).stdout.split()
    assert out == ["GuardedH11", "asyncio.unix_events", "200", "400"]


def test_with_httptools_and_uvloop_installed_it_serves_with_them() -> None:
    srv = ThreadedServer(ServerConfig(), deliver=False)
    try:
        config = srv.server.config
        config.load()
        loop_factory = config.get_loop_factory()
        assert loop_factory is not None
        loop = loop_factory()
        assert (config.http_protocol_class.__name__, type(loop).__module__) == (
            "GuardedHttpTools",
            "uvloop",
        )
        loop.close()
    finally:
        srv.app.backend.store.close()
