"""Typed models of the ARM resources (pydantic v2). They keep every field the wire carries
(extra="allow"), so `model.to_arm()` gives back exactly the JSON that was received."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class ArmModel(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)

    def to_arm(self) -> dict[str, Any]:
        """The resource as JSON, exactly the fields received."""
        return self.model_dump(mode="json", by_alias=True, exclude_unset=True)


class SystemData(ArmModel):
    created_by: str | None = Field(None, alias="createdBy")
    created_by_type: str | None = Field(None, alias="createdByType")
    created_at: str | None = Field(None, alias="createdAt")
    last_modified_by: str | None = Field(None, alias="lastModifiedBy")
    last_modified_by_type: str | None = Field(None, alias="lastModifiedByType")
    last_modified_at: str | None = Field(None, alias="lastModifiedAt")


class Resource(ArmModel):
    id: str
    name: str
    type: str
    location: str | None = None
    tags: dict[str, str] | None = None
    system_data: SystemData | None = Field(None, alias="systemData")

    @property
    def resource_group(self) -> str:
        parts = self.id.split("/")
        low = [p.lower() for p in parts]
        return parts[low.index("resourcegroups") + 1] if "resourcegroups" in low else ""


class Sku(ArmModel):
    name: str
    tier: str | None = None


class Status(ArmModel):
    display_status: str | None = Field(None, alias="displayStatus")
    message: str | None = None
    timestamp: str | None = None


class RegistryProperties(ArmModel):
    login_server: str | None = Field(None, alias="loginServer")
    creation_date: str | None = Field(None, alias="creationDate")
    provisioning_state: str | None = Field(None, alias="provisioningState")
    admin_user_enabled: bool | None = Field(None, alias="adminUserEnabled")
    zone_redundancy: str | None = Field(None, alias="zoneRedundancy")
    public_network_access: str | None = Field(None, alias="publicNetworkAccess")
    anonymous_pull_enabled: bool | None = Field(None, alias="anonymousPullEnabled")


class Registry(Resource):
    sku: Sku
    properties: RegistryProperties


class ReplicationProperties(ArmModel):
    provisioning_state: str | None = Field(None, alias="provisioningState")
    status: Status | None = None
    region_endpoint_enabled: bool | None = Field(None, alias="regionEndpointEnabled")
    zone_redundancy: str | None = Field(None, alias="zoneRedundancy")


class Replication(Resource):
    properties: ReplicationProperties


class WebhookProperties(ArmModel):
    status: str | None = None
    scope: str | None = None
    actions: list[str] = []
    provisioning_state: str | None = Field(None, alias="provisioningState")


class Webhook(Resource):
    properties: WebhookProperties


class CallbackConfig(ArmModel):
    # required, but null when the server holds no secret for the webhook (OpenAPI: nullable)
    service_uri: str | None = Field(alias="serviceUri")
    custom_headers: dict[str, str] | None = Field(None, alias="customHeaders")


class EventInfo(ArmModel):
    id: str


class Event(EventInfo):
    event_request_message: dict[str, Any] | None = Field(None, alias="eventRequestMessage")
    event_response_message: dict[str, Any] | None = Field(None, alias="eventResponseMessage")


class Usage(ArmModel):
    name: str
    limit: int
    current_value: int = Field(alias="currentValue")
    unit: str


class NameStatus(ArmModel):
    name_available: bool = Field(alias="nameAvailable")
    reason: str | None = None
    message: str | None = None


class ResourceGroup(Resource):
    properties: dict[str, Any] | None = None


class RoleDefinition(ArmModel):
    id: str
    name: str
    type: str
    properties: dict[str, Any]


class RoleAssignment(ArmModel):
    id: str
    name: str
    type: str
    properties: dict[str, Any]


class Principal(ArmModel):
    id: str
    display_name: str = Field(alias="displayName")
    type: str
    token: str | None = None


class Subscription(ArmModel):
    id: str
    subscription_id: str = Field(alias="subscriptionId")
    display_name: str | None = Field(None, alias="displayName")
    state: str | None = None
    tenant_id: str | None = Field(None, alias="tenantId")
    authorization_source: str | None = Field(None, alias="authorizationSource")
