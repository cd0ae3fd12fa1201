"""Typed domain errors. Each carries an ARM error code and message; the server maps the
class to an HTTP status in one place (acrctl.server.app), the backend never speaks HTTP."""

from __future__ import annotations


class ArmError(Exception):
    """Base of every error the backend raises on purpose."""

    def __init__(self, code: str, message: str, *, target: str | None = None,
                 retry_after: int | None = None) -> None:
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


class InvalidInput(ArmError):
    """The request is malformed or breaks a rule (HTTP 400)."""


class AuthenticationFailed(ArmError):
    """No or bad credentials (HTTP 401)."""


class AuthorizationFailed(ArmError):
    """The principal lacks the action at the scope (HTTP 403)."""


class NotFound(ArmError):
    """The resource or a parent does not exist (HTTP 404)."""


class Conflict(ArmError):
    """State conflict: name taken, operation in flight, quota (HTTP 409)."""


class PreconditionFailed(ArmError):
    """If-Match / If-None-Match did not hold (HTTP 412)."""


class PayloadTooLarge(ArmError):
    """The request body is over the limit (HTTP 413)."""


class Throttled(ArmError):
    """Too many requests (HTTP 429, with Retry-After)."""


class Unavailable(ArmError):
    """The service or a region is unavailable (HTTP 503, with Retry-After)."""


def not_found(type_path: str, name: str, rg: str) -> NotFound:
    return NotFound(
        "ResourceNotFound",
        f"The Resource '{type_path}/{name}' under resource group '{rg}' was not found. "
        "For more details please go to https://aka.ms/ARMResourceNotFoundFix",
    )
