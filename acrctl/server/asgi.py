"""The ASGI adapter for `acrctl server` (served by uvicorn).

Writes, actions and deployments (every method but GET), and with `offload_reads` (the server
does it on PostgreSQL) GETs too, run in a bounded pool of worker threads (`threads`), off
the event loop: a slow handler (template evaluation, PostgreSQL I/O) never holds up other
connections' requests or /healthz, which is answered on the loop itself. A GET on SQLite is
a few local reads and runs on the loop while no handler thread is busy: handing it to a
thread and back cost 35-60% of the GET throughput at 32 connections (measured with wrk);
while a write runs (it may hold the SQLite lock) GETs go to the pool too, so the loop never
waits for that lock.

The GETs answered on the loop share one read of the store's generation per loop iteration
(SQLite's `PRAGMA data_version`, two file-lock system calls): the first reads it and
schedules its release with `call_soon`, which runs at the next iteration, after every
callback already queued. A request's handler step is queued when the request has arrived
(uvicorn queues it from the protocol callback that completed the request), so a step that
runs before the release was queued before the read: its request arrived before the read,
and the value is as exact for it as a read of its own (a write of this process since moves
the store's write count, and the next request reads again).

Every answer carries `Cache-Control: no-store` (many carry secrets: keys, tokens, webhook
URIs) unless its handler set another, and `Strict-Transport-Security` over TLS."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from acrctl.server.app import App
from acrctl.server.fastpath import CachedGets
from acrctl.server.http import MAX_BODY, Request, Response
from acrctl.server.transport import to_request

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

HANDLER_THREADS = 8  # default size of the handler pool (`acrctl server --handler-threads`)
INLINE_PATHS = frozenset({"/healthz"})  # answered on the event loop: cheap, no I/O
NO_STORE = (b"cache-control", b"no-store")
HSTS = (b"strict-transport-security", b"max-age=31536000")
NAMES_CACHED = 256  # response header names kept encoded (the server sets a few dozen)
_NAMES: dict[str, tuple[bytes, bool]] = {}  # name -> (its bytes, whether it is Cache-Control)


def _name(name: str) -> tuple[bytes, bool]:
    """A response header name's bytes (as str.encode() gives them), memoized."""
    found = (name.encode(), name.lower() == "cache-control")
    if len(_NAMES) < NAMES_CACHED:
        _NAMES[name] = found
    return found


class AsgiApp:
    def __init__(
        self, app: App, threads: int = HANDLER_THREADS, offload_reads: bool | None = None
    ) -> None:
        """`threads`: handler pool size; 0 runs every handler on the event loop.
        `offload_reads`: GETs go to the pool too (a store whose reads wait on a network;
        None: when the store says so, as PostgreSQL's does with `remote`)."""
        self.app = app
        self.threads = threads
        if offload_reads is None:
            offload_reads = bool(getattr(app.backend.store, "remote", False))
        self.offload_reads = offload_reads
        # offloaded GETs that the caches can answer are answered on the loop (fastpath)
        self.cached = CachedGets(app) if offload_reads and threads > 0 else None
        self._pool: ThreadPoolExecutor | None = None
        self._busy = 0  # requests in the pool (changed on the event loop only)
        store = app.backend.store
        # GETs on the loop share a generation read per iteration (module docstring)
        self._share = not offload_reads and hasattr(store, "pinned")
        self._shared: tuple[Any, int] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind != "http":
            if kind == "lifespan":
                await self._lifespan(receive, send)
            return
        body, too_big = b"", False
        while True:
            msg = await receive()
            if msg["type"] == "http.disconnect":  # gone (or cut) before the whole body
                return
            chunk = msg.get("body", b"")
            if len(body) + len(chunk) > MAX_BODY + 1:
                too_big = True
            else:
                body += chunk
            if not msg.get("more_body"):
                break
        headers = {
            k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", ())
        }
        host = headers.get("host") or "{}:{}".format(*scope.get("server", ("localhost", 80)))
        raw_path = scope.get("raw_path") or scope["path"].encode()
        req = to_request(
            scope["method"],
            raw_path.decode("latin-1").split("?", 1)[0],
            scope.get("query_string", b"").decode("latin-1"),
            headers,
            body if not too_big else b"x" * (MAX_BODY + 1),
            f"{scope.get('scheme', 'http')}://{host}",
        )
        client = scope.get("client")
        if client:  # the peer address, for the limit on requests without credentials
            req.meta["client"] = str(client[0])
        if self._inline(req):
            resp, payload = self._on_loop(req)
        else:
            resp, payload = await self._offload(req)
        out = []
        store = True  # no Cache-Control from the handler: no-store
        for k, v in resp.headers.items():
            name, cache_control = _NAMES.get(k) or _name(k)
            out.append((name, v.encode()))
            if cache_control:
                store = False
        if store:
            out.append(NO_STORE)
        if scope.get("scheme") == "https":
            out.append(HSTS)
        out.append((b"content-length", str(len(payload)).encode()))
        await send({"type": "http.response.start", "status": resp.status, "headers": out})
        await send({"type": "http.response.body", "body": payload})

    def _on_loop(self, req: Request) -> tuple[Response, bytes]:
        """Answer on the event loop; a GET shares this iteration's generation read."""
        store = self.app.backend.store
        if req.method != "GET" or not self._share:
            resp = self.app.handle(req)
            return resp, resp.encode()
        shared = self._shared
        outer = store.pin_request(shared)
        try:
            resp = self.app.handle(req)
            if shared is None and not outer:
                self._shared = store.pinned()
                if self._shared is not None:
                    asyncio.get_running_loop().call_soon(self._unshare)
        finally:
            store.unpin_request(outer)
        return resp, resp.encode()

    def _unshare(self) -> None:
        self._shared = None

    def _inline(self, req: Request) -> bool:
        """Whether to answer on the event loop (see the module docstring)."""
        return (
            self.threads <= 0
            or req.path in INLINE_PATHS
            or (req.method == "GET" and not self.offload_reads and not self._busy)
        )

    async def _offload(self, req: Request) -> tuple[Response, bytes]:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="acrctl-handler")
        if self.cached is not None and self.cached.eligible(req):
            answer = await self.cached.answer(req, self._respond, self._pool)
            if answer is not None:
                return answer
        self._busy += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self._pool, self._respond, req)
        finally:
            self._busy -= 1

    def _respond(self, req: Request) -> tuple[Response, bytes]:
        resp = self.app.handle(req)
        return resp, resp.encode()

    def close(self) -> None:
        """Let the handler threads end once idle (the server has answered its requests)."""
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            msg = await receive()
            if msg["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif msg["type"] == "lifespan.shutdown":
                self.close()
                await send({"type": "lifespan.shutdown.complete"})
                return
