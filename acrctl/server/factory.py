"""An importable app factory for running the server under uvicorn's own command line, e.g.
with several worker processes on one shared database:

    ACRCTL_SERVER_DATABASE=/var/lib/acrctl/server.db \\
        uvicorn --factory acrctl.server.factory:app --workers 2 --http h11 --port 8443

Each worker process calls `app()`, which reads its settings from the environment (the
names mirror `acrctl server`'s flags):

    ACRCTL_SERVER_DATABASE          SQLite file or postgresql:// URL (default: acrctl
                                    server's, server.db under the XDG data dir); several
                                    workers need a file (WAL) or Postgres, never :memory:
    ACRCTL_BOOTSTRAP_TOKEN          the admin token on first start (else one is printed)
    ACRCTL_SERVER_LRO_MODE          immediate | polls | seconds (default immediate)
    ACRCTL_SERVER_LRO_POLLS         default 2
    ACRCTL_SERVER_LRO_SECONDS       default 5
    ACRCTL_SERVER_RETRY_AFTER       default 1
    ACRCTL_SERVER_ALLOW_RESET       1/true to allow the admin reset endpoint
    ACRCTL_SERVER_WEBHOOK_ALLOW     comma-separated CIDRs webhooks may be delivered to
    ACRCTL_SERVER_WEBHOOK_ALLOW_LOCAL  1/true to allow loopback and private destinations
    ACRCTL_SERVER_<SETTING>         any other field of acrctl.backend.core.Settings (the
                                    config file's [settings] keys), upper case, e.g.
                                    ACRCTL_SERVER_RATE_LIMIT_WRITES=0 (no write limit)
    ACRCTL_WEBHOOK_DELIVERY         off: run no delivery worker (events stay queued)

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
from typing import TYPE_CHECKING, Any

from acrctl.server.asgi import AsgiApp, Receive, Scope, Send

if TYPE_CHECKING:
    from acrctl.delivery import DeliveryWorker
    from acrctl.server.app import App

PREFIX = "ACRCTL_SERVER_"
OWN_SETTINGS = ("extra", "lro_mode", "lro_polls", "lro_seconds", "retry_after")
LRO_MODES = ("immediate", "polls", "seconds")
TRUE = ("1", "true", "yes", "on")


def _env(name: str, default: str = "") -> str:
    return os.environ.get(PREFIX + name, default).strip()


def _number(name: str, default: str, kind: type[float] | type[int]) -> Any:
    raw = _env(name, default)
    try:
        value = kind(raw)
    except ValueError:
        raise ValueError(f"{PREFIX}{name} must be a number, not '{raw}'.") from None
    if value < 0:
        raise ValueError(f"{PREFIX}{name} must not be negative.")
    return value


def settings_from_env() -> Any:
    """The backend Settings that `acrctl server`'s flags would give, from the environment."""
    from acrctl.backend.core import Settings

    mode = _env("LRO_MODE", "immediate").lower()
    if mode not in LRO_MODES:
        raise ValueError(f"{PREFIX}LRO_MODE must be one of {', '.join(LRO_MODES)}, not '{mode}'.")
    settings = Settings(
        lro_mode=mode,
        lro_polls=_number("LRO_POLLS", "2", int),
        lro_seconds=_number("LRO_SECONDS", "5", float),
        retry_after=_number("RETRY_AFTER", "1", int),
    )
    settings.extra.update(
        webhook_allow=[c.strip() for c in _env("WEBHOOK_ALLOW").split(",") if c.strip()],
        webhook_allow_local=_env("WEBHOOK_ALLOW_LOCAL").lower() in TRUE,
    )
    _other_settings(settings)
    return settings


def _other_settings(settings: Any) -> None:
    """Any other Settings field from ACRCTL_SERVER_<FIELD> (upper case), typed as its
    default: e.g. ACRCTL_SERVER_RATE_LIMIT_WRITES=0 turns the write rate limit off."""
    import dataclasses

    for f in dataclasses.fields(settings):
        name = f.name.upper()
        if f.name in OWN_SETTINGS or not _env(name):
            continue
        default = getattr(settings, f.name)
        if isinstance(default, bool):
            value: Any = _env(name).lower() in TRUE
        elif isinstance(default, int | float):
            value = _number(name, "0", type(default))
        else:
            value = _env(name)
        setattr(settings, f.name, value)


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
    from acrctl.cli.server import default_database
    from acrctl.server.serve import ServerConfig, build

    database = _env("DATABASE") or default_database()
    if database == ":memory:":
        raise ValueError(
            f"{PREFIX}DATABASE=:memory: would give each worker process its own "
            "empty store; use a file or a postgresql:// URL."
        )
    cfg = ServerConfig(
        database=database,
        settings=settings_from_env(),
        allow_reset=_env("ALLOW_RESET").lower() in TRUE,
    )
    built, new_token, subscription = build(cfg)
    if new_token is not None and new_token != os.environ.get("ACRCTL_BOOTSTRAP_TOKEN"):
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
