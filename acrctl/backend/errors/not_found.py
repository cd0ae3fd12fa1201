"""404 NotFound: one class per ARM code."""

from __future__ import annotations

from acrctl.backend.errors.families import CodedError, NotFound

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
