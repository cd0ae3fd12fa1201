"""The store interface: every piece of state lives here, so a reset cannot miss a global.

State is a set of JSON documents ("items") keyed by (kind, key). `key` is a lower-cased ARM id
or another unique id; `parent` is the key of the owning item (or a scope), used for listing;
`name` is the lower-cased short name, used for unique-name lookups. Every write bumps the
item's etag; `put(..., if_etag=...)` is a compare-and-set. `seq` is a monotonic insertion
counter that gives lists a stable order and O(page) paging.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass
class Item:
    kind: str
    key: str
    parent: str
    name: str
    doc: dict[str, Any]
    secret: dict[str, Any] | None = None
    etag: str = ""
    seq: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


class EtagMismatch(Exception):
    """A compare-and-set write found another etag (or an item where none was expected)."""


class Store(Protocol):
    def get(self, kind: str, key: str) -> Item | None: ...

    def find_by_name(self, kind: str, name: str) -> list[Item]: ...

    def put(self, kind: str, key: str, parent: str, name: str, doc: dict[str, Any],
            secret: dict[str, Any] | None = None, if_etag: str | None = None) -> Item:
        """Insert or replace. `if_etag`: None = unconditional, "" = must not exist,
        anything else = must exist with that etag; otherwise EtagMismatch."""
        ...

    def delete(self, kind: str, key: str) -> bool: ...

    def delete_tree(self, key_prefix: str) -> int:
        """Delete every item whose key equals `key_prefix` or starts with `key_prefix + '/'`."""
        ...

    def list(self, kind: str, parent: str | None = None, prefix: str | None = None,
             after: int | None = None, limit: int | None = None,
             newest_first: bool = False) -> list[Item]: ...

    def count(self, kind: str, parent: str) -> int: ...

    def transaction(self) -> contextlib.AbstractContextManager[None]: ...

    def unit(self) -> contextlib.AbstractContextManager[None]:
        """One request's unit of work: its first write begins a transaction that every
        later write and transaction() of this thread joins, committed when the block
        exits normally (see the implementations)."""
        ...

    def meta_get(self, key: str) -> str | None: ...

    def meta_set(self, key: str, value: str) -> None: ...

    def reset(self) -> None: ...

    def close(self) -> None: ...


def open_store(url: str | None) -> Store:
    """Open a store from a path or URL: `postgresql://...` or a SQLite file path
    (`:memory:` for a throwaway one)."""
    if url and url.startswith(("postgresql://", "postgres://")):
        from acrctl.backend.pg import PostgresStore  # type: ignore[import-not-found,unused-ignore]

        return PostgresStore(url)  # type: ignore[no-any-return,unused-ignore]
    from acrctl.backend.sqlite import SqliteStore

    return SqliteStore(url or ":memory:")


@contextlib.contextmanager
def _nullcontext() -> Iterator[None]:
    yield
