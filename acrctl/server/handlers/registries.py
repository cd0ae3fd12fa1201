"""Handlers for Microsoft.ContainerRegistry/registries."""

from __future__ import annotations

from typing import TYPE_CHECKING

from acrctl.backend import ids
from acrctl.backend.registries import REGISTRY
from acrctl.server.http import Ctx, Response

if TYPE_CHECKING:
    from acrctl.backend.core import Backend
    from acrctl.backend.rbac import Caller


def get(c: Ctx) -> Response:
    return c.resource(REGISTRY, lambda: c.b.registries.get(c.p["sub"], c.p["rg"], c.p["registry"]))


def put(c: Ctx) -> Response:
    doc, created, op = c.b.registries.put(
        c.caller, c.p["sub"], c.p["rg"], c.p["registry"], c.body(), **c.conditions()
    )
    return c.lro(doc, op, created, REGISTRY)


def patch(c: Ctx) -> Response:
    doc, op = c.b.registries.update(
        c.caller, c.p["sub"], c.p["rg"], c.p["registry"], c.body(), **c.conditions()
    )
    return c.lro(doc, op, kind=REGISTRY)


def delete(c: Ctx) -> Response:
    return c.accepted_delete(
        c.b.registries.delete(c.p["sub"], c.p["rg"], c.p["registry"], **c.conditions())
    )


def list_by_group(c: Ctx) -> Response:
    after, limit = c.paging()
    docs, last = c.b.registries.list(c.p["sub"], c.p["rg"], after, limit)
    return c.page((readable(c, docs), last))


def list_all(c: Ctx) -> Response:
    after, limit = c.key_paging()  # key order: every page O(page) (registries.list_all)
    docs, last = c.b.registries.list_all(c.p["sub"], after, limit)
    return c.page((readable(c, docs), last))


def usages(c: Ctx) -> Response:
    return c.ok({"value": c.b.registries.usages(c.p["sub"], c.p["rg"], c.p["registry"])})


def check_name(c: Ctx) -> Response:
    return c.ok(c.b.registries.check_name(c.body()))


def readable(
    c: Ctx,
    docs: list[dict[str, object]],
    action: str = "Microsoft.ContainerRegistry/registries/read",
) -> list[dict[str, object]]:
    """Lists return only what the caller may read."""
    return [d for d in docs if c.b.rbac.allowed(c.caller, action, str(d["id"]))]


def operation_status(c: Ctx) -> Response:
    """GET {resource}/operationStatuses/{op}: always 200 with the status body."""
    op = c.b.ops.get(c.p["op"])
    resource = c.req.path.rsplit("/operationStatuses/", 1)[0]
    if op["resourceId"].lower() != resource.rstrip("/").lower():
        from acrctl.backend.errors import OperationNotFound

        raise OperationNotFound(f"The operation '{c.p['op']}' could not be found.")
    resp = c.ok(c.b.ops.status_body(op))
    if op["status"] == "InProgress":  # without it the SDK waits its 30 s default
        resp.headers["Retry-After"] = str(c.b.settings.retry_after)
    return resp


STATUS_READ = {
    "registry": "Microsoft.ContainerRegistry/registries/operationStatuses/read",
    "replication": "Microsoft.ContainerRegistry/registries/replications/operationStatuses/read",
    "webhook": "Microsoft.ContainerRegistry/registries/webhooks/operationStatuses/read",
}


def may_follow_operation(b: Backend, caller: Caller, p: dict[str, str]) -> bool:
    """A delete's Location is under the subscription, but a caller scoped to a resource group
    must be able to follow its own delete: allow whoever may read the operation's status at
    the resource (the Azure-AsyncOperation URL's action)."""
    op = b.ops.peek(p.get("op", ""))
    if op is None:
        return False
    resource = str(op.get("resourceId", ""))
    action = STATUS_READ.get(str(op.get("kind")))
    return (
        bool(action)
        and ids.is_within(f"/subscriptions/{p['sub']}", resource)
        and b.rbac.allowed(caller, action or "", resource)
    )


def operation_result(c: Ctx) -> Response:
    """GET .../locations/{loc}/operationResults/{op} (the Location of a delete):
    202 while running, then 204."""
    op = c.b.ops.get(c.p["op"])
    if not op["resourceId"].lower().startswith(f"/subscriptions/{c.p['sub']}/".lower()):
        from acrctl.backend.errors import OperationNotFound

        raise OperationNotFound(f"The operation '{c.p['op']}' could not be found.")
    if op["status"] == "InProgress":
        return Response(
            202, None, {"Location": c.url(c.req.path), "Retry-After": str(c.b.settings.retry_after)}
        )
    if op["status"] != "Succeeded":
        return Response(
            400,
            {
                "error": op.get("error")
                or {"code": op["status"], "message": "The operation failed."}
            },
        )
    return Response(204)
