"""Handlers for Microsoft.Resources: subscriptions, locations and resource groups."""

from __future__ import annotations

from typing import Any

from acrctl.backend import regions
from acrctl.backend.groups import GROUP
from acrctl.server.http import Ctx, Response


def list_subscriptions(c: Ctx) -> Response:
    subs = [s for s in c.b.list_subscriptions() if c.b.rbac.reaches(c.caller, s["id"])]
    return c.ok({"value": subs})


def sees_subscription(b: Any, caller: Any, params: dict[str, str]) -> bool:
    """The route fallback of GET /subscriptions/{sub} and its locations: a principal with an
    assignment anywhere inside the subscription may read them, as in ARM."""
    return bool(b.rbac.reaches(caller, f"/subscriptions/{params['sub']}"))


def get_subscription(c: Ctx) -> Response:
    return c.ok(c.b.subscription(c.p["sub"]))


def list_locations(c: Ctx) -> Response:
    c.b.subscription(c.p["sub"])
    return c.ok({"value": [location(c.p["sub"], r) for r in regions.catalog().values()]})


def location(sub: str, r: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": f"/subscriptions/{sub}/locations/{r['name']}",
        "name": r["name"],
        "type": "Region",
        "displayName": r["displayName"],
        "regionalDisplayName": r.get("regionalDisplayName", r["displayName"]),
        "metadata": {
            "regionType": "Physical",
            "regionCategory": r.get("regionCategory"),
            "geography": r.get("geography"),
            "geographyGroup": r.get("geographyGroup"),
            "latitude": str(r["latitude"]),
            "longitude": str(r["longitude"]),
            "physicalLocation": r.get("physicalLocation"),
            "pairedRegion": _paired(sub, r),
        },
        "availabilityZoneMappings": [{"logicalZone": str(z)} for z in (1, 2, 3)]
        if r.get("availabilityZones")
        else [],
    }


def _paired(sub: str, r: dict[str, Any]) -> list[dict[str, str]]:
    pair = r.get("pairedRegion")
    return [{"name": pair, "id": f"/subscriptions/{sub}/locations/{pair}"}] if pair else []


def get_group(c: Ctx) -> Response:
    return c.resource(GROUP, lambda: c.b.groups.get(c.p["sub"], c.p["rg"]))


def put_group(c: Ctx) -> Response:
    doc, created = c.b.groups.put(c.caller, c.p["sub"], c.p["rg"], c.body(), **c.conditions())
    return c.resource(GROUP, doc, 201 if created else 200)


def patch_group(c: Ctx) -> Response:
    return c.resource(
        GROUP, c.b.groups.update(c.caller, c.p["sub"], c.p["rg"], c.body(), **c.conditions())
    )


def delete_group(c: Ctx) -> Response:
    return Response(200 if c.b.groups.delete(c.p["sub"], c.p["rg"], **c.conditions()) else 204)


def head_group(c: Ctx) -> Response:
    return Response(204 if c.b.groups.exists(c.p["sub"], c.p["rg"]) else 404)


def list_groups(c: Ctx) -> Response:
    after, limit = c.paging()
    docs, last = c.b.groups.list(c.p["sub"], after, limit)
    return c.page(
        (
            [
                d
                for d in docs
                if c.b.rbac.allowed(
                    c.caller, "Microsoft.Resources/subscriptions/resourceGroups/read", d["id"]
                )
            ],
            last,
        )
    )
