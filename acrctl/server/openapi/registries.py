"""Registries, their admin user and the operation-status routes: schemas and path specs
(acrctl.server.handlers.registries, .credentials)."""

from __future__ import annotations

from acrctl import models as m
from acrctl.server.openapi.base import (
    ACR,
    BOOL,
    DATETIME,
    DELETE_HEADERS,
    ETAG_HEADER,
    INT64,
    LRO_HEADERS,
    PROVISIONING,
    RESOURCE_BASE,
    RO_STR,
    STATUS,
    STR,
    TAGS,
    ZONE,
    Schema,
    Specs,
    arr,
    enum,
    from_model,
    list_of,
    location_in,
    lro_delete,
    lro_put,
    obj,
    ok,
    ref,
    spec,
)


def schemas() -> dict[str, Schema]:
    ip_rule = obj(
        {"action": enum("Allow"), "value": {"type": "string", "minLength": 1}}, ("value",)
    )
    network_rule_set = obj({"defaultAction": enum("Allow", "Deny"), "ipRules": arr(ip_rule)})
    policy = obj({"status": STATUS})
    policies = obj(
        {
            "quarantinePolicy": policy,
            "trustPolicy": obj({"type": enum("Notary"), "status": STATUS}),
            "retentionPolicy": obj(
                {
                    "days": {"type": "integer", "minimum": 0, "maximum": 365},
                    "lastUpdatedTime": {**DATETIME, "readOnly": True},
                    "status": STATUS,
                }
            ),
            "exportPolicy": policy,
            "azureADAuthenticationAsArmPolicy": policy,
        }
    )
    encryption = obj({"status": STATUS, "keyVaultProperties": {"type": "object"}})
    updatable_registry_props: dict[str, Schema] = {
        "adminUserEnabled": BOOL,
        "networkRuleSet": network_rule_set,
        "policies": policies,
        "encryption": encryption,
        "dataEndpointEnabled": BOOL,
        "publicNetworkAccess": enum("Enabled", "Disabled"),
        "networkRuleBypassOptions": enum("AzureServices", "None"),
        "networkRuleBypassAllowedForTasks": BOOL,
        "anonymousPullEnabled": BOOL,
        "roleAssignmentMode": enum("AbacRepositoryPermissions", "LegacyRegistryPermissions"),
    }
    identity = obj(
        {
            "type": enum("SystemAssigned", "UserAssigned", "SystemAssigned, UserAssigned", "None"),
            "principalId": RO_STR,
            "tenantId": RO_STR,
            "userAssignedIdentities": {
                "type": "object",
                "additionalProperties": {"type": "object"},
            },
        }
    )
    return {
        "Sku": from_model(
            m.Sku,
            {
                "name": enum("Basic", "Standard", "Premium"),
                "tier": enum("Basic", "Standard", "Premium", readOnly=True),
            },
        ),
        "Identity": identity,
        "RegistryProperties": obj(
            {
                "loginServer": STR,
                "creationDate": DATETIME,
                "provisioningState": PROVISIONING,
                **updatable_registry_props,
                "status": {"type": "object", "nullable": True},
                "dataEndpointHostNames": arr(STR),
                "privateEndpointConnections": arr({"type": "object"}),
                "zoneRedundancy": ZONE,
            },
            ("loginServer", "provisioningState"),
        ),
        "Registry": obj(
            {
                **RESOURCE_BASE,
                "sku": ref("Sku"),
                "identity": ref("Identity"),
                "properties": ref("RegistryProperties"),
            },
            ("id", "name", "type", "location", "sku", "properties"),
        ),
        "RegistryCreateParameters": obj(
            {
                "location": location_in(),
                "tags": TAGS,
                "sku": ref("Sku"),
                "identity": ref("Identity"),
                "properties": obj({**updatable_registry_props, "zoneRedundancy": ZONE}),
            },
            ("location", "sku"),
        ),
        "RegistryUpdateParameters": obj(
            {
                "tags": TAGS,
                "sku": ref("Sku"),
                "identity": ref("Identity"),
                "properties": obj(updatable_registry_props),
            }
        ),
        "RegistryListResult": list_of("Registry"),
        "RegistryUsage": from_model(
            m.Usage, {"limit": INT64, "currentValue": INT64, "unit": enum("Count", "Bytes")}
        ),
        "RegistryUsageListResult": list_of("RegistryUsage", pageable=False),
        "RegistryPassword": obj({"name": enum("password", "password2"), "value": STR}),
        "RegistryListCredentialsResult": obj(
            {"username": STR, "passwords": arr(ref("RegistryPassword"))}
        ),
        "RegenerateCredentialParameters": obj({"name": enum("password", "password2")}, ("name",)),
        "RegistryNameCheckRequest": obj(
            {
                "name": {
                    "type": "string",
                    "minLength": 5,
                    "maxLength": 50,
                    "pattern": "^[a-zA-Z0-9]*$",
                },
                "type": enum(f"{ACR}/registries"),
            },
            ("name", "type"),
        ),
        "RegistryNameStatus": from_model(m.NameStatus),
    }


def specs() -> Specs:
    from acrctl.server.handlers import credentials, registries

    def kind_of(template: str) -> str:
        if "{deployment}" in template:
            return "Deployments"
        if "{replication}" in template:
            return "Replications"
        if "{webhook}" in template:
            return "Webhooks"
        return "Registries"

    R = "Registries"
    out: Specs = {
        ("GET", registries.list_all): spec(
            "Registries_List",
            "Registries of the subscription (paged).",
            R,
            {"200": ok("RegistryListResult")},
            paging=True,
        ),
        ("POST", registries.check_name): spec(
            "Registries_CheckNameAvailability",
            "Is a registry name free?",
            R,
            {"200": ok("RegistryNameStatus")},
            body="RegistryNameCheckRequest",
        ),
        ("GET", registries.operation_result): spec(
            "Operations_GetResult",
            "The Location of a delete: 202 while running, then 204.",
            R,
            {
                "202": ok(
                    None,
                    "Running.",
                    {
                        "Location": DELETE_HEADERS["Location"],
                        "Retry-After": LRO_HEADERS["Retry-After"],
                    },
                ),
                "204": ok(None, "Done."),
            },
        ),
        ("GET", registries.list_by_group): spec(
            "Registries_ListByResourceGroup",
            "Registries of a resource group (paged).",
            R,
            {"200": ok("RegistryListResult")},
            paging=True,
        ),
        ("GET", registries.get): spec(
            "Registries_Get", "One registry.", R, {"200": ok("Registry", headers=ETAG_HEADER)}
        ),
        ("PUT", registries.put): spec(
            "Registries_Create",
            "Create or replace a registry.",
            R,
            lro_put("Registry"),
            body="RegistryCreateParameters",
            conditional=True,
        ),
        ("PATCH", registries.patch): spec(
            "Registries_Update",
            "Update a registry.",
            R,
            lro_put("Registry"),
            body="RegistryUpdateParameters",
            conditional=True,
        ),
        ("DELETE", registries.delete): spec(
            "Registries_Delete", "Delete a registry.", R, lro_delete(), conditional=True
        ),
        ("GET", registries.usages): spec(
            "Registries_ListUsages", "Quota usages.", R, {"200": ok("RegistryUsageListResult")}
        ),
        ("POST", credentials.list_): spec(
            "Registries_ListCredentials",
            "The admin user's name and passwords (400 while the admin user is disabled).",
            R,
            {"200": ok("RegistryListCredentialsResult")},
        ),
        ("POST", credentials.regenerate): spec(
            "Registries_RegenerateCredential",
            "A new password or password2 for the admin user.",
            R,
            {"200": ok("RegistryListCredentialsResult")},
            body="RegenerateCredentialParameters",
        ),
        ("GET", registries.operation_status): spec(
            "{kind}_GetOperationStatus",
            "Azure-AsyncOperation status (always 200).",
            R,
            {"200": ok("OperationStatus")},
        ),
    }
    out[("GET", registries.operation_status)]["kind_of"] = kind_of
    return out
