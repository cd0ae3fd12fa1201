"""GET {scope}/providers/Microsoft.Authorization/permissions: the caller's own effective
permissions at a scope, as ARM answers it (one entry per role assignment at or above the
scope). Any signed-in caller may ask about itself; the portal reads it to disable the
controls the caller could not use (the server still checks every request)."""

from __future__ import annotations

from typing import Any

from acrctl.backend import ids, scopes
from acrctl.server.http import Ctx, Response


def _entry(perm: dict[str, Any]) -> dict[str, list[str]]:
    return {
        key: list(perm.get(key) or [])
        for key in ("actions", "notActions", "dataActions", "notDataActions")
    }


def list_(c: Ctx) -> Response:
    scope = scopes.normalise(c.p.get("scope") or "/")
    out = [
        _entry(perm)
        for at, role in c.b.rbac.grants(c.caller)
        if ids.is_within(at if at != "/" else "", scope)
        for perm in role["properties"]["permissions"]
    ]
    return c.ok({"value": out})
