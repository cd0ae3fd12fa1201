"""Client fault handling, with pytest-httpx standing in for the server: throttling (429/503
with Retry-After, waited exactly as told through an injected sleep, within a total budget),
connection resets and timeouts, malformed bodies, and the rule that a non-idempotent POST
(ping, getCallbackConfig, listEvents, principal create) is never sent twice unless the
server's answer says it may be (a 429/503 that carries Retry-After)."""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from pytest_httpx import HTTPXMock

from acrctl.client import AcrClient, AcrctlError, ConnectionFailed, NotFoundError, ServiceError
from acrctl.client.arm import CONNECT_RETRIES, STATUS_RETRIES, ArmClient
from acrctl.client.errors import Throttled

ENDPOINT = "http://acr.test:8443"
SUB = "00000000-0000-0000-0000-00000000abcd"
REG = (
    f"{ENDPOINT}/subscriptions/{SUB}/resourceGroups/rg1/providers/"
    "Microsoft.ContainerRegistry/registries/myreg1"
)
HOOK = f"{REG}/webhooks/hook1"
THROTTLED = {"error": {"code": "TooManyRequests", "message": "Slow down."}}
UNAVAILABLE = {"error": {"code": "ServiceUnavailable", "message": "Try later."}}
REGISTRY: dict[str, Any] = {
    "id": REG.removeprefix(ENDPOINT),
    "name": "myreg1",
    "type": "Microsoft.ContainerRegistry/registries",
    "location": "westus",
    "sku": {"name": "Basic", "tier": "Basic"},
    "properties": {"provisioningState": "Succeeded", "loginServer": "myreg1.azurecr.io"},
}


class Recorder:
    """The injected sleep and on_retry: what the client waited and said."""

    def __init__(self) -> None:
        self.sleeps: list[float] = []
        self.lines: list[str] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)

    def say(self, line: str) -> None:
        self.lines.append(line)


@pytest.fixture
def rec() -> Recorder:
    return Recorder()


@pytest.fixture
def arm(rec: Recorder) -> ArmClient:
    return ArmClient(ENDPOINT, token="t0ken", sleep=rec.sleep, on_retry=rec.say, max_wait=60)


@pytest.fixture
def acr(rec: Recorder) -> AcrClient:
    return AcrClient(
        ENDPOINT, subscription=SUB, token="t0ken", sleep=rec.sleep, on_retry=rec.say, max_wait=60
    )


def sent(httpx_mock: HTTPXMock, method: str | None = None) -> list[httpx.Request]:
    return [r for r in httpx_mock.get_requests() if method is None or r.method == method]


# == 429 / 503 with Retry-After ====================================================================


def test_429_waits_exactly_retry_after_then_succeeds(
    httpx_mock: HTTPXMock, arm: ArmClient, rec: Recorder
) -> None:
    httpx_mock.add_response(
        url=f"{REG}?api-version=2025-11-01",
        status_code=429,
        headers={"Retry-After": "7"},
        json=THROTTLED,
    )
    httpx_mock.add_response(url=f"{REG}?api-version=2025-11-01", json=REGISTRY)
    assert arm.call("GET", REG.removeprefix(ENDPOINT))["name"] == "myreg1"
    assert rec.sleeps == [7.0]
    assert rec.lines == ["Server answered 429; retrying in 7s (Retry-After)."]


def test_503_and_millisecond_headers_are_honoured(
    httpx_mock: HTTPXMock, arm: ArmClient, rec: Recorder
) -> None:
    httpx_mock.add_response(status_code=503, headers={"Retry-After": "2"}, json=UNAVAILABLE)
    httpx_mock.add_response(status_code=429, headers={"retry-after-ms": "1500"})
    httpx_mock.add_response(status_code=503, headers={"x-ms-retry-after-ms": "250"})
    httpx_mock.add_response(json=REGISTRY)
    arm.call("GET", "/x")
    assert rec.sleeps == [2.0, 1.5, 0.25]
    assert len(rec.lines) == 3 and rec.lines[0].startswith("Server answered 503; retrying in 2s")
    assert "retrying in 1.5s" in rec.lines[1] and "retrying in 0.25s" in rec.lines[2]


def test_retry_after_as_an_http_date(httpx_mock: HTTPXMock, arm: ArmClient, rec: Recorder) -> None:
    when = email.utils.formatdate(time.time() + 30, usegmt=True)
    httpx_mock.add_response(status_code=429, headers={"Retry-After": when})
    httpx_mock.add_response(json={})
    arm.call("GET", "/x")
    assert len(rec.sleeps) == 1 and 27 <= rec.sleeps[0] <= 30


def test_503_without_retry_after_on_a_get_waits_a_default(
    httpx_mock: HTTPXMock, arm: ArmClient, rec: Recorder
) -> None:
    httpx_mock.add_response(status_code=503, json=UNAVAILABLE)
    httpx_mock.add_response(json={})
    arm.call("GET", "/x")
    assert rec.sleeps == [5.0]


def test_the_total_wait_is_bounded(httpx_mock: HTTPXMock, rec: Recorder) -> None:
    client = ArmClient(ENDPOINT, sleep=rec.sleep, on_retry=rec.say, max_wait=10)
    httpx_mock.add_response(
        status_code=429, headers={"Retry-After": "4"}, json=THROTTLED, is_reusable=True
    )
    with pytest.raises(Throttled) as info:
        client.call("GET", "/x")
    assert rec.sleeps == [4.0, 4.0]  # a third wait would pass the 10 s budget
    assert sum(rec.sleeps) <= 10
    assert len(rec.lines) == 2
    err = info.value
    assert (err.code, err.status, err.exit_code) == ("TooManyRequests", 429, 1)
    assert "Slow down." in err.message and "gave up after 2 retries and 8s" in err.message
    assert len(sent(httpx_mock)) == 3


def test_a_retry_after_beyond_the_budget_fails_at_once(
    httpx_mock: HTTPXMock, rec: Recorder
) -> None:
    client = ArmClient(ENDPOINT, sleep=rec.sleep, max_wait=10)
    httpx_mock.add_response(status_code=503, headers={"Retry-After": "3600"}, json=UNAVAILABLE)
    with pytest.raises(Throttled, match="Try later"):
        client.call("GET", "/x")
    assert rec.sleeps == []


def test_retry_after_zero_forever_is_bounded_too(
    httpx_mock: HTTPXMock, arm: ArmClient, rec: Recorder
) -> None:
    httpx_mock.add_response(
        status_code=429, headers={"Retry-After": "0"}, json=THROTTLED, is_reusable=True
    )
    with pytest.raises(Throttled):
        arm.call("GET", "/x")
    assert rec.sleeps == [0.0] * STATUS_RETRIES
    assert len(sent(httpx_mock)) == STATUS_RETRIES + 1


def test_a_throttled_put_is_retried_with_the_same_body(
    httpx_mock: HTTPXMock, arm: ArmClient, rec: Recorder
) -> None:
    httpx_mock.add_response(method="PUT", status_code=429, headers={"Retry-After": "1"})
    httpx_mock.add_response(method="PUT", json=REGISTRY)
    arm.lro("PUT", REG.removeprefix(ENDPOINT), {"location": "westus"})
    bodies = [r.content for r in sent(httpx_mock, "PUT")]
    assert len(bodies) == 2 and bodies[0] == bodies[1] == b'{"location": "westus"}'


# == non-idempotent POSTs =========================================================================

POSTS: dict[str, tuple[str, Callable[[AcrClient], Any], dict[str, Any]]] = {
    "ping": (
        f"{HOOK}/ping",
        lambda c: c.ping_webhook("rg1", "myreg1", "hook1"),
        {"id": "6b7c6c5e-0e1f-4a5e-9f84-2d0f5d0c7d11"},
    ),
    "getCallbackConfig": (
        f"{HOOK}/getCallbackConfig",
        lambda c: c.webhook_config("rg1", "myreg1", "hook1"),
        {"serviceUri": "https://example.test/h", "customHeaders": {}},
    ),
    "listEvents": (
        f"{HOOK}/listEvents",
        lambda c: c.webhook_events("rg1", "myreg1", "hook1"),
        {"value": []},
    ),
    "principal create": (
        f"{ENDPOINT}/subscriptions/{SUB}/providers/Microsoft.Authorization/principals",
        lambda c: c.create_principal("ci"),
        {"id": "p1", "displayName": "ci", "type": "Application", "token": "acr_x"},
    ),
}


@pytest.mark.parametrize("name", sorted(POSTS))
@pytest.mark.parametrize(
    "fault",
    [
        httpx.ReadTimeout("read timed out"),
        httpx.ReadError("[Errno 104] Connection reset by peer"),
        httpx.RemoteProtocolError("Server disconnected"),
        httpx.WriteTimeout("write timed out"),
    ],
    ids=["read-timeout", "reset", "disconnect", "write-timeout"],
)
def test_a_post_is_never_resent_after_a_timeout_or_reset(
    httpx_mock: HTTPXMock, acr: AcrClient, rec: Recorder, name: str, fault: Exception
) -> None:
    httpx_mock.add_exception(fault, method="POST")
    with pytest.raises(ConnectionFailed) as info:
        POSTS[name][1](acr)
    assert len(sent(httpx_mock, "POST")) == 1
    assert rec.sleeps == [] and rec.lines == []
    assert ENDPOINT in info.value.message
    assert "not sent twice" in info.value.message


@pytest.mark.parametrize("name", sorted(POSTS))
@pytest.mark.parametrize("status", [429, 503])
def test_a_post_is_resent_when_retry_after_allows_it(
    httpx_mock: HTTPXMock, acr: AcrClient, rec: Recorder, name: str, status: int
) -> None:
    url, call, body = POSTS[name]
    httpx_mock.add_response(
        method="POST", status_code=status, headers={"Retry-After": "2"}, json=THROTTLED
    )
    httpx_mock.add_response(method="POST", json=body)
    call(acr)
    assert len(sent(httpx_mock, "POST")) == 2
    assert rec.sleeps == [2.0]
    assert rec.lines == [f"Server answered {status}; retrying in 2s (Retry-After)."]


@pytest.mark.parametrize("name", sorted(POSTS))
@pytest.mark.parametrize("status", [429, 503])
def test_a_post_without_retry_after_is_not_resent(
    httpx_mock: HTTPXMock, acr: AcrClient, rec: Recorder, name: str, status: int
) -> None:
    httpx_mock.add_response(method="POST", status_code=status, json=UNAVAILABLE)
    with pytest.raises(ServiceError) as info:
        POSTS[name][1](acr)
    assert len(sent(httpx_mock, "POST")) == 1 and rec.sleeps == []
    assert (info.value.status, info.value.code) == (status, "ServiceUnavailable")


def test_a_patch_is_not_resent_after_a_timeout(httpx_mock: HTTPXMock, acr: AcrClient) -> None:
    httpx_mock.add_exception(httpx.ReadTimeout("slow"), method="PATCH")
    with pytest.raises(ConnectionFailed, match="timed out"):
        acr.update_registry("rg1", "myreg1", {"tags": {"a": "b"}})
    assert len(sent(httpx_mock, "PATCH")) == 1


# == idempotent methods and connection faults ================================================


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_an_idempotent_request_is_retried_after_a_reset(
    httpx_mock: HTTPXMock, arm: ArmClient, rec: Recorder, method: str
) -> None:
    httpx_mock.add_exception(httpx.ReadError("[Errno 104] Connection reset by peer"), method=method)
    httpx_mock.add_exception(httpx.ConnectTimeout("connect timed out"), method=method)
    httpx_mock.add_response(method=method, status_code=200, json={"ok": True})
    resp = arm.request(method, "/x", {"a": 1} if method == "PUT" else None)
    assert resp.status_code == 200
    assert len(sent(httpx_mock, method)) == 3
    assert rec.sleeps == [0.5, 1.0]
    assert len(rec.lines) == 2
    assert rec.lines[0].startswith(f"Could not connect to {ENDPOINT}")
    assert f"retrying {method} in 0.5s (1/{CONNECT_RETRIES})" in rec.lines[0]
    assert rec.lines[1].startswith(f"The request to {ENDPOINT} timed out (ConnectTimeout)")


@pytest.mark.parametrize(
    ("fault", "text"),
    [
        (httpx.ConnectError("[Errno 111] Connection refused"), "Could not connect to"),
        (httpx.ReadTimeout("timed out"), "timed out (ReadTimeout)"),
        (httpx.ReadError("[Errno 104] Connection reset by peer"), "Connection reset by peer"),
    ],
    ids=["refused", "timeout", "reset"],
)
def test_connection_failed_names_the_endpoint_after_bounded_retries(
    httpx_mock: HTTPXMock, arm: ArmClient, rec: Recorder, fault: Exception, text: str
) -> None:
    httpx_mock.add_exception(fault, is_reusable=True)
    with pytest.raises(ConnectionFailed) as info:
        arm.call("GET", "/x")
    assert len(sent(httpx_mock)) == 1 + CONNECT_RETRIES
    assert ENDPOINT in info.value.message and text in info.value.message
    assert info.value.exit_code == 1
    assert len(rec.sleeps) == CONNECT_RETRIES


def test_connect_retries_can_be_turned_off(httpx_mock: HTTPXMock, rec: Recorder) -> None:
    client = ArmClient(ENDPOINT, sleep=rec.sleep, connect_retries=0)
    httpx_mock.add_exception(httpx.ConnectError("refused"))
    with pytest.raises(ConnectionFailed, match="Is the server running"):
        client.call("GET", "/x")
    assert rec.sleeps == []


def test_lro_polls_survive_a_reset(httpx_mock: HTTPXMock, arm: ArmClient, rec: Recorder) -> None:
    status_url = f"{REG}/operationStatuses/op1?api-version=2025-11-01"
    creating = {
        **REGISTRY,
        "properties": {**REGISTRY["properties"], "provisioningState": "Creating"},
    }
    httpx_mock.add_response(
        method="PUT",
        status_code=201,
        json=creating,
        headers={"Azure-AsyncOperation": status_url, "Retry-After": "3"},
    )
    httpx_mock.add_exception(httpx.ReadError("reset"), url=status_url)
    httpx_mock.add_response(url=status_url, json={"status": "Succeeded"})
    httpx_mock.add_response(method="GET", url=f"{REG}?api-version=2025-11-01", json=REGISTRY)
    doc = arm.lro("PUT", REG.removeprefix(ENDPOINT), {"location": "westus"})
    assert doc["properties"]["provisioningState"] == "Succeeded"
    assert rec.sleeps == [3.0, 0.5]
    assert len(sent(httpx_mock, "PUT")) == 1


# == malformed bodies ========================================================================


@pytest.mark.parametrize(
    ("status", "kwargs", "cls"),
    [
        (500, {"html": "<html><body>Bad Gateway</body></html>"}, ServiceError),
        (502, {"content": b"\xff\xfe garbage"}, ServiceError),
        (404, {"text": "not json"}, NotFoundError),
        (400, {"json": {"error": "just a string"}}, ServiceError),
        (400, {"json": ["not", "an", "object"]}, ServiceError),
        (409, {"json": {"error": {"code": "Conflict"}}}, ServiceError),
    ],
    ids=["html-500", "binary-502", "text-404", "error-string", "error-list", "no-message"],
)
def test_non_arm_error_bodies_become_clear_errors(
    httpx_mock: HTTPXMock,
    arm: ArmClient,
    status: int,
    kwargs: dict[str, Any],
    cls: type[AcrctlError],
) -> None:
    httpx_mock.add_response(status_code=status, **kwargs)
    with pytest.raises(cls) as info:
        arm.call("GET", "/x")
    err = info.value
    assert err.status == status
    assert err.message
    if (
        "json" not in kwargs
        or not isinstance(kwargs["json"], dict)
        or not isinstance(kwargs["json"].get("error"), dict)
    ):
        assert err.message == f"The server answered HTTP {status} with no ARM error body."
        assert err.code == f"HTTP{status}"


@pytest.mark.parametrize(
    "content", [b"<html>ok</html>", b"{truncated", b"\x00\x01"], ids=["html", "truncated", "binary"]
)
def test_a_success_body_that_is_not_json_is_a_clear_error(
    httpx_mock: HTTPXMock, arm: ArmClient, content: bytes
) -> None:
    httpx_mock.add_response(status_code=200, content=content)
    with pytest.raises(AcrctlError) as info:
        arm.call("GET", "/x")
    assert info.value.code == "InvalidResponse"
    assert "not JSON (HTTP 200)" in info.value.message


@pytest.mark.parametrize(
    "page",
    [["a", "b"], {"value": "nope"}, {"value": [], "nextLink": 5}, "text"],
    ids=["list", "value-string", "bad-next", "string"],
)
def test_a_malformed_list_page_is_a_clear_error(
    httpx_mock: HTTPXMock, arm: ArmClient, page: Any
) -> None:
    httpx_mock.add_response(json=page)
    with pytest.raises(AcrctlError) as info:
        arm.list("/x")
    assert info.value.code == "InvalidResponse"


@pytest.mark.parametrize(
    "body",
    [["a"], "text", {"properties": "x"}, 5],
    ids=["list", "string", "properties-string", "number"],
)
def test_a_malformed_lro_answer_is_a_clear_error(
    httpx_mock: HTTPXMock, arm: ArmClient, body: Any
) -> None:
    httpx_mock.add_response(method="PUT", status_code=201, json=body)
    with pytest.raises(AcrctlError) as info:
        arm.lro("PUT", "/x", {})
    assert info.value.code == "InvalidResponse"


def test_a_malformed_operation_status_is_a_clear_error(
    httpx_mock: HTTPXMock, arm: ArmClient, rec: Recorder
) -> None:
    status_url = f"{ENDPOINT}/op?api-version=2025-11-01"
    httpx_mock.add_response(
        method="PUT",
        status_code=201,
        headers={"Azure-AsyncOperation": status_url},
        json={"properties": {"provisioningState": "Creating"}},
    )
    httpx_mock.add_response(url=status_url, json=["Succeeded"])
    with pytest.raises(AcrctlError, match="operation status"):
        arm.lro("PUT", "/x", {})


def test_a_failed_operation_with_a_string_error(httpx_mock: HTTPXMock, arm: ArmClient) -> None:
    status_url = f"{ENDPOINT}/op?api-version=2025-11-01"
    httpx_mock.add_response(
        method="PUT",
        status_code=201,
        headers={"Azure-AsyncOperation": status_url},
        json={"properties": {"provisioningState": "Creating"}},
    )
    httpx_mock.add_response(url=status_url, json={"status": "Failed", "error": "boom"})
    with pytest.raises(AcrctlError, match="ended Failed"):
        arm.lro("PUT", "/x", {})


@pytest.mark.parametrize(
    "body", [{}, {"id": 5, "name": "x"}, ["x"], "x"], ids=["empty", "wrong-types", "list", "string"]
)
@pytest.mark.parametrize("typed", [True, False])
def test_acr_client_turns_unreadable_resources_into_clear_errors(
    httpx_mock: HTTPXMock, rec: Recorder, body: Any, typed: bool
) -> None:
    client = AcrClient(ENDPOINT, subscription=SUB, sleep=rec.sleep, typed=typed)
    httpx_mock.add_response(url=f"{REG}?api-version=2025-11-01", json=body)
    if typed or not isinstance(body, dict):
        with pytest.raises(AcrctlError) as info:
            client.get_registry("rg1", "myreg1")
        assert info.value.code == "InvalidResponse"
        assert "Registry" in info.value.message
    else:
        client.get_registry("rg1", "myreg1")  # an untyped view reads what is there


def test_a_valid_answer_still_reads(httpx_mock: HTTPXMock, acr: AcrClient) -> None:
    httpx_mock.add_response(url=f"{REG}?api-version=2025-11-01", json=REGISTRY)
    assert acr.get_registry("rg1", "myreg1").name == "myreg1"


def test_max_wait_bounds_connection_retries_too(httpx_mock: HTTPXMock, rec: Recorder) -> None:
    """A caller that may not wait (shell completion: max_wait=0) fails at once."""
    client = ArmClient(ENDPOINT, sleep=rec.sleep, max_wait=0)
    httpx_mock.add_exception(httpx.ConnectError("refused"))
    with pytest.raises(ConnectionFailed):
        client.call("GET", "/x")
    assert rec.sleeps == [] and len(sent(httpx_mock)) == 1
