"""Webhooks: CRUD, ping, callback config, and the event outbox that listEvents reads.

serviceUri and customHeaders are secrets: they live in the item's `secret` field and are
returned only by getCallbackConfig. A delivery is recorded as an event item (the outbox)
before anything is sent, so a restart loses nothing; the delivery worker (acrctl.delivery)
sends pending events and records each attempt."""

from __future__ import annotations

import builtins
import copy
import fnmatch
import random
import re
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from acrctl.backend import ids, regions
from acrctl.backend.core import body_properties, check_name, check_tags
from acrctl.backend.errors import Conflict, InvalidInput, NotFound
from acrctl.backend.etags import check_preconditions
from acrctl.backend.registries import WEBHOOK_QUOTA
from acrctl.backend.store import EtagMismatch

if TYPE_CHECKING:
    from acrctl.backend.core import Backend
    from acrctl.backend.rbac import Caller

WEBHOOK = "webhook"
EVENT = "webhookEvent"
OUTBOX = "webhookOutbox"  # index of undelivered events: key = the event's key, parent PENDING
PENDING = "pending"
OUTBOX_VERSION = "webhook_outbox_version"
ACTIONS = ("push", "delete", "quarantine", "chart_push", "chart_delete")
MASK = "******"
USER_AGENT = "acrctl"
EVENT_ID_RE = re.compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
    r"[0-9a-fA-F]{12}\Z"
)
MANIFEST_MEDIA_TYPE = "application/vnd.docker.distribution.manifest.v2+json"
CHART_MEDIA_TYPE = "application/vnd.acr.helm.chart"
MAX_RECORDED_ATTEMPTS = 100
ATTEMPT_SUMMARY = ("attempt", "timestamp", "statusCode", "reasonPhrase", "error", "durationMs")


def mask_uri(uri: str) -> str:
    """scheme://host[:port], with credentials, a non-trivial path and the query masked
    (tokens often live in the path, e.g. Slack- and Teams-style hook URLs)."""
    p = urlsplit(uri)
    host = p.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    try:
        if p.port:
            host += f":{p.port}"
    except ValueError:
        pass
    out = f"{p.scheme}://{MASK + '@' if (p.username or p.password) else ''}{host}"
    out += p.path if p.path in ("", "/") else f"/{MASK}"
    return out + (f"?{MASK}" if p.query else "")


def check_uri(uri: Any) -> str:
    if not isinstance(uri, str) or not uri:
        raise InvalidInput("WebhookInvalidParameterValue", "The webhook serviceUri is required.")
    try:  # 'http://[x' (an unclosed IPv6 bracket) or a port past 65535 raise ValueError
        p = urlsplit(uri)
        _ = p.port
    except ValueError:
        p = urlsplit("")
    if p.scheme not in ("http", "https") or not p.hostname:
        raise InvalidInput(
            "WebhookInvalidParameterValue",
            "The webhook serviceUri must be an absolute http or https URI.",
        )
    return uri


def check_actions(actions: Any) -> list[str]:
    if not isinstance(actions, list) or not actions:
        raise InvalidInput(
            "WebhookInvalidParameterValue",
            "The webhook needs at least one action: " + ", ".join(ACTIONS) + ".",
        )
    out = []
    for a in actions:
        if not isinstance(a, str) or a.lower() not in ACTIONS:
            raise InvalidInput(
                "WebhookInvalidParameterValue",
                f"'{a}' is not a webhook action. Allowed: {', '.join(ACTIONS)}.",
            )
        if a.lower() not in out:
            out.append(a.lower())
    return out


def check_headers(headers: Any) -> dict[str, str]:
    if headers is None:
        return {}
    if not isinstance(headers, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in headers.items()
    ):
        raise InvalidInput(
            "WebhookInvalidParameterValue", "customHeaders must be an object of string values."
        )
    for name, value in headers.items():
        problem = header_problem(name, value)
        if problem:
            raise InvalidInput("WebhookInvalidParameterValue", problem)
    return dict(headers)


HEADER_NAME_RE = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# a header value may hold printable Latin-1 only: no C0/C1 control characters (CR, LF, NUL,
# TAB...), no DEL, nothing a Latin-1 encoding cannot carry
BAD_VALUE_CHAR_RE = re.compile(r"[\x00-\x1f\x7f-\x9f]|[^\x00-\xff]")


def header_problem(name: str, value: str) -> str | None:
    """Why a custom header cannot be sent (None: it can). Names the header (escaped), never
    quotes the value: header values are secrets."""
    shown = name.encode("unicode_escape").decode("ascii")[:100]
    if not HEADER_NAME_RE.fullmatch(name):
        return (
            f"The customHeaders name '{shown}' is not a valid HTTP header name (letters, "
            "digits and !#$%&'*+-.^_`|~ only)."
        )
    if BAD_VALUE_CHAR_RE.search(value):
        return (
            f"The value of the custom header '{shown}' contains control characters (such "
            "as CR, LF or NUL) or characters outside Latin-1; it cannot be sent as an "
            "HTTP header."
        )
    return None


def delivery_host(uri: str) -> str:
    """The receiving host of a serviceUri (lower-case; "" if it has none): the unit of the
    per-host delivery cap."""
    try:
        return (urlsplit(uri).hostname or "").lower()
    except ValueError:
        return ""


def check_status(status: Any) -> str:
    if status not in ("enabled", "disabled"):
        raise InvalidInput(
            "WebhookInvalidParameterValue",
            f"The webhook status must be 'enabled' or 'disabled', not '{status}'.",
        )
    return str(status)


def check_signing_secret(value: Any) -> str:
    if not isinstance(value, str):
        raise InvalidInput(
            "WebhookInvalidParameterValue", "The webhook signingSecret must be a string."
        )
    return value


def check_scope(scope: Any) -> str:
    if not isinstance(scope, str):
        raise InvalidInput("WebhookInvalidParameterValue", "The webhook scope must be a string.")
    return scope


class Webhooks:
    def __init__(self, backend: Backend) -> None:
        self.b = backend

    def count_for(self, reg: dict[str, Any]) -> int:
        return self.b.store.count(WEBHOOK, ids.key(reg["id"]))

    def all_for(self, reg: dict[str, Any]) -> list[Any]:
        return self.b.store.list(WEBHOOK, parent=ids.key(reg["id"]))

    def drop_in_region(self, reg: dict[str, Any], location: str) -> None:
        for it in self.all_for(reg):
            if it.doc["location"] == location:
                self.b.store.delete_tree(it.key)

    def item(self, sub: str, rg: str, registry: str, name: str) -> Any:
        return self.b.registries.child(WEBHOOK, "webhooks", sub, rg, registry, name)

    def get(self, sub: str, rg: str, registry: str, name: str) -> dict[str, Any]:
        return dict(self.item(sub, rg, registry, name).doc)

    def list(
        self, sub: str, rg: str, registry: str, after: int | None = None, limit: int | None = None
    ) -> tuple[builtins.list[dict[str, Any]], int | None]:
        reg = self.b.registries.get(sub, rg, registry)
        items = self.b.store.list(WEBHOOK, parent=ids.key(reg["id"]), after=after, limit=limit)
        last = items[-1].seq if limit is not None and len(items) == limit else None
        return self.b.ops.fresh(items), last

    def _check_location(self, reg: dict[str, Any], location: Any) -> str:
        region = regions.require(location, ids.WEBHOOK_TYPE)
        allowed = [reg["location"]]
        if reg["sku"]["name"] == "Premium":
            allowed += [
                r["location"]
                for r in self.b.replications.all_for(reg)
                if r["location"] not in allowed
            ]
        if region["name"] not in allowed:
            raise InvalidInput(
                "WebhookLocationNotAllowed",
                f"The webhook location '{region['name']}' must be the registry's home region "
                f"or one of its replica regions: {', '.join(allowed)}.",
            )
        return str(region["name"])

    def put(
        self,
        caller: Caller,
        sub: str,
        rg: str,
        registry: str,
        name: str,
        body: dict[str, Any],
        if_match: str | None = None,
        if_none_match: str | None = None,
    ) -> tuple[dict[str, Any], bool, dict[str, Any]]:
        check_name(name, "webhook")
        with self.b.store.transaction():
            reg = self.b.registries.get(sub, rg, registry)
            key = ids.key(f"{reg['id']}/webhooks/{name}")
            cur = self.b.ops.current(WEBHOOK, key)
            check_preconditions(cur, if_match, if_none_match)
            props = body_properties(body, required=True)
            location = self._check_location(reg, body.get("location"))
            secret = {
                "serviceUri": check_uri(props.get("serviceUri")),
                "customHeaders": check_headers(props.get("customHeaders")),
            }
            if props.get("signingSecret") is not None:
                secret["signingSecret"] = check_signing_secret(props["signingSecret"])
            new_props = {
                "status": check_status(props.get("status", "enabled")),
                "scope": check_scope(props.get("scope", "")),
                "actions": check_actions(props.get("actions")),
            }
            if cur:
                self.b.ops.ensure_idle(WEBHOOK, key, name)
                if location != cur.doc["location"]:
                    raise InvalidInput(
                        "LocationCannotBeChanged", "The location of a webhook cannot be changed."
                    )
            else:
                quota = WEBHOOK_QUOTA[reg["sku"]["name"]]
                if self.count_for(reg) >= quota:
                    raise Conflict(
                        "QuotaExceeded",
                        f"Quota exceeded for resource type webhooks for the registry SKU "
                        f"{reg['sku']['name']}. Learn more about different SKU quotas and "
                        "upgrade process: https://aka.ms/acr/tiers",
                    )
            doc: dict[str, Any] = {
                "id": cur.doc["id"] if cur else f"{reg['id']}/webhooks/{name}",
                "name": cur.doc["name"] if cur else name,
                "type": ids.WEBHOOK_TYPE,
                "location": location,
                "tags": check_tags(body.get("tags")),
                "systemData": self.b.system_data(
                    caller, cur.doc.get("systemData") if cur else None
                ),
                "properties": {**new_props, "provisioningState": "Updating" if cur else "Creating"},
            }
            self.b.store.put(WEBHOOK, key, ids.key(reg["id"]), name, doc, secret)
            op = self.b.ops.start(
                WEBHOOK, key, str(doc["id"]), "update" if cur else "create", location
            )
        return self.b.store.get(WEBHOOK, key).doc, cur is None, op  # type: ignore[union-attr]

    def update(
        self,
        caller: Caller,
        sub: str,
        rg: str,
        registry: str,
        name: str,
        body: dict[str, Any],
        if_match: str | None = None,
        if_none_match: str | None = None,
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        with self.b.store.transaction():
            cur = self.item(sub, rg, registry, name)
            check_preconditions(cur, if_match, if_none_match)
            self.b.ops.ensure_idle(WEBHOOK, cur.key, name)
            cur = self.b.store.get(WEBHOOK, cur.key) or cur
            doc, secret = copy.deepcopy(cur.doc), dict(cur.secret or {})
            props = body_properties(body)
            if "serviceUri" in props:
                secret["serviceUri"] = check_uri(props["serviceUri"])
            if "customHeaders" in props:
                secret["customHeaders"] = check_headers(props["customHeaders"])
            if "signingSecret" in props:
                if props["signingSecret"] not in (None, ""):  # null or "" removes it
                    secret["signingSecret"] = check_signing_secret(props["signingSecret"])
                else:
                    secret.pop("signingSecret", None)
            if "status" in props:
                doc["properties"]["status"] = check_status(props["status"])
            if "scope" in props:
                doc["properties"]["scope"] = check_scope(props["scope"])
            if "actions" in props:
                doc["properties"]["actions"] = check_actions(props["actions"])
            if "tags" in body:
                doc["tags"] = check_tags(body["tags"])
            doc["properties"]["provisioningState"] = "Updating"
            doc["systemData"] = self.b.system_data(caller, doc.get("systemData"))
            self.b.store.put(WEBHOOK, cur.key, cur.parent, cur.name, doc, secret)
            op = self.b.ops.start(WEBHOOK, cur.key, doc["id"], "update", doc["location"])
        return self.b.store.get(WEBHOOK, cur.key).doc, op  # type: ignore[union-attr]

    def delete(
        self,
        sub: str,
        rg: str,
        registry: str,
        name: str,
        if_match: str | None = None,
        if_none_match: str | None = None,
    ) -> dict[str, Any] | None:
        with self.b.store.transaction():
            reg = self.b.registries.get(sub, rg, registry)
            key = ids.key(f"{reg['id']}/webhooks/{name}")
            cur = self.b.ops.current(WEBHOOK, key)
            check_preconditions(cur, if_match, if_none_match)
            if cur is None:
                return None
            self.b.ops.ensure_idle(WEBHOOK, key, name)
            cur = self.b.store.get(WEBHOOK, key)
            if cur is None:
                return None
            cur.doc["properties"]["provisioningState"] = "Deleting"
            self.b.store.put(WEBHOOK, key, cur.parent, cur.name, cur.doc, cur.secret)
            return self.b.ops.start(WEBHOOK, key, cur.doc["id"], "delete", cur.doc["location"])

    def callback_config(self, sub: str, rg: str, registry: str, name: str) -> dict[str, Any]:
        secret = self.item(sub, rg, registry, name).secret or {}
        return {
            "serviceUri": secret.get("serviceUri"),
            "customHeaders": secret.get("customHeaders") or {},
        }

    # -- events (the outbox) ------------------------------------------------------------------
    def ping(self, sub: str, rg: str, registry: str, name: str) -> dict[str, Any]:
        item = self.item(sub, rg, registry, name)
        reg = self.b.registries.get(sub, rg, registry)
        content = {
            "id": str(uuid.uuid4()),
            "timestamp": self.b.clock.iso(),
            "action": "ping",
            "request": {
                "id": str(uuid.uuid4()),
                "host": reg["properties"]["loginServer"],
                "method": "POST",
                "useragent": USER_AGENT,
            },
        }
        event = self.enqueue(item, content)
        return {"id": event["id"]}

    def emit(
        self,
        registry_name: str,
        region: str | None,
        action: str,
        repository: str,
        tag: str | None = None,
        digest: str | None = None,
        media_type: str | None = None,
        size: int | None = None,
        length: int | None = None,
        name: str | None = None,
        version: str | None = None,
        url: str | None = None,
        request: dict[str, Any] | None = None,
        actor: dict[str, Any] | None = None,
        source: dict[str, Any] | None = None,
    ) -> builtins.list[dict[str, str]]:
        """A registry event (for the data plane): queue one delivery for every webhook of
        the registry that is enabled, lists the action, matches the scope and lives in the
        event's region (None: the registry's home region). Returns [{"webhook", "id"}]."""
        action = str(action).lower()
        if action not in ACTIONS:
            raise InvalidInput(
                "WebhookInvalidParameterValue",
                f"'{action}' is not a webhook action. Allowed: {', '.join(ACTIONS)}.",
            )
        reg = self.b.registries.find(registry_name)
        if reg is None:
            raise NotFound(
                "ResourceNotFound", f"The registry '{registry_name}' could not be found."
            )
        where = regions.normalize(region) if region else reg["location"]
        content = event_content(
            action,
            self.b.clock.iso(),
            reg["properties"]["loginServer"],
            repository,
            tag=tag,
            digest=digest,
            media_type=media_type,
            size=size,
            length=length,
            name=name,
            version=version,
            url=url,
            request=request,
            actor=actor,
            source=source,
        )
        out = []
        with self.b.store.transaction():
            for item in self.all_for(reg):
                if fires(item.doc, action, repository, tag, where):
                    event = self.enqueue(item, copy.deepcopy(content))
                    out.append({"webhook": item.doc["id"], "id": event["id"]})
        return out

    def enqueue(
        self, item: Any, content: dict[str, Any], redelivery_of: str | None = None
    ) -> dict[str, Any]:
        """Record an event for delivery (the outbox) before anything is sent: the event item
        under the webhook, and its index entry in the pending list. Returns the event. Its
        id is the payload's `id`, as in ACR (what ping returns, what list-events and the
        receiver see), except for a redelivery: a new event that carries the original
        payload, `id` included, unchanged."""
        event_id = self._new_event_id(item, None if redelivery_of else content.get("id"))
        now = self.b.clock.now()
        doc: dict[str, Any] = {
            "id": event_id,
            "content": content,
            "state": "pending",
            "attempts": [],
            "createdAt": now,
            "nextAttemptAt": now,
        }
        if redelivery_of:
            doc["redeliveryOf"] = redelivery_of
        key = f"{item.key}/events/{event_id}"
        with self.b.store.transaction():
            self.b.store.put(EVENT, key, item.key, event_id, doc)
            self.b.store.put(OUTBOX, key, PENDING, event_id, {"due": now})
            self.b.store.meta_set(OUTBOX_VERSION, str(uuid.uuid4()))
        return doc

    def _new_event_id(self, item: Any, wanted: Any) -> str:
        """`wanted` (a payload id) when it is a GUID no event of the webhook has yet, else a
        fresh one."""
        if (
            isinstance(wanted, str)
            and EVENT_ID_RE.match(wanted)
            and wanted == wanted.lower()
            and self.b.store.get(EVENT, f"{item.key}/events/{wanted}") is None
        ):
            return wanted
        return str(uuid.uuid4())

    def redeliver(
        self, sub: str, rg: str, registry: str, name: str, event_id: Any
    ) -> dict[str, Any]:
        """Send a past event again: a new delivery with the same content (so the payload's
        `id` lets a receiver de-duplicate). Returns {"id": the new delivery's event id}."""
        if not isinstance(event_id, str) or not EVENT_ID_RE.match(event_id):
            raise InvalidInput(
                "InvalidRequestContent",
                "The request needs 'eventId', the id of an event of this "
                "webhook (a GUID from list-events or ping).",
            )
        item = self.item(sub, rg, registry, name)
        past = self.b.store.get(EVENT, f"{item.key}/events/{event_id.lower()}")
        if past is None:
            raise NotFound(
                "WebhookEventNotFound", f"The webhook '{name}' has no event '{event_id}'."
            )
        event = self.enqueue(item, copy.deepcopy(past.doc["content"]), past.doc["id"])
        return {"id": event["id"]}

    def list_events(
        self,
        sub: str,
        rg: str,
        registry: str,
        name: str,
        after: int | None = None,
        limit: int | None = None,
    ) -> tuple[builtins.list[dict[str, Any]], int | None]:
        item = self.item(sub, rg, registry, name)
        events = self.b.store.list(
            EVENT, parent=item.key, after=after, limit=limit, newest_first=True
        )
        last = events[-1].seq if limit is not None and len(events) == limit else None
        secret = item.secret or {}
        return [event_view(e.doc, secret, self.b.clock.iso) for e in events], last

    def get_event(self, event_key: str) -> dict[str, Any] | None:
        item = self.b.store.get(EVENT, event_key)
        return item.doc if item else None

    # -- the delivery side (used by acrctl.delivery; no HTTP here) ----------------------------
    def outbox_version(self) -> str:
        """Changes whenever an event is queued: a worker that saw no due event can skip
        scanning until either this changes or its earliest known due time passes."""
        return self.b.store.meta_get(OUTBOX_VERSION) or ""

    def next_due(self) -> float | None:
        """The earliest due time in the outbox (None: nothing pending)."""
        dues = [float(o.doc.get("due", 0)) for o in self.b.store.list(OUTBOX, parent=PENDING)]
        return min(dues) if dues else None

    def claim_due(
        self,
        now: float | None = None,
        limit: int = 8,
        busy: dict[str, int] | None = None,
        per_host: int | None = None,
        min_lease: float = 0.0,
    ) -> builtins.list[Claim]:
        """Move up to `limit` due events (pending and due, or sending with an expired lease)
        to `sending` under a fresh lease, with a compare-and-set on the event's etag, so two
        workers on one database never both send an event. `busy` (receiving host -> the
        deliveries the caller has in flight) and `per_host` cap how many go to one host at
        once, across its webhooks. The lease is webhook_lease, at least `min_lease` (the
        sender passes more than its attempt deadline, so no lease runs out mid-send)."""
        store = self.b.store
        now = self.b.clock.now() if now is None else now
        lease = max(self.b.settings.webhook_lease, min_lease)
        counts = dict(busy or {})
        hooks: dict[str, Any] = {}
        out: builtins.list[Claim] = []
        for ob in store.list(OUTBOX, parent=PENDING):
            if len(out) >= limit:
                break
            if float(ob.doc.get("due", 0)) > now:
                continue
            ev = store.get(EVENT, ob.key)
            if ev is None or ev.doc.get("state") in ("delivered", "failed"):
                store.delete(OUTBOX, ob.key)
                continue
            doc = ev.doc
            due = (doc["state"] == "pending" and float(doc.get("nextAttemptAt", 0)) <= now) or (
                doc["state"] == "sending" and float(doc.get("leaseUntil", 0)) <= now
            )
            if ev.parent not in hooks:
                hooks[ev.parent] = store.get(WEBHOOK, ev.parent)
            hook = hooks[ev.parent]
            if (
                not due
                or hook is None
                or hook.doc["properties"].get("provisioningState") == "Deleting"
            ):
                continue
            secret = hook.secret or {}
            host = delivery_host(str(secret.get("serviceUri") or ""))
            if per_host and counts.get(host, 0) >= per_host:
                continue
            lease_id = str(uuid.uuid4())
            new = {**doc, "state": "sending", "leaseUntil": now + lease, "leaseId": lease_id}
            try:
                with store.transaction():
                    store.put(EVENT, ev.key, ev.parent, ev.name, new, if_etag=ev.etag)
                    store.put(OUTBOX, ob.key, PENDING, ob.name, {"due": now + lease})
            except EtagMismatch:
                continue
            counts[host] = counts.get(host, 0) + 1
            out.append(
                Claim(
                    event_key=ev.key,
                    event_id=doc["id"],
                    lease_id=lease_id,
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
        `pending` again with nextAttemptAt = now + exponential backoff with jitter.
        Returns the new state (None: the event is gone, e.g. its webhook was deleted)."""
        store = self.b.store
        now = self.b.clock.now() if now is None else now
        with store.transaction():
            ev = store.get(EVENT, event_key)
            if ev is None:
                store.delete(OUTBOX, event_key)
                return None
            doc = copy.deepcopy(ev.doc)
            attempts = doc.setdefault("attempts", [])
            attempts.append(attempt)
            del attempts[:-MAX_RECORDED_ATTEMPTS]
            if lease_id is not None and doc.get("leaseId") != lease_id:
                # our lease ran out and another worker owns the event now: keep the record
                store.put(EVENT, ev.key, ev.parent, ev.name, doc)
                return str(doc["state"])
            doc.pop("leaseUntil", None)
            doc.pop("leaseId", None)
            ok = isinstance(attempt.get("statusCode"), int) and 200 <= attempt["statusCode"] < 300
            tries = int(doc.get("tries", 0)) + 1
            doc["tries"] = tries
            if ok:
                doc.update(state="delivered", deliveredAt=now)
                doc.pop("nextAttemptAt", None)
                store.delete(OUTBOX, ev.key)
            elif attempt.get("permanent") or tries >= self.b.settings.webhook_max_attempts:
                doc["state"] = "failed"
                doc.pop("nextAttemptAt", None)
                store.delete(OUTBOX, ev.key)
            else:
                due = now + self.backoff(tries)
                doc.update(state="pending", nextAttemptAt=due)
                store.put(OUTBOX, ev.key, PENDING, ev.name, {"due": due})
            store.put(EVENT, ev.key, ev.parent, ev.name, doc)
            return str(doc["state"])

    def backoff(self, tries: int) -> float:
        """Delay before the next attempt after `tries` failed ones: base * 2^(tries-1),
        capped, with "equal jitter" (a random point in the upper half)."""
        base = self.b.settings.webhook_backoff
        delay = min(self.b.settings.webhook_backoff_max, base * (2 ** max(0, tries - 1)))
        return delay / 2 + random.uniform(0, delay / 2)


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


def scope_matches(scope: str, repository: str, tag: str | None) -> bool:
    """ACR's scope: empty = every event; `repo:*` = every tag of repo; `repo:tag` = that tag;
    `repo` = `repo:latest`. `*` also works as a glob inside either part (acrctl extension,
    e.g. `team/*:*`). Repository names compare case-insensitively, tags exactly."""
    scope = (scope or "").strip()
    if not scope:
        return True
    repo, sep, want = scope.partition(":")
    if not sep:
        want = "latest"
    if not fnmatch.fnmatchcase(repository.lower(), repo.lower()):
        return False
    if want == "*":
        return True
    return tag is not None and fnmatch.fnmatchcase(tag, want)


def fires(hook: dict[str, Any], action: str, repository: str, tag: str | None, region: str) -> bool:
    props = hook.get("properties") or {}
    return (
        props.get("status") == "enabled"
        and props.get("provisioningState") not in ("Deleting", "Failed")
        and action in (props.get("actions") or [])
        and regions.normalize(str(hook.get("location", ""))) == region
        and scope_matches(str(props.get("scope") or ""), repository, tag)
    )


def event_content(
    action: str,
    timestamp: str,
    host: str,
    repository: str,
    tag: str | None = None,
    digest: str | None = None,
    media_type: str | None = None,
    size: int | None = None,
    length: int | None = None,
    name: str | None = None,
    version: str | None = None,
    url: str | None = None,
    request: dict[str, Any] | None = None,
    actor: dict[str, Any] | None = None,
    source: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The payload ACR posts for an event (arm-api §6), with None fields left out."""
    chart = action.startswith("chart_")
    if media_type is None:
        media_type = CHART_MEDIA_TYPE if chart else MANIFEST_MEDIA_TYPE
    if action == "delete":
        target: dict[str, Any] = {
            "mediaType": media_type,
            "digest": digest,
            "repository": repository,
            "tag": tag,
        }
    elif chart:
        target = {
            "mediaType": media_type,
            "size": size,
            "digest": digest,
            "repository": repository,
            "tag": tag,
            "name": name,
            "version": version,
        }
    else:  # push, quarantine
        target = {
            "mediaType": media_type,
            "size": size,
            "digest": digest,
            "length": length if length is not None else size,
            "repository": repository,
            "tag": tag,
        }
    if url:
        target["url"] = url
    content: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "timestamp": timestamp,
        "action": action,
        "target": {k: v for k, v in target.items() if v is not None},
    }
    if not chart:
        req = {
            "id": str(uuid.uuid4()),
            "host": host,
            "method": "DELETE" if action == "delete" else "PUT",
            "useragent": USER_AGENT,
        }
        req.update(request or {})
        content["request"] = req
    if actor is not None:
        content["actor"] = actor
    if source is not None:
        content["source"] = source
    return content


def event_view(doc: dict[str, Any], secret: dict[str, Any], iso: Any = None) -> dict[str, Any]:
    """The listEvents shape of a stored event: the last attempt's request and response,
    with every custom header value masked and the URI stripped of credentials, plus an
    acrctl extension `delivery` (state, every attempt, next attempt time)."""
    attempts = doc.get("attempts") or []
    last = attempts[-1] if attempts else {}
    headers = last.get("requestHeaders")
    if not headers:  # not sent yet: what will be sent
        headers = {"Content-Type": "application/json"}
        for k in secret.get("customHeaders") or {}:
            headers.pop(next((h for h in headers if h.lower() == k.lower()), k), None)
            headers[k] = MASK
    uri = mask_uri(secret.get("serviceUri") or "")
    response: dict[str, Any] = {}
    if last:
        code = last.get("statusCode")
        response = {
            "headers": last.get("responseHeaders") or {},
            "statusCode": str(code) if code else None,
            "reasonPhrase": last.get("reasonPhrase") or last.get("error"),
            "content": last.get("responseContent", ""),
            "version": "1.1",
        }
    delivery: dict[str, Any] = {
        "state": doc.get("state", "pending"),
        "attempts": [
            {k: a.get(k) for k in ATTEMPT_SUMMARY if a.get(k) is not None} for a in attempts
        ],
    }
    if doc.get("state") == "pending" and doc.get("nextAttemptAt") is not None and iso:
        delivery["nextAttemptAt"] = iso(float(doc["nextAttemptAt"]))
    if doc.get("redeliveryOf"):
        delivery["redeliveryOf"] = doc["redeliveryOf"]
    return {
        "id": doc["id"],
        "eventRequestMessage": {
            "content": doc["content"],
            "headers": headers,
            "method": "POST",
            "requestUri": uri,
            "version": "1.1",
        },
        "eventResponseMessage": response,
        "delivery": delivery,
    }
