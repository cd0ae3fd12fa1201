"""Webhook delivery: the sender that empties the outbox (acrctl.backend.webhooks).

The backend records every event before it is sent and knows nothing of HTTP; this module
claims due events from the store (compare-and-set to `sending` under a lease longer than an
attempt can last, so two workers on one database never both send an event), POSTs each one
on its own short-lived thread (bounded, with a per-host cap: a slow or dead receiver never
takes the whole pool), each attempt under one total deadline (acrctl.delivery_http), and
hands each attempt back to `backend.webhooks.record_attempt`, which schedules the retry.

Destination policy (see docs/webhooks.md): only http/https; the host is resolved once and
the request goes to the resolved address (no second lookup, no redirects); it is refused if
ANY resolved address is link-local / cloud metadata (always), in a denied network, or local
(loopback, private, CGNAT, ULA) while the policy does not allow local destinations
(acrctl.delivery_policy). Deliveries are signed when the webhook has a signing secret
(acrctl.delivery_signing). Both modules' names are re-exported here.

Secrets (the serviceUri and customHeaders values, the signing secret) never reach a log
line, a recorded attempt or an error reason, in whole or in part (acrctl.delivery_mask).
"""

from __future__ import annotations

import json
import logging
import ssl
import threading
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from acrctl import __version__, delivery_http
from acrctl.backend.webhooks import MASK, Claim, header_problem
from acrctl.delivery_mask import Masker, uri_secrets
from acrctl.delivery_policy import (
    ALWAYS_DENIED,
    IP,
    THREAD_PREFIX,
    Net,
    Policy,
    Refused,
    Target,
)
from acrctl.delivery_signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign, verify

if TYPE_CHECKING:
    from acrctl.backend.core import Backend

__all__ = [
    "ALWAYS_DENIED",
    "IP",
    "SIGNATURE_HEADER",
    "THREAD_PREFIX",
    "TIMESTAMP_HEADER",
    "Deliverer",
    "DeliveryWorker",
    "Net",
    "Policy",
    "Refused",
    "Target",
    "deliver_due",
    "masker_for",
    "sign",
    "unsendable_header",
    "verify",
]

log = logging.getLogger("acrctl.delivery")

USER_AGENT = f"acrctl-webhook/{__version__}"
RESPONSE_LIMIT = 1024  # bytes of a receiver's answer kept in the event record
HEADER_LIMIT = 50  # response headers kept
LEASE_FACTOR = 2.0  # a claim's lease is at least this many times webhook_timeout
MANAGED_HEADERS = {
    "host",
    "content-length",
    "transfer-encoding",
    "connection",
    TIMESTAMP_HEADER.lower(),
    SIGNATURE_HEADER.lower(),
}
SAFE_PATH = "/%!$&'()*+,;=:@"  # kept as written in a request target (besides A-Z a-z 0-9 -._~)


# -- keeping secrets out of what is recorded ---------------------------------------------
def masker_for(claim: Claim) -> Masker:
    """Masks the claim's secrets, whole or in part (acrctl.delivery_mask)."""
    partial, exact = uri_secrets(claim.service_uri)
    partial += list(claim.custom_headers.values())
    if claim.signing_secret:
        partial.append(claim.signing_secret)
    return Masker(partial, exact)


def unsendable_header(headers: dict[str, str]) -> str | None:
    """Why one of the custom headers cannot be sent (a webhook stored before such values
    were refused at create), without its value; None when all can."""
    for name, value in headers.items():
        problem = header_problem(name, value)
        if problem:
            return problem.rstrip(".").replace("The ", "the ", 1)
    return None


_SSL: ssl.SSLContext | None = None


def _ssl_context() -> ssl.SSLContext:
    global _SSL
    if _SSL is None:
        import certifi

        _SSL = ssl.create_default_context(cafile=certifi.where())
    return _SSL


# -- the sender -------------------------------------------------------------------------------
class Deliverer:
    """Claims due events and sends each on its own thread (at most `workers` at once, at most
    `per_endpoint` to one receiving host, across its webhooks). `run_once` never blocks on
    the network."""

    def __init__(
        self,
        backend: Backend,
        policy: Policy | None = None,
        local_default: bool = False,
        verify: bool | str | ssl.SSLContext | None = None,
    ) -> None:
        self.b = backend
        self.policy = policy or Policy.from_settings(backend.settings, local_default)
        s = backend.settings
        self.connect_timeout = s.webhook_connect_timeout
        self.timeout = s.webhook_timeout
        self.workers = max(1, s.webhook_workers)
        self.per_endpoint = max(1, s.webhook_per_endpoint)  # per host
        self.max_head = max(1024, s.webhook_max_answer_head)
        self.verify = verify if verify is not None else s.webhook_verify
        self._cv = threading.Condition()
        self._inflight = 0
        self._busy: dict[str, int] = {}
        self._seen_version: str | None = None
        self._next_scan = 0.0
        self._n = 0

    # -- scheduling -----------------------------------------------------------------------
    @property
    def inflight(self) -> int:
        with self._cv:
            return self._inflight

    def run_once(self, now: float | None = None, force: bool = False) -> int:
        """Claim due events (as many as there are free slots) and start sending them.
        Returns how many were started. Skips the store scan while nothing can be due."""
        hooks = self.b.webhooks
        now = self.b.clock.now() if now is None else now
        with self._cv:
            free = self.workers - self._inflight
            busy = dict(self._busy)
        if free <= 0:
            return 0
        version = hooks.outbox_version()
        if not force and version == self._seen_version and time.monotonic() < self._next_scan:
            return 0
        claims = hooks.claim_due(
            now,
            limit=free,
            busy=busy,
            per_host=self.per_endpoint,
            min_lease=LEASE_FACTOR * self.timeout,
        )
        self._seen_version = version
        if len(claims) >= free or any(c >= self.per_endpoint for c in busy.values()):
            self._next_scan = 0.0  # there may be more to do as soon as a slot frees
        else:
            due = hooks.next_due()
            wait = 5.0 if due is None else min(5.0, max(0.0, due - now))
            self._next_scan = time.monotonic() + wait
        for claim in claims:
            self._start(claim)
        return len(claims)

    def _start(self, claim: Claim) -> None:
        with self._cv:
            self._inflight += 1
            self._busy[claim.host] = self._busy.get(claim.host, 0) + 1
            self._n += 1
            name = f"{THREAD_PREFIX}-{self._n}"
        # daemon threads, not an executor: a hung destination must never keep the process
        # (e.g. an embedded CLI command) from exiting; its lease simply runs out
        threading.Thread(target=self._run, args=(claim,), name=name, daemon=True).start()

    def _run(self, claim: Claim) -> None:
        try:
            try:
                attempt = self.send(claim)
            except Exception as exc:  # noqa: BLE001 - recorded as a failed attempt
                attempt = {
                    "attempt": claim.attempt,
                    "timestamp": self.b.clock.iso(),
                    "error": f"internal error ({type(exc).__name__})",
                }
            state = self.b.webhooks.record_attempt(claim.event_key, attempt, claim.lease_id)
            log.info(
                "webhook %s event %s attempt %d: %s -> %s",
                claim.hook_id,
                claim.event_id,
                claim.attempt,
                attempt.get("statusCode") or attempt.get("error"),
                state,
            )
        except Exception:
            log.exception(
                "webhook %s event %s: recording the attempt failed", claim.hook_id, claim.event_id
            )
        finally:
            with self._cv:
                self._inflight -= 1
                left = self._busy.get(claim.host, 1) - 1
                if left:
                    self._busy[claim.host] = left
                else:
                    self._busy.pop(claim.host, None)
                self._next_scan = 0.0
                self._cv.notify_all()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until nothing is in flight. False if `timeout` ran out first."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cv:
            while self._inflight:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._cv.wait(left)
        return True

    # -- one attempt ------------------------------------------------------------------------
    def headers_for(
        self, claim: Claim, body: bytes, timestamp: str | None = None
    ) -> tuple[dict[str, str], dict[str, str]]:
        """The headers to send, and the same headers as recorded (custom values masked)."""
        sent = {
            "Content-Type": "application/json",
            "Content-Length": str(len(body)),
            "User-Agent": USER_AGENT,
        }
        shown = dict(sent)
        for k, v in claim.custom_headers.items():
            if k.lower() in MANAGED_HEADERS:
                continue
            for existing in [e for e in sent if e.lower() == k.lower()]:
                del sent[existing], shown[existing]
            sent[k], shown[k] = v, MASK
        if claim.signing_secret:
            ts = timestamp or str(int(time.time()))
            sent[TIMESTAMP_HEADER] = shown[TIMESTAMP_HEADER] = ts
            sent[SIGNATURE_HEADER] = shown[SIGNATURE_HEADER] = sign(claim.signing_secret, ts, body)
        return sent, shown

    def send(self, claim: Claim) -> dict[str, Any]:
        """POST one event once, all of it (DNS, connect, send, answer) within
        webhook_timeout. Returns the attempt record (never raises for network trouble: a
        refusal, timeout or connection failure is a failed attempt)."""
        started = time.monotonic()
        deadline = started + self.timeout
        attempt: dict[str, Any] = {"attempt": claim.attempt, "timestamp": self.b.clock.iso()}
        body = json.dumps(claim.content, separators=(",", ":"), ensure_ascii=False).encode()
        sent, shown = self.headers_for(claim, body)
        attempt["requestHeaders"] = shown
        mask = masker_for(claim)
        try:
            problem = unsendable_header(claim.custom_headers)
            if problem:
                raise Refused(problem)
            target = self.policy.resolve(claim.service_uri, deadline)
            answer = delivery_http.post(
                self._request(claim, target, sent, body),
                deadline,
                self.connect_timeout,
                self.timeout,
                RESPONSE_LIMIT,
                HEADER_LIMIT,
            )
        except Refused as exc:
            attempt.update(error=mask(exc.reason), permanent=exc.permanent)
        except delivery_http.Failed as exc:
            attempt["error"] = mask(exc.reason)[:200]
        else:
            content = mask(answer.content.decode("utf-8", "replace"))
            attempt.update(
                statusCode=answer.status,
                reasonPhrase=mask(answer.reason)[:200],
                responseHeaders={k: mask(v) for k, v in answer.headers.items()},
                responseContent=content.encode()[:RESPONSE_LIMIT].decode("utf-8", "ignore"),
            )
            if 300 <= answer.status < 400:
                attempt["error"] = "redirects are not followed"
        attempt["durationMs"] = int((time.monotonic() - started) * 1000)
        return attempt

    def _request(
        self, claim: Claim, target: Target, headers: dict[str, str], body: bytes
    ) -> delivery_http.Request:
        p = urlsplit(claim.service_uri)
        path = quote(p.path or "/", safe=SAFE_PATH)
        if p.query:
            path += "?" + quote(p.query, safe=SAFE_PATH + "?")
        try:
            host = target.host.encode("idna").decode("ascii")
        except UnicodeError:
            raise Refused("the destination URI is invalid") from None
        if ":" in host:
            host = f"[{host}]"
        if p.port is not None and p.port != (443 if target.scheme == "https" else 80):
            host += f":{p.port}"
        raw = [(b"Host", host.encode("ascii"))] + [
            (k.encode("latin-1"), v.strip(" ").encode("latin-1")) for k, v in headers.items()
        ]
        tls = self._tls() if target.scheme == "https" else None
        return delivery_http.Request(
            target.addresses, target.port, tls, target.host, path, raw, body, self.max_head
        )

    def _tls(self) -> ssl.SSLContext:
        verify = self.verify
        if isinstance(verify, ssl.SSLContext):
            return verify
        if isinstance(verify, str) and verify.lower() not in ("true", "false"):
            return ssl.create_default_context(cafile=verify)
        if verify is False or str(verify).lower() == "false":
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            return ctx
        return _ssl_context()


class DeliveryWorker(threading.Thread):
    """Runs `Deliverer.run_once` every `interval` seconds until stopped."""

    def __init__(
        self, backend: Backend, deliverer: Deliverer | None = None, interval: float = 0.2
    ) -> None:
        super().__init__(name="acrctl-delivery", daemon=True)
        self.deliverer = deliverer or Deliverer(backend)
        self.interval = interval
        self._stop_event = threading.Event()

    def run(self) -> None:
        while not self._stop_event.is_set():
            try:
                self.deliverer.run_once()
            except Exception:
                log.exception("webhook delivery: claiming due events failed")
            self._stop_event.wait(self.interval)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop claiming, then wait (up to `timeout`) for deliveries in flight to be
        recorded. An unfinished one is sent again once its lease runs out."""
        self._stop_event.set()
        if self.is_alive():
            self.join(timeout)
        self.deliverer.wait(timeout)


def deliver_due(
    backend: Backend, timeout: float = 10.0, wait_retries: bool = False, local_default: bool = True
) -> int:
    """Deliver what is due now, in this process (the embedded mode has no worker), and wait
    (up to `timeout`) for the answers. With wait_retries, also wait for retries that fall
    within the timeout. Returns how many attempts were started."""
    if backend.webhooks.next_due() is None:
        return 0
    d = Deliverer(backend, local_default=local_default)
    deadline = time.monotonic() + timeout
    started = 0
    while True:
        n = d.run_once(force=True)
        started += n
        if not d.wait(max(0.0, deadline - time.monotonic())):
            return started
        if n:
            continue
        due = backend.webhooks.next_due()
        left = deadline - time.monotonic()
        if not wait_retries or due is None or due - backend.clock.now() > left:
            return started
        time.sleep(min(left, max(0.01, due - backend.clock.now())))
