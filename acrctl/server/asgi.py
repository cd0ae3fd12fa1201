"""The ASGI adapter for `acrctl server` (served by uvicorn)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from acrctl.server.app import App
from acrctl.server.http import MAX_BODY, Response
from acrctl.server.transport import to_request

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


class AsgiApp:
    def __init__(self, app: App) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        body, too_big = b"", False
        while True:
            msg = await receive()
            chunk = msg.get("body", b"")
            if len(body) + len(chunk) > MAX_BODY + 1:
                too_big = True
            else:
                body += chunk
            if not msg.get("more_body"):
                break
        headers = {k.decode("latin-1").lower(): v.decode("latin-1")
                   for k, v in scope.get("headers", [])}
        host = headers.get("host") or "{}:{}".format(*scope.get("server", ("localhost", 80)))
        base = f"{scope.get('scheme', 'http')}://{host}"
        raw_path = scope.get("raw_path") or scope["path"].encode()
        req = to_request(scope["method"], raw_path.decode("latin-1").split("?", 1)[0],
                         scope.get("query_string", b"").decode("latin-1"), headers,
                         body if not too_big else b"x" * (MAX_BODY + 1), base)
        resp: Response = self.app.handle(req)
        payload = resp.encode()
        out = [(k.encode(), v.encode()) for k, v in resp.headers.items()]
        out.append((b"content-length", str(len(payload)).encode()))
        await send({"type": "http.response.start", "status": resp.status, "headers": out})
        await send({"type": "http.response.body", "body": payload})

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            msg = await receive()
            if msg["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif msg["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
