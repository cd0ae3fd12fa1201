"""An importable app factory for running the server under uvicorn's own command line, e.g.
with several worker processes on one shared database:

    ACRCTL_SERVER_DATABASE=/var/lib/acrctl/server.db \\
        uvicorn --factory acrctl.server.factory:app --workers 2 --http h11 --port 8443

Each worker process calls `app()`, which reads its settings from the environment (the
names mirror `acrctl server`'s flags):

    ACRCTL_SERVER_DATABASE          SQLite file or postgresql:// URL (default: acrctl
                                    server's, server.db under the XDG data dir); several
                                    workers need a file (WAL) or Postgres, never :memory:
    ACRCTL_SERVER_BOOTSTRAP_TOKEN   the admin token on first start (else one is printed;
                                    ACRCTL_BOOTSTRAP_TOKEN too)
    ACRCTL_SERVER_LRO_MODE          immediate | polls | seconds (default immediate)
    ACRCTL_SERVER_LRO_POLLS         default 2
    ACRCTL_SERVER_LRO_SECONDS       default 5
    ACRCTL_SERVER_RETRY_AFTER       default 1
    ACRCTL_SERVER_ALLOW_RESET       1/true to allow the admin reset endpoint
    ACRCTL_SERVER_WEBHOOK_ALLOW     comma-separated CIDRs webhooks may be delivered to
    ACRCTL_SERVER_WEBHOOK_ALLOW_LOCAL  1/true to allow loopback and private destinations
    ACRCTL_SERVER_ACTIVITY_RETENTION_DAYS  default 90
    ACRCTL_SERVER_<SETTING>         any other field of acrctl.backend.core.Settings (the
                                    config file's [settings] keys), upper case, e.g.
                                    ACRCTL_SERVER_RATE_LIMIT_WRITES=0 (no write limit)
    ACRCTL_WEBHOOK_DELIVERY         off: run no delivery worker (events stay queued)

A value that does not fit its setting, and an ACRCTL_SERVER_* variable that is no option or
setting of `acrctl server` (the others, e.g. ACRCTL_SERVER_PORT, are ignored here: uvicorn
has flags of its own), are errors (acrctl.server.config.ConfigError, a ValueError): the
worker does not start.

The webhook delivery worker starts with each worker process (ASGI lifespan startup; the
outbox's leases keep two workers from sending one event) and stops at shutdown.

Beware uvicorn issue #3149 (open in uvicorn 0.54): with --workers N it binds the listening
socket without IPPROTO_TCP, so asyncio never turns Nagle's algorithm off and every
keep-alive request past the first waits ~40 ms for the client's delayed ACK. Until a fixed
uvicorn is out, start the workers through a launcher that tags the socket, as
benchmarks/uvicorn_nodelay.py does."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING

from acrctl.server.asgi import AsgiApp, Receive, Scope, Send

if TYPE_CHECKING:
    from acrctl.backend.core import Settings
    from acrctl.delivery import DeliveryWorker
    from acrctl.server.app import App


def settings_from_env(environ: Mapping[str, str] | None = None) -> Settings:
    """The backend Settings that `acrctl server` would give, from the environment
    (acrctl.server.config: every field from its ACRCTL_SERVER_* variable, checked). Raises
    ConfigError (a ValueError) for a bad value or an unknown ACRCTL_SERVER_* variable."""
    from acrctl.server import config

    values = config.from_env(os.environ if environ is None else environ, options=True)
    return config.to_settings(config.resolve(values))


class ServerApp:
    """AsgiApp plus the worker process's lifetime: the webhook delivery worker starts at
    lifespan startup and stops, and the store closes, at shutdown."""

    def __init__(self, app: App, deliver: bool = True) -> None:
        self.app = app
        self.asgi = AsgiApp(app)
        self.deliver = deliver
        self.worker: DeliveryWorker | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await self.asgi(scope, receive, send)
            return
        while True:
            msg = await receive()
            if msg["type"] == "lifespan.startup":
                try:
                    self.start()
                except ValueError as exc:  # invalid webhook destination settings
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif msg["type"] == "lifespan.shutdown":
                self.stop()
                await send({"type": "lifespan.shutdown.complete"})
                return

    def start(self) -> None:
        if self.deliver and self.worker is None:
            from acrctl.server.serve import start_delivery

            self.worker = start_delivery(self.app)

    def stop(self) -> None:
        if self.worker is not None:
            self.worker.stop()
            self.worker = None
        self.app.backend.store.close()


def app() -> ServerApp:
    """Build the server's ASGI app from the environment (see the module docstring)."""
    from acrctl.server.config import PREFIX, default_database
    from acrctl.server.serve import ServerConfig, build

    settings = settings_from_env()
    database = os.environ.get(PREFIX + "DATABASE", "").strip() or default_database()
    if database == ":memory:":
        raise ValueError(
            f"{PREFIX}DATABASE=:memory: would give each worker process its own "
            "empty store; use a file or a postgresql:// URL."
        )
    cfg = ServerConfig(
        database=database,
        settings=settings,
        allow_reset=settings.allow_reset,
        admin_token=settings.admin_token,
    )
    built, new_token, subscription = build(cfg)
    if new_token is not None and new_token != settings.admin_token:
        print(
            f"Bootstrapped subscription {subscription}.\n"
            f"Admin token (shown once, store it now): {new_token}",
            file=sys.stderr,
        )
    deliver = os.environ.get("ACRCTL_WEBHOOK_DELIVERY", "").lower() not in (
        "0",
        "off",
        "false",
        "no",
    )
    return ServerApp(built, deliver)
