"""The store interface: every piece of state lives here, so a reset cannot miss a global.

State is a set of JSON documents ("items") keyed by (kind, key). `key` is a lower-cased ARM id
or another unique id; `parent` is the key of the owning item (or a scope), used for listing;
`name` is the lower-cased short name, used for unique-name lookups. Every write bumps the
item's etag; `put(..., if_etag=...)` is a compare-and-set. `seq` is a monotonic insertion
counter that gives lists a stable order and O(page) paging.

The item, the errors and what both implementations share are in acrctl.backend.store_base
(re-exported here), which the implementations import instead of this module.
"""

from __future__ import annotations

import contextlib
from collections.abc import Hashable
from typing import Any, Protocol

# the item, the errors and the per-request scopes (acrctl.backend.store_base), re-exported
from acrctl.backend.store_base import (  # noqa: F401
    EtagMismatch,
    F,
    Item,
    RequestScopes,
    RequestState,
    Timer,
    WouldBlock,
    _nullcontext,
    _Offline,
    _Pinned,
    _Remembered,
    timed,
)


class Store(Protocol):
    def get(self, kind: str, key: str) -> Item | None: ...

    def find_by_name(self, kind: str, name: str) -> list[Item]: ...

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
        """Insert or replace. `if_etag`: None = unconditional, "" = must not exist,
        anything else = must exist with that etag; otherwise EtagMismatch."""
        ...

    def delete(self, kind: str, key: str) -> bool: ...

    def delete_tree(self, key_prefix: str) -> int:
        """Delete every item whose key equals `key_prefix` or starts with `key_prefix + '/'`."""
        ...

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
        """Items of a kind (under `parent`, with keys starting with `prefix`) in `seq` order
        after `after`, or with `by_key` in key order after `after_key` (a page of a prefix
        scan costs O(page) through the (kind, key) index)."""
        ...

    def count(self, kind: str, parent: str) -> int: ...

    def transaction(self) -> contextlib.AbstractContextManager[None]: ...

    def unit(self) -> contextlib.AbstractContextManager[None]:
        """One request's unit of work: its first write begins a transaction that every
        later write and transaction() of this thread joins, committed when the block
        exits normally (see the implementations)."""
        ...

    def generation(self) -> Hashable | None:
        """A value that changes whenever a write may have been committed, by this process
        or another (per-process caches of derived data compare it to stay exact); None
        inside a transaction of this thread (cache nothing then). Inside pin_generation()
        it is read at most once, until this process writes."""
        ...

    def pin_generation(self) -> contextlib.AbstractContextManager[None]:
        """Read generation() at most once on this thread inside the block (one request)."""
        ...

    def pin_request(self, shared: tuple[Any, int] | None = None) -> bool:
        """pin_generation() entered without a context manager; returns what to pass to
        unpin_request() when the block is done. `shared`: a pinned() value of another
        request, read after this one arrived, to use instead of reading again."""
        ...

    def pinned(self) -> tuple[Any, int] | None:
        """The generation read inside the current pin, or None."""
        ...

    def unpin_request(self, outer: bool) -> None: ...

    def remember(self) -> contextlib.AbstractContextManager[dict[tuple[str, str], Item]]:
        """Inside the block, every item this thread reads or writes is kept in the dict
        yielded, by (kind, key), the latest one winning: the ETag of an answer built from
        them is known without reading the item again."""
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
