"""Webhooks, their events and redelivery: schemas and path specs
(acrctl.server.handlers.webhooks)."""

from __future__ import annotations

from acrctl import models as m
from acrctl.server.openapi.base import (
    DATETIME,
    ETAG_HEADER,
    PROVISIONING,
    RESOURCE_BASE,
    STATUS,
    STR,
    STR_MAP,
    TAGS,
    Schema,
    Specs,
    arr,
    enum,
    from_model,
    list_of,
    location_in,
    lro_delete,
    lro_put,
    obj,
    ok,
    spec,
)


def schemas() -> dict[str, Schema]:
    webhook_actions = arr(
        enum("push", "delete", "quarantine", "chart_push", "chart_delete"), minItems=1
    )
    return {
        "Webhook": obj(
            {
                **RESOURCE_BASE,
                "properties": obj(
                    {
                        "status": STATUS,
                        "scope": STR,
                        "actions": arr(STR),
                        "provisioningState": PROVISIONING,
                    },
                    ("status", "actions", "provisioningState"),
                ),
            },
            ("id", "name", "type", "location", "properties"),
        ),
        "WebhookCreateParameters": obj(
            {
                "location": location_in(),
                "tags": TAGS,
                "properties": obj(
                    {
                        "serviceUri": {"type": "string", "format": "uri", "writeOnly": True},
                        "customHeaders": {**STR_MAP, "writeOnly": True},
                        "status": STATUS,
                        "scope": STR,
                        "actions": webhook_actions,
                        "signingSecret": {
                            "type": "string",
                            "writeOnly": True,
                            "description": "acrctl extension: HMAC-SHA256 key that "
                            "signs each delivery.",
                        },
                    },
                    ("serviceUri", "actions"),
                ),
            },
            ("location", "properties"),
        ),
        "WebhookUpdateParameters": obj(
            {
                "tags": TAGS,
                "properties": obj(
                    {
                        "serviceUri": {"type": "string", "format": "uri"},
                        "customHeaders": STR_MAP,
                        "status": STATUS,
                        "scope": STR,
                        "actions": webhook_actions,
                        "signingSecret": {"type": "string", "nullable": True},
                    }
                ),
            }
        ),
        "WebhookListResult": list_of("Webhook"),
        "CallbackConfig": from_model(m.CallbackConfig),
        "EventInfo": from_model(m.EventInfo),
        "Event": obj(
            {
                "id": STR,
                "eventRequestMessage": obj(
                    {
                        "content": {"type": "object"},
                        "headers": STR_MAP,
                        "method": STR,
                        "requestUri": STR,
                        "version": STR,
                    }
                ),
                "eventResponseMessage": obj(
                    {
                        "headers": {"type": "object"},
                        "statusCode": {"type": "string", "nullable": True},
                        "reasonPhrase": {"type": "string", "nullable": True},
                        "content": {"type": "string", "nullable": True},
                        "version": STR,
                    }
                ),
                "delivery": obj(
                    {
                        "state": enum("pending", "sending", "delivered", "failed"),
                        "attempts": arr({"type": "object"}),
                        "nextAttemptAt": DATETIME,
                        "redeliveryOf": STR,
                    },
                    description="acrctl extension: the outbox state of the event.",
                ),
            },
            ("id",),
        ),
        "EventListResult": list_of("Event"),
        "RedeliverRequest": obj({"eventId": {"type": "string", "format": "uuid"}}, ("eventId",)),
    }


def specs() -> Specs:
    from acrctl.server.handlers import webhooks

    H = "Webhooks"
    return {
        ("GET", webhooks.list_): spec(
            "Webhooks_List", "Webhooks (paged).", H, {"200": ok("WebhookListResult")}, paging=True
        ),
        ("GET", webhooks.get): spec(
            "Webhooks_Get", "One webhook.", H, {"200": ok("Webhook", headers=ETAG_HEADER)}
        ),
        ("PUT", webhooks.put): spec(
            "Webhooks_Create",
            "Create or replace a webhook.",
            H,
            lro_put("Webhook"),
            body="WebhookCreateParameters",
            conditional=True,
        ),
        ("PATCH", webhooks.patch): spec(
            "Webhooks_Update",
            "Update a webhook.",
            H,
            lro_put("Webhook"),
            body="WebhookUpdateParameters",
            conditional=True,
        ),
        ("DELETE", webhooks.delete): spec(
            "Webhooks_Delete", "Delete a webhook.", H, lro_delete(), conditional=True
        ),
        ("POST", webhooks.ping): spec(
            "Webhooks_Ping", "Queue a ping delivery.", H, {"200": ok("EventInfo")}
        ),
        ("POST", webhooks.callback_config): spec(
            "Webhooks_GetCallbackConfig",
            "The service URI and custom headers.",
            H,
            {"200": ok("CallbackConfig")},
        ),
        ("POST", webhooks.list_events): spec(
            "Webhooks_ListEvents",
            "Deliveries (paged).",
            H,
            {"200": ok("EventListResult")},
            paging=True,
        ),
        ("GET", webhooks.list_events): spec(
            "Webhooks_ListEventsGet",
            "Deliveries (paged; what nextLink points to).",
            H,
            {"200": ok("EventListResult")},
            paging=True,
        ),
        ("POST", webhooks.redeliver): spec(
            "Webhooks_Redeliver",
            "acrctl extension: send a past event again.",
            H,
            {"200": ok("EventInfo")},
            body="RedeliverRequest",
        ),
    }
