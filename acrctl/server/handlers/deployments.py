"""Handlers for Microsoft.Resources/deployments at a resource group."""

from __future__ import annotations

from acrctl.server.handlers.registries import readable
from acrctl.server.http import Ctx, Response

READ = "Microsoft.Resources/deployments/read"


def _args(c: Ctx) -> tuple[str, str, str]:
    return c.p["sub"], c.p["rg"], c.p["deployment"]


def get(c: Ctx) -> Response:
    return c.ok(c.b.deployments.get(*_args(c)))


def put(c: Ctx) -> Response:
    """The deployment has run when this answers; like ARM, the first answer says Accepted
    and the Azure-AsyncOperation status (ready at once: Retry-After 0) says how it ended."""
    doc, created, op = c.b.deployments.put(c.caller, *_args(c), c.body())
    accepted = {**doc, "properties": {**doc["properties"], "provisioningState": "Accepted"}}
    resp = c.lro(accepted, op, created)
    resp.headers["Retry-After"] = "0"
    return resp


def delete(c: Ctx) -> Response:
    """Deletes the record only; its resources stay (ARM semantics)."""
    c.b.deployments.delete(*_args(c))
    return Response(204)


def list_(c: Ctx) -> Response:
    after, limit = c.paging()
    docs, last = c.b.deployments.list(c.p["sub"], c.p["rg"], after, limit)
    return c.page((readable(c, docs, READ), last))


def what_if(c: Ctx) -> Response:
    return c.ok(c.b.deployments.what_if(c.caller, *_args(c), c.body()))
