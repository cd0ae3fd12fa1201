"""Failure drills (acrctl extension, admin only): schemas and path specs (acrctl.server.drills)."""

from __future__ import annotations

from acrctl.server.openapi.base import STR, Schema, Specs, enum, list_of, obj, ok, spec


def schemas() -> dict[str, Schema]:
    return {
        "Drill": obj(
            {
                "id": STR,
                "name": STR,
                "type": STR,
                "properties": obj(
                    {"kind": enum("RegionOutage", "ReplicaOutage", "Throttle", "Latency")},
                    ("kind",),
                ),
            },
            ("id", "name", "properties"),
        ),
        "DrillCreateParameters": obj(
            {
                "properties": obj(
                    {
                        "kind": enum("RegionOutage", "ReplicaOutage", "Throttle", "Latency"),
                        "region": STR,
                        "retryAfter": {"type": "integer", "minimum": 0},
                        "durationSeconds": {"type": "integer", "minimum": 1},
                    },
                    ("kind",),
                )
            },
            ("properties",),
        ),
        "DrillListResult": list_of("Drill", pageable=False),
    }


def specs() -> Specs:
    from acrctl.server import drills

    return {
        ("GET", drills.list_): spec(
            "Drills_List",
            "Failure drills of the subscription.",
            "Admin",
            {"200": ok("DrillListResult")},
        ),
        ("DELETE", drills.clear): spec(
            "Drills_Clear",
            "Remove every drill.",
            "Admin",
            {"200": ok("DrillListResult", "What was removed.")},
        ),
        ("GET", drills.get): spec("Drills_Get", "One drill.", "Admin", {"200": ok("Drill")}),
        ("PUT", drills.put): spec(
            "Drills_CreateOrUpdate",
            "Start a failure drill.",
            "Admin",
            {"200": ok("Drill"), "201": ok("Drill", "Created.")},
            body="DrillCreateParameters",
        ),
        ("DELETE", drills.delete): spec(
            "Drills_Delete",
            "Stop a drill.",
            "Admin",
            {"200": ok("Drill", "Removed."), "204": ok(None, "Nothing to remove.")},
        ),
    }
