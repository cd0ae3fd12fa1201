"""The OpenAPI 3 document of the management API, served at `/openapi.json` (public).

Generated from THE route table (acrctl.server.routes.ROUTES) plus the request/response JSON
schemas below, keyed by (method, handler). A route without an entry in SPECS is still
listed (with a generic object schema) and named in `x-acrctl-undescribed`, which a test keeps
empty. `{scope:path}` routes (role definitions and assignments) are expanded into one path per
scope kind (root, subscription, resource group, registry), as OpenAPI path parameters cannot
span segments.
"""

from __future__ import annotations

import copy
import functools
import re
from collections.abc import Callable
from typing import Any

from acrctl.server.http import ACR_API_VERSIONS, Ctx, Response

Schema = dict[str, Any]
JSON = "application/json"
ACR = "Microsoft.ContainerRegistry"
REG_PATH = (
    "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.ContainerRegistry/"
    "registries/{registry}"
)
SCOPES = (
    ("", "AtRoot"),
    ("/subscriptions/{sub}", "AtSubscription"),
    ("/subscriptions/{sub}/resourceGroups/{rg}", "AtResourceGroup"),
    (REG_PATH, "AtRegistry"),
)


# -- schema helpers -----------------------------------------------------------------------------
def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def obj(props: dict[str, Schema], required: tuple[str, ...] = (), **kw: Any) -> Schema:
    out: Schema = {"type": "object", "properties": props}
    if required:
        out["required"] = list(required)
    out.update(kw)
    return out


def arr(items: Schema, **kw: Any) -> Schema:
    return {"type": "array", "items": items, **kw}


def enum(*values: str, **kw: Any) -> Schema:
    return {"type": "string", "enum": list(values), **kw}


STR: Schema = {"type": "string"}
RO_STR: Schema = {"type": "string", "readOnly": True}
BOOL: Schema = {"type": "boolean"}
INT64: Schema = {"type": "integer", "format": "int64"}
DATETIME: Schema = {"type": "string", "format": "date-time"}
STR_MAP: Schema = {"type": "object", "additionalProperties": {"type": "string"}}


def list_of(item: str, pageable: bool = True) -> Schema:
    """A list wrapper: {"value": [...], "nextLink": "<absolute URL>"} (nextLink absent on the
    last page)."""
    props: dict[str, Schema] = {"value": arr(ref(item))}
    if pageable:
        props["nextLink"] = {"type": "string", "format": "uri", "nullable": True}
    return obj(props, ("value",))


def _regions() -> list[str]:
    from acrctl.backend import regions

    return sorted(regions.catalog())


def schemas() -> dict[str, Schema]:
    status_enum = enum("enabled", "disabled")
    provisioning = enum("Creating", "Updating", "Deleting", "Succeeded", "Failed", "Canceled")
    location_in = {
        "type": "string",
        "enum": _regions(),
        "description": "An Azure region name (display names such as 'West US' are accepted too).",
    }
    tags = {**STR_MAP, "maxProperties": 50}
    ip_rule = obj(
        {"action": enum("Allow"), "value": {"type": "string", "minLength": 1}}, ("value",)
    )
    network_rule_set = obj({"defaultAction": enum("Allow", "Deny"), "ipRules": arr(ip_rule)})
    policy = obj({"status": status_enum})
    policies = obj(
        {
            "quarantinePolicy": policy,
            "trustPolicy": obj({"type": enum("Notary"), "status": status_enum}),
            "retentionPolicy": obj(
                {
                    "days": {"type": "integer", "minimum": 0, "maximum": 365},
                    "lastUpdatedTime": {**DATETIME, "readOnly": True},
                    "status": status_enum,
                }
            ),
            "exportPolicy": policy,
            "azureADAuthenticationAsArmPolicy": policy,
        }
    )
    encryption = obj({"status": status_enum, "keyVaultProperties": {"type": "object"}})
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
    zone = enum("Enabled", "Disabled")
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
    resource_base = {
        "id": STR,
        "name": STR,
        "type": STR,
        "location": STR,
        "tags": STR_MAP,
        "systemData": ref("SystemData"),
    }
    webhook_actions = arr(
        enum("push", "delete", "quarantine", "chart_push", "chart_delete"), minItems=1
    )
    permission = obj(
        {
            "actions": arr(STR),
            "notActions": arr(STR),
            "dataActions": arr(STR),
            "notDataActions": arr(STR),
        }
    )
    return {
        # -- the ARM envelope ------------------------------------------------------------------
        "ErrorDetail": obj(
            {
                "code": STR,
                "message": STR,
                "target": STR,
                "details": arr(ref("ErrorDetail")),
                "additionalInfo": arr(obj({"type": STR, "info": {"type": "object"}})),
            },
            ("code", "message"),
        ),
        "ErrorResponse": obj(
            {"error": ref("ErrorDetail")},
            ("error",),
            description="The ARM error body (common-types v6).",
        ),
        "SystemData": obj(
            {
                "createdBy": STR,
                "createdByType": enum("User", "Application", "ManagedIdentity", "Key"),
                "createdAt": DATETIME,
                "lastModifiedBy": STR,
                "lastModifiedByType": enum("User", "Application", "ManagedIdentity", "Key"),
                "lastModifiedAt": DATETIME,
            },
            readOnly=True,
        ),
        "ProvisioningState": provisioning,
        "OperationStatus": obj(
            {
                "id": STR,
                "name": STR,
                "status": STR,
                "startTime": DATETIME,
                "endTime": DATETIME,
                "percentComplete": {"type": "number", "minimum": 0, "maximum": 100},
                "resourceId": STR,
                "error": ref("ErrorDetail"),
            },
            ("id", "status"),
        ),
        # -- registries --------------------------------------------------------------------------
        "Sku": obj(
            {
                "name": enum("Basic", "Standard", "Premium"),
                "tier": enum("Basic", "Standard", "Premium", readOnly=True),
            },
            ("name",),
        ),
        "Identity": identity,
        "RegistryProperties": obj(
            {
                "loginServer": STR,
                "creationDate": DATETIME,
                "provisioningState": provisioning,
                **updatable_registry_props,
                "status": {"type": "object", "nullable": True},
                "dataEndpointHostNames": arr(STR),
                "privateEndpointConnections": arr({"type": "object"}),
                "zoneRedundancy": zone,
            },
            ("loginServer", "provisioningState"),
        ),
        "Registry": obj(
            {
                **resource_base,
                "sku": ref("Sku"),
                "identity": ref("Identity"),
                "properties": ref("RegistryProperties"),
            },
            ("id", "name", "type", "location", "sku", "properties"),
        ),
        "RegistryCreateParameters": obj(
            {
                "location": location_in,
                "tags": tags,
                "sku": ref("Sku"),
                "identity": ref("Identity"),
                "properties": obj({**updatable_registry_props, "zoneRedundancy": zone}),
            },
            ("location", "sku"),
        ),
        "RegistryUpdateParameters": obj(
            {
                "tags": tags,
                "sku": ref("Sku"),
                "identity": ref("Identity"),
                "properties": obj(updatable_registry_props),
            }
        ),
        "RegistryListResult": list_of("Registry"),
        "RegistryUsage": obj(
            {"name": STR, "limit": INT64, "currentValue": INT64, "unit": enum("Count", "Bytes")}
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
        "RegistryNameStatus": obj(
            {"nameAvailable": BOOL, "reason": STR, "message": STR}, ("nameAvailable",)
        ),
        # -- replications ------------------------------------------------------------------------
        "Replication": obj(
            {
                **resource_base,
                "properties": obj(
                    {
                        "provisioningState": provisioning,
                        "status": obj(
                            {"displayStatus": STR, "message": STR, "timestamp": DATETIME}
                        ),
                        "regionEndpointEnabled": BOOL,
                        "zoneRedundancy": zone,
                    },
                    ("provisioningState",),
                ),
            },
            ("id", "name", "type", "location", "properties"),
        ),
        "ReplicationCreateParameters": obj(
            {
                "location": location_in,
                "tags": tags,
                "properties": obj({"regionEndpointEnabled": BOOL, "zoneRedundancy": zone}),
            },
            ("location",),
        ),
        "ReplicationUpdateParameters": obj(
            {
                "tags": tags,
                "properties": obj({"regionEndpointEnabled": BOOL}, additionalProperties=False),
            }
        ),
        "ReplicationListResult": list_of("Replication"),
        "ReplicationStatusResult": obj(
            {
                "value": arr(
                    obj(
                        {
                            "image": STR,
                            "region": STR,
                            "state": enum("present", "inFlight", "retrying", "failed", "unknown"),
                            "digest": {**STR, "nullable": True},
                            "updatedAt": {**DATETIME, "nullable": True},
                            "lastError": {**STR, "nullable": True},
                        }
                    )
                )
            },
            ("value",),
        ),
        # -- the data plane's answers (acrctl.server.handlers.replication_tools) -------------
        **data_plane_schemas(),
        # -- webhooks -----------------------------------------------------------------------------
        "Webhook": obj(
            {
                **resource_base,
                "properties": obj(
                    {
                        "status": status_enum,
                        "scope": STR,
                        "actions": arr(STR),
                        "provisioningState": provisioning,
                    },
                    ("status", "actions", "provisioningState"),
                ),
            },
            ("id", "name", "type", "location", "properties"),
        ),
        "WebhookCreateParameters": obj(
            {
                "location": location_in,
                "tags": tags,
                "properties": obj(
                    {
                        "serviceUri": {"type": "string", "format": "uri", "writeOnly": True},
                        "customHeaders": {**STR_MAP, "writeOnly": True},
                        "status": status_enum,
                        "scope": STR,
                        "actions": webhook_actions,
                        "signingSecret": {
                            "type": "string",
                            "writeOnly": True,
                            "description": "acrctl extension: HMAC-SHA256 key that "
                            "signs each delivery.",
                        },
                    },
                    ("serviceUri", "actions"),
                ),
            },
            ("location", "properties"),
        ),
        "WebhookUpdateParameters": obj(
            {
                "tags": tags,
                "properties": obj(
                    {
                        "serviceUri": {"type": "string", "format": "uri"},
                        "customHeaders": STR_MAP,
                        "status": status_enum,
                        "scope": STR,
                        "actions": webhook_actions,
                        "signingSecret": {"type": "string", "nullable": True},
                    }
                ),
            }
        ),
        "WebhookListResult": list_of("Webhook"),
        "CallbackConfig": obj(
            {"serviceUri": {"type": "string", "nullable": True}, "customHeaders": STR_MAP},
            ("serviceUri",),
        ),
        "EventInfo": obj({"id": STR}, ("id",)),
        "Event": obj(
            {
                "id": STR,
                "eventRequestMessage": obj(
                    {
                        "content": {"type": "object"},
                        "headers": STR_MAP,
                        "method": STR,
                        "requestUri": STR,
                        "version": STR,
                    }
                ),
                "eventResponseMessage": obj(
                    {
                        "headers": {"type": "object"},
                        "statusCode": {"type": "string", "nullable": True},
                        "reasonPhrase": {"type": "string", "nullable": True},
                        "content": {"type": "string", "nullable": True},
                        "version": STR,
                    }
                ),
                "delivery": obj(
                    {
                        "state": enum("pending", "sending", "delivered", "failed"),
                        "attempts": arr({"type": "object"}),
                        "nextAttemptAt": DATETIME,
                        "redeliveryOf": STR,
                    },
                    description="acrctl extension: the outbox state of the event.",
                ),
            },
            ("id",),
        ),
        "EventListResult": list_of("Event"),
        "RedeliverRequest": obj({"eventId": {"type": "string", "format": "uuid"}}, ("eventId",)),
        # -- Microsoft.Resources -----------------------------------------------------------------
        "Subscription": obj(
            {
                "id": STR,
                "subscriptionId": STR,
                "displayName": STR,
                "state": STR,
                "tenantId": STR,
                "authorizationSource": STR,
            },
            ("id", "subscriptionId"),
        ),
        "SubscriptionListResult": list_of("Subscription", pageable=False),
        "Location": obj(
            {
                "id": STR,
                "name": STR,
                "type": STR,
                "displayName": STR,
                "regionalDisplayName": STR,
                "metadata": {"type": "object"},
                "availabilityZoneMappings": arr({"type": "object"}),
            },
            ("id", "name"),
        ),
        "LocationListResult": list_of("Location", pageable=False),
        "ResourceGroup": obj(
            {
                "id": STR,
                "name": STR,
                "type": STR,
                "location": STR,
                "tags": STR_MAP,
                "managedBy": {"type": "string", "nullable": True},
                "properties": obj({"provisioningState": STR}),
            },
            ("id", "name", "type", "location"),
        ),
        "ResourceGroupCreateParameters": obj(
            {
                "location": location_in,
                "tags": tags,
                "managedBy": {"type": "string", "nullable": True},
            },
            ("location",),
        ),
        "ResourceGroupPatchable": obj(
            {"tags": tags, "managedBy": {"type": "string", "nullable": True}}, ()
        ),
        "ResourceGroupListResult": list_of("ResourceGroup"),
        # -- Microsoft.Authorization -----------------------------------------------------------
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
        "Health": obj({"status": STR}, ("status",)),
        "Readiness": obj({"status": enum("ready", "not ready"), "checks": STR_MAP}, ("status",)),
        # -- ARM template deployments -------------------------------------------------------------
        "Deployment": obj(
            {
                "id": STR,
                "name": STR,
                "type": STR,
                "tags": STR_MAP,
                "properties": obj(
                    {
                        "provisioningState": STR,
                        "mode": STR,
                        "outputs": {"type": "object"},
                        "outputResources": arr({"type": "object"}),
                        "error": {"type": "object", "nullable": True},
                    }
                ),
            },
            ("id", "name", "properties"),
        ),
        "DeploymentCreateParameters": obj(
            {
                "tags": tags,
                "properties": obj(
                    {
                        "template": {"type": "object"},
                        "parameters": {"type": "object"},
                        "mode": enum("Incremental", "Complete"),
                    },
                    ("template",),
                ),
            },
            ("properties",),
        ),
        "DeploymentListResult": list_of("Deployment"),
        "WhatIfResult": obj(
            {
                "status": STR,
                "properties": obj({"changes": arr({"type": "object"})}),
                "error": {"type": "object", "nullable": True},
            },
            ("status",),
        ),
        # -- failure drills and the activity log ---------------------------------------------------
        "Drill": obj(
            {
                "id": STR,
                "name": STR,
                "type": STR,
                "properties": obj(
                    {"kind": enum("RegionOutage", "ReplicaOutage", "Throttle", "Latency")},
                    ("kind",),
                ),
            },
            ("id", "name", "properties"),
        ),
        "DrillCreateParameters": obj(
            {
                "properties": obj(
                    {
                        "kind": enum("RegionOutage", "ReplicaOutage", "Throttle", "Latency"),
                        "region": STR,
                        "retryAfter": {"type": "integer", "minimum": 0},
                        "durationSeconds": {"type": "integer", "minimum": 1},
                    },
                    ("kind",),
                )
            },
            ("properties",),
        ),
        "DrillListResult": list_of("Drill", pageable=False),
        # -- discovery and the identity provider (handlers.discovery, handlers.identity) ---
        **discovery_schemas(),
        "ActivityLogListResult": obj(
            {
                "value": arr({"type": "object"}),
                "nextLink": {"type": "string", "format": "uri", "nullable": True},
            },
            ("value",),
        ),
    }


def discovery_schemas() -> dict[str, Schema]:
    """Cloud metadata, generic resources, providers, and the identity provider's tokens and
    errors (Entra's OAuth 2 error body; App Service's {statusCode, message})."""
    int_: Schema = {"type": "integer"}
    return {
        "CloudMetadata": obj(
            {
                "name": STR,
                "resourceManager": STR,
                "authentication": obj(
                    {
                        "loginEndpoint": STR,
                        "audiences": arr(STR),
                        "tenant": STR,
                        "identityProvider": STR,
                    },
                    ("loginEndpoint", "audiences"),
                ),
                "suffixes": obj({"acrLoginServer": STR}, ("acrLoginServer",)),
            },
            ("name", "authentication", "resourceManager", "suffixes"),
        ),
        "OpenIdConfiguration": obj(
            {"issuer": STR, "authorization_endpoint": STR, "token_endpoint": STR},
            ("issuer", "authorization_endpoint", "token_endpoint"),
        ),
        "TokenRequest": obj(
            {
                "grant_type": enum("client_credentials"),
                "client_id": {**STR, "description": "The service principal's appId."},
                "client_secret": {
                    **STR,
                    "description": "Its password (acrctl ad sp create-for-rbac).",
                },
                "scope": {**STR, "description": "<audience>/.default"},
                "resource": {**STR, "description": "v1: the audience itself."},
            },
            ("grant_type", "client_id", "client_secret"),
        ),
        "TokenResponse": obj(
            {
                "token_type": enum("Bearer"),
                "expires_in": int_,
                "ext_expires_in": int_,
                "access_token": STR,
            },
            ("token_type", "expires_in", "access_token"),
        ),
        "AadError": obj(
            {
                "error": STR,
                "error_description": STR,
                "error_codes": arr(int_),
                "timestamp": STR,
                "trace_id": STR,
                "correlation_id": STR,
            },
            ("error", "error_description", "error_codes"),
        ),
        "ManagedIdentityToken": obj(
            {
                "access_token": STR,
                "expires_on": STR,
                "resource": STR,
                "token_type": enum("Bearer"),
                "client_id": STR,
            },
            ("access_token", "expires_on", "resource", "token_type"),
        ),
        "ManagedIdentityError": obj(
            {"statusCode": int_, "message": STR}, ("statusCode", "message")
        ),
        "GenericResource": obj(
            {
                "id": STR,
                "name": STR,
                "type": STR,
                "location": {**STR, "nullable": True},
                "sku": {"type": "object"},
                "tags": STR_MAP,
            },
            ("id", "name", "type"),
        ),
        "GenericResourceListResult": list_of("GenericResource"),
        "Provider": obj(
            {
                "id": STR,
                "namespace": STR,
                "registrationState": STR,
                "registrationPolicy": STR,
                "resourceTypes": arr(
                    obj(
                        {
                            "resourceType": STR,
                            "locations": arr(STR),
                            "apiVersions": arr(STR),
                            "capabilities": STR,
                        },
                        ("resourceType",),
                    )
                ),
            },
            ("id", "namespace", "registrationState", "resourceTypes"),
        ),
        "ProviderListResult": list_of("Provider", pageable=False),
    }


# -- parameters and headers ----------------------------------------------------------------------
NAME_PATTERN = {"type": "string", "minLength": 5, "maxLength": 50, "pattern": "^[a-zA-Z0-9]*$"}
PATH_PARAMS: dict[str, tuple[str, Schema]] = {
    "sub": ("The subscription id.", {"type": "string", "format": "uuid"}),
    "rg": (
        "The resource group name (case-insensitive).",
        {"type": "string", "minLength": 1, "maxLength": 90, "pattern": r"^[-\w._()]+$"},
    ),
    "registry": ("The registry name.", NAME_PATTERN),
    "replication": ("The replication name (by convention the region).", NAME_PATTERN),
    "webhook": ("The webhook name.", NAME_PATTERN),
    "op": ("The operation id.", {"type": "string", "format": "uuid"}),
    "location": ("The region of the operation.", {"type": "string", "minLength": 1}),
    "id": (
        "The role definition or assignment name (a GUID).",
        {"type": "string", "format": "uuid"},
    ),
    "deployment": (
        "The deployment name.",
        {"type": "string", "minLength": 1, "maxLength": 64, "pattern": r"^[-\w._()]+$"},
    ),
    "drill": (
        "The drill name.",
        {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$"},
    ),
}


def components_parameters() -> dict[str, Schema]:
    out: dict[str, Schema] = {}
    for name, (desc, schema) in PATH_PARAMS.items():
        out[f"path.{name}"] = {
            "name": name,
            "in": "path",
            "required": True,
            "description": desc,
            "schema": schema,
        }
    out["ApiVersionAcr"] = {
        "name": "api-version",
        "in": "query",
        "required": True,
        "description": "The API version (Microsoft.ContainerRegistry).",
        "schema": enum(*ACR_API_VERSIONS),
    }
    out["ApiVersion"] = {
        "name": "api-version",
        "in": "query",
        "required": True,
        "description": "The API version (any YYYY-MM-DD[-preview]).",
        "schema": {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}(-preview)?$"},
    }
    out["SkipToken"] = {
        "name": "$skipToken",
        "in": "query",
        "required": False,
        "description": "The continuation token of a nextLink (opaque).",
        "schema": {"type": "string", "pattern": "^[0-9]{1,18}$"},
    }
    out["Top"] = {
        "name": "$top",
        "in": "query",
        "required": False,
        "description": "The page size (capped at 1000).",
        "schema": {"type": "integer", "minimum": 1, "maximum": 1000},
    }
    out["Filter"] = {
        "name": "$filter",
        "in": "query",
        "required": False,
        "description": "OData filter: roleName eq '...' / principalId eq '...'.",
        "schema": STR,
    }
    out.update(discovery_parameters())
    out["Image"] = {
        "name": "image",
        "in": "query",
        "required": False,
        "description": "One image, repository:tag.",
        "schema": STR,
    }
    out["IfMatch"] = {
        "name": "If-Match",
        "in": "header",
        "required": False,
        "description": "The ETag the resource must have ('*': it must exist).",
        "schema": STR,
    }
    out["IfNoneMatch"] = {
        "name": "If-None-Match",
        "in": "header",
        "required": False,
        "description": "'*': the resource must not exist.",
        "schema": STR,
    }
    return out


def discovery_parameters() -> dict[str, Schema]:
    def query(name: str, desc: str, schema: Schema, required: bool = False) -> Schema:
        return {
            "name": name,
            "in": "query",
            "required": required,
            "description": desc,
            "schema": schema,
        }

    return {
        "ResourceFilter": query(
            "$filter",
            "resourceType eq '...', name eq '...', "
            "resourceGroup eq '...', location eq '...', joined by and.",
            STR,
        ),
        "ResourceSkipToken": query(
            "$skipToken",
            "The continuation token of a nextLink.",
            {"type": "string", "pattern": "^[0-9]:[0-9]{1,18}$"},
        ),
        "MiResource": query("resource", "The audience of the token.", STR, True),
        "MiClientId": query("client_id", "The identity's appId (optional).", STR),
        "MiHeader": {
            "name": "X-IDENTITY-HEADER",
            "in": "header",
            "required": True,
            "description": "The server's managed_identity_header setting.",
            "schema": STR,
        },
    }


LRO_HEADERS = {
    "Azure-AsyncOperation": {
        "description": "Absolute URL of the operation status.",
        "required": True,
        "schema": {"type": "string", "format": "uri"},
    },
    "Retry-After": {
        "description": "Seconds to wait before polling.",
        "required": True,
        "schema": {"type": "integer", "minimum": 0},
    },
}
ETAG_HEADER = {"ETag": {"description": "The resource's entity tag.", "schema": {"type": "string"}}}
DELETE_HEADERS = {
    "Location": {
        "description": "Absolute URL to poll: 202 while running, then 204.",
        "required": True,
        "schema": {"type": "string", "format": "uri"},
    },
    **LRO_HEADERS,
}


def ok(
    schema: str | None, description: str = "OK", headers: dict[str, Any] | None = None
) -> Schema:
    out: Schema = {"description": description}
    if schema is not None:
        out["content"] = {
            JSON: {"schema": ref(schema) if schema[0].isupper() else {"type": schema}}
        }
    if headers:
        out["headers"] = headers
    return out


def error(description: str) -> Schema:
    return {"description": description, "content": {JSON: {"schema": ref("ErrorResponse")}}}


ERRORS = {
    "400": "Bad request: malformed body, invalid name or value, missing api-version.",
    "401": "No or invalid bearer token.",
    "403": "The caller lacks the action at the scope (AuthorizationFailed).",
    "404": "The resource or a parent does not exist.",
}


# -- per-route specs -------------------------------------------------------------------------------
class Spec(dict[str, Any]):
    """operationId, summary, tag, request body schema, responses (status -> response)."""


def spec(
    op: str,
    summary: str,
    tag: str,
    responses: dict[str, Schema],
    body: str | None = None,
    body_required: bool = True,
    paging: bool = False,
    conditional: bool = False,
    filters: bool = False,
    extra: tuple[str, ...] = (),
    media: str = JSON,
) -> Spec:
    """`extra`: names of components.parameters to add; `media`: the body's media type."""
    return Spec(
        operationId=op,
        summary=summary,
        tag=tag,
        responses=responses,
        body=body,
        body_required=body_required,
        paging=paging,
        conditional=conditional,
        filters=filters,
        extra=extra,
        media=media,
    )


def lro_put(kind: str) -> dict[str, Schema]:
    return {
        "200": ok(kind, "Updated; poll Azure-AsyncOperation.", {**LRO_HEADERS, **ETAG_HEADER}),
        "201": ok(kind, "Created; poll Azure-AsyncOperation.", {**LRO_HEADERS, **ETAG_HEADER}),
    }


def lro_delete() -> dict[str, Schema]:
    return {
        "202": ok(None, "Deleting; poll Location.", DELETE_HEADERS),
        "204": ok(None, "Nothing to delete."),
    }


def data_plane_schemas() -> dict[str, Schema]:
    nullable = {**STR, "nullable": True}
    return {
        "ImagePresenceResult": obj(
            {
                "image": STR,
                "home": STR,
                "digest": nullable,
                "complete": BOOL,
                "missing": arr(STR),
                "value": arr(
                    obj(
                        {
                            "region": STR,
                            "state": enum("present", "missing", "differs"),
                            "digest": nullable,
                            "replication": STR,
                            "lastError": nullable,
                        },
                        ("region", "state"),
                    )
                ),
            },
            ("image", "complete", "missing", "value"),
        ),
        "VerifyReplicationResult": obj(
            {
                "registry": STR,
                "home": STR,
                "regions": arr(STR),
                "inSync": BOOL,
                "complete": BOOL,
                "checked": obj(
                    {
                        "tags": {"type": "integer"},
                        "manifests": {"type": "integer"},
                        "blobs": {"type": "integer"},
                    }
                ),
                "drift": arr(
                    obj(
                        {
                            "region": STR,
                            "image": nullable,
                            "problem": enum(
                                "missing",
                                "extra",
                                "digestMismatch",
                                "missingManifest",
                                "missingBlob",
                                "blobDigestMismatch",
                                "unreachable",
                            ),
                        },
                        ("region", "problem"),
                    )
                ),
            },
            ("inSync", "drift"),
        ),
        "ImportImageParameters": obj(
            {
                "source": obj(
                    {
                        "resourceId": STR,
                        "registryUri": STR,
                        "sourceImage": STR,
                        "credentials": obj(
                            {"username": STR, "password": {**STR, "writeOnly": True}}
                        ),
                    },
                    ("sourceImage",),
                ),
                "targetTags": arr(STR),
                "untaggedTargetRepositories": arr(STR),
                "mode": enum("NoForce", "Force"),
            },
            ("source",),
        ),
        "ImportOperationStatus": obj(
            {
                "id": STR,
                "name": STR,
                "status": enum("InProgress", "Succeeded", "Failed"),
                "startTime": DATETIME,
                "endTime": DATETIME,
                "percentComplete": {"type": "number", "minimum": 0, "maximum": 100},
                "resourceId": STR,
                "error": ref("ErrorDetail"),
                "properties": obj(
                    {
                        "image": STR,
                        "progress": obj(
                            {
                                "blobsTotal": {"type": "integer"},
                                "blobsDone": {"type": "integer"},
                                "bytes": {"type": "integer"},
                            }
                        ),
                    }
                ),
            },
            ("id", "status"),
        ),
    }


def data_plane_specs() -> dict[tuple[str, Callable[..., Any]], Spec]:
    from acrctl.server.handlers import replication_tools as t

    off = {"409": error("The data plane is not running on this server (DataPlaneOff).")}
    retry = {"Retry-After": {**LRO_HEADERS["Retry-After"], "required": False}}
    return {
        ("GET", t.image_presence): spec(
            "Replications_ImagePresence",
            "Whether every region holds repository:tag at the home region's digest "
            "(acrctl; Retry-After while not).",
            "Replications",
            {"200": ok("ImagePresenceResult", headers=retry), **off},
            extra=("Image",),
        ),
        ("POST", t.verify): spec(
            "Replications_Verify",
            "Compare every region's tags, manifests and blobs with the home region (acrctl).",
            "Replications",
            {"200": ok("VerifyReplicationResult"), **off},
        ),
        ("POST", t.import_image): spec(
            "Registries_ImportImage",
            "Copy an image from another registry into this one; it then replicates.",
            "Registries",
            {"202": ok(None, "Importing; poll Azure-AsyncOperation.", LRO_HEADERS), **off},
            body="ImportImageParameters",
        ),
        ("GET", t.import_status): spec(
            "Registries_GetImportStatus",
            "An import's status (Azure-AsyncOperation of importImage).",
            "Registries",
            {"200": ok("ImportOperationStatus", headers=retry)},
        ),
    }


def specs() -> dict[tuple[str, Callable[..., Any]], Spec]:
    from acrctl.server import drills, observability
    from acrctl.server.handlers import (
        activity,
        authz,
        credentials,
        deployments,
        principals,
        registries,
        replication_status,
        replications,
        resources,
        webhooks,
    )
    from acrctl.server.routes import openapi_document

    def kind_of(template: str) -> str:
        if "{deployment}" in template:
            return "Deployments"
        if "{replication}" in template:
            return "Replications"
        if "{webhook}" in template:
            return "Webhooks"
        return "Registries"

    R, H = "Registries", "Webhooks"
    out: dict[tuple[str, Callable[..., Any]], Spec] = {
        ("GET", authz.health): spec(
            "Health_Get", "Liveness (public).", "Health", {"200": ok("Health")}
        ),
        ("GET", openapi_document): spec(
            "OpenApi_Get", "This document (public).", "Health", {"200": ok("object")}
        ),
        ("GET", observability.readyz): spec(
            "Health_Ready",
            "Readiness (public): 200 ready, 503 not.",
            "Health",
            {"200": ok("Readiness"), "503": ok("Readiness", "Not ready.")},
        ),
        ("GET", observability.metrics): spec(
            "Metrics_Get",
            "Prometheus metrics (public; 404 unless enabled).",
            "Health",
            {
                "200": {
                    "description": "The exposition format.",
                    "content": {"text/plain": {"schema": STR}},
                },
                "404": error("Metrics are not enabled."),
            },
        ),
        ("GET", resources.list_subscriptions): spec(
            "Subscriptions_List",
            "Subscriptions the caller can see.",
            "Resources",
            {"200": ok("SubscriptionListResult")},
        ),
        ("GET", resources.get_subscription): spec(
            "Subscriptions_Get", "One subscription.", "Resources", {"200": ok("Subscription")}
        ),
        ("GET", resources.list_locations): spec(
            "Subscriptions_ListLocations",
            "The region catalog.",
            "Resources",
            {"200": ok("LocationListResult")},
        ),
        ("GET", resources.list_groups): spec(
            "ResourceGroups_List",
            "Resource groups (paged).",
            "Resources",
            {"200": ok("ResourceGroupListResult")},
            paging=True,
        ),
        ("GET", resources.get_group): spec(
            "ResourceGroups_Get",
            "One resource group.",
            "Resources",
            {"200": ok("ResourceGroup", headers=ETAG_HEADER)},
        ),
        ("HEAD", resources.head_group): spec(
            "ResourceGroups_CheckExistence",
            "204 when the group exists, else 404.",
            "Resources",
            {"204": ok(None, "Exists."), "404": ok(None, "Does not exist.")},
        ),
        ("PUT", resources.put_group): spec(
            "ResourceGroups_CreateOrUpdate",
            "Create or update a resource group.",
            "Resources",
            {
                "200": ok("ResourceGroup", headers=ETAG_HEADER),
                "201": ok("ResourceGroup", "Created.", ETAG_HEADER),
            },
            body="ResourceGroupCreateParameters",
            conditional=True,
        ),
        ("PATCH", resources.patch_group): spec(
            "ResourceGroups_Update",
            "Update a resource group's tags.",
            "Resources",
            {"200": ok("ResourceGroup", headers=ETAG_HEADER)},
            body="ResourceGroupPatchable",
            conditional=True,
        ),
        ("DELETE", resources.delete_group): spec(
            "ResourceGroups_Delete",
            "Delete a group and everything in it.",
            "Resources",
            {"200": ok(None, "Deleted."), "204": ok(None, "Nothing to delete.")},
            conditional=True,
        ),
        # registries
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
        # replications
        ("GET", replications.list_): spec(
            "Replications_List",
            "Replications (paged).",
            "Replications",
            {"200": ok("ReplicationListResult")},
            paging=True,
        ),
        ("GET", replications.get): spec(
            "Replications_Get",
            "One replication.",
            "Replications",
            {"200": ok("Replication", headers=ETAG_HEADER)},
        ),
        ("PUT", replications.put): spec(
            "Replications_Create",
            "Create or replace a replica.",
            "Replications",
            lro_put("Replication"),
            body="ReplicationCreateParameters",
            conditional=True,
        ),
        ("PATCH", replications.patch): spec(
            "Replications_Update",
            "Update a replica.",
            "Replications",
            lro_put("Replication"),
            body="ReplicationUpdateParameters",
            conditional=True,
        ),
        ("DELETE", replications.delete): spec(
            "Replications_Delete",
            "Delete a replica.",
            "Replications",
            lro_delete(),
            conditional=True,
        ),
        ("GET", replication_status.get): spec(
            "Replications_ImageStatus",
            "Where each image is, per replica region (acrctl).",
            "Replications",
            {"200": ok("ReplicationStatusResult")},
            extra=("Image",),
        ),
        **data_plane_specs(),
        # webhooks
        ("GET", webhooks.list_): spec(
            "Webhooks_List", "Webhooks (paged).", H, {"200": ok("WebhookListResult")}, paging=True
        ),
        ("GET", webhooks.get): spec(
            "Webhooks_Get", "One webhook.", H, {"200": ok("Webhook", headers=ETAG_HEADER)}
        ),
        ("PUT", webhooks.put): spec(
            "Webhooks_Create",
            "Create or replace a webhook.",
            H,
            lro_put("Webhook"),
            body="WebhookCreateParameters",
            conditional=True,
        ),
        ("PATCH", webhooks.patch): spec(
            "Webhooks_Update",
            "Update a webhook.",
            H,
            lro_put("Webhook"),
            body="WebhookUpdateParameters",
            conditional=True,
        ),
        ("DELETE", webhooks.delete): spec(
            "Webhooks_Delete", "Delete a webhook.", H, lro_delete(), conditional=True
        ),
        ("POST", webhooks.ping): spec(
            "Webhooks_Ping", "Queue a ping delivery.", H, {"200": ok("EventInfo")}
        ),
        ("POST", webhooks.callback_config): spec(
            "Webhooks_GetCallbackConfig",
            "The service URI and custom headers.",
            H,
            {"200": ok("CallbackConfig")},
        ),
        ("POST", webhooks.list_events): spec(
            "Webhooks_ListEvents",
            "Deliveries (paged).",
            H,
            {"200": ok("EventListResult")},
            paging=True,
        ),
        ("GET", webhooks.list_events): spec(
            "Webhooks_ListEventsGet",
            "Deliveries (paged; what nextLink points to).",
            H,
            {"200": ok("EventListResult")},
            paging=True,
        ),
        ("POST", webhooks.redeliver): spec(
            "Webhooks_Redeliver",
            "acrctl extension: send a past event again.",
            H,
            {"200": ok("EventInfo")},
            body="RedeliverRequest",
        ),
        # authorization
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
        # deployments
        ("GET", deployments.list_): spec(
            "Deployments_ListByResourceGroup",
            "Deployments of a group (paged).",
            "Deployments",
            {"200": ok("DeploymentListResult")},
            paging=True,
        ),
        ("GET", deployments.get): spec(
            "Deployments_Get", "One deployment.", "Deployments", {"200": ok("Deployment")}
        ),
        ("PUT", deployments.put): spec(
            "Deployments_CreateOrUpdate",
            "Run an ARM template (inline).",
            "Deployments",
            {
                "200": ok("Deployment", "Redeployed; see Azure-AsyncOperation.", LRO_HEADERS),
                "201": ok("Deployment", "Deployed; see Azure-AsyncOperation.", LRO_HEADERS),
            },
            body="DeploymentCreateParameters",
        ),
        ("DELETE", deployments.delete): spec(
            "Deployments_Delete",
            "Delete the record (its resources stay).",
            "Deployments",
            {"204": ok(None, "Deleted (or nothing to delete).")},
        ),
        ("POST", deployments.what_if): spec(
            "Deployments_WhatIf",
            "What a deployment would change.",
            "Deployments",
            {"200": ok("WhatIfResult")},
            body="DeploymentCreateParameters",
        ),
        # activity log
        ("GET", activity.list_): spec(
            "ActivityLogs_List",
            "Management events ($filter=eventTimestamp ge '...' required).",
            "Monitor",
            {"200": ok("ActivityLogListResult")},
            paging=True,
            filters=True,
        ),
        # drills (admin)
        ("GET", drills.list_): spec(
            "Drills_List",
            "Failure drills of the subscription.",
            "Admin",
            {"200": ok("DrillListResult")},
        ),
        ("DELETE", drills.clear): spec(
            "Drills_Clear",
            "Remove every drill.",
            "Admin",
            {"200": ok("DrillListResult", "What was removed.")},
        ),
        ("GET", drills.get): spec("Drills_Get", "One drill.", "Admin", {"200": ok("Drill")}),
        ("PUT", drills.put): spec(
            "Drills_CreateOrUpdate",
            "Start a failure drill.",
            "Admin",
            {"200": ok("Drill"), "201": ok("Drill", "Created.")},
            body="DrillCreateParameters",
        ),
        ("DELETE", drills.delete): spec(
            "Drills_Delete",
            "Stop a drill.",
            "Admin",
            {"200": ok("Drill", "Removed."), "204": ok(None, "Nothing to remove.")},
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
    }
    out[("GET", registries.operation_status)]["kind_of"] = kind_of
    out.update(discovery_specs())
    out.update(portal_specs())
    return out


def discovery_specs() -> dict[tuple[str, Callable[..., Any]], Spec]:
    from acrctl.server.handlers import discovery, identity

    aad = {
        "400": ok(
            "AadError",
            "Refused (Entra's error body: unknown tenant or client, bad grant, scope or resource).",
        ),
        "401": ok("AadError", "Wrong, missing or expired client secret."),
    }
    mi = {
        "400": ok("ManagedIdentityError", "Bad api-version, resource or identity."),
        "401": ok("ManagedIdentityError", "Missing or wrong X-IDENTITY-HEADER."),
        "404": ok("ManagedIdentityError", "The managed identity endpoint is off."),
    }
    metadata = spec(
        "Metadata_Endpoints",
        "The cloud's endpoints (public; az cloud register).",
        "Discovery",
        {"200": ok("CloudMetadata")},
    )
    token = spec(
        "Identity_Token",
        "client_credentials: a JWT access token (public).",
        "Identity",
        {"200": ok("TokenResponse"), **aad},
        body="TokenRequest",
        media="application/x-www-form-urlencoded",
    )
    return {
        ("GET", discovery.metadata_endpoints): metadata,
        ("GET", identity.openid_configuration): spec(
            "Identity_OpenIdConfiguration",
            "OpenID Connect discovery of a tenant (public).",
            "Identity",
            {"200": ok("OpenIdConfiguration"), "400": ok("AadError", "Unknown tenant.")},
        ),
        ("GET", identity.authorize): spec(
            "Identity_Authorize",
            "Interactive sign-in: not supported (public; 400).",
            "Identity",
            {"400": ok("AadError", "Not supported.")},
        ),
        ("GET", discovery.metadata_endpoints_slash): spec(
            "Metadata_EndpointsDoubleSlash",
            "The same, at the path az asks for when the endpoint ends in a slash.",
            "Discovery",
            {"200": ok("CloudMetadata")},
        ),
        ("POST", identity.token): token,
        ("POST", identity.token_v1): spec(
            "Identity_TokenV1",
            "The same on v1's path (resource= instead of scope=).",
            "Identity",
            token["responses"],
            body="TokenRequest",
            media="application/x-www-form-urlencoded",
        ),
        ("GET", identity.managed_identity): spec(
            "Identity_ManagedIdentityToken",
            "App Service's managed-identity protocol "
            "(public; ?api-version=2019-08-01, the X-IDENTITY-HEADER secret).",
            "Identity",
            {"200": ok("ManagedIdentityToken"), **mi},
            extra=("MiResource", "MiClientId", "MiHeader"),
        ),
        ("GET", discovery.list_resources): spec(
            "Resources_List",
            "Generic resources the caller may read ($filter, paged).",
            "Resources",
            {"200": ok("GenericResourceListResult")},
            extra=("ResourceFilter", "ResourceSkipToken", "Top"),
        ),
        ("GET", discovery.list_providers): spec(
            "Providers_List", "Resource providers.", "Resources", {"200": ok("ProviderListResult")}
        ),
        ("GET", discovery.get_provider): spec(
            "Providers_Get", "One resource provider.", "Resources", {"200": ok("Provider")}
        ),
        ("POST", discovery.register_acr): spec(
            "Providers_Register",
            "Register Microsoft.ContainerRegistry (already is).",
            "Resources",
            {"200": ok("Provider")},
        ),
    }


def portal_specs() -> dict[tuple[str, Callable[..., Any]], Spec]:
    """The portal's page and files (public) and the permissions it reads."""
    from acrctl.server.handlers import permissions, portal

    def text(description: str, *media: str) -> Schema:
        return {
            "description": description,
            "content": {m: {"schema": {"type": "string"}} for m in media},
        }

    off = ok("ErrorResponse", "The portal is off (portal_enabled) or no such file.")
    return {
        ("GET", portal.page): spec(
            "Portal_Page",
            "The map page (public; HTML under a strict Content-Security-Policy).",
            "Portal",
            {"200": text("The page.", "text/html"), "404": off},
        ),
        ("GET", portal.asset): spec(
            "Portal_Asset",
            "The page's script, style sheet or icon (public).",
            "Portal",
            {
                "200": text(
                    "portal.js, portal.css or icon.svg.",
                    "text/javascript",
                    "text/css",
                    "image/svg+xml",
                ),
                "404": off,
            },
        ),
        ("GET", permissions.list_): spec(
            "Permissions_List{scope}",
            "The caller's own effective permissions at the scope "
            "(one entry per role assignment at or above it).",
            "Authorization",
            {"200": ok("PermissionListResult")},
        ),
    }


# -- the document ----------------------------------------------------------------------------------
def _oa_path(template: str) -> str:
    return re.sub(r"\{(\w+)(:path)?\}", r"{\1}", template)


def _params_in(path: str) -> list[str]:
    return re.findall(r"\{(\w+)\}", path)


def _expand(template: str) -> list[tuple[str, str]]:
    """(OpenAPI path, operationId suffix) for a route template."""
    if "{scope:path}" not in template:
        return [(_oa_path(template), "")]
    return [
        (_oa_path(template.replace("{scope:path}", prefix)), suffix) for prefix, suffix in SCOPES
    ]


def _operation(route: Any, sp: Spec | None, path: str, suffix: str) -> Schema:
    if sp is None:
        op_id = f"{route.method.title()}{re.sub(r'[^A-Za-z0-9]', '', path.title())}"
        sp = spec(
            op_id,
            f"{route.method} {route.template}",
            "Undescribed",
            {"200": ok("object")},
            body="object" if route.method in ("PUT", "PATCH", "POST") else None,
            body_required=False,
        )
    op_id = str(sp["operationId"])
    if "{kind}" in op_id:
        op_id = op_id.replace("{kind}", sp["kind_of"](route.template))
    op_id = op_id.replace("{scope}", suffix) if "{scope}" in op_id else op_id + suffix
    params: list[Schema] = [
        {"$ref": f"#/components/parameters/path.{p}"}
        if p in PATH_PARAMS
        else {
            "name": p,
            "in": "path",
            "required": True,
            "schema": {"type": "string", "minLength": 1},
        }
        for p in _params_in(path)
    ]
    if not route.public:
        params.append(
            {"$ref": "#/components/parameters/" + ("ApiVersionAcr" if route.acr else "ApiVersion")}
        )
    if sp["paging"]:
        params += [
            {"$ref": "#/components/parameters/SkipToken"},
            {"$ref": "#/components/parameters/Top"},
        ]
    if sp["filters"]:
        params.append({"$ref": "#/components/parameters/Filter"})
    params += [{"$ref": f"#/components/parameters/{name}"} for name in sp["extra"]]
    if sp["conditional"]:
        params.append({"$ref": "#/components/parameters/IfMatch"})
        if route.method != "POST":
            params.append({"$ref": "#/components/parameters/IfNoneMatch"})
    responses: dict[str, Schema] = copy.deepcopy(sp["responses"])
    if not route.public:
        for code, text in ERRORS.items():
            responses.setdefault(code, error(text))
        if route.method in ("PUT", "PATCH", "POST"):
            responses.setdefault("413", error("The request body is over the size limit."))
        if sp["conditional"]:
            responses.setdefault("409", error("Conflict: name taken, operation in flight, quota."))
            responses.setdefault("412", error("If-Match / If-None-Match did not hold."))
        responses.setdefault("429", error("Throttled; retry after Retry-After seconds."))
        responses.setdefault("503", error("Unavailable; retry after Retry-After seconds."))
    responses["default"] = error("An ARM error.")
    out: Schema = {
        "operationId": op_id,
        "summary": sp["summary"],
        "tags": [sp["tag"]],
        "parameters": params,
        "responses": responses,
    }
    if route.action:
        out["x-acrctl-action"] = route.action
    if route.public:
        out["security"] = []
    body = sp["body"]
    if body is not None:
        out["requestBody"] = {
            "required": bool(sp["body_required"]),
            "content": {
                sp["media"]: {"schema": ref(body) if body[0].isupper() else {"type": body}}
            },
        }
    return out


@functools.cache
def document() -> dict[str, Any]:
    """The OpenAPI 3.0 document for every route of THE route table (without `servers`)."""
    from acrctl import __version__
    from acrctl.server.routes import ROUTES

    table = specs()
    paths: dict[str, dict[str, Any]] = {}
    undescribed: list[str] = []
    for route in ROUTES:
        sp = table.get((route.method, route.handler))
        if sp is None:
            undescribed.append(f"{route.method} {route.template}")
        for path, suffix in _expand(route.template):
            paths.setdefault(path, {})[route.method.lower()] = _operation(route, sp, path, suffix)
    doc: dict[str, Any] = {
        "openapi": "3.0.3",
        "info": {
            "title": "acrctl management API",
            "version": __version__,
            "description": "ARM-compatible Microsoft.ContainerRegistry (registries, "
            "replications, webhooks), Microsoft.Resources (subscriptions, "
            "resource groups) and Microsoft.Authorization (roles, "
            "assignments), plus acrctl extensions (principals, admin). "
            "Long-running PUT/PATCH answer 200/201 with "
            "Azure-AsyncOperation and Retry-After; DELETE answers 202 "
            "with Location.",
        },
        "paths": paths,
        "components": {
            "schemas": schemas(),
            "parameters": components_parameters(),
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A principal's token (acrctl account login).",
                }
            },
        },
        "security": [{"bearer": []}],
    }
    if undescribed:
        doc["x-acrctl-undescribed"] = undescribed
    return doc


def serve(c: Ctx) -> Response:
    """GET /openapi.json (public)."""
    doc = dict(document())
    doc["servers"] = [{"url": c.req.base_url}]
    return c.ok(doc)
