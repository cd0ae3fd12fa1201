"""Builders of the errors answered in several places: a missing resource, a database
that cannot serve."""

from __future__ import annotations

import sys

from acrctl.backend.errors.families import NotFound, Unavailable
from acrctl.backend.errors.not_found import ResourceNotFound
from acrctl.backend.errors.retry import DatabaseBusy, DatabaseUnavailable


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
