"""Built-in role definitions (ARM ids and permissions as documented for Azure RBAC)."""

from __future__ import annotations

from typing import Any

ACR = "Microsoft.ContainerRegistry/registries"

_CONTRIBUTOR_NOT = [
    "Microsoft.Authorization/*/Delete", "Microsoft.Authorization/*/Write",
    "Microsoft.Authorization/elevateAccess/Action",
    "Microsoft.Blueprint/blueprintAssignments/write",
    "Microsoft.Blueprint/blueprintAssignments/delete",
    "Microsoft.Compute/galleries/share/action", "Microsoft.Purview/consents/write",
    "Microsoft.Purview/consents/delete",
    "Microsoft.Resources/deploymentStacks/manageDenySetting/action",
    "Microsoft.Subscription/cancel/action", "Microsoft.Subscription/enable/action",
]

_ACR_CONTRIBUTOR = [
    "Microsoft.Resources/subscriptions/resourceGroups/read",
    f"{ACR}/read", f"{ACR}/write", f"{ACR}/delete", f"{ACR}/operationStatuses/read",
    f"{ACR}/listUsages/read",
    f"{ACR}/listCredentials/action", f"{ACR}/regenerateCredential/action",
    f"{ACR}/generateCredentials/action",
    f"{ACR}/replications/read", f"{ACR}/replications/write", f"{ACR}/replications/delete",
    f"{ACR}/replications/operationStatuses/read",
    f"{ACR}/webhooks/read", f"{ACR}/webhooks/write", f"{ACR}/webhooks/delete",
    f"{ACR}/webhooks/getCallbackConfig/action", f"{ACR}/webhooks/ping/action",
    f"{ACR}/webhooks/listEvents/action", f"{ACR}/webhooks/operationStatuses/read",
    f"{ACR}/tokens/*", f"{ACR}/scopeMaps/*", f"{ACR}/privateEndpointConnections/*",
    f"{ACR}/connectedRegistries/*",
    "Microsoft.ContainerRegistry/locations/operationResults/read",
    "Microsoft.ContainerRegistry/checkNameAvailability/read",
    "Microsoft.Resources/deployments/*", "Microsoft.Authorization/*/read",
]

_ACR_CONFIG_READER = [
    f"{ACR}/read", f"{ACR}/operationStatuses/read", f"{ACR}/listCredentials/action",
    f"{ACR}/listUsages/read",
    f"{ACR}/replications/read", f"{ACR}/replications/operationStatuses/read",
    f"{ACR}/webhooks/read", f"{ACR}/webhooks/getCallbackConfig/action",
    f"{ACR}/webhooks/listEvents/action", f"{ACR}/webhooks/operationStatuses/read",
    f"{ACR}/tokens/read", f"{ACR}/scopeMaps/read", f"{ACR}/privateEndpointConnections/read",
    f"{ACR}/connectedRegistries/read",
]

# (name, guid, actions, notActions, description)
_BUILTINS: list[tuple[str, str, list[str], list[str], str]] = [
    ("Owner", "8e3af657-a8ff-443c-a75c-2fe8c4bcb635", ["*"], [],
     "Grants full access to manage all resources, including assigning roles."),
    ("Contributor", "b24988ac-6180-42a0-ab88-20f7382dd24c", ["*"], _CONTRIBUTOR_NOT,
     "Grants full access to manage all resources, but does not allow you to assign roles."),
    ("Reader", "acdd72a7-3385-48ef-bd42-f606fba81ae7", ["*/read"], [],
     "View all resources, but does not allow you to make any changes."),
    ("User Access Administrator", "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9",
     ["*/read", "Microsoft.Authorization/*", "Microsoft.Support/*"], [],
     "Lets you manage user access to Azure resources."),
    ("AcrPull", "7f951dda-4ed3-4680-a7ca-43fe172d538d", [f"{ACR}/pull/read"], [],
     "acr pull"),
    ("AcrPush", "8311e382-0749-4cb8-b61a-304f252e45ec",
     [f"{ACR}/pull/read", f"{ACR}/push/write"], [], "acr push"),
    ("AcrDelete", "c2f4ef07-c644-48eb-af81-4b1b4947fb11", [f"{ACR}/artifacts/delete"], [],
     "acr delete"),
    ("AcrImageSigner", "6cef56e8-d556-48e5-a04f-b8e64114680f", [f"{ACR}/sign/write"], [],
     "acr image signer"),
    ("AcrQuarantineReader", "cdda3590-29a3-44f6-95f2-9f980659eb04",
     [f"{ACR}/quarantine/read"], [], "acr quarantine data reader"),
    ("AcrQuarantineWriter", "c8d4ff99-41c3-41a8-9f60-21dfdad59608",
     [f"{ACR}/quarantine/read", f"{ACR}/quarantine/write"], [],
     "acr quarantine data writer"),
    ("Container Registry Contributor and Data Access Configuration Administrator",
     "3bc748fc-213d-45c1-8d91-9da5725539b9", _ACR_CONTRIBUTOR, [],
     "Manage container registries, replications and webhooks, but not role assignments."),
    ("Container Registry Configuration Reader and Data Access Configuration Reader",
     "69b07be0-09bf-439a-b9a6-e73de851bd59", _ACR_CONFIG_READER, [],
     "Read container registry configuration, including webhook callback configuration."),
]

ROLE_DEFINITION_TYPE = "Microsoft.Authorization/roleDefinitions"


def definition(name: str, guid: str, actions: list[str], not_actions: list[str],
               description: str, role_type: str = "BuiltInRole",
               scopes: list[str] | None = None, scope_prefix: str = "") -> dict[str, Any]:
    return {
        "id": f"{scope_prefix}/providers/{ROLE_DEFINITION_TYPE}/{guid}",
        "name": guid,
        "type": ROLE_DEFINITION_TYPE,
        "properties": {
            "roleName": name,
            "roleType": role_type,
            "description": description,
            "assignableScopes": scopes or ["/"],
            "permissions": [{"actions": list(actions), "notActions": list(not_actions),
                             "dataActions": [], "notDataActions": []}],
        },
    }


BUILTIN: dict[str, dict[str, Any]] = {
    guid: definition(name, guid, actions, not_actions, desc)
    for name, guid, actions, not_actions, desc in _BUILTINS
}
BUILTIN_BY_NAME = {d["properties"]["roleName"].lower(): d for d in BUILTIN.values()}
OWNER_ID = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
