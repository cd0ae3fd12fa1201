"""Starting `acrctl server`: what the process prepares before serving (the open-files
limit, the log throttle), and a clear message when the database cannot be opened."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from acrctl.server.serve import ServerConfig

URL_PASSWORD = re.compile(r"(://[^:/@\s]*:)[^@\s]*@")
FD_RESERVE_MIN = 64  # descriptors kept free of connections (at least soft limit / 8)


class StoreOpenError(Exception):
    """The server's database could not be opened. The message says where it is and the
    driver's reason, never a password."""


def open_failure(database: str, exc: BaseException) -> str:
    """Why `database` could not be opened: its host, port, database and user (PostgreSQL)
    or path (SQLite), and the driver's own message with any password taken out."""
    cause: BaseException = exc
    while cause.__cause__ is not None and not _is_driver_error(cause):
        cause = cause.__cause__
    reason = (
        "; ".join(" ".join(line.split()) for line in str(cause).splitlines() if line.strip())
        or type(cause).__name__
    )
    if not database.startswith(("postgresql://", "postgres://")):
        return f"Cannot open the SQLite database {database}: {reason}"
    try:
        from psycopg.conninfo import conninfo_to_dict

        params = {k: str(v) for k, v in conninfo_to_dict(database).items()}
    except Exception:  # an unparsable URL: the driver's message says what is wrong
        params = {}
    password = params.get("password")
    if password:
        reason = reason.replace(password, "******")
    reason = URL_PASSWORD.sub(r"\1******@", reason)  # a URL the driver quoted back
    where = (
        f"{params.get('host') or 'the local socket'} port {params.get('port') or 5432}"
        f" (database {params.get('dbname') or '?'}, user {params.get('user') or '?'})"
    )
    return f"Cannot connect to the PostgreSQL database at {where}: {reason}"


def _is_driver_error(exc: BaseException) -> bool:
    module = type(exc).__module__
    return module.startswith(("psycopg", "sqlite3")) or isinstance(exc, OSError)


def guard_process(cfg: ServerConfig) -> list[str]:
    """Process-wide preparation of a server: raise the open-files limit to the hard limit,
    keep --max-connections inside what it leaves, throttle repeated connection errors in
    the log. Returns notes for the operator (a lowered limit)."""
    from acrctl.server.logguard import install_throttle, raise_open_files_limit

    install_throttle(cfg.error_log_interval)
    soft, _ = raise_open_files_limit()
    if soft < 0:
        return []
    room = soft - max(FD_RESERVE_MIN, soft // 8)  # the store, logs, webhook deliveries
    if cfg.max_connections <= room:
        return []
    wanted, cfg.max_connections = cfg.max_connections, max(1, room)
    return [
        f"--max-connections {wanted} lowered to {cfg.max_connections}: the open-files "
        f"limit is {soft} (raise it with ulimit -n or LimitNOFILE=)."
    ]
