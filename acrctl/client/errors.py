"""Typed client errors. Each carries the exit code the CLI uses (az's: 1 runtime, 2 usage,
3 not found); the CLI maps them to exit codes in one place."""

from __future__ import annotations

from typing import Any


class AcrctlError(Exception):
    exit_code = 1

    def __init__(
        self,
        message: str,
        code: str | None = None,
        status: int | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status
        self.request_id = request_id

    def __str__(self) -> str:
        return f"({self.code}) {self.message}" if self.code else self.message


class UsageError(AcrctlError):
    exit_code = 2


class NotFoundError(AcrctlError):
    exit_code = 3


class ServiceError(AcrctlError):
    """The service answered with an ARM error."""


class OperationFailed(AcrctlError):
    """A long-running operation ended Failed or Canceled."""


class ConnectionFailed(AcrctlError):
    """The endpoint could not be reached."""


class TlsVerifyFailed(ConnectionFailed):
    """The server's TLS certificate failed verification (never retried)."""


class Throttled(ServiceError):
    """429/503 retries used up the wait budget."""


def from_response(status: int, body: Any, request_id: str | None) -> AcrctlError:
    err = body.get("error") if isinstance(body, dict) else None
    code = err.get("code") if isinstance(err, dict) else None
    message = err.get("message") if isinstance(err, dict) else None
    if not message:
        message = f"The server answered HTTP {status} with no ARM error body."
    cls = NotFoundError if status == 404 else ServiceError
    return cls(str(message), code or f"HTTP{status}", status, request_id)
