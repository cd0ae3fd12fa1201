"""Webhook delivery on the in-process backend: real HTTP to listeners on 127.0.0.1."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from typing import Any

import pytest

from acrctl.backend.core import Backend
from acrctl.backend.sqlite import SqliteStore
from acrctl.backend.webhooks import scope_matches
from acrctl.client.acr import AcrClient
from acrctl.client.errors import AcrctlError
from acrctl.delivery import Deliverer, deliver_due
from acrctl.testing import AcrctlMock, WebhookReceiver

RG, REG = "rg1", "myreg1"


@pytest.fixture
def rx() -> Any:
    with WebhookReceiver() as receiver:
        yield receiver


def setup_registry(client: AcrClient, sku: str = "Basic") -> None:
    client.create_group(RG, "westus")
    client.create_registry(RG, REG, {"location": "westus", "sku": {"name": sku}})


def hook(
    client: AcrClient,
    name: str,
    uri: str,
    actions: list[str] | None = None,
    location: str = "westus",
    **props: Any,
) -> None:
    client.create_webhook(
        RG,
        REG,
        name,
        {
            "location": location,
            "properties": {"serviceUri": uri, "actions": actions or ["push"], **props},
        },
    )


def events(client: AcrClient, name: str = "hook1") -> list[dict[str, Any]]:
    return [e.to_arm() for e in client.webhook_events(RG, REG, name)]


# -- ping, payloads, listEvents --------------------------------------------------------------
def test_ping_arrives_with_headers_and_payload_and_is_listed(
    acrctl_mock: AcrctlMock, rx: WebhookReceiver
) -> None:
    client = acrctl_mock.client()
    setup_registry(client)
    hook(client, "hook1", rx.url("/hook?token=abc123"), customHeaders={"X-Api-Key": "k-42"})
    event_id = client.ping_webhook(RG, REG, "hook1").id
    assert acrctl_mock.deliver() == 1
    assert len(rx.requests) == 1
    got = rx.requests[0]
    assert (got.method, got.path) == ("POST", "/hook?token=abc123")
    assert got.header("Content-Type") == "application/json"
    assert got.header("X-Api-Key") == "k-42"
    payload = got.json()
    assert payload["action"] == "ping"
    assert payload["request"]["host"] == "myreg1.azurecr.io"
    [ev] = events(client)
    assert ev["id"] == event_id
    req, resp = ev["eventRequestMessage"], ev["eventResponseMessage"]
    assert req["content"] == payload
    assert req["method"] == "POST" and req["version"] == "1.1"
    assert req["headers"]["X-Api-Key"] == "******"
    assert req["headers"]["Content-Type"] == "application/json"
    assert req["headers"]["Content-Length"] == str(len(got.body))
    assert req["requestUri"] == f"http://127.0.0.1:{rx.port}/******?******"
    assert resp["statusCode"] == "200" and resp["reasonPhrase"] == "OK"
    assert resp["content"] == "ok"
    assert ev["delivery"]["state"] == "delivered"


def test_a_custom_content_type_replaces_the_default(
    acrctl_mock: AcrctlMock, rx: WebhookReceiver
) -> None:
    client = acrctl_mock.client()
    setup_registry(client)
    hook(client, "hook1", rx.url(), customHeaders={"content-type": "application/x-custom"})
    client.ping_webhook(RG, REG, "hook1")
    acrctl_mock.deliver()
    assert rx.requests[0].header("Content-Type") == "application/x-custom"


def test_response_content_is_truncated_to_one_kib(acrctl_mock: AcrctlMock) -> None:
    client = acrctl_mock.client()
    setup_registry(client)
    with WebhookReceiver(echo=True, headers={"X-Pad": "p" * 2000}) as echo:
        hook(client, "hook1", echo.url("/" + "x" * 3000))
        client.ping_webhook(RG, REG, "hook1")
        acrctl_mock.deliver()
    resp = events(client)[0]["eventResponseMessage"]
    assert len(resp["content"].encode()) <= 1024
    assert resp["statusCode"] == "200"


def test_list_events_is_paged_newest_first(acrctl_mock: AcrctlMock, rx: WebhookReceiver) -> None:
    client = acrctl_mock.client()
    setup_registry(client)
    hook(client, "hook1", rx.url())
    ids = [client.ping_webhook(RG, REG, "hook1").id for _ in range(5)]
    acrctl_mock.backend.settings.page_size = 2
    assert [e["id"] for e in events(client)] == ids[::-1]
    page = client.call(
        "POST",
        f"/subscriptions/{acrctl_mock.subscription}/resourceGroups/{RG}"
        f"/providers/Microsoft.ContainerRegistry/registries/{REG}/webhooks/"
        "hook1/listEvents",
    )
    assert len(page["value"]) == 2 and page["nextLink"]


# -- retries -----------------------------------------------------------------------------------
def test_500_twice_then_200_gets_three_recorded_attempts(acrctl_mock: AcrctlMock) -> None:
    acrctl_mock.backend.settings.webhook_backoff = 0.02
    client = acrctl_mock.client()
    setup_registry(client)
    with WebhookReceiver(statuses=[500, 500, 200]) as flaky:
        hook(client, "hook1", flaky.url())
        client.ping_webhook(RG, REG, "hook1")
        assert acrctl_mock.deliver(wait_retries=True) == 3
        assert len(flaky.requests) == 3
        assert len({r.body for r in flaky.requests}) == 1  # the same payload every time
    [ev] = events(client)
    attempts = ev["delivery"]["attempts"]
    assert [a["statusCode"] for a in attempts] == [500, 500, 200]
    assert [a["attempt"] for a in attempts] == [1, 2, 3]
    assert ev["delivery"]["state"] == "delivered"
    assert ev["eventResponseMessage"]["statusCode"] == "200"


def test_gives_up_after_the_configured_attempts(acrctl_mock: AcrctlMock) -> None:
    settings = acrctl_mock.backend.settings
    settings.webhook_backoff, settings.webhook_max_attempts = 0.01, 3
    client = acrctl_mock.client()
    setup_registry(client)
    with WebhookReceiver(statuses=[503] * 10) as down:
        hook(client, "hook1", down.url())
        client.ping_webhook(RG, REG, "hook1")
        acrctl_mock.deliver(wait_retries=True)
        assert acrctl_mock.deliver(wait_retries=True) == 0
        assert len(down.requests) == 3
    ev = events(client)[0]
    assert ev["delivery"]["state"] == "failed"
    assert ev["eventResponseMessage"]["statusCode"] == "503"


def test_connection_failures_and_timeouts_are_recorded_and_retried(acrctl_mock: AcrctlMock) -> None:
    settings = acrctl_mock.backend.settings
    settings.webhook_backoff, settings.webhook_timeout = 60, 0.3
    client = acrctl_mock.client()
    setup_registry(client)
    closed = WebhookReceiver()
    closed.close()  # nothing listens on this port any more
    hook(client, "hook1", closed.url("/down?token=SECRET1"))
    with WebhookReceiver(delay=1.0) as slow:
        hook(client, "hook2", slow.url())
        client.ping_webhook(RG, REG, "hook1")
        client.ping_webhook(RG, REG, "hook2")
        acrctl_mock.deliver()
    refused = events(client, "hook1")[0]
    assert refused["delivery"]["state"] == "pending"
    assert refused["delivery"]["nextAttemptAt"]
    error = refused["delivery"]["attempts"][0]["error"]
    assert error.startswith("connection failed") and "SECRET1" not in error
    assert refused["eventResponseMessage"]["statusCode"] is None
    timed_out = events(client, "hook2")[0]
    assert timed_out["delivery"]["attempts"][0]["error"] == "no answer within 0.3s"


def test_a_redirect_is_not_followed(acrctl_mock: AcrctlMock, rx: WebhookReceiver) -> None:
    client = acrctl_mock.client()
    setup_registry(client)
    with WebhookReceiver(statuses=[302], headers={"Location": rx.url("/elsewhere")}) as redir:
        hook(client, "hook1", redir.url())
        client.ping_webhook(RG, REG, "hook1")
        acrctl_mock.deliver()
    attempt = events(client)[0]["delivery"]["attempts"][0]
    assert attempt["statusCode"] == 302 and attempt["error"] == "redirects are not followed"
    assert rx.requests == []


# -- redelivery ----------------------------------------------------------------------------
def test_redeliver_sends_a_past_event_again(acrctl_mock: AcrctlMock, rx: WebhookReceiver) -> None:
    client = acrctl_mock.client()
    setup_registry(client)
    hook(client, "hook1", rx.url())
    first = client.ping_webhook(RG, REG, "hook1").id
    acrctl_mock.deliver()
    again = client.redeliver_webhook_event(RG, REG, "hook1", first).id
    assert again != first
    acrctl_mock.deliver()
    assert len(rx.requests) == 2
    assert rx.requests[0].json() == rx.requests[1].json()  # same payload, same payload id
    newest, oldest = events(client)
    assert (newest["id"], oldest["id"]) == (again, first)
    assert newest["delivery"]["redeliveryOf"] == first
    assert newest["eventResponseMessage"]["statusCode"] == "200"


def test_redeliver_unknown_or_invalid_event(acrctl_mock: AcrctlMock, rx: WebhookReceiver) -> None:
    client = acrctl_mock.client()
    setup_registry(client)
    hook(client, "hook1", rx.url())
    with pytest.raises(AcrctlError) as missing:
        client.redeliver_webhook_event(RG, REG, "hook1", "00000000-0000-0000-0000-000000000000")
    assert missing.value.status == 404 and missing.value.code == "WebhookEventNotFound"
    with pytest.raises(AcrctlError) as bad:
        client.redeliver_webhook_event(RG, REG, "hook1", "../../x")
    assert bad.value.status == 400


def test_redeliver_needs_the_action(acrctl_mock: AcrctlMock, rx: WebhookReceiver) -> None:
    client = acrctl_mock.client()
    setup_registry(client)
    hook(client, "hook1", rx.url())
    first = client.ping_webhook(RG, REG, "hook1").id
    reader, _ = acrctl_mock.principal("ci", role="Reader")
    with pytest.raises(AcrctlError) as denied:
        acrctl_mock.client(reader).redeliver_webhook_event(RG, REG, "hook1", first)
    assert denied.value.status == 403
    assert "webhooks/redeliver/action" in str(denied.value)
    contributor, _ = acrctl_mock.principal("dev", role="Contributor")
    assert acrctl_mock.client(contributor).redeliver_webhook_event(RG, REG, "hook1", first).id


# -- emit: status, actions, scope, location ----------------------------------------------------
@pytest.mark.parametrize(
    ("scope", "repo", "tag", "fires"),
    [
        ("", "app", "v1", True),
        ("", "other", None, True),
        ("app:*", "app", "v1", True),
        ("app:*", "app", None, True),
        ("app:*", "app2", "v1", False),
        ("app:v1", "app", "v1", True),
        ("app:v1", "app", "v2", False),
        ("app:v1", "app", None, False),
        ("app", "app", "latest", True),
        ("app", "app", "v1", False),
        ("App:*", "app", "v1", True),
        ("app:V1", "app", "v1", False),
        ("team/*:*", "team/api", "v1", True),
        ("team/*:*", "other/api", "v1", False),
    ],
)
def test_scope_matching(scope: str, repo: str, tag: str | None, fires: bool) -> None:
    assert scope_matches(scope, repo, tag) is fires


def test_emit_honours_status_actions_scope_and_location(
    acrctl_mock: AcrctlMock, rx: WebhookReceiver
) -> None:
    client = acrctl_mock.client()
    setup_registry(client, "Premium")
    client.create_replication(RG, REG, "eastus", {"location": "eastus"})
    hook(client, "everything", rx.url("/everything"), ["push", "delete"])
    hook(client, "apptags", rx.url("/apptags"), scope="app:*")
    hook(client, "appv1", rx.url("/appv1"), scope="app:v1")
    hook(client, "applatest", rx.url("/applatest"), scope="app")
    hook(client, "disabled", rx.url("/disabled"), status="disabled")
    hook(client, "eastonly", rx.url("/eastonly"), location="eastus")
    hook(client, "charts", rx.url("/charts"), ["chart_push", "chart_delete"])
    hook(client, "quarantine", rx.url("/quarantine"), ["quarantine"])
    emit = acrctl_mock.backend.webhooks.emit

    def fired(*args: Any, **kw: Any) -> set[str]:
        return {e["webhook"].rsplit("/", 1)[1] for e in emit(*args, **kw)}

    assert fired(REG, "westus", "push", "app", "v1", digest="sha256:a", size=524) == {
        "everything",
        "apptags",
        "appv1",
    }
    assert fired(REG, None, "push", "app", "latest") == {"everything", "apptags", "applatest"}
    assert fired(REG, "East US", "push", "app", "v1") == {"eastonly"}
    assert fired(REG, "westus", "delete", "app", digest="sha256:a") == {"everything"}
    assert fired(
        REG,
        "westus",
        "chart_push",
        "charts/wordpress",
        "wordpress-5.4.0.tgz",
        name="wordpress",
        version="5.4.0",
        digest="sha256:c",
        size=9,
    ) == {"charts"}
    assert fired(REG, "westus", "quarantine", "app", "v1", digest="sha256:q") == {"quarantine"}
    assert fired(REG, "northeurope", "push", "app", "v1") == set()
    client.update_webhook(RG, REG, "disabled", {"properties": {"status": "enabled"}})
    assert "disabled" in fired(REG, "westus", "push", "app", "v1")
    with pytest.raises(Exception, match="not a webhook action"):
        emit(REG, "westus", "ping", "app")
    with pytest.raises(Exception, match="could not be found"):
        emit("nosuchreg", "westus", "push", "app")

    acrctl_mock.deliver()
    by_path = {r.path: r.json() for r in rx.requests}
    push = [r.json() for r in rx.requests if r.path == "/appv1"][0]
    assert push["action"] == "push"
    assert push["target"] == {
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "size": 524,
        "digest": "sha256:a",
        "length": 524,
        "repository": "app",
        "tag": "v1",
    }
    assert push["request"]["method"] == "PUT" and push["request"]["host"] == "myreg1.azurecr.io"
    chart = by_path["/charts"]
    assert chart["target"] == {
        "mediaType": "application/vnd.acr.helm.chart",
        "size": 9,
        "digest": "sha256:c",
        "repository": "charts/wordpress",
        "tag": "wordpress-5.4.0.tgz",
        "name": "wordpress",
        "version": "5.4.0",
    }
    assert "request" not in chart
    delete = [
        r.json() for r in rx.requests if r.path == "/everything" and r.json()["action"] == "delete"
    ][0]
    assert delete["target"] == {
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "digest": "sha256:a",
        "repository": "app",
    }
    assert delete["request"]["method"] == "DELETE"
    assert by_path["/quarantine"]["action"] == "quarantine"
    assert len(rx.requests) == 14


def test_deleting_a_webhook_drops_its_undelivered_events(
    acrctl_mock: AcrctlMock, rx: WebhookReceiver
) -> None:
    client = acrctl_mock.client()
    setup_registry(client)
    hook(client, "hook1", rx.url())
    client.ping_webhook(RG, REG, "hook1")
    client.delete_webhook(RG, REG, "hook1")
    assert acrctl_mock.deliver() == 0
    assert acrctl_mock.backend.webhooks.next_due() is None
    assert rx.requests == []


# -- destination policy ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("uri", "reason"),
    [
        (
            "http://169.254.169.254/latest/meta-data/iam?token=SECRET9",
            "destination refused: 169.254.169.254 is link-local (cloud metadata range) and never "
            "allowed",
        ),
        (
            "http://[fe80::1]:8080/x/SECRET9",
            "destination refused: fe80::1 is IPv6 link-local and never allowed",
        ),
        (
            "http://[::ffff:169.254.169.254]/SECRET9",
            "destination refused: ::ffff:169.254.169.254 resolves to 169.254.169.254 is link-local",
        ),
    ],
)
def test_policy_refuses_link_local_and_metadata(
    acrctl_mock: AcrctlMock, uri: str, reason: str
) -> None:
    client = acrctl_mock.client()
    setup_registry(client)
    hook(client, "hook1", uri)
    client.ping_webhook(RG, REG, "hook1")
    acrctl_mock.deliver()
    [ev] = events(client)
    assert ev["delivery"]["state"] == "failed"  # a refusal is not retried
    [attempt] = ev["delivery"]["attempts"]
    assert attempt["error"].startswith(reason.split(" is ")[0])
    assert "never allowed" in attempt["error"]
    assert "SECRET9" not in json.dumps(ev)
    assert "statusCode" not in attempt


def test_policy_refuses_a_denied_network(acrctl_mock: AcrctlMock, rx: WebhookReceiver) -> None:
    acrctl_mock.backend.settings.webhook_deny = ["127.0.0.0/24"]
    client = acrctl_mock.client()
    setup_registry(client)
    hook(client, "hook1", rx.url("/x?token=SECRET8"))
    client.ping_webhook(RG, REG, "hook1")
    acrctl_mock.deliver()
    ev = events(client)[0]
    assert ev["delivery"]["attempts"][0]["error"] == (
        "destination refused: 127.0.0.1 is in the denied network 127.0.0.0/24 (webhook_deny)"
    )
    assert ev["delivery"]["state"] == "failed"
    assert rx.requests == []


def test_server_default_refuses_loopback_until_allowed(
    acrctl_mock: AcrctlMock, rx: WebhookReceiver
) -> None:
    client = acrctl_mock.client()
    setup_registry(client)
    hook(client, "hook1", rx.url())
    client.ping_webhook(RG, REG, "hook1")
    assert deliver_due(acrctl_mock.backend, local_default=False) == 1  # the server default
    error = events(client)[0]["delivery"]["attempts"][0]["error"]
    assert error == (
        "destination refused: 127.0.0.1 is a loopback address; an operator can "
        "allow it with the server setting webhook_allow or webhook_allow_local"
    )
    acrctl_mock.backend.settings.webhook_allow = ["127.0.0.1/32"]
    client.ping_webhook(RG, REG, "hook1")
    deliver_due(acrctl_mock.backend, local_default=False)
    assert len(rx.requests) == 1


def test_a_hostname_is_refused_if_any_address_is_denied(acrctl_mock: AcrctlMock) -> None:
    from acrctl.delivery import Policy, Refused

    def resolver(host: str, port: int, **kw: Any) -> list[Any]:
        return [(2, 1, 6, "", ("93.184.216.34", port)), (2, 1, 6, "", ("169.254.169.254", port))]

    policy = Policy(resolver=resolver)
    with pytest.raises(Refused) as exc:
        policy.resolve("https://hooks.example.com/path?token=SECRET")
    assert exc.value.reason == (
        "destination refused: hooks.example.com resolves to "
        "169.254.169.254 is link-local (cloud metadata range) and never "
        "allowed"
    )
    assert "SECRET" not in exc.value.reason


def test_policy_rules() -> None:
    import ipaddress

    from acrctl.delivery import Policy, Refused

    ip = ipaddress.ip_address
    strict = Policy()
    assert strict.check(ip("93.184.216.34")) is None
    for local in ("127.0.0.1", "10.1.2.3", "192.168.1.1", "100.64.0.1", "fd00::1", "::1"):
        assert strict.check(ip(local)) is not None, local
    assert Policy(allow_local=True).check(ip("10.1.2.3")) is None
    for never in (
        "169.254.169.254",
        "fe80::1",
        "0.0.0.0",
        "224.0.0.1",
        "100.100.100.200",
        "fd00:ec2::254",
        "64:ff9b::a9fe:a9fe",
    ):
        everything = Policy(
            allow=[ipaddress.ip_network("0.0.0.0/0"), ipaddress.ip_network("::/0")],
            allow_local=True,
        )
        assert "never allowed" in (everything.check(ip(never)) or ""), never
    only = Policy(allow=[ipaddress.ip_network("10.0.0.0/8")], allow_public=False)
    assert only.check(ip("10.0.0.1")) is None
    assert only.check(ip("93.184.216.34")) is not None
    deny_wins = Policy(
        allow=[ipaddress.ip_network("10.0.0.0/8")], deny=[ipaddress.ip_network("10.9.0.0/16")]
    )
    assert "denied network" in (deny_wins.check(ip("10.9.0.1")) or "")
    for bad in ("ftp://example.com/x", "file:///etc/passwd", "http:///nohost"):
        with pytest.raises(Refused, match="only http and https"):
            strict.resolve(bad)


def test_policy_settings_are_validated() -> None:
    from acrctl.backend.core import Settings
    from acrctl.delivery import Policy

    p = Policy.from_settings(
        Settings(webhook_allow=["10.0.0.0/8", " 127.0.0.1"], webhook_allow_local=False)
    )
    assert [str(n) for n in p.allow] == ["10.0.0.0/8", "127.0.0.1/32"]
    with pytest.raises(ValueError, match="webhook_deny has an invalid network 'nope'"):
        Policy.from_settings(Settings(webhook_deny=["nope"]))


# -- signing -----------------------------------------------------------------------------------
def test_signature_verifies_with_the_documented_recipe(
    acrctl_mock: AcrctlMock, rx: WebhookReceiver
) -> None:
    client = acrctl_mock.client()
    setup_registry(client)
    hook(client, "hook1", rx.url(), signingSecret="s3cr3t-signing-key")
    client.ping_webhook(RG, REG, "hook1")
    acrctl_mock.deliver()
    got = rx.requests[0]
    timestamp = got.header("X-Acrctl-Timestamp")
    signature = got.header("X-Acrctl-Signature")
    assert timestamp is not None and signature is not None
    # the recipe of docs/webhooks.md, written independently of acrctl.delivery
    expected = (
        "sha256="
        + hmac.new(
            b"s3cr3t-signing-key", timestamp.encode() + b"." + got.body, hashlib.sha256
        ).hexdigest()
    )
    assert hmac.compare_digest(signature, expected)
    assert abs(time.time() - int(timestamp)) < 60
    from acrctl.delivery import verify

    assert verify("s3cr3t-signing-key", timestamp, got.body, signature)
    assert not verify("s3cr3t-signing-key", timestamp, got.body + b" ", signature)
    assert not verify("other", timestamp, got.body, signature)
    assert not verify(
        "s3cr3t-signing-key", timestamp, got.body, signature, now=int(timestamp) + 301
    )
    ev = events(client)[0]
    assert ev["eventRequestMessage"]["headers"]["X-Acrctl-Signature"] == signature
    assert "s3cr3t-signing-key" not in json.dumps(ev)
    assert "s3cr3t-signing-key" not in json.dumps(client.get_webhook(RG, REG, "hook1").to_arm())


def test_no_signature_headers_without_a_secret(
    acrctl_mock: AcrctlMock, rx: WebhookReceiver
) -> None:
    client = acrctl_mock.client()
    setup_registry(client)
    hook(client, "hook1", rx.url())
    client.ping_webhook(RG, REG, "hook1")
    acrctl_mock.deliver()
    assert rx.requests[0].header("X-Acrctl-Signature") is None


# -- concurrency -------------------------------------------------------------------------------
def test_a_slow_endpoint_does_not_delay_another(acrctl_mock: AcrctlMock) -> None:
    client = acrctl_mock.client()
    setup_registry(client, "Standard")
    with WebhookReceiver(delay=3.0) as slow, WebhookReceiver() as fast:
        hook(client, "slowhook", slow.url())
        # another host (the cap is per receiving host): localhost, not 127.0.0.1
        hook(client, "fasthook", fast.url().replace("127.0.0.1", "localhost"))
        for _ in range(5):  # more than the per-endpoint cap, queued first
            client.ping_webhook(RG, REG, "slowhook")
        client.ping_webhook(RG, REG, "fasthook")
        d = Deliverer(acrctl_mock.backend, local_default=True)
        t0 = time.monotonic()
        d.run_once()
        assert fast.wait_for(1, timeout=2.0)
        assert fast.requests[0].at - t0 < 1.0
        while d.inflight > 2 and time.monotonic() - t0 < 2:  # the fast one being recorded
            time.sleep(0.01)
        assert d.inflight == 2  # the slow webhook holds no more than its cap
        d.run_once(force=True)
        assert d.inflight == 2
        assert d.wait(10)
        assert slow.wait_for(2, timeout=1.0)


def test_two_workers_on_one_database_never_double_send(
    acrctl_mock: AcrctlMock, rx: WebhookReceiver
) -> None:
    client = acrctl_mock.client()
    setup_registry(client)
    hook(client, "hook1", rx.url())
    ids = {client.ping_webhook(RG, REG, "hook1").id for _ in range(30)}
    other = Backend(SqliteStore(acrctl_mock.path))  # a second process's connection
    workers = [Deliverer(b, local_default=True) for b in (acrctl_mock.backend, other)]
    for w in workers:
        w.per_endpoint = w.workers = 30
    barrier = threading.Barrier(2)

    def go(d: Deliverer) -> None:
        barrier.wait()
        d.run_once(force=True)
        d.wait(10)

    threads = [threading.Thread(target=go, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    deliver_due(acrctl_mock.backend)
    assert rx.wait_for(30), [
        (e["delivery"], len(rx.requests))
        for e in events(client)
        if e["delivery"]["state"] != "delivered"
    ]
    time.sleep(0.2)
    assert len(rx.requests) == 30
    evs = events(client)
    assert {e["id"] for e in evs} == ids
    assert all(len(e["delivery"]["attempts"]) == 1 for e in evs)
    other.store.close()


def test_an_expired_lease_is_claimed_again(acrctl_mock: AcrctlMock, rx: WebhookReceiver) -> None:
    client = acrctl_mock.client()
    setup_registry(client)
    hook(client, "hook1", rx.url())
    client.ping_webhook(RG, REG, "hook1")
    hooks = acrctl_mock.backend.webhooks
    now = time.time()
    [claim] = hooks.claim_due(now)  # a worker that dies before recording anything
    assert hooks.claim_due(now + 1) == []
    [again] = hooks.claim_due(now + acrctl_mock.backend.settings.webhook_lease + 1)
    assert again.event_id == claim.event_id and again.lease_id != claim.lease_id
    late = {"attempt": 1, "statusCode": 500}
    assert hooks.record_attempt(claim.event_key, late, claim.lease_id) == "sending"
    ok = {"attempt": 1, "statusCode": 200}
    assert hooks.record_attempt(again.event_key, ok, again.lease_id) == "delivered"
    assert len(events(client)[0]["delivery"]["attempts"]) == 2


def test_backoff_grows_exponentially_with_jitter(acrctl_mock: AcrctlMock) -> None:
    hooks = acrctl_mock.backend.webhooks
    settings = acrctl_mock.backend.settings
    settings.webhook_backoff, settings.webhook_backoff_max = 1.0, 10
    for tries, full in ((1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0), (5, 10.0), (9, 10.0)):
        delays = [hooks.backoff(tries) for _ in range(50)]
        assert all(full / 2 <= d <= full for d in delays)
        assert len(set(delays)) > 1
