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
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg
from psycopg import sql

from acrctl.backend.errors import Unavailable, database_unavailable
from acrctl.backend.sqlite import list_query, new_etag
from acrctl.backend.store_base import (
    EtagMismatch,
    Item,
    RequestScopes,
    RequestState,
    Timer,
    WouldBlock,
    timed,
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
            raise Unavailable("DatabaseUnavailable", "The store is closed.", retry_after=1)
        if not self._slots.acquire(timeout=POOL_WAIT):
            raise Unavailable(
                "DatabaseBusy", "No database connection became free in time.", retry_after=1
            )
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


class PostgresStore(RequestScopes):
    remote = True  # reads wait on a network: the ASGI adapter runs GETs off the event loop

    def __init__(self, url: str, schema: str | None = None, pool_size: int | None = None) -> None:
        conninfo, ours = split_url(url)
        schema = schema or ours.get("schema") or None
        if schema is not None and not IDENT_RE.match(schema):
            raise ValueError(f"invalid PostgreSQL schema name {schema!r}")
        size = pool_size or int(ours.get("pool_size") or 10)
        params = psycopg.conninfo.conninfo_to_dict(conninfo)
        kwargs: dict[str, Any] = {}
        if "connect_timeout" not in params:
            kwargs["connect_timeout"] = 10
        if "application_name" not in params:
            kwargs["application_name"] = "acrctl"
        if "keepalives" not in params:
            kwargs.update(
                keepalives=1, keepalives_idle=30, keepalives_interval=10, keepalives_count=3
            )
        self.url = url
        self.timer: Timer | None = None  # (operation, seconds) of each call: store metrics
        self._req = RequestState()  # pin_generation(), remember()
        self._writes = 0  # write transactions this process began (see generation())
        # generation reads shared by concurrent requests (see _shared_generation)
        self._gen_cond = threading.Condition()
        self._gen_started = 0  # reads started so far (each numbered in start order)
        self._gen_running = False
        self._gen_last: tuple[int, int] | None = None  # (number, value) of the latest read
        self._pool = _Pool(conninfo, kwargs, max(1, size))
        self._state = _State()
        try:
            conn = self._pool.get()
        except psycopg.OperationalError as exc:
            raise _unavailable(exc) from exc
        try:
            if schema is None:
                schema = self._current_schema(conn)
            self.schema = schema
            s = sql.Identifier(schema).as_string(conn)
            self._items = f"{s}.items"
            self._meta = f"{s}.meta"
            self._generation = f"{s}.generation"
            digest = hashlib.blake2b(f"acrctl:{schema}".encode(), digest_size=8).digest()
            self._lock_key = int.from_bytes(digest, "big", signed=True)
            # two instances starting at once must not race on CREATE ... IF NOT EXISTS
            conn.execute(f"BEGIN; SELECT pg_advisory_xact_lock({self._lock_key})")
            try:
                conn.execute(SCHEMA.format(s=s))
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        except BaseException:
            self._pool.discard(conn)
            raise
        self._pool.put(conn)

    @staticmethod
    def _current_schema(conn: psycopg.Connection[Any]) -> str:
        row = conn.execute(
            "SELECT current_schema(), current_setting('search_path'), current_user"
        ).fetchone()
        assert row is not None
        if row[0]:
            return str(row[0])
        # the search_path names a schema that does not exist yet: create its first entry
        first = str(row[1]).split(",")[0].strip()
        if first.startswith('"') and first.endswith('"'):
            first = first[1:-1].replace('""', '"')
        if first == "$user":
            first = str(row[2])
        if not first:
            raise ValueError("the PostgreSQL search_path names no schema; pass schema=...")
        return first

    # -- connections and transactions ---------------------------------------------------
    @contextlib.contextmanager
    def _conn(self) -> Iterator[psycopg.Connection[Any]]:
        """The connection for one read: the thread's transaction's, or a pooled one."""
        st = self._state
        if st.conn is not None:
            yield st.conn
            return
        if self._req.offline:
            raise WouldBlock
        try:
            conn = self._pool.get()
        except psycopg.OperationalError as exc:
            raise _unavailable(exc) from exc
        try:
            yield conn
        except psycopg.OperationalError as exc:
            self._pool.discard(conn)
            if conn.broken or conn.closed:
                raise _unavailable(exc) from exc
            raise
        except BaseException:
            self._pool.discard(conn)
            raise
        else:
            self._pool.put(conn)

    def _read(self, query: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Run a read; a read outside a transaction is retried once on a fresh connection
        when its connection turns out broken (e.g. the database restarted)."""
        for attempt in (1, 2):
            try:
                with self._conn() as conn:
                    return conn.execute(query, args).fetchall()
            except Unavailable as exc:
                if attempt == 2 or self._state.conn is not None or exc.code == "DatabaseBusy":
                    raise
        raise AssertionError("unreachable")

    def _begin(self) -> psycopg.Connection[Any]:
        """A pooled connection in a new transaction holding the write lock, the store's
        generation counter bumped in it (one round trip for the three)."""
        if self._req.offline:
            raise WouldBlock
        for attempt in (1, 2):
            try:
                conn = self._pool.get()
            except psycopg.OperationalError as exc:
                if attempt == 2:
                    raise _unavailable(exc) from exc
                continue
            try:
                self._writes += 1
                conn.execute(
                    f"BEGIN; SELECT pg_advisory_xact_lock({self._lock_key}); "
                    f"UPDATE {self._generation} SET n = n + 1"
                )
                return conn
            except psycopg.OperationalError as exc:
                broken = conn.broken or conn.closed
                self._pool.discard(conn)
                if attempt == 2 or not broken:
                    raise _unavailable(exc) from exc
            except BaseException:
                self._pool.discard(conn)
                raise
        raise AssertionError("unreachable")

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        st = self._state
        if st.conn is None and st.unit:
            self._join_unit()
        if st.conn is not None:
            conn, point = st.conn, f"acrctl_sp{st.depth}"
            conn.execute(f"SAVEPOINT {point}")
            st.depth += 1
            try:
                yield
            except BaseException:
                with contextlib.suppress(psycopg.Error):  # a broken connection: the outer
                    conn.execute(  # transaction fails anyway
                        f"ROLLBACK TO SAVEPOINT {point}; RELEASE SAVEPOINT {point}"
                    )
                raise
            else:
                conn.execute(f"RELEASE SAVEPOINT {point}")
            finally:
                st.depth -= 1
            return
        with self._top() as _:
            yield

    @contextlib.contextmanager
    def _top(self) -> Iterator[psycopg.Connection[Any]]:
        """A top-level transaction on this thread (BEGIN + write lock ... COMMIT)."""
        st = self._state
        conn = self._begin()
        st.conn, st.depth = conn, 1
        try:
            yield conn
        except BaseException:
            st.conn, st.depth = None, 0
            self._abort(conn)
            raise
        st.conn, st.depth = None, 0
        self._commit(conn)

    def _abort(self, conn: psycopg.Connection[Any]) -> None:
        if conn.broken or conn.closed:
            self._pool.discard(conn)
            return
        try:
            conn.execute("ROLLBACK")
        except Exception:
            self._pool.discard(conn)
        else:
            self._pool.put(conn)

    def _commit(self, conn: psycopg.Connection[Any]) -> None:
        try:
            conn.execute("COMMIT")
            self._writes += 1  # a pinned generation read before the commit is stale
        except psycopg.OperationalError as exc:
            self._pool.discard(conn)
            raise _unavailable(exc) from exc
        except BaseException:
            self._pool.discard(conn)
            raise
        self._pool.put(conn)

    @contextlib.contextmanager
    def unit(self) -> Iterator[None]:
        """A unit of work on this thread (one request's writes and their activity record):
        its first write or transaction begins one transaction, which everything after it
        joins (inner transaction() blocks are savepoints) and which commits when the block
        exits normally, or rolls back when it raises. Reads before the first write run
        outside, so the write lock is held only from the first write on. Inside a
        transaction or another unit, it simply joins that."""
        st = self._state
        if st.unit or st.conn is not None:
            yield
            return
        st.unit = True
        try:
            yield
        except BaseException:
            conn, st.unit, st.conn, st.depth = st.conn, False, None, 0
            if conn is not None:
                self._abort(conn)
            raise
        conn, st.unit, st.conn, st.depth = st.conn, False, None, 0
        if conn is not None:
            self._commit(conn)

    def _join_unit(self) -> None:
        """Begin the open unit of work's transaction (its first write)."""
        st = self._state
        st.conn, st.depth = self._begin(), 1

    @contextlib.contextmanager
    def _write(self) -> Iterator[psycopg.Connection[Any]]:
        """Where one write runs: inside the thread's transaction (no savepoint: each write
        is a single statement or fails before writing), else in a transaction of its own."""
        st = self._state
        if st.conn is None and st.unit:
            self._join_unit()
        if st.conn is not None:
            yield st.conn
            return
        with self._top() as conn:
            yield conn

    def generation(self) -> int | None:
        """The store's generation counter: every write transaction on any instance bumps it
        (in _begin), so a per-process cache of derived data (acrctl.backend.gencache) that
        compares it stays exact across instances. One round trip, once per request inside
        pin_generation(); None inside a transaction of this thread."""
        if self._state.conn is not None:
            return None
        pin = self._req.generation
        if pin is not None and pin[1] == self._writes:
            return pin[0]  # type: ignore[no-any-return]  # read once this request
        if self._req.offline:
            raise WouldBlock  # this process wrote since the pinned one was read
        writes = self._writes
        value = self._shared_generation()
        self._pin(value, writes)
        return value

    def read_generation(self) -> int:
        """The generation counter now (a read started after this call began; shared with
        concurrent callers), for a caller that pins it itself (Store.offline)."""
        return self._shared_generation()

    def _shared_generation(self) -> int:
        """The generation counter as a read started after this call began (so it shows
        every commit that ended before), shared: while one read is out, the callers
        arriving meanwhile wait for it to return and then share the next one, so
        concurrent requests cost one round trip between them instead of one each."""
        cond = self._gen_cond
        with cond:
            ticket = self._gen_started  # reads numbered >= ticket start after this point
            while True:
                last = self._gen_last
                if last is not None and last[0] >= ticket:
                    return last[1]
                if not self._gen_running:
                    break
                cond.wait()
            number = self._gen_started
            self._gen_started += 1
            self._gen_running = True
        value: int | None = None
        try:
            rows = self._read(f"SELECT n FROM {self._generation}")
            value = int(rows[0][0]) if rows else -1
            return value
        finally:
            with cond:
                self._gen_running = False
                if value is not None and (self._gen_last is None or number > self._gen_last[0]):
                    self._gen_last = (number, value)
                cond.notify_all()

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
