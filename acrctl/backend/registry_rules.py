"""A registry's properties: the tiers and their quotas, the defaults of a new registry, merge
patches, and the checks of what a PUT or PATCH may set (zone redundancy, identity, nested
policies, tier-only features). Plain functions (acrctl.backend.registries re-exports them)."""

from __future__ import annotations

import copy
from typing import Any

from acrctl.backend import ids, regions
from acrctl.backend.errors import (
    AnonymousPullNotSupportedForSku,
    DataEndpointNotSupportedForSku,
    InvalidInput,
    InvalidRequestContent,
    InvalidSkuName,
    InvalidZoneRedundancy,
    NetworkRulesNotSupportedForSku,
    SkuRequired,
    ZoneRedundancyCannotBeChanged,
    ZoneRedundancyNotSupportedForSku,
    ZoneRedundancyNotSupportedInLocation,
)

SKUS = {"basic": "Basic", "standard": "Standard", "premium": "Premium"}
WEBHOOK_QUOTA = {"Basic": 2, "Standard": 10, "Premium": 500}
STORAGE_GIB = {"Basic": 10, "Standard": 100, "Premium": 500}
BOOL_PROPS = (
    "adminUserEnabled",
    "dataEndpointEnabled",
    "anonymousPullEnabled",
    "networkRuleBypassAllowedForTasks",
)
ENUM_PROPS = {
    "publicNetworkAccess": ("Enabled", "Disabled"),
    "networkRuleBypassOptions": ("AzureServices", "None"),
    "roleAssignmentMode": ("AbacRepositoryPermissions", "LegacyRegistryPermissions"),
}
DICT_PROPS = ("networkRuleSet", "policies", "encryption")


def default_properties(name: str, now: str) -> dict[str, Any]:
    return {
        "loginServer": f"{name.lower()}.azurecr.io",
        "creationDate": now,
        "provisioningState": "Creating",
        "adminUserEnabled": False,
        "networkRuleSet": {"defaultAction": "Allow", "ipRules": []},
        "policies": {
            "quarantinePolicy": {"status": "disabled"},
            "trustPolicy": {"type": "Notary", "status": "disabled"},
            "retentionPolicy": {"days": 7, "lastUpdatedTime": now, "status": "disabled"},
            "exportPolicy": {"status": "enabled"},
            "azureADAuthenticationAsArmPolicy": {"status": "enabled"},
        },
        "encryption": {"status": "disabled"},
        "status": None,
        "dataEndpointEnabled": False,
        "dataEndpointHostNames": [],
        "privateEndpointConnections": [],
        "publicNetworkAccess": "Enabled",
        "networkRuleBypassOptions": "AzureServices",
        "networkRuleBypassAllowedForTasks": False,
        "zoneRedundancy": "Disabled",
        "anonymousPullEnabled": False,
        "roleAssignmentMode": "LegacyRegistryPermissions",
    }


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7396 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = dict(target) if isinstance(target, dict) else {}
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = merge_patch(out.get(k), v)
    return out


def sku_name(sku: Any) -> str:
    name = sku.get("name") if isinstance(sku, dict) else None
    if not isinstance(name, str) or name.lower() not in SKUS:
        raise (InvalidSkuName if name else SkuRequired)(
            f"The SKU '{name}' is not valid. Allowed SKUs: Basic, Standard, Premium."
            if name
            else "The registry SKU (sku.name) is required.",
        )
    return SKUS[name.lower()]


def _sub_rg(resource_id: str) -> tuple[str, str]:
    p = ids.parse(resource_id)
    return p["subscription"], p["resourceGroup"]


def zone_immutable() -> InvalidInput:
    return ZoneRedundancyCannotBeChanged(
        "zoneRedundancy cannot be changed after creation; delete and recreate "
        "the resource to change it.",
    )


def check_zone_redundancy(value: Any, location: str, sku: str, what: str) -> None:
    if value not in ("Enabled", "Disabled"):
        raise InvalidZoneRedundancy(
            f"zoneRedundancy must be 'Enabled' or 'Disabled', not '{value}'.",
        )
    if value == "Enabled" and sku != "Premium":
        raise ZoneRedundancyNotSupportedForSku(
            "Zone redundancy is only supported for registries in Premium SKU.",
        )
    if value == "Enabled" and not regions.has_zones(location):
        raise ZoneRedundancyNotSupportedInLocation(
            f"Zone redundancy cannot be enabled for the {what} in '{location}': the region "
            "has no availability zones.",
        )


def apply_properties(props: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(props)
    for k in BOOL_PROPS:
        if k in patch:
            if not isinstance(patch[k], bool):
                raise InvalidRequestContent(
                    f"The request content was invalid and could not be "
                    f"deserialized: '{k}' must be a boolean.",
                )
            out[k] = patch[k]
    for k, allowed in ENUM_PROPS.items():
        if k in patch:
            if patch[k] not in allowed:
                raise InvalidRequestContent(f"'{k}' must be one of {', '.join(allowed)}.")
            out[k] = patch[k]
    for k in DICT_PROPS:
        if k in patch:
            if not isinstance(patch[k], dict):
                raise InvalidRequestContent(
                    f"The request content was invalid and could not be "
                    f"deserialized: '{k}' must be an object.",
                )
            out[k] = merge_patch(out.get(k), patch[k])
            check_nested(k, out[k])
    return out


IDENTITY_TYPES = ("SystemAssigned", "UserAssigned", "SystemAssigned, UserAssigned", "None")
POLICIES = (
    "quarantinePolicy",
    "trustPolicy",
    "retentionPolicy",
    "exportPolicy",
    "azureADAuthenticationAsArmPolicy",
)
STATUS = ("enabled", "disabled")


def _bad(path: str, what: str) -> InvalidInput:
    return InvalidRequestContent(
        f"The request content was invalid and could not be deserialized: '{path}' must be {what}.",
    )


def _one_of(obj: dict[str, Any], key: str, allowed: tuple[str, ...], path: str) -> None:
    if key in obj and obj[key] not in allowed:
        raise _bad(f"{path}.{key}", "one of " + ", ".join(allowed))


def check_identity(identity: Any) -> dict[str, Any]:
    if not isinstance(identity, dict):
        raise _bad("identity", "an object")
    _one_of(identity, "type", IDENTITY_TYPES, "identity")
    users = identity.get("userAssignedIdentities")
    if users is not None and not (
        isinstance(users, dict) and all(isinstance(v, dict) for v in users.values())
    ):
        raise _bad("identity.userAssignedIdentities", "an object of objects")
    return identity


def check_nested(name: str, value: dict[str, Any]) -> None:
    """The known fields of networkRuleSet, policies and encryption, after a merge; unknown
    ones pass through (clients ignore what they do not know)."""
    if name == "networkRuleSet":
        _one_of(value, "defaultAction", ("Allow", "Deny"), name)
        rules = value.get("ipRules")
        if rules is not None and not (
            isinstance(rules, list)
            and all(
                isinstance(r, dict)
                and isinstance(r.get("value"), str)
                and r.get("action", "Allow") == "Allow"
                for r in rules
            )
        ):
            raise _bad(
                "networkRuleSet.ipRules", 'a list of {"action": "Allow", "value": "<ip or CIDR>"}'
            )
    elif name == "policies":
        for policy in POLICIES:
            p = value.get(policy)
            if p is None:
                continue
            if not isinstance(p, dict):
                raise _bad(f"policies.{policy}", "an object")
            _one_of(p, "status", STATUS, f"policies.{policy}")
        trust = value.get("trustPolicy") or {}
        _one_of(trust, "type", ("Notary",), "policies.trustPolicy")
        days = (value.get("retentionPolicy") or {}).get("days")
        if days is not None and (
            isinstance(days, bool) or not isinstance(days, int) or not 0 <= days <= 365
        ):
            raise _bad("policies.retentionPolicy.days", "an integer from 0 to 365")
    elif name == "encryption":
        _one_of(value, "status", STATUS, name)
        kv = value.get("keyVaultProperties")
        if kv is not None and not isinstance(kv, dict):
            raise _bad("encryption.keyVaultProperties", "an object")


def check_tier_features(props: dict[str, Any], sku: str) -> None:
    rules = props.get("networkRuleSet") or {}
    if sku != "Premium" and (rules.get("defaultAction") == "Deny" or rules.get("ipRules")):
        raise NetworkRulesNotSupportedForSku(
            "Network rules are only supported for managed registries in Premium SKU.",
        )
    if sku != "Premium" and props.get("dataEndpointEnabled"):
        raise DataEndpointNotSupportedForSku(
            "Dedicated data endpoints are only supported for registries in Premium SKU.",
        )
    if sku == "Basic" and props.get("anonymousPullEnabled"):
        raise AnonymousPullNotSupportedForSku(
            "Anonymous pull is only supported for registries in Standard and Premium SKU.",
        )


def data_endpoint_host_names(doc: dict[str, Any], locations: list[str]) -> list[str]:
    """`<name>.<region>.data.<login domain>` for the home region and every replica region
    while dataEndpointEnabled (issue 17), else none."""
    props = doc["properties"]
    if not props.get("dataEndpointEnabled"):
        return []
    domain = str(props.get("loginServer") or "").partition(".")[2] or "azurecr.io"
    name = doc["name"].lower()
    return [f"{name}.{loc}.data.{domain}" for loc in sorted({*locations, doc["location"]})]
