"""The listener the local regions send their notifications to: plain HTTP on 127.0.0.1
only, a port of its own, and nothing but `POST /_acrctl/events/<region>` (everything else
is 404). The front serves that route too, with the same check of the per-start bearer
secret; this listener exists because a region cannot verify the front's certificate when
the front serves TLS (distribution has no CA option for notification endpoints, and the
certificate names the login servers, seldom 127.0.0.1). It adds nothing a client can use:
the regions themselves already listen in plain HTTP on loopback, and the secret is only in
their 0600 configuration files."""

from __future__ import annotations

import socket
import threading
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from acrctl.dataplane.front import Front, Receive, Send

PATH = "/_acrctl/events/"


class EventsOnly:
    """An ASGI app that passes the front only its notification route."""

    def __init__(self, front: Front) -> None:
        self.front = front

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        if scope["method"] == "POST" and scope["path"].startswith(PATH):
            await self.front(scope, receive, send)
            return
        await send(
            {
                "type": "http.response.start",
                "status": 404,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": b'{"errors":[]}'})


class EventsListener:
    """Binds 127.0.0.1 on a free port at once (so the regions' configuration can name it
    before it serves); start() serves it in a thread, stop() ends it."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.port = int(self.sock.getsockname()[1])
        self._server: Any = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """Where a region posts its notifications (REGION is replaced per region)."""
        return f"http://127.0.0.1:{self.port}{PATH}REGION"

    def start(self, front: Front, timeout: float = 10.0) -> None:
        import uvicorn

        config = uvicorn.Config(
            EventsOnly(front),
            log_level="warning",
            access_log=False,
            lifespan="off",
            ws="none",
            timeout_keep_alive=30,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [self.sock]},
            name="acrctl-dataplane-events",
            daemon=True,
        )
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the data plane's notification listener could not start")
            time.sleep(0.01)

    @property
    def alive(self) -> bool:
        """Serving (started and its thread not ended)."""
        return bool(
            self._server is not None
            and self._server.started
            and self._thread is not None
            and self._thread.is_alive()
        )

    def stop(self, timeout: float = 10.0) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=timeout)
        self.sock.close()
