"""The activity log (az monitor activity-log list): schema and path spec
(acrctl.server.handlers.activity)."""

from __future__ import annotations

from acrctl.server.openapi.base import Schema, Specs, arr, obj, ok, spec


def schemas() -> dict[str, Schema]:
    return {
        "ActivityLogListResult": obj(
            {
                "value": arr({"type": "object"}),
                "nextLink": {"type": "string", "format": "uri", "nullable": True},
            },
            ("value",),
        ),
    }


def specs() -> Specs:
    from acrctl.server.handlers import activity

    return {
        ("GET", activity.list_): spec(
            "ActivityLogs_List",
            "Management events ($filter=eventTimestamp ge '...' required).",
            "Monitor",
            {"200": ok("ActivityLogListResult")},
            paging=True,
            filters=True,
        ),
    }
