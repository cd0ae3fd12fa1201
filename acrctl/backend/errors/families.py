"""The base ArmError, the CodedError mixin and the status families (HTTP status as the
class attribute `status`)."""

from __future__ import annotations

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
