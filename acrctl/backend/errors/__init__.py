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
when a request body names one that does not exist.

The classes live in the modules of this package, all importable from here
(`from acrctl.backend.errors import InvalidScope`): the families in .families, the code
classes grouped by family in .invalid_input, .access, .not_found, .conflict and .retry,
and the builders in .helpers."""

from __future__ import annotations

from acrctl.backend.errors.access import (  # noqa: F401
    AccessDenied,
    AuthorizationHeaderMissing,
    ExpiredAuthenticationToken,
    InvalidAuthenticationToken,
    InvalidAuthenticationTokenAudience,
)
from acrctl.backend.errors.conflict import (  # noqa: F401
    AlreadyInUse,
    CannotDeleteLastOwner,
    DataPlaneOff,
    OperationInProgress,
    PreconditionNotMet,
    QuotaExceeded,
    RequestEntityTooLarge,
    RoleAssignmentExists,
    RoleDefinitionHasAssignments,
)
from acrctl.backend.errors.families import (  # noqa: F401
    ArmError,
    AuthenticationFailed,
    AuthorizationFailed,
    CodedError,
    Conflict,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    PreconditionFailed,
    Throttled,
    Unavailable,
)
from acrctl.backend.errors.helpers import (  # noqa: F401
    SQLITE_BUSY,
    connection_lost,
    database_unavailable,
    not_found,
)
from acrctl.backend.errors.invalid_input import (  # noqa: F401
    AmbiguousRoleDefinitionName,
    AnonymousPullNotSupportedForSku,
    CannotDeleteBuiltInRole,
    DataEndpointNotSupportedForSku,
    HomeReplicationCannotBeDeleted,
    InvalidApiVersionParameter,
    InvalidCredentialEndDate,
    InvalidDeploymentMode,
    InvalidDeploymentName,
    InvalidDrill,
    InvalidDrillName,
    InvalidFilter,
    InvalidFilterInQueryString,
    InvalidParameter,
    InvalidPrincipal,
    InvalidRequestContent,
    InvalidResourceGroup,
    InvalidResourceGroupLocation,
    InvalidResourceLocation,
    InvalidResourceName,
    InvalidResourceType,
    InvalidRoleAssignmentId,
    InvalidRoleAssignmentScope,
    InvalidRoleDefinition,
    InvalidRoleDefinitionId,
    InvalidScope,
    InvalidSetting,
    InvalidSkipToken,
    InvalidSkuName,
    InvalidTagCount,
    InvalidTemplate,
    InvalidZoneRedundancy,
    LocationCannotBeChanged,
    LocationNotAvailableForResourceType,
    MissingApiVersionParameter,
    NetworkRulesNotSupportedForSku,
    NoRegisteredProviderFound,
    PrincipalNotFoundInRequest,
    ReadOnlyStateFile,
    RegistryNameInvalid,
    RegistrySkuDowngradeNotAllowed,
    ReplicationInHomeLocation,
    ReplicationLocationAlreadyExists,
    ReplicationNotSupportedForSku,
    ResetDisabled,
    RoleDefinitionDoesNotExistInRequest,
    RoleDefinitionLimitExceeded,
    RoleDefinitionWithSameNameExists,
    SkuRequired,
    UnAuthorizedForCredentialOperations,
    WebhookInvalidParameterValue,
    WebhookLocationNotAllowed,
    ZoneRedundancyCannotBeChanged,
    ZoneRedundancyNotSupportedForSku,
    ZoneRedundancyNotSupportedInLocation,
)
from acrctl.backend.errors.not_found import (  # noqa: F401
    DeploymentNotFound,
    DrillNotFound,
    InvalidResourceNamespace,
    MetricsDisabled,
    OperationNotFound,
    PathNotFound,
    PortalDisabled,
    PrincipalNotFound,
    ResourceGroupNotFound,
    ResourceNotFound,
    RoleAssignmentNotFound,
    RoleDefinitionDoesNotExist,
    SubscriptionNotFound,
    WebhookEventNotFound,
)
from acrctl.backend.errors.retry import (  # noqa: F401
    DatabaseBusy,
    DatabaseUnavailable,
    RegionUnavailable,
    ResourceRequestsThrottled,
    SubscriptionRequestsThrottled,
    TenantRequestsThrottled,
    TooManyImports,
    TooManyRequests,
)
