"""Handlers for registries/webhooks, including ping, getCallbackConfig and listEvents."""

from __future__ import annotations

from acrctl.backend.webhooks import WEBHOOK
from acrctl.server.handlers.registries import readable
from acrctl.server.http import Ctx, Response

READ = "Microsoft.ContainerRegistry/registries/webhooks/read"


def _args(c: Ctx) -> tuple[str, str, str, str]:
    return c.p["sub"], c.p["rg"], c.p["registry"], c.p["webhook"]


def get(c: Ctx) -> Response:
    return c.resource(WEBHOOK, lambda: c.b.webhooks.get(*_args(c)))


def put(c: Ctx) -> Response:
    doc, created, op = c.b.webhooks.put(c.caller, *_args(c), c.body(), **c.conditions())
    return c.lro(doc, op, created, WEBHOOK)


def patch(c: Ctx) -> Response:
    doc, op = c.b.webhooks.update(c.caller, *_args(c), c.body(), **c.conditions())
    return c.lro(doc, op, kind=WEBHOOK)


def delete(c: Ctx) -> Response:
    return c.accepted_delete(c.b.webhooks.delete(*_args(c), **c.conditions()))


def list_(c: Ctx) -> Response:
    after, limit = c.paging()
    docs, last = c.b.webhooks.list(c.p["sub"], c.p["rg"], c.p["registry"], after, limit)
    return c.page((readable(c, docs, READ), last))


def ping(c: Ctx) -> Response:
    return c.ok(c.b.webhooks.ping(*_args(c)))


def callback_config(c: Ctx) -> Response:
    return c.ok(c.b.webhooks.callback_config(*_args(c)))


def list_events(c: Ctx) -> Response:
    after, limit = c.paging()
    return c.page(c.b.webhooks.list_events(*_args(c), after, limit))


def redeliver(c: Ctx) -> Response:
    """acrctl extension: send a past event again. Body {"eventId": "<event guid>"}."""
    return c.ok(c.b.webhooks.redeliver(*_args(c), c.body().get("eventId")))
