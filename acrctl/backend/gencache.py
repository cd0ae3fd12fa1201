"""A per-process cache of data derived from the store, exact across processes.

Each entry is tagged with the store's generation() when it was computed and used only while
that has not moved: any committed write, by this process or another one on the same
database (SQLite's PRAGMA data_version; PostgreSQL's generation counter, bumped by every
write transaction), makes every entry stale. Not a TTL: nothing stale is ever served. Inside a
transaction of this thread the store answers None and nothing is cached. The server reads the
generation once per request (Store.pin_generation), so the RBAC checks and the failure-drill
look-ups of a request cost no query at all while nothing changes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from acrctl.backend.core import Backend


class GenerationCache:
    def __init__(self, backend: Backend, entries: int) -> None:
        """`entries`: at most this many (a setting); the cache is emptied when full."""
        self.b = backend
        self.entries = entries
        self._data: dict[Hashable, tuple[Any, Any]] = {}
        self._lock = threading.Lock()

    def get(
        self, key: Hashable, compute: Callable[[], Any], keep: Callable[[Any], bool] | None = None
    ) -> Any:
        """compute(), memoized while the store's generation() stays the same (only when
        `keep(value)` says so, if given). Stores without generation() are read every
        time."""
        generation = getattr(self.b.store, "generation", None)
        gen = generation() if generation is not None else None
        if gen is None:
            return compute()
        hit = self._data.get(key)
        if hit is not None and hit[0] == gen:
            return hit[1]
        value = compute()  # read after `gen`: a change in between moves it for next time
        if keep is not None and not keep(value):
            return value
        with self._lock:
            if len(self._data) >= self.entries:
                self._data.clear()
            self._data[key] = (gen, value)
        return value

    def peek(self, key: Hashable) -> Any:
        """The entry for `key` if it is still current, else None (nothing computed): the
        cheap first look of a caller on a hot path, which calls get() when it misses."""
        hit = self._data.get(key)
        if hit is None:
            return None
        generation = getattr(self.b.store, "generation", None)
        gen = generation() if generation is not None else None
        return hit[1] if gen is not None and hit[0] == gen else None

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
