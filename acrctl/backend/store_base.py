"""What the store's implementations share (acrctl.backend.sqlite, acrctl.backend.pg): the item,
the compare-and-set error, the per-request scopes and the metrics hook. acrctl.backend.store
re-exports these; the implementations import them from here, so the store interface can open
either implementation without an import circle."""

from __future__ import annotations

import contextlib
import functools
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar


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
    raw: str | None = None  # `doc` as stored (JSON text), when read from or written to a store


class EtagMismatch(Exception):
    """A compare-and-set write found another etag (or an item where none was expected)."""


class WouldBlock(BaseException):  # noqa: N818 - not an error: a signal to the caller
    """A store told to answer from memory only (offline()) needed the database. A
    BaseException, so that no `except Exception` on the way turns it into an answer: it
    reaches the code that opened offline() (acrctl.server.fastpath)."""


@contextlib.contextmanager
def _nullcontext() -> Iterator[None]:
    yield


# -- what both implementations share -------------------------------------------------------------
Timer = Callable[[str, float], None]  # (operation, seconds): the server's store metrics
F = TypeVar("F", bound=Callable[..., Any])


def timed(op: str) -> Callable[[F], F]:
    """Time a store method through the store's `timer` when one is set (the server's
    metrics); without one the call costs one extra frame."""

    def wrap(fn: F) -> F:
        @functools.wraps(fn)
        def method(self: Any, *args: Any, **kw: Any) -> Any:
            timer = self.timer
            if timer is None:
                return fn(self, *args, **kw)
            t0 = time.perf_counter()
            try:
                return fn(self, *args, **kw)
            finally:
                timer(op, time.perf_counter() - t0)

        return method  # type: ignore[return-value]

    return wrap


class RequestState(threading.local):
    """Per-thread state of one request: the pinned generation, the items seen, and whether
    the store may use the database at all (offline(): no)."""

    pinned: bool = False
    generation: tuple[Any, int] | None = None  # (generation, this process's writes then)
    seen: dict[tuple[str, str], Item] | None = None
    offline: bool = False


class _Pinned:
    """pin_generation()'s context manager (a class: cheaper than a generator's)."""

    __slots__ = ("st", "outer")

    def __init__(self, st: RequestState) -> None:
        self.st = st
        self.outer = False

    def __enter__(self) -> None:
        st = self.st
        self.outer = st.pinned
        st.pinned, st.generation = True, st.generation if self.outer else None

    def __exit__(self, *exc: object) -> None:
        if not self.outer:
            self.st.pinned, self.st.generation = False, None


class _Remembered:
    """remember()'s context manager."""

    __slots__ = ("st", "outer", "seen")

    def __init__(self, st: RequestState) -> None:
        self.st = st
        self.outer: dict[tuple[str, str], Item] | None = None
        self.seen: dict[tuple[str, str], Item] = {}

    def __enter__(self) -> dict[tuple[str, str], Item]:
        self.outer, self.st.seen = self.st.seen, self.seen
        return self.seen

    def __exit__(self, *exc: object) -> None:
        self.st.seen = self.outer


class _Offline:
    """offline()'s context manager."""

    __slots__ = ("st", "pin", "saved")

    def __init__(self, st: RequestState, pin: tuple[Any, int]) -> None:
        self.st = st
        self.pin = pin
        self.saved: tuple[bool, tuple[Any, int] | None, bool] = (False, None, False)

    def __enter__(self) -> None:
        st = self.st
        self.saved = (st.pinned, st.generation, st.offline)
        st.pinned, st.generation, st.offline = True, self.pin, True

    def __exit__(self, *exc: object) -> None:
        self.st.pinned, self.st.generation, self.st.offline = self.saved


class RequestScopes:
    """pin_generation() and remember() for a store class that calls `_seen_item` for each
    item it reads or writes, and `_pin` with each generation it reads (returning
    `self._req.generation[0]` instead while it is pinned). The class keeps `self._writes`, a
    count of this process's writes through it: a pinned generation is used only while that
    count has not moved."""

    _req: RequestState
    _writes: int

    def pin_generation(self) -> contextlib.AbstractContextManager[None]:
        return _Pinned(self._req)

    def pin_request(self, shared: tuple[Any, int] | None = None) -> bool:
        """pin_generation() without a context manager (the server's middleware, on every
        request): pass what it returns to unpin_request() when the request is done.
        `shared`: what pinned() gave another request, read after this one arrived (the
        server's event loop shares one read among the requests of a loop iteration)."""
        st = self._req
        outer = st.pinned
        if not outer:
            st.pinned, st.generation = True, shared
        return outer

    def pinned(self) -> tuple[Any, int] | None:
        """The generation read in the current pin (with the write count it was read at),
        or None if none was read."""
        st = self._req
        return st.generation if st.pinned else None

    def unpin_request(self, outer: bool) -> None:
        if not outer:
            st = self._req
            st.pinned, st.generation = False, None

    def _pin(self, value: Any, writes: int) -> None:
        st = self._req
        if st.pinned:
            st.generation = (value, writes)

    def remember(self) -> contextlib.AbstractContextManager[dict[tuple[str, str], Item]]:
        return _Remembered(self._req)

    def offline(self, generation: Any) -> contextlib.AbstractContextManager[None]:
        """Inside the block this thread's generation() is `generation` (read by the caller,
        after its request began) and any use of the database raises WouldBlock instead:
        what the block computes comes from the per-process caches or not at all."""
        return _Offline(self._req, (generation, self._writes))

    def _seen_item(self, item: Item) -> Item:
        seen = self._req.seen
        if seen is not None:
            seen[(item.kind, item.key)] = item
        return item
