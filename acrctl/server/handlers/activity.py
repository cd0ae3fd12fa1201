"""The activity log's read endpoint, in the shape `az monitor activity-log list` reads:
GET /subscriptions/{sub}/providers/Microsoft.Insights/eventtypes/management/values
    ?api-version=2015-04-01&$filter=eventTimestamp ge '...' and ...

The route admits callers holding the read action at the subscription or anywhere below it
(a Reader of one resource group); each record is then shown only to a caller who holds the
action at the record's scope, the way lists show only what the caller may read."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from acrctl.backend import ids
from acrctl.backend.activity import READ_ACTION, parse_filter
from acrctl.backend.rbac import role_allows
from acrctl.server.http import Ctx, Response


def _visibility(c: Ctx) -> Callable[[dict[str, Any]], bool] | None:
    """None when the caller may read the whole subscription's log, else a per-record check
    (the caller's grants are read once per request)."""
    sub_scope = ids.subscription_id(c.p["sub"])
    rbac = c.b.rbac
    if rbac.allowed(c.caller, READ_ACTION, sub_scope):
        return None
    # the same grants every check uses (an assignment outside its role's assignable
    # scopes grants nothing)
    grants = [scope for scope, role in rbac.grants(c.caller) if role_allows(role, READ_ACTION)]

    def visible(doc: dict[str, Any]) -> bool:
        scope = str(doc.get("authorization", {}).get("scope") or doc.get("resourceId") or "")
        return any(ids.is_within(s if s != "/" else "", scope) for s in grants)

    return visible


def list_(c: Ctx) -> Response:
    raw = c.req.query.get("$filter", "")
    flt = parse_filter(raw, c.b.clock.now())
    after, limit = c.paging()
    items, last = c.b.activity.query(c.p["sub"], flt, after, limit, _visibility(c))
    body: dict[str, Any] = {"value": items}
    if last is not None:
        query = {"$filter": raw, "$skipToken": str(last)}
        if c.req.query.get("$top"):
            query["$top"] = c.req.query["$top"]
        body["nextLink"] = c.url(c.req.path, **query)
    return c.ok(body)
