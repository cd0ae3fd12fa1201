"""409 Conflict, 412 PreconditionFailed and 413 PayloadTooLarge: one class per ARM code."""

from __future__ import annotations

from acrctl.backend.errors.families import CodedError, Conflict, PayloadTooLarge, PreconditionFailed

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
