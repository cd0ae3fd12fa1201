"""Handlers for the lifecycle of principals (acrctl's own directory): credential reset and
delete. Both routes need a principals right at the subscription (routes.py); on top of it
the caller must be able to write (reset) or delete (delete) role assignments at every scope
the principal holds one, so a narrow principals/write grant cannot be used to take over, or
remove, a more powerful principal."""

from __future__ import annotations

from acrctl.backend import credentials
from acrctl.backend.errors import InvalidRequestContent
from acrctl.server.http import Ctx, Response

ASSIGN = "Microsoft.Authorization/roleAssignments"
NO_STORE = {"Cache-Control": "no-store"}


def _target(c: Ctx, action: str) -> str:
    pid = c.p["principal"].lower()
    for a in c.b.rbac.list_assignments(pid):
        c.b.rbac.check(c.caller, f"{ASSIGN}/{action}", a["properties"]["scope"])
    return pid


def reset_credential(c: Ctx) -> Response:
    """POST .../principals/{principal}/resetCredential {"append": bool, "endDateTime": iso}:
    a new token, shown once; without append every other token of the principal stops
    working at once."""
    body = c.body(require_object=False)
    append = body.get("append", False)
    if not isinstance(append, bool):
        raise InvalidRequestContent(
            "The request content was invalid and could not be deserialized: "
            "'append' must be a boolean.",
        )
    end = body.get("endDateTime")
    expires_on = None if end is None else credentials.parse_end_date(end, c.b.clock.now())
    doc, token, expires_on = credentials.reset_credential(
        c.b, _target(c, "write"), append, expires_on
    )
    out = {
        **doc,
        "token": token,
        "endDateTime": None if expires_on is None else c.b.clock.iso(expires_on),
    }
    return Response(200, out, dict(NO_STORE))


def delete(c: Ctx) -> Response:
    """DELETE .../principals/{principal}: the principal, its tokens and its role
    assignments; refused (409) for the last Owner of a subscription."""
    return c.ok(credentials.delete_principal(c.b, _target(c, "delete")))
