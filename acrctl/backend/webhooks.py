"""Webhooks: CRUD, ping, callback config, and the event outbox that listEvents reads.

serviceUri and customHeaders are secrets: they live in the item's `secret` field and are
returned only by getCallbackConfig. A delivery is recorded as an event item (the outbox)
before anything is sent, so a restart loses nothing; the delivery worker (acrctl.delivery)
sends pending events and records each attempt."""

from __future__ import annotations

import builtins
import copy
import uuid
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from acrctl.backend import ids, regions
from acrctl.backend.core import check_name, check_tags
from acrctl.backend.errors import Conflict, InvalidInput, NotFound
from acrctl.backend.registries import WEBHOOK_QUOTA, check_preconditions

if TYPE_CHECKING:
    from acrctl.backend.core import Backend
    from acrctl.backend.rbac import Caller

WEBHOOK = "webhook"
EVENT = "webhookEvent"
ACTIONS = ("push", "delete", "quarantine", "chart_push", "chart_delete")
MASK = "******"


def mask_uri(uri: str) -> str:
    """scheme://host[:port]/path, with any credentials or query replaced by the mask."""
    p = urlsplit(uri)
    host = p.hostname or ""
    if p.port:
        host += f":{p.port}"
    out = f"{p.scheme}://{MASK + '@' if (p.username or p.password) else ''}{host}{p.path}"
    return out + (f"?{MASK}" if p.query else "")


def check_uri(uri: Any) -> str:
    if not isinstance(uri, str) or not uri:
        raise InvalidInput("WebhookInvalidParameterValue", "The webhook serviceUri is required.")
    p = urlsplit(uri)
    if p.scheme not in ("http", "https") or not p.hostname:
        raise InvalidInput("WebhookInvalidParameterValue",
                           "The webhook serviceUri must be an absolute http or https URI.")
    return uri


def check_actions(actions: Any) -> list[str]:
    if not isinstance(actions, list) or not actions:
        raise InvalidInput("WebhookInvalidParameterValue",
                           "The webhook needs at least one action: " + ", ".join(ACTIONS) + ".")
    out = []
    for a in actions:
        if not isinstance(a, str) or a.lower() not in ACTIONS:
            raise InvalidInput("WebhookInvalidParameterValue",
                               f"'{a}' is not a webhook action. Allowed: {', '.join(ACTIONS)}.")
        if a.lower() not in out:
            out.append(a.lower())
    return out


def check_headers(headers: Any) -> dict[str, str]:
    if headers is None:
        return {}
    if not isinstance(headers, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in headers.items()):
        raise InvalidInput("WebhookInvalidParameterValue",
                           "customHeaders must be an object of string values.")
    return dict(headers)


def check_status(status: Any) -> str:
    if status not in ("enabled", "disabled"):
        raise InvalidInput("WebhookInvalidParameterValue",
                           f"The webhook status must be 'enabled' or 'disabled', not '{status}'.")
    return str(status)


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
        reg = self.b.registries.get(sub, rg, registry)
        key = ids.key(f"{reg['id']}/webhooks/{name}")
        self.b.ops.observe(WEBHOOK, key)
        item = self.b.store.get(WEBHOOK, key)
        if item is None:
            raise NotFound(
                "ResourceNotFound",
                f"The Resource '{ids.REGISTRY_TYPE}/{registry}/webhooks/{name}' under resource "
                f"group '{rg}' was not found. For more details please go to "
                "https://aka.ms/ARMResourceNotFoundFix")
        return item

    def get(self, sub: str, rg: str, registry: str, name: str) -> dict[str, Any]:
        return dict(self.item(sub, rg, registry, name).doc)

    def list(self, sub: str, rg: str, registry: str, after: int | None = None,
             limit: int | None = None) -> tuple[builtins.list[dict[str, Any]], int | None]:
        reg = self.b.registries.get(sub, rg, registry)
        items = self.b.store.list(WEBHOOK, parent=ids.key(reg["id"]), after=after, limit=limit)
        last = items[-1].seq if limit is not None and len(items) == limit else None
        return self.b.ops.fresh(items), last

    def _check_location(self, reg: dict[str, Any], location: Any) -> str:
        region = regions.require(location, ids.WEBHOOK_TYPE)
        allowed = [reg["location"]]
        if reg["sku"]["name"] == "Premium":
            allowed += [r["location"] for r in self.b.replications.all_for(reg)
                        if r["location"] not in allowed]
        if region["name"] not in allowed:
            raise InvalidInput(
                "WebhookLocationNotAllowed",
                f"The webhook location '{region['name']}' must be the registry's home region "
                f"or one of its replica regions: {', '.join(allowed)}.")
        return str(region["name"])

    def put(self, caller: Caller, sub: str, rg: str, registry: str, name: str,
            body: dict[str, Any], if_match: str | None = None,
            if_none_match: str | None = None) -> tuple[dict[str, Any], bool, dict[str, Any]]:
        check_name(name, "webhook")
        with self.b.store.transaction():
            reg = self.b.registries.get(sub, rg, registry)
            key = ids.key(f"{reg['id']}/webhooks/{name}")
            cur = self.b.store.get(WEBHOOK, key)
            check_preconditions(cur, if_match, if_none_match)
            props = body.get("properties")
            if not isinstance(props, dict):
                raise InvalidInput("InvalidRequestContent",
                                   "The request content was invalid and could not be "
                                   "deserialized: 'properties' is required.")
            location = self._check_location(reg, body.get("location"))
            secret = {"serviceUri": check_uri(props.get("serviceUri")),
                      "customHeaders": check_headers(props.get("customHeaders"))}
            if props.get("signingSecret") is not None:
                secret["signingSecret"] = str(props["signingSecret"])
            new_props = {"status": check_status(props.get("status", "enabled")),
                         "scope": check_scope(props.get("scope", "")),
                         "actions": check_actions(props.get("actions"))}
            if cur:
                self.b.ops.ensure_idle(WEBHOOK, key, name)
                if location != cur.doc["location"]:
                    raise InvalidInput("LocationCannotBeChanged",
                                       "The location of a webhook cannot be changed.")
            else:
                quota = WEBHOOK_QUOTA[reg["sku"]["name"]]
                if self.count_for(reg) >= quota:
                    raise Conflict(
                        "QuotaExceeded",
                        f"Quota exceeded for resource type webhooks for the registry SKU "
                        f"{reg['sku']['name']}. Learn more about different SKU quotas and "
                        "upgrade process: https://aka.ms/acr/tiers")
            doc: dict[str, Any] = {
                "id": cur.doc["id"] if cur else f"{reg['id']}/webhooks/{name}",
                "name": cur.doc["name"] if cur else name,
                "type": ids.WEBHOOK_TYPE,
                "location": location,
                "tags": check_tags(body.get("tags")),
                "systemData": self.b.system_data(caller, cur.doc.get("systemData") if cur
                                                 else None),
                "properties": {**new_props,
                               "provisioningState": "Updating" if cur else "Creating"},
            }
            self.b.store.put(WEBHOOK, key, ids.key(reg["id"]), name, doc, secret)
            op = self.b.ops.start(WEBHOOK, key, str(doc["id"]), "update" if cur else "create",
                                  location)
        return self.b.store.get(WEBHOOK, key).doc, cur is None, op  # type: ignore[union-attr]

    def update(self, caller: Caller, sub: str, rg: str, registry: str, name: str,
               body: dict[str, Any],
               if_match: str | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
        with self.b.store.transaction():
            cur = self.item(sub, rg, registry, name)
            check_preconditions(cur, if_match, None)
            self.b.ops.ensure_idle(WEBHOOK, cur.key, name)
            cur = self.b.store.get(WEBHOOK, cur.key) or cur
            doc, secret = copy.deepcopy(cur.doc), dict(cur.secret or {})
            props = body.get("properties") or {}
            if not isinstance(props, dict):
                raise InvalidInput("InvalidRequestContent", "'properties' must be an object.")
            if "serviceUri" in props:
                secret["serviceUri"] = check_uri(props["serviceUri"])
            if "customHeaders" in props:
                secret["customHeaders"] = check_headers(props["customHeaders"])
            if "signingSecret" in props:
                if props["signingSecret"]:
                    secret["signingSecret"] = str(props["signingSecret"])
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

    def delete(self, sub: str, rg: str, registry: str, name: str) -> dict[str, Any] | None:
        with self.b.store.transaction():
            reg = self.b.registries.get(sub, rg, registry)
            key = ids.key(f"{reg['id']}/webhooks/{name}")
            if self.b.store.get(WEBHOOK, key) is None:
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
        return {"serviceUri": secret.get("serviceUri"),
                "customHeaders": secret.get("customHeaders") or {}}

    # -- events (the outbox) ------------------------------------------------------------------
    def ping(self, sub: str, rg: str, registry: str, name: str) -> dict[str, Any]:
        item = self.item(sub, rg, registry, name)
        reg = self.b.registries.get(sub, rg, registry)
        content = {"id": str(uuid.uuid4()), "timestamp": self.b.clock.iso(), "action": "ping",
                   "request": {"id": str(uuid.uuid4()), "host": reg["properties"]["loginServer"],
                               "method": "POST", "useragent": "acrctl"}}
        event = self.enqueue(item, content)
        return {"id": event["id"]}

    def enqueue(self, item: Any, content: dict[str, Any]) -> dict[str, Any]:
        """Record an event for delivery (the outbox). Returns the stored event."""
        event_id = str(uuid.uuid4())
        doc = {"id": event_id, "content": content, "state": "pending", "attempts": [],
               "createdAt": self.b.clock.now(), "nextAttemptAt": self.b.clock.now()}
        self.b.store.put(EVENT, f"{item.key}/events/{event_id}", item.key, event_id, doc)
        return doc

    def list_events(self, sub: str, rg: str, registry: str, name: str,
                    after: int | None = None,
                    limit: int | None = None) -> tuple[builtins.list[dict[str, Any]], int | None]:
        item = self.item(sub, rg, registry, name)
        events = self.b.store.list(EVENT, parent=item.key, after=after, limit=limit,
                                   newest_first=True)
        last = events[-1].seq if limit is not None and len(events) == limit else None
        secret = item.secret or {}
        return [event_view(e.doc, secret) for e in events], last


def event_view(doc: dict[str, Any], secret: dict[str, Any]) -> dict[str, Any]:
    """The listEvents shape of a stored event: the last attempt's request and response,
    with every custom header value masked and the URI stripped of credentials."""
    attempts = doc.get("attempts") or []
    last = attempts[-1] if attempts else {}
    headers = {"Content-Type": "application/json"}
    headers.update({k: MASK for k in (secret.get("customHeaders") or {})})
    headers.update(last.get("requestHeaders") or {})
    uri = mask_uri(secret.get("serviceUri") or "")
    response: dict[str, Any] = {}
    if last:
        response = {"headers": last.get("responseHeaders") or {},
                    "statusCode": str(last["statusCode"]) if last.get("statusCode") else None,
                    "reasonPhrase": last.get("reasonPhrase"),
                    "content": last.get("responseContent", ""), "version": "1.1"}
    return {"id": doc["id"],
            "eventRequestMessage": {"content": doc["content"], "headers": headers,
                                    "method": "POST", "requestUri": uri, "version": "1.1"},
            "eventResponseMessage": response}
