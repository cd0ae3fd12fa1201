"""Typed domain errors. Each carries an ARM error code and message; the server answers
with the HTTP status of the error's class (acrctl.server.app), the backend never speaks HTTP.

Two layers. A family (InvalidInput, NotFound, ...) carries the HTTP status as the class
attribute `status`; one class per ARM code subclasses its family and names the code in the
class attribute `code`, so a raise site names the error and gives only the message:
`raise InvalidScope("...")`. The server reads the status through the class hierarchy
(`type(exc).status`): a code class answers its family's status, and an ArmError subclass
outside the families answers 500 (a bug, never a silent 400).

A family still takes `(code, message)` for a code that is data rather than a name in the
code: tests build such errors, and `ArmError.reworded` keeps the code of the error it
rewords. One ARM code has two classes where it answers two statuses: PrincipalNotFound
and RoleDefinitionDoesNotExist are 404 for the thing looked up, and 400 (`...InRequest`)
when a request body names one that does not exist."""

from __future__ import annotations

import sys
from typing import ClassVar, Self


class ArmError(Exception):
    """Base of every error the backend raises on purpose."""

    status: ClassVar[int] = 500  # the families below set it; a stray subclass answers 500
    code: str

    def __init__(
        self, code: str, message: str, *, target: str | None = None, retry_after: int | None = None
    ) -> None:
        super().__init__(f"({code}) {message}")
        self.code = code
        self.message = message
        self.target = target
        self.retry_after = retry_after

    def body(self) -> dict[str, object]:
        err: dict[str, object] = {"code": self.code, "message": self.message}
        if self.target:
            err["target"] = self.target
        return {"error": err}

    def reworded(self, message: str, *, target: str | None = None) -> Self:
        """The same error (class, code, Retry-After) with another message and target."""
        new = type(self).__new__(type(self))
        ArmError.__init__(new, self.code, message, target=target, retry_after=self.retry_after)
        return new


class CodedError(ArmError):
    """Mixin of the one-class-per-code errors, listed before the family
    (`class InvalidScope(CodedError, InvalidInput)`): the class names the code, so the
    error is built from its message alone."""

    def __init__(
        self, message: str, *, target: str | None = None, retry_after: int | None = None
    ) -> None:
        super().__init__(self.code, message, target=target, retry_after=retry_after)


class InvalidInput(ArmError):
    """The request is malformed or breaks a rule (HTTP 400)."""

    status = 400


class AuthenticationFailed(ArmError):
    """No or bad credentials (HTTP 401)."""

    status = 401


class AuthorizationFailed(ArmError):
    """The principal lacks the action at the scope (HTTP 403)."""

    status = 403


class NotFound(ArmError):
    """The resource or a parent does not exist (HTTP 404)."""

    status = 404


class Conflict(ArmError):
    """State conflict: name taken, operation in flight, quota (HTTP 409)."""

    status = 409


class PreconditionFailed(ArmError):
    """If-Match / If-None-Match did not hold (HTTP 412)."""

    status = 412


class PayloadTooLarge(ArmError):
    """The request body is over the limit (HTTP 413)."""

    status = 413


class Throttled(ArmError):
    """Too many requests (HTTP 429, with Retry-After)."""

    status = 429


class Unavailable(ArmError):
    """The service or a region is unavailable (HTTP 503, with Retry-After)."""

    status = 503


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


# 401 AuthenticationFailed: one class per ARM code


class AuthorizationHeaderMissing(CodedError, AuthenticationFailed):
    code = "AuthenticationFailed"


class ExpiredAuthenticationToken(CodedError, AuthenticationFailed):
    code = "ExpiredAuthenticationToken"


class InvalidAuthenticationToken(CodedError, AuthenticationFailed):
    code = "InvalidAuthenticationToken"


class InvalidAuthenticationTokenAudience(CodedError, AuthenticationFailed):
    code = "InvalidAuthenticationTokenAudience"


# 403 AuthorizationFailed: one class per ARM code


class AccessDenied(CodedError, AuthorizationFailed):
    code = "AuthorizationFailed"


# 404 NotFound: one class per ARM code


class DeploymentNotFound(CodedError, NotFound):
    code = "DeploymentNotFound"


class DrillNotFound(CodedError, NotFound):
    code = "DrillNotFound"


class InvalidResourceNamespace(CodedError, NotFound):
    code = "InvalidResourceNamespace"


class MetricsDisabled(CodedError, NotFound):
    code = "MetricsDisabled"


class OperationNotFound(CodedError, NotFound):
    code = "OperationNotFound"


class PathNotFound(CodedError, NotFound):
    code = "NotFound"


class PortalDisabled(CodedError, NotFound):
    code = "PortalDisabled"


class PrincipalNotFound(CodedError, NotFound):
    code = "PrincipalNotFound"


class ResourceGroupNotFound(CodedError, NotFound):
    code = "ResourceGroupNotFound"


class ResourceNotFound(CodedError, NotFound):
    code = "ResourceNotFound"


class RoleAssignmentNotFound(CodedError, NotFound):
    code = "RoleAssignmentNotFound"


class RoleDefinitionDoesNotExist(CodedError, NotFound):
    code = "RoleDefinitionDoesNotExist"


class SubscriptionNotFound(CodedError, NotFound):
    code = "SubscriptionNotFound"


class WebhookEventNotFound(CodedError, NotFound):
    code = "WebhookEventNotFound"


# 409 Conflict: one class per ARM code


class AlreadyInUse(CodedError, Conflict):
    code = "AlreadyInUse"


class CannotDeleteLastOwner(CodedError, Conflict):
    code = "CannotDeleteLastOwner"


class DataPlaneOff(CodedError, Conflict):
    code = "DataPlaneOff"


class OperationInProgress(CodedError, Conflict):
    code = "OperationInProgress"


class QuotaExceeded(CodedError, Conflict):
    code = "QuotaExceeded"


class RoleAssignmentExists(CodedError, Conflict):
    code = "RoleAssignmentExists"


class RoleDefinitionHasAssignments(CodedError, Conflict):
    code = "RoleDefinitionHasAssignments"


# 412 PreconditionFailed: one class per ARM code


class PreconditionNotMet(CodedError, PreconditionFailed):
    code = "PreconditionFailed"


# 413 PayloadTooLarge: one class per ARM code


class RequestEntityTooLarge(CodedError, PayloadTooLarge):
    code = "RequestEntityTooLarge"


# 429 Throttled: one class per ARM code


class ResourceRequestsThrottled(CodedError, Throttled):
    code = "ResourceRequestsThrottled"


class SubscriptionRequestsThrottled(CodedError, Throttled):
    code = "SubscriptionRequestsThrottled"


class TenantRequestsThrottled(CodedError, Throttled):
    code = "TenantRequestsThrottled"


class TooManyImports(CodedError, Throttled):
    code = "TooManyImports"


class TooManyRequests(CodedError, Throttled):
    code = "TooManyRequests"


# 503 Unavailable: one class per ARM code


class DatabaseBusy(CodedError, Unavailable):
    code = "DatabaseBusy"


class DatabaseUnavailable(CodedError, Unavailable):
    code = "DatabaseUnavailable"


class RegionUnavailable(CodedError, Unavailable):
    code = "RegionUnavailable"


def not_found(type_path: str, name: str, rg: str) -> NotFound:
    return ResourceNotFound(
        f"The Resource '{type_path}/{name}' under resource group '{rg}' was not found. "
        "For more details please go to https://aka.ms/ARMResourceNotFoundFix",
    )


def database_unavailable(exc: BaseException, busy: bool = False) -> Unavailable:
    """The 503 (Retry-After 1) answered when the database cannot serve a request
    (DatabaseBusy: it waited too long for a lock)."""
    return (DatabaseBusy if busy else DatabaseUnavailable)(
        f"The database is unavailable ({type(exc).__name__}). Retry shortly.", retry_after=1
    )


SQLITE_BUSY = ("database is locked", "database table is locked", "database is busy")


def connection_lost(exc: BaseException) -> Unavailable | None:
    """The 503 for an exception that means the store lost its database or waited too long
    for it, else None. Such errors reach the server's error mapping raw when they happen
    inside a transaction: psycopg's OperationalError (AdminShutdown, ConnectionFailure,
    lock and statement timeouts...) and InterfaceError ("the connection is closed"), and
    sqlite3's busy/locked timeouts. Looks at the exception and its explicit `__cause__`.
    Imports no driver: a driver that is not loaded raised nothing."""
    seen: BaseException | None = exc
    for _ in range(4):
        if seen is None:
            return None
        if isinstance(seen, Unavailable):
            return seen
        pg = sys.modules.get("psycopg")
        if pg is not None and isinstance(seen, pg.OperationalError | pg.InterfaceError):
            return database_unavailable(seen)
        lite = sys.modules.get("sqlite3")
        if (
            lite is not None
            and isinstance(seen, lite.OperationalError)
            and any(text in str(seen).lower() for text in SQLITE_BUSY)
        ):
            return database_unavailable(seen, busy=True)
        seen = seen.__cause__
    return None
