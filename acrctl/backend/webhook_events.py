"""Webhook events (no HTTP here): ping, registry events and redeliveries are recorded in the
webhook outbox (acrctl.backend.webhook_outbox) before anything is sent; listEvents reads them
back. Also the payload ACR posts for an event, and which webhooks an event fires."""

from __future__ import annotations

import builtins
import copy
import fnmatch
import re
import uuid
from typing import Any

from acrctl.backend import ids, regions
from acrctl.backend.errors import (
    InvalidRequestContent,
    ResourceNotFound,
    WebhookEventNotFound,
    WebhookInvalidParameterValue,
)
from acrctl.backend.webhook_checks import ACTIONS, MASK, mask_uri
from acrctl.backend.webhook_outbox import EVENT, WEBHOOK, WebhookDelivery

USER_AGENT = "acrctl"
EVENT_ID_RE = re.compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
    r"[0-9a-fA-F]{12}\Z"
)
MANIFEST_MEDIA_TYPE = "application/vnd.docker.distribution.manifest.v2+json"
CHART_MEDIA_TYPE = "application/vnd.acr.helm.chart"
ATTEMPT_SUMMARY = ("attempt", "timestamp", "statusCode", "reasonPhrase", "error", "durationMs")


class WebhookEvents(WebhookDelivery):
    """The events of webhooks; Webhooks (acrctl.backend.webhooks) adds their CRUD."""

    def count_for(self, reg: dict[str, Any]) -> int:
        return self.b.store.count(WEBHOOK, ids.key(reg["id"]))

    def all_for(self, reg: dict[str, Any]) -> builtins.list[Any]:
        return self.b.store.list(WEBHOOK, parent=ids.key(reg["id"]))

    def item(self, sub: str, rg: str, registry: str, name: str) -> Any:
        return self.b.registries.child(WEBHOOK, "webhooks", sub, rg, registry, name)

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
            raise WebhookInvalidParameterValue(
                f"'{action}' is not a webhook action. Allowed: {', '.join(ACTIONS)}.",
            )
        reg = self.b.registries.find(registry_name)
        if reg is None:
            raise ResourceNotFound(f"The registry '{registry_name}' could not be found.")
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
        doc: dict[str, Any] = {"id": event_id, "content": content, "attempts": [], "createdAt": now}
        if redelivery_of:
            doc["redeliveryOf"] = redelivery_of
        return self.outbox.record(f"{item.key}/events/{event_id}", item.key, event_id, doc, now)

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
            raise InvalidRequestContent(
                "The request needs 'eventId', the id of an event of this "
                "webhook (a GUID from list-events or ping).",
            )
        item = self.item(sub, rg, registry, name)
        past = self.b.store.get(EVENT, f"{item.key}/events/{event_id.lower()}")
        if past is None:
            raise WebhookEventNotFound(f"The webhook '{name}' has no event '{event_id}'.")
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
