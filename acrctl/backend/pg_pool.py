"""The PostgreSQL store's plumbing (acrctl.backend.pg): the schema, URL parsing, row decoding
and the small connection pool (no psycopg_pool dependency): idle connections are reused, at
most `pool_size` are open at once."""

from __future__ import annotations

import contextlib
import json
import re
import threading
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg

from acrctl.backend.errors import (
    DatabaseBusy,
    DatabaseUnavailable,
    Unavailable,
    database_unavailable,
)
from acrctl.backend.store_base import (
    Item,
)

COLUMNS = "kind, key, parent, name, doc, secret, etag, seq"
OUR_PARAMS = ("schema", "pool_size")  # URL query parameters read here, not passed to libpq
IDENT_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]{0,62}\Z")
POOL_WAIT = 30.0  # seconds a caller waits for a free connection
LOCK_TIMEOUT_MS = 30_000  # waiting longer than this for the write lock is an error (503)
IDLE_TX_TIMEOUT_MS = 120_000  # a session idle in a transaction this long is ended by the server

SCHEMA = """
CREATE SCHEMA IF NOT EXISTS {s};
CREATE TABLE IF NOT EXISTS {s}.items (
    seq BIGSERIAL PRIMARY KEY,
    kind TEXT COLLATE "C" NOT NULL,
    key TEXT COLLATE "C" NOT NULL,
    parent TEXT COLLATE "C" NOT NULL,
    name TEXT COLLATE "C" NOT NULL,
    doc TEXT NOT NULL,
    secret TEXT,
    etag TEXT NOT NULL,
    UNIQUE (kind, key)
);
CREATE INDEX IF NOT EXISTS items_parent ON {s}.items (kind, parent, seq);
CREATE INDEX IF NOT EXISTS items_name ON {s}.items (kind, name);
CREATE INDEX IF NOT EXISTS items_key ON {s}.items (key);
CREATE INDEX IF NOT EXISTS items_kind ON {s}.items (kind, seq);
CREATE TABLE IF NOT EXISTS {s}.meta (key TEXT COLLATE "C" PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS {s}.generation (
    one BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (one), n BIGINT NOT NULL);
INSERT INTO {s}.generation (one, n) VALUES (TRUE, 0) ON CONFLICT DO NOTHING;
"""


def _row(r: tuple[Any, ...]) -> Item:
    return Item(
        r[0],
        r[1],
        r[2],
        r[3],
        json.loads(r[4]),
        json.loads(r[5]) if r[5] else None,
        r[6],
        int(r[7]),
        raw=r[4],
    )


def split_url(url: str) -> tuple[str, dict[str, str]]:
    """The URL with acrctl's own query parameters removed, and those parameters."""
    parts = urlsplit(url)
    ours: dict[str, str] = {}
    kept = []
    for k, v in parse_qsl(parts.query, keep_blank_values=True):
        if k in OUR_PARAMS:
            ours[k] = v
        else:
            kept.append((k, v))
    return urlunsplit(parts._replace(query=urlencode(kept))), ours


class _State(threading.local):
    conn: psycopg.Connection[Any] | None = None
    depth: int = 0
    unit: bool = False  # a unit of work is open on this thread (PostgresStore.unit)


class _Pool:
    """A few reusable autocommit connections; at most `size` open at once."""

    def __init__(self, conninfo: str, kwargs: dict[str, Any], size: int) -> None:
        self.conninfo = conninfo
        self.kwargs = kwargs
        self.size = size
        self._idle: list[psycopg.Connection[Any]] = []
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(size)
        self.closed = False

    def connect(self) -> psycopg.Connection[Any]:
        conn = psycopg.connect(self.conninfo, autocommit=True, **self.kwargs)
        conn.execute(
            f"SET lock_timeout = {LOCK_TIMEOUT_MS}; "
            f"SET idle_in_transaction_session_timeout = {IDLE_TX_TIMEOUT_MS}"
        )
        return conn

    def get(self) -> psycopg.Connection[Any]:
        if self.closed:
            raise DatabaseUnavailable("The store is closed.", retry_after=1)
        if not self._slots.acquire(timeout=POOL_WAIT):
            raise DatabaseBusy("No database connection became free in time.", retry_after=1)
        try:
            with self._lock:
                while self._idle:
                    conn = self._idle.pop()
                    if not conn.closed and not conn.broken:
                        return conn
            return self.connect()
        except BaseException:
            self._slots.release()
            raise

    def put(self, conn: psycopg.Connection[Any], discard: bool = False) -> None:
        try:
            ok = (
                not discard
                and not self.closed
                and not conn.closed
                and not conn.broken
                and conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
            )
            if ok:
                with self._lock:
                    self._idle.append(conn)
            else:
                with contextlib.suppress(Exception):
                    conn.close()
        finally:
            self._slots.release()

    def discard(self, conn: psycopg.Connection[Any]) -> None:
        self.put(conn, discard=True)

    def close(self) -> None:
        self.closed = True
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            with contextlib.suppress(Exception):
                conn.close()


def _nul(*texts: str) -> bool:
    """PostgreSQL text cannot hold NUL: no stored key, name or parent contains one, so a
    lookup with one finds nothing (SQLite answers the same)."""
    return any("\x00" in t for t in texts)


def _unavailable(exc: Exception) -> Unavailable:
    return database_unavailable(exc)
