"""Handlers for registries/replications."""

from __future__ import annotations

from acrctl.backend.replications import REPLICATION
from acrctl.server.handlers.registries import readable
from acrctl.server.http import Ctx, Response

READ = "Microsoft.ContainerRegistry/registries/replications/read"


def _args(c: Ctx) -> tuple[str, str, str, str]:
    return c.p["sub"], c.p["rg"], c.p["registry"], c.p["replication"]


def get(c: Ctx) -> Response:
    return c.resource(REPLICATION, lambda: c.b.replications.get(*_args(c)))


def put(c: Ctx) -> Response:
    doc, created, op = c.b.replications.put(c.caller, *_args(c), c.body(), **c.conditions())
    return c.lro(doc, op, created, REPLICATION)


def patch(c: Ctx) -> Response:
    doc, op = c.b.replications.update(c.caller, *_args(c), c.body(), **c.conditions())
    return c.lro(doc, op, kind=REPLICATION)


def delete(c: Ctx) -> Response:
    return c.accepted_delete(c.b.replications.delete(*_args(c), **c.conditions()))


def list_(c: Ctx) -> Response:
    after, limit = c.paging()
    docs, last = c.b.replications.list(c.p["sub"], c.p["rg"], c.p["registry"], after, limit)
    return c.page((readable(c, docs, READ), last))
