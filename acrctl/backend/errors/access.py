"""401 AuthenticationFailed and 403 AuthorizationFailed: one class per ARM code."""

from __future__ import annotations

from acrctl.backend.errors.families import AuthenticationFailed, AuthorizationFailed, CodedError

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
