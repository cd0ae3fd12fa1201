"""PostgreSQL implementation of the store (psycopg 3), for several server instances on one
database.

Same schema idea as the SQLite store: one `items` table keyed by (kind, key) with a BIGSERIAL
`seq`, indexes on (kind, parent, seq) and (kind, name), and a `meta` table. Key columns use
the "C" collation, so ordering is by code point like SQLite's and a plain b-tree index on `key`
serves prefix scans (what text_pattern_ops gives under another collation). Documents are TEXT
holding JSON, so key order (and any `\\u0000`) survives exactly as in SQLite.

Concurrency: the backend's transactions are read-check-write blocks (read the current item,
check If-Match, quotas and names, write), written for SQLite, where BEGIN IMMEDIATE makes
writers take turns. Here every top-level write transaction (and every single write outside
one) takes one transaction-scoped advisory lock per schema first, so writers on every instance
take turns the same way: no lost update, no duplicate create, and `seq` grows in commit order
(a reader paging by `seq` never skips an item committed later with a smaller one). Reads
outside transactions run without the lock on any pooled connection. Under that lock READ
COMMITTED is enough and no serialization failures occur; a failure to connect or to start a
transaction is retried once on a fresh connection, and a database that stays unreachable
raises acrctl.backend.errors.Unavailable (HTTP 503 with Retry-After). A connection lost
inside a transaction raises psycopg's own error, which the server maps to the same 503
(acrctl.backend.errors.connection_lost).

Every write transaction also bumps a one-row counter (`generation`, in the same round trip as
BEGIN and the lock): generation() reads it, once per request (shared by concurrent callers),
so the per-process caches of derived data (acrctl.backend.gencache: RBAC, drills, settled
GET answers) stay exact with several instances. Nested transaction() blocks are savepoints:
a failed inner block is rolled back on its own and the outer one can go on. unit() makes
one request's writes a single transaction that begins at its first write (see there).
Connections come from a small pool (no psycopg_pool dependency): idle connections are
reused, at most `pool_size` are open at once.

    PostgresStore("postgresql://user@host/db")                 # tables in current_schema()
    PostgresStore("postgresql://user@host/db?schema=acrctl")   # or schema="acrctl"
    PostgresStore("postgresql://user@host/db?options=-csearch_path%3Dacrctl")

Here: the items and meta (PostgresStore). The connections, transactions and the generation
are in acrctl.backend.pg_session (PostgresConnections), the schema, URL parsing and the pool
in acrctl.backend.pg_pool; their names are re-exported.
"""

from __future__ import annotations

import json
from typing import Any

# the plumbing and the connections (acrctl.backend.pg_pool, acrctl.backend.pg_session), re-exported
from acrctl.backend.pg_pool import (  # noqa: F401
    COLUMNS,
    IDENT_RE,
    IDLE_TX_TIMEOUT_MS,
    LOCK_TIMEOUT_MS,
    OUR_PARAMS,
    POOL_WAIT,
    SCHEMA,
    _nul,
    _Pool,
    _row,
    _State,
    _unavailable,
    split_url,
)
from acrctl.backend.pg_session import PostgresConnections
from acrctl.backend.sqlite import list_query, new_etag
from acrctl.backend.store_base import (
    EtagMismatch,
    Item,
    timed,
)


class PostgresStore(PostgresConnections):
    remote = True  # reads wait on a network: the ASGI adapter runs GETs off the event loop

    # -- items --------------------------------------------------------------------------
    @timed("get")
    def get(self, kind: str, key: str) -> Item | None:
        if _nul(kind, key):
            return None
        rows = self._read(
            f"SELECT {COLUMNS} FROM {self._items} WHERE kind=%s AND key=%s", (kind, key)
        )
        return self._seen_item(_row(rows[0])) if rows else None

    @timed("find_by_name")
    def find_by_name(self, kind: str, name: str) -> list[Item]:
        if _nul(kind, name):
            return []
        rows = self._read(
            f"SELECT {COLUMNS} FROM {self._items} WHERE kind=%s AND name=%s ORDER BY seq",
            (kind, name.lower()),
        )
        return [_row(r) for r in rows]

    @timed("put")
    def put(
        self,
        kind: str,
        key: str,
        parent: str,
        name: str,
        doc: dict[str, Any],
        secret: dict[str, Any] | None = None,
        if_etag: str | None = None,
    ) -> Item:
        etag = new_etag()
        body = json.dumps(doc, separators=(",", ":"))
        sec = json.dumps(secret) if secret is not None else None
        lname = name.lower()
        t = self._items
        if _nul(kind, key, parent, lname):
            raise ValueError("PostgreSQL cannot store a NUL character in a key or name")
        with self._write() as conn:
            if if_etag is None:
                row = conn.execute(
                    f"INSERT INTO {t} (kind, key, parent, name, doc, secret, etag) "
                    "VALUES (%s,%s,%s,%s,%s,%s,%s) ON CONFLICT (kind, key) DO UPDATE SET "
                    "parent=EXCLUDED.parent, name=EXCLUDED.name, doc=EXCLUDED.doc, "
                    "secret=EXCLUDED.secret, etag=EXCLUDED.etag RETURNING seq",
                    (kind, key, parent, lname, body, sec, etag),
                ).fetchone()
            elif if_etag == "":
                row = conn.execute(
                    f"INSERT INTO {t} (kind, key, parent, name, doc, secret, etag) "
                    "VALUES (%s,%s,%s,%s,%s,%s,%s) ON CONFLICT (kind, key) DO NOTHING "
                    "RETURNING seq",
                    (kind, key, parent, lname, body, sec, etag),
                ).fetchone()
            else:
                row = conn.execute(
                    f"UPDATE {t} SET parent=%s, name=%s, doc=%s, secret=%s, etag=%s "
                    "WHERE kind=%s AND key=%s AND etag=%s RETURNING seq",
                    (parent, lname, body, sec, etag, kind, key, if_etag),
                ).fetchone()
            if row is None:
                raise EtagMismatch(key)
        return self._seen_item(
            Item(kind, key, parent, lname, doc, secret, etag, int(row[0]), raw=body)
        )

    @timed("delete")
    def delete(self, kind: str, key: str) -> bool:
        if _nul(kind, key):
            return False
        with self._write() as conn:
            cur = conn.execute(f"DELETE FROM {self._items} WHERE kind=%s AND key=%s", (kind, key))
            return cur.rowcount > 0

    @timed("delete_tree")
    def delete_tree(self, key_prefix: str) -> int:
        if _nul(key_prefix):
            return 0
        with self._write() as conn:
            cur = conn.execute(
                f"DELETE FROM {self._items} WHERE key=%s OR (key >= %s AND key < %s)",
                (key_prefix, key_prefix + "/", key_prefix + "0"),
            )
            return cur.rowcount

    @timed("list")
    def list(
        self,
        kind: str,
        parent: str | None = None,
        prefix: str | None = None,
        after: int | None = None,
        limit: int | None = None,
        newest_first: bool = False,
        after_key: str | None = None,
        by_key: bool = False,
    ) -> list[Item]:
        if _nul(kind, parent or "", prefix or "", after_key or ""):
            return []
        query, args = list_query(
            self._items,
            kind,
            parent,
            prefix,
            after,
            limit,
            newest_first,
            "%s",
            after_key=after_key,
            by_key=by_key,
        )
        return [_row(r) for r in self._read(query, args)]

    @timed("count")
    def count(self, kind: str, parent: str) -> int:
        if _nul(kind, parent):
            return 0
        rows = self._read(
            f"SELECT COUNT(*) FROM {self._items} WHERE kind=%s AND parent=%s", (kind, parent)
        )
        return int(rows[0][0])

    # -- meta ---------------------------------------------------------------------------
    @timed("meta_get")
    def meta_get(self, key: str) -> str | None:
        if _nul(key):
            return None
        rows = self._read(f"SELECT value FROM {self._meta} WHERE key=%s", (key,))
        return str(rows[0][0]) if rows else None

    @timed("meta_set")
    def meta_set(self, key: str, value: str) -> None:
        with self._write() as conn:
            conn.execute(
                f"INSERT INTO {self._meta} (key, value) VALUES (%s, %s) "
                "ON CONFLICT (key) DO UPDATE SET value=EXCLUDED.value",
                (key, value),
            )

    @timed("reset")
    def reset(self) -> None:
        """Empty this store's tables (and only them)."""
        with self._write() as conn:
            conn.execute(f"TRUNCATE {self._items}, {self._meta}")

    def drop(self) -> None:
        """Drop this store's schema with everything in it (tests: an isolated schema)."""
        if self.schema == "public":
            raise ValueError("refusing to drop the public schema")
        with self._write() as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {self._items.rsplit('.', 1)[0]} CASCADE")

    def close(self) -> None:
        self._pool.close()
