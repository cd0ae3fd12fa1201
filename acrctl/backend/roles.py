"""Role definitions: the built-ins (ARM ids and permissions as documented for Azure RBAC),
how a custom one is read from a request, how role names compare, and where a definition is
visible and assignable."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Any

from acrctl.backend import ids, scopes
from acrctl.backend.errors import InvalidInput, InvalidRoleDefinition

ACR = "Microsoft.ContainerRegistry/registries"

_CONTRIBUTOR_NOT = [
    "Microsoft.Authorization/*/Delete",
    "Microsoft.Authorization/*/Write",
    "Microsoft.Authorization/elevateAccess/Action",
    "Microsoft.Blueprint/blueprintAssignments/write",
    "Microsoft.Blueprint/blueprintAssignments/delete",
    "Microsoft.Compute/galleries/share/action",
    "Microsoft.Purview/consents/write",
    "Microsoft.Purview/consents/delete",
    "Microsoft.Resources/deploymentStacks/manageDenySetting/action",
    "Microsoft.Subscription/cancel/action",
    "Microsoft.Subscription/enable/action",
]

_ACR_CONTRIBUTOR = [
    "Microsoft.Resources/subscriptions/resourceGroups/read",
    f"{ACR}/read",
    f"{ACR}/write",
    f"{ACR}/delete",
    f"{ACR}/operationStatuses/read",
    f"{ACR}/listUsages/read",
    f"{ACR}/listCredentials/action",
    f"{ACR}/regenerateCredential/action",
    f"{ACR}/generateCredentials/action",
    f"{ACR}/replications/read",
    f"{ACR}/replications/write",
    f"{ACR}/replications/delete",
    f"{ACR}/replications/operationStatuses/read",
    f"{ACR}/webhooks/read",
    f"{ACR}/webhooks/write",
    f"{ACR}/webhooks/delete",
    f"{ACR}/webhooks/getCallbackConfig/action",
    f"{ACR}/webhooks/ping/action",
    f"{ACR}/webhooks/listEvents/action",
    f"{ACR}/webhooks/operationStatuses/read",
    f"{ACR}/tokens/*",
    f"{ACR}/scopeMaps/*",
    f"{ACR}/privateEndpointConnections/*",
    f"{ACR}/connectedRegistries/*",
    "Microsoft.ContainerRegistry/locations/operationResults/read",
    "Microsoft.ContainerRegistry/checkNameAvailability/read",
    "Microsoft.Resources/deployments/*",
    "Microsoft.Authorization/*/read",
]

_ACR_CONFIG_READER = [
    f"{ACR}/read",
    f"{ACR}/operationStatuses/read",
    f"{ACR}/listCredentials/action",
    f"{ACR}/listUsages/read",
    f"{ACR}/replications/read",
    f"{ACR}/replications/operationStatuses/read",
    f"{ACR}/webhooks/read",
    f"{ACR}/webhooks/getCallbackConfig/action",
    f"{ACR}/webhooks/listEvents/action",
    f"{ACR}/webhooks/operationStatuses/read",
    f"{ACR}/tokens/read",
    f"{ACR}/scopeMaps/read",
    f"{ACR}/privateEndpointConnections/read",
    f"{ACR}/connectedRegistries/read",
]

# (name, guid, actions, notActions, description)
_BUILTINS: list[tuple[str, str, list[str], list[str], str]] = [
    (
        "Owner",
        "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
        ["*"],
        [],
        "Grants full access to manage all resources, including assigning roles.",
    ),
    (
        "Contributor",
        "b24988ac-6180-42a0-ab88-20f7382dd24c",
        ["*"],
        _CONTRIBUTOR_NOT,
        "Grants full access to manage all resources, but does not allow you to assign roles.",
    ),
    (
        "Reader",
        "acdd72a7-3385-48ef-bd42-f606fba81ae7",
        ["*/read"],
        [],
        "View all resources, but does not allow you to make any changes.",
    ),
    (
        "User Access Administrator",
        "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9",
        ["*/read", "Microsoft.Authorization/*", "Microsoft.Support/*"],
        [],
        "Lets you manage user access to Azure resources.",
    ),
    ("AcrPull", "7f951dda-4ed3-4680-a7ca-43fe172d538d", [f"{ACR}/pull/read"], [], "acr pull"),
    (
        "AcrPush",
        "8311e382-0749-4cb8-b61a-304f252e45ec",
        [f"{ACR}/pull/read", f"{ACR}/push/write"],
        [],
        "acr push",
    ),
    (
        "AcrDelete",
        "c2f4ef07-c644-48eb-af81-4b1b4947fb11",
        [f"{ACR}/artifacts/delete"],
        [],
        "acr delete",
    ),
    (
        "AcrImageSigner",
        "6cef56e8-d556-48e5-a04f-b8e64114680f",
        [f"{ACR}/sign/write"],
        [],
        "acr image signer",
    ),
    (
        "AcrQuarantineReader",
        "cdda3590-29a3-44f6-95f2-9f980659eb04",
        [f"{ACR}/quarantine/read"],
        [],
        "acr quarantine data reader",
    ),
    (
        "AcrQuarantineWriter",
        "c8d4ff99-41c3-41a8-9f60-21dfdad59608",
        [f"{ACR}/quarantine/read", f"{ACR}/quarantine/write"],
        [],
        "acr quarantine data writer",
    ),
    (
        "Container Registry Contributor and Data Access Configuration Administrator",
        "3bc748fc-213d-45c1-8d91-9da5725539b9",
        _ACR_CONTRIBUTOR,
        [],
        "Manage container registries, replications and webhooks, but not role assignments.",
    ),
    (
        "Container Registry Configuration Reader and Data Access Configuration Reader",
        "69b07be0-09bf-439a-b9a6-e73de851bd59",
        _ACR_CONFIG_READER,
        [],
        "Read container registry configuration, including webhook callback configuration.",
    ),
]

ROLE_DEFINITION_TYPE = "Microsoft.Authorization/roleDefinitions"


def definition(
    name: str,
    guid: str,
    actions: list[str],
    not_actions: list[str],
    description: str,
    role_type: str = "BuiltInRole",
    scopes: list[str] | None = None,
    scope_prefix: str = "",
) -> dict[str, Any]:
    return {
        "id": f"{scope_prefix}/providers/{ROLE_DEFINITION_TYPE}/{guid}",
        "name": guid,
        "type": ROLE_DEFINITION_TYPE,
        "properties": {
            "roleName": name,
            "roleType": role_type,
            "description": description,
            "assignableScopes": scopes or ["/"],
            "permissions": [
                {
                    "actions": list(actions),
                    "notActions": list(not_actions),
                    "dataActions": [],
                    "notDataActions": [],
                }
            ],
        },
    }


def name_key(name: str) -> str:
    """How role names compare (unique per tenant): compatibility form, white space trimmed
    and collapsed, case-folded, so "Owner ", "OWNER" and "Ｏwner" are all Owner."""
    return " ".join(unicodedata.normalize("NFKC", name).split()).casefold()


BUILTIN: dict[str, dict[str, Any]] = {
    guid: definition(name, guid, actions, not_actions, desc)
    for name, guid, actions, not_actions, desc in _BUILTINS
}
BUILTIN_BY_NAME = {name_key(d["properties"]["roleName"]): d for d in BUILTIN.values()}
OWNER_ID = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"


def definition_id(guid: str, scope: str = "/") -> str:
    """A definition's id as ARM shows it at `scope`: under the scope's subscription, or
    tenant-level (`/providers/...`) at the root. Never built from a stored id."""
    sub = ids.parse(scope).get("subscription")
    return f"{'/subscriptions/' + sub if sub else ''}/providers/{ROLE_DEFINITION_TYPE}/{guid}"


def present(doc: dict[str, Any], scope: str) -> dict[str, Any]:
    """`doc` with the id it has at `scope` (a custom role read at the root: at the
    subscription of its first assignable scope)."""
    at = scope
    if not ids.parse(scope).get("subscription"):
        at = next((s for s in assignable_scopes(doc) if ids.parse(s).get("subscription")), "/")
    return {**doc, "id": definition_id(doc["name"], at)}


def assignable_scopes(doc: dict[str, Any]) -> list[str]:
    return list(doc["properties"].get("assignableScopes") or ["/"])


def assignable_at(doc: dict[str, Any], scope: str) -> bool:
    """An assignment of `doc` may be made at `scope`: it lies within an assignable scope."""
    return any(scopes.within(s, scope) for s in assignable_scopes(doc))


def visible_at(doc: dict[str, Any], scope: str) -> bool:
    """Whether a definition shows at `scope`: one of its assignable scopes is at, above or
    below it (a role assignable only at rg2 does not show at rg1)."""
    return any(scopes.related(s, scope) for s in assignable_scopes(doc))


@dataclass(frozen=True)
class CustomRole:
    """A custom role definition as a request gives it, checked."""

    name: str
    description: str
    permissions: list[dict[str, list[str]]]
    assignable_scopes: list[str]

    def document(self, guid: str) -> dict[str, Any]:
        doc = definition(
            self.name,
            guid,
            [],
            [],
            self.description,
            role_type="CustomRole",
            scopes=self.assignable_scopes,
        )
        doc["properties"]["permissions"] = self.permissions
        return doc


def _bad(message: str) -> InvalidInput:
    return InvalidRoleDefinition(message)


def parse_custom(body: dict[str, Any], scope: str) -> CustomRole:
    """The custom role in a PUT body; assignableScopes default to [scope] (canonical)."""
    props = body.get("properties")
    if props is not None and not isinstance(props, dict):
        raise _bad("The role definition's 'properties' must be an object.")
    props = props or {}
    name, perms = props.get("roleName"), props.get("permissions")
    if not isinstance(name, str) or not name.strip():
        raise _bad("The role definition needs a roleName.")
    if any(unicodedata.category(ch) in ("Cc", "Cf") for ch in name):
        raise _bad("The roleName must not contain control or invisible formatting characters.")
    if not isinstance(perms, list) or not perms:
        raise _bad("The role definition needs at least one permissions entry.")
    if not all(
        isinstance(p, dict)
        and all(
            isinstance(p.get(k, []), list) and all(isinstance(a, str) for a in p.get(k, []))
            for k in ("actions", "notActions")
        )
        for p in perms
    ):
        raise _bad(
            "Each permissions entry must be an object whose actions and notActions "
            "are lists of strings."
        )
    if not isinstance(props.get("description", ""), str):
        raise _bad("description must be a string.")
    clean = [
        {
            "actions": list(p.get("actions", [])),
            "notActions": list(p.get("notActions", [])),
            "dataActions": [],
            "notDataActions": [],
        }
        for p in perms
    ]
    return CustomRole(
        " ".join(name.split()),
        str(props.get("description", "")),
        clean,
        _assignable(props.get("assignableScopes"), scope),
    )


def _assignable(value: Any, scope: str) -> list[str]:
    if value is None or value == []:
        value = [scope]
    if not isinstance(value, list) or not all(isinstance(s, str) and s for s in value):
        raise _bad("assignableScopes must be a list of scopes.")
    out = list(dict.fromkeys(scopes.normalise(s) for s in value))
    if "/" in out:
        raise _bad(
            "A custom role cannot be assignable at the root scope '/': name "
            "subscriptions, resource groups or resources."
        )
    return out
