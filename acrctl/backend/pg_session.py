"""The PostgreSQL store's connections and transactions (acrctl.backend.pg builds on them):
opening a schema, the per-schema advisory write lock, nested transactions as savepoints, the
request's unit of work and the shared generation counter."""

from __future__ import annotations

import contextlib
import hashlib
import threading
from collections.abc import Iterator
from typing import Any

import psycopg
from psycopg import sql

from acrctl.backend.errors import Unavailable
from acrctl.backend.pg_pool import (
    IDENT_RE,
    SCHEMA,
    _Pool,
    _State,
    _unavailable,
    split_url,
)
from acrctl.backend.store_base import (
    RequestScopes,
    RequestState,
    Timer,
    WouldBlock,
)


class PostgresConnections(RequestScopes):
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
