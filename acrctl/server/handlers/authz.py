"""Handlers for Microsoft.Authorization role definitions and assignments, principals,
and the admin endpoints (reset, settings) used by tests and operators."""

from __future__ import annotations

import re
from typing import Any

from acrctl.backend import scopes
from acrctl.backend.errors import (
    InvalidFilter,
    InvalidPrincipal,
    InvalidSetting,
    NotFound,
    ResetDisabled,
)
from acrctl.server.http import Ctx, Response


def _scope(c: Ctx) -> str:
    """The path's scope, canonical; `..`, encoded dots, empty segments refused (400)."""
    return scopes.normalise(c.p.get("scope") or "/")


def list_definitions(c: Ctx) -> Response:
    """The definitions visible at the scope; `roleName eq` compares names as uniqueness
    does (no case, no surrounding white space)."""
    name = _filter_value(c, "roleName")
    return c.ok({"value": c.b.rbac.list_role_definitions(_scope(c), name or None)})


def get_definition(c: Ctx) -> Response:
    return c.ok(c.b.rbac.get_role_definition(_scope(c), c.p["id"]))


def put_definition(c: Ctx) -> Response:
    """The caller needs roleDefinitions/write at every scope the role is (or was) assignable
    at, not only at the URL's scope: otherwise rewriting a role assigned higher up widens
    the caller's own access there (checked in the backend, in the write's transaction)."""
    return c.ok(c.b.rbac.put_role_definition(_scope(c), c.p["id"], c.body(), c.caller), 201)


def delete_definition(c: Ctx) -> Response:
    """200 with the deleted role, 204 when there is none at this scope; roleDefinitions/
    delete is needed at every scope the role is assignable at."""
    doc = c.b.rbac.delete_role_definition(_scope(c), c.p["id"], c.caller)
    return Response(204) if doc is None else c.ok(doc)


def list_assignments(c: Ctx) -> Response:
    """Assignments at, above (inherited) or below the scope, as far as the caller may read
    them: those below need read at their own scope, inherited ones read at this scope."""
    scope = _scope(c)
    principal = _filter_value(c, "principalId")
    rbac, read = c.b.rbac, "Microsoft.Authorization/roleAssignments/read"
    docs = [
        a
        for a in rbac.list_assignments(principal)
        if (
            scopes.within(scope, a["properties"]["scope"])
            and rbac.allowed(c.caller, read, a["properties"]["scope"])
        )
        or (scopes.within(a["properties"]["scope"], scope) and rbac.allowed(c.caller, read, scope))
    ]
    return c.ok({"value": docs})


def put_assignment(c: Ctx) -> Response:
    return c.ok(c.b.rbac.create_assignment(_scope(c), c.p["id"], c.body()), 201)


def get_assignment(c: Ctx) -> Response:
    return c.ok(c.b.rbac.get_assignment(c.p["id"], _scope(c)))


def delete_assignment(c: Ctx) -> Response:
    scope = _scope(c)
    try:
        doc = c.b.rbac.get_assignment(c.p["id"], scope)
    except NotFound:
        return Response(204)
    c.b.rbac.delete_assignment(c.p["id"])
    return c.ok(doc)


def create_principal(c: Ctx) -> Response:
    body = c.body()
    name = body.get("displayName")
    if not isinstance(name, str) or not name.strip():
        raise InvalidPrincipal("A principal needs a displayName.")
    kind = body.get("type", "Application")
    if kind not in ("User", "Application"):
        raise InvalidPrincipal("type must be 'User' or 'Application'.")
    from acrctl.backend import credentials

    end = body.get("endDateTime")
    expires_on = (
        credentials.default_expiry(c.b, kind)
        if end is None
        else credentials.parse_end_date(end, c.b.clock.now())
    )
    doc, token = c.b.rbac.create_principal(name, kind, expires_on=expires_on)
    return Response(
        201,
        {
            **doc,
            "token": token,
            "endDateTime": None if expires_on is None else c.b.clock.iso(expires_on),
        },
        {"Cache-Control": "no-store"},
    )


def list_principals(c: Ctx) -> Response:
    return c.ok({"value": c.b.rbac.list_principals()})


def whoami(c: Ctx) -> Response:
    return c.ok(
        c.b.rbac.principal(c.caller.id) or {"id": c.caller.id, "displayName": c.caller.name}
    )


def reset(c: Ctx) -> Response:
    if not c.b.settings.allow_reset:
        raise ResetDisabled("This server was not started with resets allowed.")
    from acrctl.backend.credentials import reset_store

    # the admin keeps a way in: the configured token, else its own; so does the caller
    auth = c.header("authorization") or ""
    bearer = auth[7:].strip() if auth[:7].lower() == "bearer " else None
    admin, minted = reset_store(c.b, c.p["sub"], c.b.settings.admin_token, bearer)
    if minted is None:
        return Response(204)
    return Response(200, {**admin, "token": minted}, {"Cache-Control": "no-store"})


def settings(c: Ctx) -> Response:
    from acrctl.server.config import RANGES  # the settings schema's ranges

    body: dict[str, Any] = c.body()
    s = c.b.settings
    changes: dict[str, Any] = {}
    if "lroMode" in body:
        if body["lroMode"] not in ("immediate", "polls", "seconds"):
            raise InvalidSetting("lroMode must be immediate, polls or seconds.")
        changes["lro_mode"] = body["lroMode"]
    for key, attr, integral in SETTINGS:
        low, high = RANGES[attr]
        if key in body:
            value = body[key]
            if isinstance(value, bool) or not isinstance(value, int if integral else int | float):
                raise InvalidSetting(f"{key} must be {'an integer' if integral else 'a number'}.")
            if value < low or (high is not None and value > high):
                raise InvalidSetting(f"{key} must be between {low} and {high}.")
            changes[attr] = value if integral else float(value)
    for attr, value in changes.items():  # all or nothing
        setattr(s, attr, value)
    return c.ok(
        {
            "lroMode": s.lro_mode,
            "lroPolls": s.lro_polls,
            "lroSeconds": s.lro_seconds,
            "retryAfter": s.retry_after,
            "pageSize": s.page_size,
        }
    )


# key, Settings attribute, integral; the range is the server settings schema's
SETTINGS = (
    ("lroPolls", "lro_polls", True),
    ("lroSeconds", "lro_seconds", False),
    ("retryAfter", "retry_after", True),
    ("pageSize", "page_size", True),
)


def health(c: Ctx) -> Response:
    return c.ok({"status": "ok"})


def _filter_value(c: Ctx, field: str) -> str | None:
    """The value of `field eq '...'` in $filter (OData: '' is a quote), or None."""
    flt = c.req.query.get("$filter", "")
    if not re.search(rf"\b{field}\s+eq\b", flt, re.IGNORECASE):
        return None
    # the closing quote ends the value: `'O'Brien'` is refused, not read as 'O'
    m = re.search(rf"\b{field}\s+eq\s+'((?:[^']|'')*)'(?=\s|\)|$)", flt, re.IGNORECASE)
    if m is None:
        raise InvalidFilter(f"The $filter '{flt[:100]}' is invalid: use {field} eq '<value>'.")
    return m.group(1).replace("''", "'")
