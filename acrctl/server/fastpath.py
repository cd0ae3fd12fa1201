"""GETs answered on the event loop from the per-process caches, for a store whose reads
wait on a network (PostgreSQL).

Such a store's requests run in the handler threads (acrctl.server.asgi), and handing a
request to a thread and back costs more CPU than a cached GET itself (measured: ~150 µs a
request with uvloop at 32 connections). A GET whose answer the caches hold needs one thing
from the database: the store's generation, to know the caches are current. So the adapter
reads it in a handler thread, one read shared by every GET that arrived before it started,
then runs the request on the loop with the store offline (Store.offline): any use of the
database there raises WouldBlock before any I/O, and the request goes to a handler thread
as usual, from the start. The loop never waits on the database.

Every answer is exact: the generation a request runs with was read after the request
arrived, and the caches keep nothing older than it (acrctl.backend.gencache). When requests
keep missing (the store is being written to), the fast path is tried only every
RETRY_EVERY-th GET until one hits again. With read rate limits on it is not tried at all (a
request that falls back would be charged twice)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import Executor
from typing import TYPE_CHECKING, Any

from acrctl.backend.store import WouldBlock

if TYPE_CHECKING:
    from acrctl.server.app import App
    from acrctl.server.http import Request, Response

MISSES_BEFORE_BACKOFF = 4  # misses in a row after which the fast path is tried less often
RETRY_EVERY = 16  # then: one GET in this many tries it

Answer = tuple["Response", bytes]


class CachedGets:
    def __init__(self, app: App) -> None:
        self.app = app
        self.hits = 0  # GETs answered on the loop
        self.misses = 0  # in a row
        self.skipped = 0
        self._started = 0  # generation reads started, numbered in start order
        self._last: tuple[int, Any] | None = None  # (number, value) of the latest read
        self._running: tuple[int, asyncio.Future[Any]] | None = None

    def eligible(self, req: Request) -> bool:
        store = self.app.backend.store
        if (
            req.method != "GET"
            or not hasattr(store, "offline")
            or not hasattr(store, "read_generation")
            or float(self.app.backend.settings.rate_limit_reads or 0) > 0
        ):
            return False
        if self.misses < MISSES_BEFORE_BACKOFF:
            return True
        self.skipped += 1
        return self.skipped % RETRY_EVERY == 0

    async def answer(
        self, req: Request, respond: Callable[[Request], Answer], pool: Executor
    ) -> Answer | None:
        """The answer from the caches, or None: the request needs the database (or the
        generation could not be read); run it in a handler thread."""
        try:
            generation = await self._generation(pool)
        except Exception:  # noqa: BLE001 - the handler thread reports the store's error
            return None
        store: Any = self.app.backend.store
        try:
            with store.offline(generation):
                out = respond(req)
        except WouldBlock:
            self.misses += 1
            return None
        self.misses = 0
        self.hits += 1
        return out

    async def _generation(self, pool: Executor) -> Any:
        """The store's generation from a read started after this call: the one running,
        if it started since, else the next (one read shared by all who wait for it)."""
        ticket = self._started
        while True:
            last = self._last
            if last is not None and last[0] >= ticket:
                return last[1]
            running = self._running
            if running is None or running[1].done():  # done: its callback is still to run
                running = self._start(pool)
            number, fut = running
            value = await asyncio.shield(fut)
            if number >= ticket:
                return value

    def _start(self, pool: Executor) -> tuple[int, asyncio.Future[Any]]:
        number = self._started
        self._started += 1
        store: Any = self.app.backend.store
        fut = asyncio.get_running_loop().run_in_executor(pool, store.read_generation)

        def done(f: asyncio.Future[Any]) -> None:  # runs before any waiter resumes
            if self._running is not None and self._running[1] is f:
                self._running = None
            if (
                not f.cancelled()
                and f.exception() is None
                and (self._last is None or number > self._last[0])
            ):
                self._last = (number, f.result())

        fut.add_done_callback(done)
        self._running = (number, fut)
        return self._running
