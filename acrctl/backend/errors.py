"""Typed domain errors. Each carries an ARM error code and message; the server maps the
class to an HTTP status in one place (acrctl.server.app), the backend never speaks HTTP."""

from __future__ import annotations

import sys


class ArmError(Exception):
    """Base of every error the backend raises on purpose."""

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


def database_unavailable(exc: BaseException, code: str = "DatabaseUnavailable") -> Unavailable:
    """The 503 (Retry-After 1) answered when the database cannot serve a request."""
    return Unavailable(
        code, f"The database is unavailable ({type(exc).__name__}). Retry shortly.", retry_after=1
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
            return database_unavailable(seen, "DatabaseBusy")
        seen = seen.__cause__
    return None
