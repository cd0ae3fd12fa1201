"""Issue 11 item 5: webhook secrets in delivery records. customHeaders that cannot be sent
as HTTP headers (CR, LF, NUL, other control characters, non-Latin-1) are refused at create
and update with a 400 naming the header and never quoting its value; whatever a delivery
records (errors, the receiver's status reason, headers and body) has every secret masked,
whole, in part (6+ characters) or escaped. Real server on loopback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from webhook_server import Arm, Trickler, server

from acrctl.backend.webhooks import WEBHOOK
from acrctl.delivery_mask import Masker
from acrctl.server.serve import ThreadedServer
from acrctl.testing import WebhookReceiver

pytestmark = pytest.mark.server

HEADER = "Bearer TOPSECRET-4242"
SIGNING = "SIGNKEY-998877"
SECRETS = (HEADER, SIGNING, "PATHSECRET77", "QUERYSECRET77")
BAD_VALUE = (
    "The value of the custom header '{}' contains control characters (such as CR, LF "
    "or NUL) or characters outside Latin-1; it cannot be sent as an HTTP header."
)
BAD_NAME = (
    "The customHeaders name '{}' is not a valid HTTP header name (letters, digits and "
    "!#$%&'*+-.^_`|~ only)."
)


@pytest.fixture(scope="module")
def srv() -> Iterator[ThreadedServer]:
    s = server(webhook_allow=["127.0.0.0/8"], webhook_backoff=60)
    try:
        yield s
    finally:
        s.stop()


@pytest.fixture
def arm(srv: ThreadedServer) -> Iterator[Arm]:
    a = Arm(srv)
    a.setup_registry()
    try:
        yield a
    finally:
        a.close()


def assert_no_secret(text: str) -> None:
    """No secret, nor any 6 characters of one (in any letter case), in `text`."""
    low = text.lower()
    for secret in SECRETS:
        for i in range(len(secret) - 5):
            assert secret[i : i + 6].lower() not in low, f"{secret[i : i + 6]!r} of {secret!r}"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("Authorization", "Bearer TOPSECRET\r\n", BAD_VALUE.format("Authorization")),
        ("Authorization", "Bearer TOPSECRET\nX-Injected: 1", BAD_VALUE.format("Authorization")),
        ("X-Api-Key", "TOPSECRET\x00", BAD_VALUE.format("X-Api-Key")),
        ("X-Api-Key", "TOPSECRET\x1b[0m", BAD_VALUE.format("X-Api-Key")),
        ("X-Api-Key", "TOPSECRET\x85", BAD_VALUE.format("X-Api-Key")),
        ("X-Api-Key", "TOPSECRET \u2713", BAD_VALUE.format("X-Api-Key")),
        ("X-Api-Key\r\nX-Injected", "TOPSECRET", BAD_NAME.format("X-Api-Key\\r\\nX-Injected")),
        ("X Api Key", "TOPSECRET", BAD_NAME.format("X Api Key")),
    ],
)
def test_create_refuses_a_header_that_cannot_be_sent(
    arm: Arm, name: str, value: str, message: str
) -> None:
    answer = arm.put_hook("hook1", "http://127.0.0.1:9/hook", customHeaders={name: value})
    assert answer.status_code == 400
    assert answer.json()["error"] == {"code": "WebhookInvalidParameterValue", "message": message}
    assert "TOPSECRET" not in answer.text


def test_update_refuses_a_header_that_cannot_be_sent(arm: Arm) -> None:
    arm.hook("hookupdate", "http://127.0.0.1:9/hook", customHeaders={"Authorization": "Bearer a1"})
    answer = arm.http.patch(
        f"{arm.registry}/webhooks/hookupdate",
        json={"properties": {"customHeaders": {"Authorization": "Bearer TOPSECRET\r\n"}}},
    )
    assert answer.status_code == 400
    assert answer.json()["error"] == {
        "code": "WebhookInvalidParameterValue",
        "message": BAD_VALUE.format("Authorization"),
    }
    assert "TOPSECRET" not in answer.text


def test_a_latin1_header_value_is_accepted_and_sent(arm: Arm) -> None:
    with WebhookReceiver() as rx:
        arm.hook("hooklatin", rx.url(), customHeaders={"X-Name": "Ren\u00e9e"})
        arm.ping("hooklatin")
        assert rx.wait_for(1, timeout=5)
    # http.server decodes header bytes as Latin-1: the byte 0xE9 arrived
    assert rx.requests[0].header("X-Name") == "Ren\u00e9e"


def test_a_stored_unsendable_header_fails_without_leaking_it(srv: ThreadedServer, arm: Arm) -> None:
    # a webhook written before such values were refused: the HTTP library's error quoted
    # the value ("Illegal header value b'Bearer TOPSECRET\r\n'") into listEvents
    with WebhookReceiver() as rx:
        arm.hook("hookstored", rx.url(), customHeaders={"Authorization": "Bearer a1"})
        store = srv.app.backend.store
        [item] = [i for i in store.list(WEBHOOK) if i.name == "hookstored"]
        store.put(
            WEBHOOK,
            item.key,
            item.parent,
            item.name,
            item.doc,
            {**(item.secret or {}), "customHeaders": {"Authorization": HEADER + "\r\n"}},
        )
        arm.ping("hookstored")
        attempt = arm.first_attempt("hookstored")
        text = arm.events_text("hookstored")
        sent = len(rx.requests)
    assert attempt is not None
    assert attempt["error"] == BAD_VALUE.format("Authorization").replace("The ", "the ", 1).rstrip(
        "."
    )
    assert '"state":"failed"' in text.replace(" ", "")  # not retried: it can never be sent
    assert sent == 0
    assert_no_secret(text)


def test_list_events_never_shows_a_secret_the_receiver_echoes(arm: Arm) -> None:
    body = (
        "Authorization was "
        + HEADER
        + "; prefix Bearer TOPSEC; part SECRET-42; lower "
        + HEADER.lower()
        + "; escaped Bearer%20TOPSECRET-4242; signing SIGNKEY-99; "
        "query QUERYSECRET77; path /hooks/PATHSECRET77"
    ).encode()
    answer = (
        b"HTTP/1.1 200 OK TOPSECRET-4242\r\nX-Echo: "
        + HEADER.encode()
        + b"\r\nX-Sig: "
        + SIGNING[:8].encode()
        + f"\r\nContent-Length: {len(body)}\r\n\r\n".encode()
        + body
    )
    with Trickler(head=answer, answer=b"", interval=0) as echo:
        arm.hook(
            "hookecho",
            echo.url("/hooks/PATHSECRET77?token=QUERYSECRET77"),
            customHeaders={"Authorization": HEADER},
            signingSecret=SIGNING,
        )
        arm.ping("hookecho")
        attempt = arm.first_attempt("hookecho")
        text = arm.events_text("hookecho")
    assert attempt is not None and attempt["statusCode"] == 200
    assert_no_secret(text)
    [event] = arm.events("hookecho")
    response = event["eventResponseMessage"]
    assert response["reasonPhrase"] == "OK******"  # " TOPSE" is part of the secret too
    assert response["headers"]["x-echo"] == "******"
    assert response["content"] == (
        "Authorization was ******; prefix ******; part ******; lower ******; escaped "
        "******; signing ******; query ******; path ******"
    )


@pytest.mark.parametrize(
    "text",
    [
        "Illegal header value b'Bearer TOPSECRET-4242\\r\\n'",
        "Illegal header value 'Bearer TOPSECRET-4242\\r\\n'",
        '{"authorization": "Bearer TOPSECRET-4242\\r\\n"}',
        "Bearer%20TOPSECRET-4242%0D%0A",
    ],
)
def test_escaped_forms_of_a_header_value_are_masked(text: str) -> None:
    mask = Masker([HEADER + "\r\n"])
    assert_no_secret(mask(text))
