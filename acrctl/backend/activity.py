"""The management activity log: one durable record per management write or action (PUT,
PATCH, DELETE, POST), allowed, denied or failed, in the shape of Azure's activity log
(what `az monitor activity-log list` reads).

Records are store items of kind `activity` under their subscription's key, so a list is
newest-first by `seq` and pages in O(page). The log is bounded two ways (housekeep()):
records older than `Settings.activity_retention_days` are pruned (after a write, at most
once a minute per process, and at server start), and a subscription keeps at most
`Settings.activity_max_records` (the oldest go first). The backend knows nothing of HTTP:
the server hands over the facts of a request (method, status code, ids) as plain values,
and writes a write's record in the same store transaction as the write (add() inside the
request's unit of work, housekeep() after it). The $filter of a list is parsed by
acrctl.backend.activity_filter (re-exported)."""

from __future__ import annotations

import builtins
import threading
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from acrctl.backend import ids

# the $filter (acrctl.backend.activity_filter), re-exported
from acrctl.backend.activity_filter import (  # noqa: F401
    CLAUSE_RE,
    FILTER_FIELDS,
    Filter,
    parse_filter,
    parse_time,
)
from acrctl.backend.kinds import ACTIVITY, SUBSCRIPTION

if TYPE_CHECKING:
    from acrctl.backend.core import Backend

READ_ACTION = "Microsoft.Insights/eventtypes/values/read"
PRUNE_EVERY = 60.0  # seconds between two prunes on write (per process)
PRUNE_BATCH = 500  # records deleted per subscription and prune
RECOUNT_EVERY = 1000  # records this process adds to a log between two exact counts
SCAN_LIMIT = 5000  # records examined per page before answering a short page + nextLink
CLOCK_SKEW = 300.0  # seconds: records are newest-first by seq, timestamps may disagree a bit
MAX_TEXT = 256  # characters kept of client-chosen ids

REASONS = {
    200: "OK",
    201: "Created",
    202: "Accepted",
    204: "NoContent",
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    412: "PreconditionFailed",
    413: "RequestEntityTooLarge",
    429: "TooManyRequests",
    500: "InternalServerError",
    503: "ServiceUnavailable",
}
TYPE_NAMES = {
    "registries": "Container Registry",
    "replications": "Replication",
    "webhooks": "Webhook",
    "resourcegroups": "Resource Group",
    "roleassignments": "Role Assignment",
    "roledefinitions": "Role Definition",
    "principals": "Principal",
    "checknameavailability": "Name Availability",
    "elevateaccess": "Elevated Access",
}


def _text(value: str) -> str:
    """A request path as a record keeps it (PostgreSQL text holds no NUL)."""
    return value.replace("\x00", "\ufffd")


def _value(text: str) -> dict[str, str]:
    return {"value": text, "localizedValue": text}


def resource_type(action: str) -> str:
    """`Microsoft.ContainerRegistry/registries/webhooks/ping/action` ->
    `Microsoft.ContainerRegistry/registries/webhooks`."""
    parts = action.split("/")
    if parts and parts[-1].lower() == "action":
        parts = parts[:-2]
    elif len(parts) > 1:
        parts = parts[:-1]
    return "/".join(parts)


def localized(action: str) -> str:
    """A readable operation name: `Create or Update Webhook`, `Ping Webhook`..."""
    parts = action.split("/")
    rtype = resource_type(action).split("/")
    noun = TYPE_NAMES.get(rtype[-1].lower(), rtype[-1]) if len(rtype) > 1 else rtype[0]
    verb = parts[-1].lower()
    if verb == "action" and len(parts) > 1:
        name = parts[-2]
        return f"{name[:1].upper()}{name[1:]} {noun}"
    return {
        "write": f"Create or Update {noun}",
        "delete": f"Delete {noun}",
        "read": f"Read {noun}",
    }.get(verb, f"{verb} {noun}")


class Activity:
    def __init__(self, backend: Backend) -> None:
        self.b = backend
        self._last_prune = 0.0
        # per subscription key: (records counted or estimated, records added since counted)
        self._sizes: dict[str, tuple[int, int]] = {}
        self._lock = threading.Lock()

    @staticmethod
    def parent(sub: str) -> str:
        return ids.key(ids.subscription_id(sub))

    # -- writing ------------------------------------------------------------------------------
    def record(self, sub: str, **facts: Any) -> dict[str, Any] | None:
        """add() one record, then housekeep(). Returns the record, or None when the
        subscription does not exist."""
        doc = self.add(sub, **facts)
        if doc is not None:
            self.housekeep(sub)
        return doc

    def add(
        self,
        sub: str,
        *,
        caller_id: str,
        caller_name: str,
        method: str,
        action: str | None,
        scope: str,
        resource_id: str,
        status_code: int,
        request_id: str,
        correlation_id: str,
        client_request_id: str | None = None,
        error_code: str | None = None,
        suppressed: int = 0,
    ) -> dict[str, Any] | None:
        """Store one record (in the caller's transaction, if any). Returns it, or None when
        the subscription does not exist (an attempt on a made-up subscription is not worth
        keeping). `suppressed`: records of this caller's refused attempts left unwritten
        since its previous record (kept as properties.suppressedEvents)."""
        parent = self.parent(sub)
        if self.b.store.get(SUBSCRIPTION, parent) is None:
            return None
        scope, resource_id = _text(scope), _text(resource_id)
        now = self.b.clock.now()
        event_id = str(uuid.uuid4())
        operation = action or f"{method} {resource_id}"
        rtype = resource_type(action) if action else ""
        provider = rtype.split("/", 1)[0] if rtype else ""
        reason = REASONS.get(status_code, str(status_code))
        if status_code == 202:
            status = "Accepted"
        elif status_code < 400:
            status = "Succeeded"
        else:
            status = "Failed"
        ticks = int(now * 10_000_000) + 621_355_968_000_000_000  # .NET ticks, as Azure
        doc: dict[str, Any] = {
            "authorization": {"action": operation, "scope": scope},
            "caller": caller_id,
            "category": _value("Administrative"),
            "claims": {
                "name": caller_name,
                "http://schemas.microsoft.com/identity/claims/objectidentifier": caller_id,
            },
            "correlationId": _text(correlation_id[:MAX_TEXT]),
            "description": error_code or "",
            "eventDataId": event_id,
            "eventName": {"value": "EndRequest", "localizedValue": "End request"},
            "eventTimestamp": self.b.clock.iso(now),
            "httpRequest": {
                "clientRequestId": _text((client_request_id or "")[:MAX_TEXT]),
                "method": method,
            },
            "id": f"{resource_id.rstrip('/')}/events/{event_id}/ticks/{ticks}",
            "level": "Informational" if status_code < 400 else "Error",
            "operationId": request_id,
            "operationName": {
                "value": operation,
                "localizedValue": localized(action) if action else operation,
            },
            "resourceGroupName": ids.parse(resource_id).get("resourceGroup"),
            "resourceId": resource_id,
            "resourceProviderName": _value(provider),
            "resourceType": _value(rtype),
            "status": _value(status),
            "subStatus": {
                "value": reason,
                "localizedValue": f"{reason} (HTTP Status Code: {status_code})",
            },
            "submissionTimestamp": self.b.clock.iso(now),
            "subscriptionId": sub,
            "tenantId": sub,
        }
        if suppressed:
            doc["properties"] = {"suppressedEvents": str(suppressed)}
        self.b.store.put(ACTIVITY, f"{parent}/activity/{event_id}", parent, event_id, doc)
        return doc

    def housekeep(self, sub: str, now: float | None = None) -> int:
        """After a record of `sub` was added (and committed): prune past the retention (at
        most once every PRUNE_EVERY seconds per process) and hold the subscription's log
        to Settings.activity_max_records. Returns how many records were deleted."""
        now = self.b.clock.now() if now is None else now
        deleted = 0
        if now - self._last_prune >= PRUNE_EVERY:
            self._last_prune = now
            deleted += self.prune(now)
            with self._lock:
                self._sizes.clear()  # count them again
        return deleted + self._bound(self.parent(sub))

    def _bound(self, parent: str) -> int:
        """Past Settings.activity_max_records, delete the oldest records of the log under
        `parent` down to 90% of the cap (at most PRUNE_BATCH at a time). The size is
        counted exactly every RECOUNT_EVERY records this process adds, and whenever the
        estimate in between says the cap is passed (what other instances add shows at the
        next count)."""
        cap = int(self.b.settings.activity_max_records or 0)
        if cap <= 0:
            return 0
        with self._lock:
            size, since = self._sizes.get(parent, (0, RECOUNT_EVERY))
        size, since = size + 1, since + 1
        if since >= RECOUNT_EVERY or size > cap:  # never delete on an estimate
            size, since = self.b.store.count(ACTIVITY, parent), 0
        deleted = 0
        if size > cap:
            excess = min(size - (cap - cap // 10), PRUNE_BATCH)
            with self.b.store.transaction():
                for item in self.b.store.list(ACTIVITY, parent=parent, limit=excess):
                    deleted += int(self.b.store.delete(ACTIVITY, item.key))
        with self._lock:
            self._sizes[parent] = (size - deleted, since)
        return deleted

    def prune(self, now: float | None = None) -> int:
        """Delete records older than the retention (Settings.activity_retention_days; 0 or
        less keeps everything), oldest first, at most PRUNE_BATCH per subscription.
        Returns how many were deleted."""
        days = float(self.b.settings.activity_retention_days or 0)
        if days <= 0:
            return 0
        cutoff = (self.b.clock.now() if now is None else now) - days * 86400
        deleted = 0
        for sub in self.b.list_subscriptions():
            for item in self.b.store.list(
                ACTIVITY, parent=self.parent(sub["subscriptionId"]), limit=PRUNE_BATCH
            ):
                if parse_time(str(item.doc["eventTimestamp"])) >= cutoff:
                    break
                deleted += int(self.b.store.delete(ACTIVITY, item.key))
        return deleted

    # -- reading ------------------------------------------------------------------------------
    def query(
        self,
        sub: str,
        flt: Filter,
        after: int | None = None,
        limit: int = 100,
        visible: Callable[[dict[str, Any]], bool] | None = None,
        scan_limit: int = SCAN_LIMIT,
    ) -> tuple[builtins.list[dict[str, Any]], int | None]:
        """Records of a subscription that match, newest first. `after` is the seq to continue
        below (a nextLink's $skipToken); `visible` drops records the caller may not read.
        Returns (records, seq to continue from, or None at the end). A page may be short
        when `scan_limit` records were examined without filling it."""
        parent = self.parent(sub)
        out: builtins.list[dict[str, Any]] = []
        scanned = 0
        cursor = after
        batch = max(limit, 100)
        while True:
            items = self.b.store.list(
                ACTIVITY, parent=parent, after=cursor, limit=batch, newest_first=True
            )
            for item in items:
                scanned += 1
                cursor = item.seq
                if parse_time(str(item.doc["eventTimestamp"])) < flt.start - CLOCK_SKEW:
                    return out, None  # older than the window: nothing further can match
                if flt.matches(item.doc) and (visible is None or visible(item.doc)):
                    out.append(item.doc)
                    if len(out) >= limit:
                        return out, cursor
                if scanned >= scan_limit:
                    return out, cursor
            if len(items) < batch:
                return out, None
