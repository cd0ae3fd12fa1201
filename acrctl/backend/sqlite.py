"""SQLite implementation of the store (stdlib sqlite3, WAL, one connection behind a lock)."""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
import uuid
from collections.abc import Iterator
from typing import Any

from acrctl.backend.store_base import EtagMismatch, Item, RequestScopes, RequestState, Timer, timed

SCHEMA = """
CREATE TABLE IF NOT EXISTS items (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    parent TEXT NOT NULL,
    name TEXT NOT NULL,
    doc TEXT NOT NULL,
    secret TEXT,
    etag TEXT NOT NULL,
    UNIQUE (kind, key)
);
CREATE INDEX IF NOT EXISTS items_parent ON items (kind, parent, seq);
CREATE INDEX IF NOT EXISTS items_name ON items (kind, name);
CREATE INDEX IF NOT EXISTS items_key ON items (key);
CREATE INDEX IF NOT EXISTS items_kind ON items (kind, seq);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""

COLUMNS = "kind, key, parent, name, doc, secret, etag, seq"


def _row(r: tuple[Any, ...]) -> Item:
    return Item(
        r[0],
        r[1],
        r[2],
        r[3],
        json.loads(r[4]),
        json.loads(r[5]) if r[5] else None,
        r[6],
        r[7],
        raw=r[4],
    )


def new_etag() -> str:
    return f'"{uuid.uuid4()}"'


def list_query(
    table: str,
    kind: str,
    parent: str | None,
    prefix: str | None,
    after: int | None,
    limit: int | None,
    newest_first: bool,
    mark: str = "?",
    after_key: str | None = None,
    by_key: bool = False,
) -> tuple[str, tuple[Any, ...]]:
    """The SELECT behind Store.list, for SQLite (`?`) and PostgreSQL (`%s`) placeholders.
    In `seq` order (the (kind, parent, seq) and (kind, seq) indexes), or with `by_key` in
    key order after `after_key` (the (kind, key) index: a prefix scan pages in O(page))."""
    sql = f"SELECT {COLUMNS} FROM {table} WHERE kind={mark}"
    args: list[Any] = [kind]
    if parent is not None:
        sql += f" AND parent={mark}"
        args.append(parent)
    after_key = after_key if by_key else None
    if prefix:
        # one lower bound, the tighter: with two, the index seek may start at the prefix
        # and filter its way to the cursor (O(position) for a deep page)
        if after_key is not None and after_key >= prefix:
            sql += f" AND key > {mark}"
            args.append(after_key)
        else:
            sql += f" AND key >= {mark}"
            args.append(prefix)
        end = prefix_end(prefix)
        if end is not None:
            sql += f" AND key < {mark}"
            args.append(end)
    elif after_key is not None:
        sql += f" AND key > {mark}"
        args.append(after_key)
    if by_key:
        sql += " ORDER BY key"
    else:
        if after is not None:
            sql += f" AND seq {'<' if newest_first else '>'} {mark}"
            args.append(after)
        sql += " ORDER BY seq DESC" if newest_first else " ORDER BY seq"
    if limit is not None:
        sql += f" LIMIT {mark}"
        args.append(max(0, limit))
    return sql, tuple(args)


def prefix_end(prefix: str) -> str | None:
    """The smallest string greater than every string that starts with `prefix` in code
    point order (SQLite's and PostgreSQL "C" order), or None when no bound is needed."""
    p = prefix
    while p:
        nxt = ord(p[-1]) + 1
        if nxt <= 0x10FFFF:
            if 0xD800 <= nxt <= 0xDFFF:  # surrogates are not characters
                nxt = 0xE000
            return p[:-1] + chr(nxt)
        p = p[:-1]
    return None


class SqliteStore(RequestScopes):
    def __init__(self, path: str = ":memory:") -> None:
        self.path = path
        self.timer: Timer | None = None  # (operation, seconds) of each call: store metrics
        self._req = RequestState()  # pin_generation(), remember()
        if path != ":memory:":
            parent = os.path.dirname(os.path.abspath(path))
            os.makedirs(parent, exist_ok=True)
        self._lock = threading.RLock()
        self._depth = 0
        self._writes = 0  # writes through this connection (see generation())
        self._unit = threading.local()  # .open: a unit of work on this thread (see unit())
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
        if path != ":memory:":
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            with contextlib.suppress(OSError):
                os.chmod(path, 0o600)
        self._db.executescript(SCHEMA)

    # -- transactions -------------------------------------------------------------------
    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """BEGIN IMMEDIATE ... COMMIT; a nested block is a savepoint (a failed inner block
        is rolled back on its own and the outer one can go on)."""
        with self._lock:
            self._join_unit()
            if self._depth:
                point = f"acrctl_sp{self._depth}"
                self._db.execute(f"SAVEPOINT {point}")
                self._depth += 1
                try:
                    yield
                except BaseException:
                    self._db.execute(f"ROLLBACK TO SAVEPOINT {point}")
                    self._db.execute(f"RELEASE SAVEPOINT {point}")
                    raise
                else:
                    self._db.execute(f"RELEASE SAVEPOINT {point}")
                finally:
                    self._depth -= 1
                return
            self._db.execute("BEGIN IMMEDIATE")
            self._depth = 1
            try:
                yield
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            else:
                self._db.execute("COMMIT")
            finally:
                self._depth = 0

    @contextlib.contextmanager
    def _write(self) -> Iterator[None]:
        """Where one write runs: inside the current transaction (no savepoint: each write
        fails before writing or not at all), else in a transaction of its own."""
        with self._lock:
            self._writes += 1
            self._join_unit()
            if self._depth:
                yield
                return
            with self.transaction():
                yield

    @contextlib.contextmanager
    def unit(self) -> Iterator[None]:
        """A unit of work on this thread (one request's writes and their activity record):
        its first write or transaction begins one transaction (BEGIN IMMEDIATE, holding
        the connection's lock) that everything after it joins and that commits when the
        block exits normally, or rolls back when it raises. Reads before the first write
        run outside it. Inside a transaction or another unit, it simply joins that."""
        with self._lock:
            outer = getattr(self._unit, "open", False) or self._depth > 0
        if outer:
            yield
            return
        self._unit.open, self._unit.begun = True, False
        try:
            yield
        except BaseException:
            self._end_unit("ROLLBACK")
            raise
        self._end_unit("COMMIT")

    def _join_unit(self) -> None:
        """Begin the open unit of work's transaction (its first write); the lock stays
        held until the unit ends. Called with the lock held."""
        unit = self._unit
        if self._depth or not getattr(unit, "open", False) or unit.begun:
            return
        self._lock.acquire()
        try:
            self._db.execute("BEGIN IMMEDIATE")
        except BaseException:
            self._lock.release()
            raise
        self._depth, unit.begun = 1, True

    def _end_unit(self, how: str) -> None:
        unit = self._unit
        begun, unit.open, unit.begun = unit.begun, False, False
        if not begun:
            return
        try:
            if how == "COMMIT":
                self._db.execute("COMMIT")
            elif self._db.in_transaction:
                self._db.execute("ROLLBACK")
        except BaseException:
            if self._db.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    self._db.execute("ROLLBACK")
            raise
        finally:
            self._depth = 0
            self._lock.release()

    def generation(self) -> tuple[int, int] | None:
        """A value that changes whenever the database may have changed: a commit by any
        other connection or process (SQLite's PRAGMA data_version) or a write through this
        one. Per-process caches of derived data (acrctl.backend.rbac) compare it to stay
        exact with several server processes on one file. None inside a transaction of this
        connection (its changes are not committed yet): cache nothing then."""
        pin = self._req.generation
        if pin is not None and pin[1] == self._writes and not self._depth:
            return pin[0]  # type: ignore[no-any-return]  # read once this request
        with self._lock:
            if self._depth:
                return None
            writes = self._writes
            value = int(self._db.execute("PRAGMA data_version").fetchone()[0]), writes
            self._pin(value, writes)
            return value

    def _q(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    # -- items --------------------------------------------------------------------------
    @timed("get")
    def get(self, kind: str, key: str) -> Item | None:
        rows = self._q(f"SELECT {COLUMNS} FROM items WHERE kind=? AND key=?", (kind, key))
        return self._seen_item(_row(rows[0])) if rows else None

    @timed("find_by_name")
    def find_by_name(self, kind: str, name: str) -> list[Item]:
        rows = self._q(
            f"SELECT {COLUMNS} FROM items WHERE kind=? AND name=? ORDER BY seq",
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
        with self._write():
            rows = self._db.execute(
                "SELECT etag, seq FROM items WHERE kind=? AND key=?", (kind, key)
            ).fetchall()
            cur = rows[0] if rows else None
            if if_etag is not None and (cur[0] if cur else "") != if_etag:
                raise EtagMismatch(key)
            if cur is None:
                c = self._db.execute(
                    "INSERT INTO items (kind, key, parent, name, doc, secret, etag) "
                    "VALUES (?,?,?,?,?,?,?)",
                    (kind, key, parent, name.lower(), body, sec, etag),
                )
                seq = int(c.lastrowid or 0)
            else:
                self._db.execute(
                    "UPDATE items SET parent=?, name=?, doc=?, secret=?, etag=? "
                    "WHERE kind=? AND key=?",
                    (parent, name.lower(), body, sec, etag, kind, key),
                )
                seq = int(cur[1])
        return self._seen_item(
            Item(kind, key, parent, name.lower(), doc, secret, etag, seq, raw=body)
        )

    @timed("delete")
    def delete(self, kind: str, key: str) -> bool:
        with self._write():
            c = self._db.execute("DELETE FROM items WHERE kind=? AND key=?", (kind, key))
            return c.rowcount > 0

    @timed("delete_tree")
    def delete_tree(self, key_prefix: str) -> int:
        with self._write():
            c = self._db.execute(
                "DELETE FROM items WHERE key=? OR (key >= ? AND key < ?)",
                (key_prefix, key_prefix + "/", key_prefix + "0"),
            )
            return c.rowcount

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
        sql, args = list_query(
            "items",
            kind,
            parent,
            prefix,
            after,
            limit,
            newest_first,
            after_key=after_key,
            by_key=by_key,
        )
        return [_row(r) for r in self._q(sql, args)]

    @timed("count")
    def count(self, kind: str, parent: str) -> int:
        rows = self._q("SELECT COUNT(*) FROM items WHERE kind=? AND parent=?", (kind, parent))
        return int(rows[0][0])

    # -- meta ---------------------------------------------------------------------------
    @timed("meta_get")
    def meta_get(self, key: str) -> str | None:
        rows = self._q("SELECT value FROM meta WHERE key=?", (key,))
        return str(rows[0][0]) if rows else None

    @timed("meta_set")
    def meta_set(self, key: str, value: str) -> None:
        with self._write():
            self._db.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                (key, value),
            )

    @timed("reset")
    def reset(self) -> None:
        with self._write():
            self._db.execute("DELETE FROM items")
            self._db.execute("DELETE FROM meta")

    def close(self) -> None:
        with self._lock:
            self._db.close()
