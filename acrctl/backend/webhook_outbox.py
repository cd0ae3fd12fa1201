"""The webhook outbox, the delivery side (used by acrctl.delivery; no HTTP here): events are
items of the generic outbox (acrctl.backend.outbox); a worker claims due ones under a lease,
at most `per_host` at once per receiving host, sends them and records each attempt, which
schedules the retry (exponential backoff with jitter) or ends the event."""

from __future__ import annotations

import builtins
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from acrctl.backend.outbox import PENDING, Outbox, Queue, Retry, backoff_delay  # noqa: F401
from acrctl.backend.webhook_checks import delivery_host

if TYPE_CHECKING:
    from acrctl.backend.core import Backend

WEBHOOK = "webhook"
EVENT = "webhookEvent"
OUTBOX = "webhookOutbox"  # index of undelivered events: key = the event's key, parent PENDING
OUTBOX_VERSION = "webhook_outbox_version"
QUEUE = Queue(
    kind=EVENT,
    index=OUTBOX,
    version_key=OUTBOX_VERSION,
    leased="sending",
    waiting="pending",
    retry="pending",
    done="delivered",
)
MAX_RECORDED_ATTEMPTS = 100


@dataclass
class Claim:
    """One event a worker has leased for sending, with what it needs to send it."""

    event_key: str
    event_id: str
    lease_id: str
    attempt: int
    content: dict[str, Any]
    hook_key: str
    hook_id: str
    service_uri: str = field(repr=False)
    custom_headers: dict[str, str] = field(repr=False)
    signing_secret: str | None = field(repr=False, default=None)
    host: str = ""  # the receiving host (delivery_host): the unit of the per-host cap


class WebhookDelivery:
    def __init__(self, backend: Backend) -> None:
        self.b = backend
        self.outbox = Outbox(backend, QUEUE)

    def outbox_version(self) -> str:
        """Changes whenever an event is queued: a worker that saw no due event can skip
        scanning until either this changes or its earliest known due time passes."""
        return self.outbox.version()

    def next_due(self) -> float | None:
        """The earliest due time in the outbox (None: nothing pending)."""
        return self.outbox.next_due()

    def outbox_stats(self) -> tuple[int, float]:
        """(events waiting in the outbox, age in seconds of the oldest one; 0 when empty)."""
        now = self.b.clock.now()
        oldest = self.outbox.oldest()
        created = float(oldest.doc.get("createdAt", now)) if oldest is not None else now
        return self.outbox.depth(), max(0.0, now - created)

    def claim_due(
        self,
        now: float | None = None,
        limit: int = 8,
        busy: dict[str, int] | None = None,
        per_host: int | None = None,
        min_lease: float = 0.0,
    ) -> builtins.list[Claim]:
        """Lease up to `limit` due events (pending and due, or sending with an expired
        lease) for sending: two workers on one database never both send an event. `busy`
        (receiving host -> the deliveries the caller has in flight) and `per_host` cap how
        many go to one host at once, across its webhooks. The lease is webhook_lease, at
        least `min_lease` (the sender passes more than its attempt deadline, so no lease
        runs out mid-send). Events of a webhook being deleted wait."""
        now = self.b.clock.now() if now is None else now
        lease = max(self.lease_seconds(), min_lease)
        counts = dict(busy or {})
        hooks: dict[str, Any] = {}
        out: builtins.list[Claim] = []
        if limit <= 0:
            return out
        for ev in self.outbox.due(now):
            if ev.parent not in hooks:
                hooks[ev.parent] = self.b.store.get(WEBHOOK, ev.parent)
            hook = hooks[ev.parent]
            if hook is None or hook.doc["properties"].get("provisioningState") == "Deleting":
                continue
            secret = hook.secret or {}
            host = delivery_host(str(secret.get("serviceUri") or ""))
            if per_host and counts.get(host, 0) >= per_host:
                continue
            leased = self.outbox.lease(ev, lease, now)
            if leased is None:
                continue
            counts[host] = counts.get(host, 0) + 1
            doc = leased.doc
            out.append(
                Claim(
                    event_key=ev.key,
                    event_id=doc["id"],
                    lease_id=leased.lease_id,
                    attempt=len(doc.get("attempts") or []) + 1,
                    content=doc["content"],
                    hook_key=hook.key,
                    hook_id=hook.doc["id"],
                    service_uri=str(secret.get("serviceUri") or ""),
                    custom_headers=dict(secret.get("customHeaders") or {}),
                    signing_secret=secret.get("signingSecret"),
                    host=host,
                )
            )
            if len(out) >= limit:
                break  # before due() reads another event
        return out

    def record_attempt(
        self,
        event_key: str,
        attempt: dict[str, Any],
        lease_id: str | None = None,
        now: float | None = None,
    ) -> str | None:
        """Record one delivery attempt and move the event on: `delivered` on a 2xx,
        `failed` after the configured number of attempts (or a permanent refusal), else
        `pending` again with nextAttemptAt = now + exponential backoff with jitter. An
        attempt made under a lease that ran out is still recorded, without changing the
        state. Returns the new state (None: the event is gone, e.g. its webhook was
        deleted)."""
        now = self.b.clock.now() if now is None else now

        def note(doc: dict[str, Any], state: str | None) -> None:
            attempts = doc.setdefault("attempts", [])
            attempts.append(attempt)
            del attempts[:-MAX_RECORDED_ATTEMPTS]
            if state == QUEUE.done:
                doc["deliveredAt"] = now

        code = attempt.get("statusCode")
        state = self.outbox.settle(
            event_key,
            lease_id,
            isinstance(code, int) and 200 <= code < 300,
            self.retry(),
            permanent=bool(attempt.get("permanent")),
            now=now,
            annotate=note,
            keep_stale=True,
        )
        self.b.observer.delivery_attempt(attempt, state)
        return state

    # the two reads of the outbox's settings
    def lease_seconds(self) -> float:
        """How long a claimed event stays with its worker (webhook_lease)."""
        return self.b.settings.webhook_lease

    def retry(self) -> Retry:
        """The attempt cap and backoff of deliveries."""
        s = self.b.settings
        return Retry(s.webhook_max_attempts, s.webhook_backoff, s.webhook_backoff_max)

    def backoff(self, tries: int) -> float:
        """Delay before the next attempt after `tries` failed ones: base * 2^(tries-1),
        capped, with jitter (a random point in the upper half)."""
        r = self.retry()
        return backoff_delay(tries, r.backoff, r.backoff_max, self.outbox.rand)

    def release_leases(self, leases: dict[str, str]) -> int:
        """Return leased events (event key -> lease id) to `pending`, due now, unless their
        attempt was recorded meanwhile or another worker holds them (a send still running
        records its attempt without changing the state). Returns how many went back."""
        now = self.b.clock.now()
        return sum(self.outbox.release(key, lease_id, now) for key, lease_id in leases.items())
