"""Roles, role assignments, the caller's permissions, principals and the admin endpoints
(Microsoft.Authorization and acrctl extensions): schemas and path specs
(acrctl.server.handlers.authz, .principals, .permissions)."""

from __future__ import annotations

from acrctl.server.openapi.base import (
    BOOL,
    DATETIME,
    STR,
    Schema,
    Specs,
    arr,
    enum,
    error,
    list_of,
    obj,
    ok,
    ref,
    spec,
)


def schemas() -> dict[str, Schema]:
    permission = obj(
        {
            "actions": arr(STR),
            "notActions": arr(STR),
            "dataActions": arr(STR),
            "notDataActions": arr(STR),
        }
    )
    return {
        "Permission": permission,
        "PermissionListResult": list_of("Permission", pageable=False),
        "RoleDefinition": obj(
            {
                "id": STR,
                "name": STR,
                "type": STR,
                "properties": obj(
                    {
                        "roleName": STR,
                        "roleType": STR,
                        "description": STR,
                        "assignableScopes": arr(STR),
                        "permissions": arr(ref("Permission")),
                    },
                    ("roleName", "permissions"),
                ),
            },
            ("id", "name", "type", "properties"),
        ),
        "RoleDefinitionCreateParameters": obj(
            {
                "properties": obj(
                    {
                        "roleName": {"type": "string", "minLength": 1, "pattern": r"\S"},
                        "description": STR,
                        "assignableScopes": arr({"type": "string", "minLength": 1}),
                        "permissions": arr(ref("Permission"), minItems=1),
                    },
                    ("roleName", "permissions"),
                )
            },
            ("properties",),
        ),
        "RoleDefinitionListResult": list_of("RoleDefinition", pageable=False),
        "RoleAssignment": obj(
            {
                "id": STR,
                "name": STR,
                "type": STR,
                "properties": obj(
                    {
                        "roleDefinitionId": STR,
                        "principalId": STR,
                        "principalType": enum("User", "ServicePrincipal", "Group"),
                        "scope": STR,
                        "createdOn": DATETIME,
                    },
                    ("roleDefinitionId", "principalId", "scope"),
                ),
            },
            ("id", "name", "type", "properties"),
        ),
        "RoleAssignmentCreateParameters": obj(
            {
                "properties": obj(
                    {
                        "roleDefinitionId": {"type": "string", "minLength": 1},
                        "principalId": {"type": "string", "minLength": 1},
                        "principalType": enum("User", "ServicePrincipal", "Group"),
                    },
                    ("roleDefinitionId", "principalId"),
                )
            },
            ("properties",),
        ),
        "RoleAssignmentListResult": list_of("RoleAssignment", pageable=False),
        # -- principals and admin (acrctl extensions) --------------------------------------------
        "Principal": obj(
            {
                "id": STR,
                "displayName": STR,
                "type": enum("User", "Application"),
                "createdAt": DATETIME,
            },
            ("id", "displayName"),
        ),
        "PrincipalCreateParameters": obj(
            {
                "displayName": {"type": "string", "minLength": 1, "pattern": r"\S"},
                "type": enum("User", "Application"),
                "endDateTime": {
                    **DATETIME,
                    "description": "When the token expires (default: the server's token lifetime).",
                },
            },
            ("displayName",),
        ),
        "PrincipalWithToken": {
            "allOf": [
                ref("Principal"),
                obj(
                    {
                        "token": {
                            "type": "string",
                            "description": "The bearer token, shown once; only its hash is stored.",
                        },
                        "endDateTime": {
                            **DATETIME,
                            "nullable": True,
                            "description": "When the token expires (null: never).",
                        },
                    },
                    ("token",),
                ),
            ]
        },
        "CredentialResetParameters": obj(
            {
                "append": {**BOOL, "description": "Keep the principal's other tokens valid."},
                "endDateTime": {**DATETIME, "description": "When the new token expires."},
            }
        ),
        "PrincipalListResult": list_of("Principal", pageable=False),
        "Settings": obj(
            {
                "lroMode": enum("immediate", "polls", "seconds"),
                "lroPolls": {"type": "integer", "minimum": 0, "maximum": 1000},
                "lroSeconds": {"type": "number", "minimum": 0, "maximum": 86400},
                "retryAfter": {"type": "integer", "minimum": 0, "maximum": 3600},
                "pageSize": {"type": "integer", "minimum": 1, "maximum": 1000},
            }
        ),
    }


def specs() -> Specs:
    from acrctl.server.handlers import authz, permissions, principals

    return {
        ("GET", authz.list_definitions): spec(
            "RoleDefinitions_List{scope}",
            "Role definitions (built-in and custom).",
            "Authorization",
            {"200": ok("RoleDefinitionListResult")},
            filters=True,
        ),
        ("GET", authz.get_definition): spec(
            "RoleDefinitions_Get{scope}",
            "One role definition.",
            "Authorization",
            {"200": ok("RoleDefinition")},
        ),
        ("PUT", authz.put_definition): spec(
            "RoleDefinitions_CreateOrUpdate{scope}",
            "Create or update a custom role.",
            "Authorization",
            {"201": ok("RoleDefinition", "Created or updated.")},
            body="RoleDefinitionCreateParameters",
        ),
        ("DELETE", authz.delete_definition): spec(
            "RoleDefinitions_Delete{scope}",
            "Delete a custom role that is assigned nowhere.",
            "Authorization",
            {"200": ok("RoleDefinition", "Deleted."), "204": ok(None, "Nothing to delete.")},
        ),
        ("GET", authz.list_assignments): spec(
            "RoleAssignments_List{scope}",
            "Assignments at, above and below the scope.",
            "Authorization",
            {"200": ok("RoleAssignmentListResult")},
            filters=True,
        ),
        ("GET", authz.get_assignment): spec(
            "RoleAssignments_Get{scope}",
            "One assignment made at the scope.",
            "Authorization",
            {"200": ok("RoleAssignment")},
        ),
        ("PUT", authz.put_assignment): spec(
            "RoleAssignments_Create{scope}",
            "Assign a role at the scope.",
            "Authorization",
            {"201": ok("RoleAssignment", "Created (or the same assignment again).")},
            body="RoleAssignmentCreateParameters",
        ),
        ("DELETE", authz.delete_assignment): spec(
            "RoleAssignments_Delete{scope}",
            "Remove an assignment.",
            "Authorization",
            {"200": ok("RoleAssignment", "Deleted."), "204": ok(None, "Nothing to delete.")},
        ),
        ("GET", authz.whoami): spec(
            "Principals_Whoami", "The calling principal.", "Authorization", {"200": ok("Principal")}
        ),
        ("POST", authz.create_principal): spec(
            "Principals_Create",
            "acrctl extension: a principal and its token (shown once).",
            "Authorization",
            {"201": ok("PrincipalWithToken", "Created.")},
            body="PrincipalCreateParameters",
        ),
        ("GET", authz.list_principals): spec(
            "Principals_List",
            "acrctl extension.",
            "Authorization",
            {"200": ok("PrincipalListResult")},
        ),
        ("DELETE", principals.delete): spec(
            "Principals_Delete",
            "acrctl extension: delete a principal, its tokens and its role assignments.",
            "Authorization",
            {
                "200": ok("Principal", "Deleted."),
                "409": error("The last Owner of a subscription cannot be deleted."),
            },
        ),
        ("POST", principals.reset_credential): spec(
            "Principals_ResetCredential",
            "acrctl extension: a new token (shown once); the others stop working unless append.",
            "Authorization",
            {"200": ok("PrincipalWithToken", "The new token.")},
            body="CredentialResetParameters",
            body_required=False,
        ),
        ("POST", authz.reset): spec(
            "Admin_Reset",
            "Wipe and bootstrap again (servers started with resets "
            "allowed), keeping the admin's and the caller's tokens.",
            "Admin",
            {
                "204": ok(None, "Reset."),
                "200": ok(
                    "PrincipalWithToken",
                    "Reset; no token could be kept: the new admin token, shown once.",
                ),
            },
        ),
        ("PUT", authz.settings): spec(
            "Admin_Settings",
            "Server knobs (LRO pacing, paging).",
            "Admin",
            {"200": ok("Settings")},
            body="Settings",
        ),
        ("GET", permissions.list_): spec(
            "Permissions_List{scope}",
            "The caller's own effective permissions at the scope "
            "(one entry per role assignment at or above it).",
            "Authorization",
            {"200": ok("PermissionListResult")},
        ),
    }
