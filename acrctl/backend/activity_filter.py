"""The activity log's $filter (acrctl.backend.activity): the OData subset `az monitor
activity-log list` sends (eventTimestamp ranges, resource ids, groups, providers, callers,
correlation ids), parsed to a Filter that matches records."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from acrctl.backend import ids
from acrctl.backend.errors import InvalidFilter

FILTER_FIELDS = {
    "eventtimestamp": "eventTimestamp",
    "resourcegroupname": "resourceGroupName",
    "resourceuri": "resourceUri",
    "resourceid": "resourceUri",
    "resourceprovider": "resourceProvider",
    "correlationid": "correlationId",
    "caller": "caller",
    "status": "status",
}
# a value is quoted ('...', '' a quote) or bare, as `az monitor activity-log list` sends
# timestamps (eventTimestamp ge 2026-12-01T00:00:00Z)
CLAUSE_RE = re.compile(
    r"\s*(\w+)\s+(eq|ge|le|gt|lt)\s+(?:'((?:[^']|'')*)'|([^\s']+))\s*", re.IGNORECASE
)


def parse_time(value: str) -> float:
    """An ISO 8601 time (`Z` or an offset; no offset means UTC) as epoch seconds."""
    text = value.strip()
    try:
        t = dt.datetime.fromisoformat(text[:-1] + "+00:00" if text[-1:] in "zZ" else text)
    except (ValueError, IndexError):
        raise InvalidFilter(
            f"'{value[:64]}' is not an ISO 8601 time such as 2026-01-31T12:00:00Z."
        ) from None
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.UTC)
    return t.timestamp()


@dataclass
class Filter:
    """What a query selects. `start`/`end` are epoch seconds (inclusive)."""

    start: float
    end: float
    resource_group: str | None = None
    resource_uri: str | None = None
    resource_provider: str | None = None
    correlation_id: str | None = None
    caller: str | None = None
    status: str | None = None

    def matches(self, doc: dict[str, Any]) -> bool:
        ts = parse_time(str(doc["eventTimestamp"]))
        if ts < self.start or ts > self.end:
            return False
        if (
            self.resource_group is not None
            and str(doc.get("resourceGroupName") or "").lower() != self.resource_group.lower()
        ):
            return False
        if self.resource_uri is not None and not ids.is_within(
            self.resource_uri, str(doc.get("resourceId") or "")
        ):
            return False
        if (
            self.resource_provider is not None
            and str(doc.get("resourceProviderName", {}).get("value", "")).lower()
            != self.resource_provider.lower()
        ):
            return False
        if (
            self.correlation_id is not None
            and str(doc.get("correlationId", "")).lower() != self.correlation_id.lower()
        ):
            return False
        if self.caller is not None and self.caller.lower() not in (
            str(doc.get("caller", "")).lower(),
            str((doc.get("claims") or {}).get("name", "")).lower(),
        ):
            return False
        return (
            self.status is None
            or str(doc.get("status", {}).get("value", "")).lower() == self.status.lower()
        )


def parse_filter(text: str, now: float) -> Filter:
    """Azure's `$filter` for activity logs: `eventTimestamp ge '<time>'` and
    `eventTimestamp le '<time>'`, `resourceGroupName eq`, `resourceUri eq` (the resource
    and what is below it), `resourceProvider eq`, `correlationId eq`, `caller eq` (object
    id or name), `status eq`, joined by `and`. Azure requires the `ge` clause; here a
    missing one means from the oldest record kept, a missing `le` means now, and an empty
    filter selects everything."""
    start = 0.0
    end = now
    if not text.strip():
        return Filter(start, end)
    values: dict[str, str] = {}
    for clause in re.split(r"\s+and\s+", text.strip(), flags=re.IGNORECASE):
        m = CLAUSE_RE.fullmatch(clause)
        field = FILTER_FIELDS.get(m.group(1).lower()) if m else None
        if m is None or field is None:
            raise InvalidFilter(
                f"The $filter clause '{clause[:80]}' is not supported. Use "
                "eventTimestamp ge/le, and resourceGroupName, resourceUri, "
                "resourceProvider, correlationId, caller or status eq, "
                "joined by 'and'.",
            )
        op = m.group(2).lower()
        value = m.group(3).replace("''", "'") if m.group(3) is not None else m.group(4)
        if field == "eventTimestamp":
            if op in ("ge", "gt"):
                start = parse_time(value)
            else:
                end = parse_time(value)
        elif op != "eq":
            raise InvalidFilter(f"'{field}' supports only 'eq'.")
        else:
            values[field] = value
    if end < start:
        raise InvalidFilter("The end time is before the start time.")
    return Filter(
        start,
        end,
        values.get("resourceGroupName"),
        values.get("resourceUri"),
        values.get("resourceProvider"),
        values.get("correlationId"),
        values.get("caller"),
        values.get("status"),
    )
