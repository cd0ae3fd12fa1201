"""Webhooks: CRUD and callback config (no HTTP here).

serviceUri and customHeaders are secrets: they live in the item's `secret` field and are
returned only by getCallbackConfig. The module is split along its seams, and every name it
had is still importable from here:
- acrctl.backend.webhook_checks: input checks and the masking of a serviceUri;
- acrctl.backend.webhook_events: ping, registry events, redelivery, listEvents, payloads;
- acrctl.backend.webhook_outbox: the delivery side of the outbox (claim, record attempts),
  on the generic acrctl.backend.outbox."""

from __future__ import annotations

import builtins
import copy
from typing import TYPE_CHECKING, Any

from acrctl.backend import ids, regions
from acrctl.backend.errors import LocationCannotBeChanged, QuotaExceeded, WebhookLocationNotAllowed
from acrctl.backend.etags import check_preconditions
from acrctl.backend.registries import WEBHOOK_QUOTA
from acrctl.backend.validation import body_properties, check_name, check_tags
from acrctl.backend.webhook_checks import (  # noqa: F401 - re-exported
    ACTIONS,
    BAD_VALUE_CHAR_RE,
    HEADER_NAME_RE,
    MASK,
    check_actions,
    check_headers,
    check_scope,
    check_signing_secret,
    check_status,
    check_uri,
    delivery_host,
    header_problem,
    mask_uri,
)
from acrctl.backend.webhook_events import (  # noqa: F401 - re-exported
    ATTEMPT_SUMMARY,
    CHART_MEDIA_TYPE,
    EVENT_ID_RE,
    MANIFEST_MEDIA_TYPE,
    USER_AGENT,
    WebhookEvents,
    event_content,
    event_view,
    fires,
    scope_matches,
)
from acrctl.backend.webhook_outbox import (  # noqa: F401 - re-exported
    EVENT,
    MAX_RECORDED_ATTEMPTS,
    OUTBOX,
    OUTBOX_VERSION,
    PENDING,
    WEBHOOK,
    Claim,
)

if TYPE_CHECKING:
    from acrctl.backend.rbac import Caller


class Webhooks(WebhookEvents):
    """Webhook CRUD; events and deliveries come from the classes it extends."""

    def drop_in_region(self, reg: dict[str, Any], location: str) -> None:
        for it in self.all_for(reg):
            if it.doc["location"] == location:
                self.b.store.delete_tree(it.key)

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
            raise WebhookLocationNotAllowed(
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
                    raise LocationCannotBeChanged("The location of a webhook cannot be changed.")
            else:
                quota = WEBHOOK_QUOTA[reg["sku"]["name"]]
                if self.count_for(reg) >= quota:
                    raise QuotaExceeded(
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
