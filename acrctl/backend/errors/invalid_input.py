"""400 InvalidInput: the one-class-per-code errors of a malformed request."""

from __future__ import annotations

from acrctl.backend.errors.families import CodedError, InvalidInput

# 400 InvalidInput: one class per ARM code


class AmbiguousRoleDefinitionName(CodedError, InvalidInput):
    code = "AmbiguousRoleDefinitionName"


class AnonymousPullNotSupportedForSku(CodedError, InvalidInput):
    code = "AnonymousPullNotSupportedForSku"


class CannotDeleteBuiltInRole(CodedError, InvalidInput):
    code = "CannotDeleteBuiltInRole"


class DataEndpointNotSupportedForSku(CodedError, InvalidInput):
    code = "DataEndpointNotSupportedForSku"


class HomeReplicationCannotBeDeleted(CodedError, InvalidInput):
    code = "HomeReplicationCannotBeDeleted"


class InvalidApiVersionParameter(CodedError, InvalidInput):
    code = "InvalidApiVersionParameter"


class InvalidCredentialEndDate(CodedError, InvalidInput):
    code = "InvalidCredentialEndDate"


class InvalidDeploymentMode(CodedError, InvalidInput):
    code = "InvalidDeploymentMode"


class InvalidDeploymentName(CodedError, InvalidInput):
    code = "InvalidDeploymentName"


class InvalidDrill(CodedError, InvalidInput):
    code = "InvalidDrill"


class InvalidDrillName(CodedError, InvalidInput):
    code = "InvalidDrillName"


class InvalidFilter(CodedError, InvalidInput):
    code = "InvalidFilter"


class InvalidFilterInQueryString(CodedError, InvalidInput):
    code = "InvalidFilterInQueryString"


class InvalidParameter(CodedError, InvalidInput):
    code = "InvalidParameter"


class InvalidPrincipal(CodedError, InvalidInput):
    code = "InvalidPrincipal"


class InvalidRequestContent(CodedError, InvalidInput):
    code = "InvalidRequestContent"


class InvalidResourceGroup(CodedError, InvalidInput):
    code = "InvalidResourceGroup"


class InvalidResourceGroupLocation(CodedError, InvalidInput):
    code = "InvalidResourceGroupLocation"


class InvalidResourceLocation(CodedError, InvalidInput):
    code = "InvalidResourceLocation"


class InvalidResourceName(CodedError, InvalidInput):
    code = "InvalidResourceName"


class InvalidResourceType(CodedError, InvalidInput):
    code = "InvalidResourceType"


class InvalidRoleAssignmentId(CodedError, InvalidInput):
    code = "InvalidRoleAssignmentId"


class InvalidRoleAssignmentScope(CodedError, InvalidInput):
    code = "InvalidRoleAssignmentScope"


class InvalidRoleDefinition(CodedError, InvalidInput):
    code = "InvalidRoleDefinition"


class InvalidRoleDefinitionId(CodedError, InvalidInput):
    code = "InvalidRoleDefinitionId"


class InvalidScope(CodedError, InvalidInput):
    code = "InvalidScope"


class InvalidSetting(CodedError, InvalidInput):
    code = "InvalidSetting"


class InvalidSkipToken(CodedError, InvalidInput):
    code = "InvalidSkipToken"


class InvalidSkuName(CodedError, InvalidInput):
    code = "InvalidSkuName"


class InvalidTagCount(CodedError, InvalidInput):
    code = "InvalidTagCount"


class InvalidTemplate(CodedError, InvalidInput):
    code = "InvalidTemplate"


class InvalidZoneRedundancy(CodedError, InvalidInput):
    code = "InvalidZoneRedundancy"


class LocationCannotBeChanged(CodedError, InvalidInput):
    code = "LocationCannotBeChanged"


class LocationNotAvailableForResourceType(CodedError, InvalidInput):
    code = "LocationNotAvailableForResourceType"


class MissingApiVersionParameter(CodedError, InvalidInput):
    code = "MissingApiVersionParameter"


class NetworkRulesNotSupportedForSku(CodedError, InvalidInput):
    code = "NetworkRulesNotSupportedForSku"


class NoRegisteredProviderFound(CodedError, InvalidInput):
    code = "NoRegisteredProviderFound"


class PrincipalNotFoundInRequest(CodedError, InvalidInput):
    code = "PrincipalNotFound"


class ReadOnlyStateFile(CodedError, InvalidInput):
    code = "ReadOnlyStateFile"  # a write to a state file opened read-only (acrctl.statefile)


class RegistryNameInvalid(CodedError, InvalidInput):
    code = "RegistryNameInvalid"


class RegistrySkuDowngradeNotAllowed(CodedError, InvalidInput):
    code = "RegistrySkuDowngradeNotAllowed"


class ReplicationInHomeLocation(CodedError, InvalidInput):
    code = "ReplicationInHomeLocation"


class ReplicationLocationAlreadyExists(CodedError, InvalidInput):
    code = "ReplicationLocationAlreadyExists"


class ReplicationNotSupportedForSku(CodedError, InvalidInput):
    code = "ReplicationNotSupportedForSku"


class ResetDisabled(CodedError, InvalidInput):
    code = "ResetDisabled"


class RoleDefinitionDoesNotExistInRequest(CodedError, InvalidInput):
    code = "RoleDefinitionDoesNotExist"


class RoleDefinitionLimitExceeded(CodedError, InvalidInput):
    code = "RoleDefinitionLimitExceeded"


class RoleDefinitionWithSameNameExists(CodedError, InvalidInput):
    code = "RoleDefinitionWithSameNameExists"


class SkuRequired(CodedError, InvalidInput):
    code = "SkuRequired"


class UnAuthorizedForCredentialOperations(CodedError, InvalidInput):
    code = "UnAuthorizedForCredentialOperations"


class WebhookInvalidParameterValue(CodedError, InvalidInput):
    code = "WebhookInvalidParameterValue"


class WebhookLocationNotAllowed(CodedError, InvalidInput):
    code = "WebhookLocationNotAllowed"


class ZoneRedundancyCannotBeChanged(CodedError, InvalidInput):
    code = "ZoneRedundancyCannotBeChanged"


class ZoneRedundancyNotSupportedForSku(CodedError, InvalidInput):
    code = "ZoneRedundancyNotSupportedForSku"


class ZoneRedundancyNotSupportedInLocation(CodedError, InvalidInput):
    code = "ZoneRedundancyNotSupportedInLocation"
