"""The route table's rows for authorization: role assignments and definitions, permissions,
the activity log, principals and their tokens, admin endpoints, failure drills (assembled
in acrctl.server.routes)."""

from __future__ import annotations

from acrctl.server import drills
from acrctl.server.handlers import activity, authz, permissions, principals
from acrctl.server.routes_paths import (
    AUTHZ,
    DRILLS,
    ELEVATE,
    PRINCIPALS,
    SUB,
    r,
)
from acrctl.server.routing import Route

AUTHZ_ROUTES: list[Route] = [
    # authorization
    r(
        "GET",
        f"{AUTHZ}/roleDefinitions",
        authz.list_definitions,
        "Microsoft.Authorization/roleDefinitions/read",
        "{scope:path}",
        acr=False,
    ),
    r(
        "GET",
        f"{AUTHZ}/roleDefinitions/{{id}}",
        authz.get_definition,
        "Microsoft.Authorization/roleDefinitions/read",
        "{scope:path}",
        acr=False,
    ),
    r(
        "PUT",
        f"{AUTHZ}/roleDefinitions/{{id}}",
        authz.put_definition,
        "Microsoft.Authorization/roleDefinitions/write",
        "{scope:path}",
        acr=False,
    ),
    r(
        "DELETE",
        f"{AUTHZ}/roleDefinitions/{{id}}",
        authz.delete_definition,
        "Microsoft.Authorization/roleDefinitions/delete",
        "{scope:path}",
        acr=False,
    ),
    r(
        "GET",
        f"{AUTHZ}/roleAssignments",
        authz.list_assignments,
        "Microsoft.Authorization/roleAssignments/read",
        "{scope:path}",
        listing=True,
        acr=False,
    ),
    r(
        "GET",
        f"{AUTHZ}/roleAssignments/{{id}}",
        authz.get_assignment,
        "Microsoft.Authorization/roleAssignments/read",
        "{scope:path}",
        acr=False,
    ),
    r(
        "PUT",
        f"{AUTHZ}/roleAssignments/{{id}}",
        authz.put_assignment,
        "Microsoft.Authorization/roleAssignments/write",
        "{scope:path}",
        acr=False,
    ),
    r(
        "DELETE",
        f"{AUTHZ}/roleAssignments/{{id}}",
        authz.delete_assignment,
        "Microsoft.Authorization/roleAssignments/delete",
        "{scope:path}",
        acr=False,
    ),
    # the caller's own effective permissions at a scope (any signed-in caller)
    r("GET", f"{AUTHZ}/permissions", permissions.list_, acr=False),
    # the activity log (az monitor activity-log list)
    r(
        "GET",
        f"{SUB}/providers/Microsoft.Insights/eventtypes/management/values",
        activity.list_,
        "Microsoft.Insights/eventtypes/values/read",
        SUB,
        listing=True,
        acr=False,
    ),
    # principals (acrctl extension: a directory of its own) and admin endpoints
    r("GET", "/providers/Microsoft.Authorization/whoami", authz.whoami, acr=False),
    r(
        "POST",
        f"{SUB}/providers/Microsoft.Authorization/principals",
        authz.create_principal,
        "Microsoft.Authorization/principals/write",
        SUB,
        acr=False,
    ),
    r(
        "GET",
        f"{SUB}/providers/Microsoft.Authorization/principals",
        authz.list_principals,
        "Microsoft.Authorization/principals/read",
        SUB,
        acr=False,
    ),
    # the token lifecycle (acrctl.server.handlers.principals): az ad sp delete and
    # credential reset; principals/write (reset) or /delete at the subscription, like create
    r(
        "DELETE",
        f"{PRINCIPALS}/{{principal}}",
        principals.delete,
        "Microsoft.Authorization/principals/delete",
        SUB,
        acr=False,
    ),
    r(
        "POST",
        f"{PRINCIPALS}/{{principal}}/resetCredential",
        principals.reset_credential,
        "Microsoft.Authorization/principals/write",
        SUB,
        acr=False,
    ),
    r(
        "POST",
        f"{SUB}/providers/Acrctl.Admin/reset",
        authz.reset,
        "Microsoft.Authorization/elevateAccess/Action",
        SUB,
        acr=False,
    ),
    r(
        "PUT",
        f"{SUB}/providers/Acrctl.Admin/settings",
        authz.settings,
        "Microsoft.Authorization/elevateAccess/Action",
        SUB,
        acr=False,
    ),
    # failure drills (acrctl extension, admin only; acrctl.server.drills)
    r("GET", DRILLS, drills.list_, ELEVATE, SUB, acr=False),
    r("DELETE", DRILLS, drills.clear, ELEVATE, SUB, acr=False),
    r("GET", f"{DRILLS}/{{drill}}", drills.get, ELEVATE, SUB, acr=False),
    r("PUT", f"{DRILLS}/{{drill}}", drills.put, ELEVATE, SUB, acr=False),
    r("DELETE", f"{DRILLS}/{{drill}}", drills.delete, ELEVATE, SUB, acr=False),
]
