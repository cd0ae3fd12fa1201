"""Opening the embedded mode's state file, with errors that name the file and the fix.

A state file acrctl may not write (a read-only file, or a directory where SQLite cannot keep
its -wal/-shm files) is opened read-only: commands that only read (show, list) work, and a
write fails with ReadOnlyStateFile, naming the file and what to change. A missing directory
is created; one that cannot be, a path that is a directory, and a file that is not an acrctl
state database (`file is not a database`) are AcrctlErrors (exit 1) instead of raw
OperationalError/PermissionError/DatabaseError tracebacks."""

from __future__ import annotations

import os
import sqlite3
from typing import TYPE_CHECKING, Any, NoReturn
from urllib.parse import quote

from acrctl.backend.activity import ACTIVITY
from acrctl.backend.errors import ReadOnlyStateFile
from acrctl.backend.sqlite import SqliteStore
from acrctl.backend.store import Item
from acrctl.client.errors import AcrctlError

if TYPE_CHECKING:
    from acrctl.backend.core import Backend

OTHER_FILE = "or point ACRCTL_STATE at another file"


class ReadOnlyStore(SqliteStore):
    """The state file through a read-only connection: reads work, every write raises
    ReadOnlyStateFile before it reaches SQLite."""

    def __init__(self, path: str, why: str) -> None:
        super().__init__(":memory:")  # sets every attribute; the connection is replaced
        self._db.close()
        self.path = path
        self.why = why
        self._db = _read_only_connection(path)

    def _write(self) -> NoReturn:  # type: ignore[override]
        raise ReadOnlyStateFile(self.why)

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
        """An activity record cannot be kept either: the action it records (a read such as
        webhook list-events) goes on without it, a refused write is refused all the same."""
        if kind == ACTIVITY:
            return Item(kind, key, parent, name.lower(), doc, secret, "", 0)
        return super().put(kind, key, parent, name, doc, secret, if_etag)


def open_store(path: str) -> SqliteStore:
    """The store on the state file at `path`, read-only when it cannot be written."""
    path = os.path.abspath(path)
    parent = os.path.dirname(path)
    if os.path.isdir(path):
        raise AcrctlError(
            f"The state file '{path}' is a directory. Point ACRCTL_STATE at a "
            f"file, e.g. '{os.path.join(path, 'state.db')}'."
        )
    why = None
    if not os.path.exists(path):
        _make_room(path, parent)
    else:
        why = _read_only_reason(path, parent)
    try:
        return SqliteStore(path) if why is None else ReadOnlyStore(path, why)
    except sqlite3.DatabaseError as exc:
        raise open_error(path, exc) from None


def bootstrap(backend: Backend) -> dict[str, Any]:
    """backend.bootstrap()'s subscription, with the state file's errors said plainly."""
    path = str(getattr(backend.store, "path", ""))
    read_only = isinstance(backend.store, ReadOnlyStore)
    empty = AcrctlError(
        f"The state file '{path}' is read-only and holds no acrctl state "
        f"yet. Make it writable, {OTHER_FILE}."
    )
    try:
        if read_only and not backend.list_subscriptions():
            raise empty
        return backend.bootstrap()[0]
    except sqlite3.DatabaseError as exc:  # a damaged file that opened
        if read_only and "no such table" in str(exc):
            raise empty from None
        raise open_error(path, exc) from None


def open_error(path: str, exc: sqlite3.Error) -> AcrctlError:
    """What to say when SQLite cannot open or read the state file."""
    if "not a database" in str(exc) or "malformed" in str(exc):
        return AcrctlError(
            f"The state file '{path}' is not an acrctl state database "
            f"({exc}). Move it aside to start afresh, {OTHER_FILE}."
        )
    return AcrctlError(
        f"Cannot open the state file '{path}' ({exc}). Check the permissions "
        f"of the file and of its directory, {OTHER_FILE}."
    )


def _make_room(path: str, parent: str) -> None:
    try:
        os.makedirs(parent, exist_ok=True)
    except OSError as exc:
        raise AcrctlError(
            f"Cannot create the directory '{parent}' for the state file "
            f"'{path}': {exc.strerror}. Create it, {OTHER_FILE}."
        ) from None
    if not os.access(parent, os.W_OK):
        raise AcrctlError(
            f"Cannot create the state file '{path}': its directory '{parent}' "
            f"is not writable. Make it writable, {OTHER_FILE}."
        )


def _read_only_reason(path: str, parent: str) -> str | None:
    """None when acrctl can write the state file, else why it cannot and the fix."""
    if not os.access(path, os.W_OK):
        return (
            f"The state file '{path}' is read-only, so this command cannot change it "
            f"(commands that only read work). Make it writable (chmod u+w '{path}'), "
            f"{OTHER_FILE}."
        )
    sidecars = [path + "-wal", path + "-shm"]
    if os.access(parent, os.W_OK) or all(os.access(p, os.W_OK) for p in sidecars):
        return None
    return (
        f"The directory '{parent}' of the state file '{path}' is not writable, so this "
        f"command cannot change the state (SQLite keeps its -wal and -shm files there; "
        f"commands that only read work). Make the directory writable, {OTHER_FILE}."
    )


def _read_only_connection(path: str) -> sqlite3.Connection:
    uri = "file:" + quote(path)
    try:
        db = sqlite3.connect(
            uri + "?mode=ro", uri=True, check_same_thread=False, isolation_level=None, timeout=30
        )
        db.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return db
    except sqlite3.OperationalError:
        # WAL needs a -shm file, which a directory we cannot write cannot get; when it has
        # none, no connection has the database open (one would keep it), so nothing
        # changes it while we read it as immutable
        db = sqlite3.connect(
            uri + "?immutable=1",
            uri=True,
            check_same_thread=False,
            isolation_level=None,
            timeout=30,
        )
        db.execute("SELECT count(*) FROM sqlite_master").fetchone()
        return db
