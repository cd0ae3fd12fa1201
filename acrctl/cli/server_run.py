"""Running `acrctl server` in the foreground (acrctl.cli.server parses its options): the
start-up lines, the data plane, uvicorn, and the orderly stop on SIGTERM or Ctrl-C."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    import socket

    from acrctl.server.serve import ServerConfig


def _describe(database: str) -> str:
    """The database for the start-up line, without a password a URL may carry."""
    if "://" not in database or "@" not in database:
        return database
    scheme, _, rest = database.partition("://")
    return f"{scheme}://***@{rest.rpartition('@')[2]}"


def _announce(
    url: str, database: str, subscription: str, new_token: str | None, configured: str | None = None
) -> None:
    from acrctl.server.config import BOOTSTRAP_ENV

    if new_token is not None and new_token in (configured, os.environ.get(BOOTSTRAP_ENV)):
        click.echo(
            f"Bootstrapped subscription {subscription}; its admin principal uses the "
            "configured bootstrap token.",
            err=True,
        )
    elif new_token is not None:
        click.echo(f"Bootstrapped subscription {subscription}.", err=True)
        click.echo(f"Admin token (shown once, store it now): {new_token}", err=True)
    click.echo(
        f"acrctl server: serving subscription {subscription} on {url} "
        f"(database: {_describe(database)})",
        err=True,
    )


# -- running -------------------------------------------------------------------------------------
class _Terminated(Exception):
    """SIGTERM, turned into an exception so the server shuts down like on Ctrl-C."""


def _on_sigterm(signum: int, frame: object) -> None:
    raise _Terminated()


def _bind_any_port(cfg: ServerConfig) -> socket.socket:
    """A listening socket on cfg.host at a port the system picks, which cfg.port then names
    (so the announced URL, the data plane's login server and the logs say the real one)."""
    import socket

    family = socket.getaddrinfo(cfg.host, 0, type=socket.SOCK_STREAM)[0][0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((cfg.host, 0))
    except OSError as exc:
        sock.close()
        raise click.ClickException(f"cannot listen on {cfg.host}: {exc.strerror or exc}") from None
    sock.set_inheritable(True)
    cfg.port = int(sock.getsockname()[1])
    return sock


def run(cfg: ServerConfig) -> None:
    import signal

    import uvicorn

    from acrctl.server.observability import configure_access_log
    from acrctl.server.serve import build, start_delivery, stop_delivery, uvicorn_config
    from acrctl.server.startup import StoreOpenError, guard_process

    configure_access_log(cfg.access_log)
    sock = _bind_any_port(cfg) if cfg.port == 0 else None  # --port 0: the port it got
    for note in guard_process(cfg):
        click.echo(f"acrctl server: {note}", err=True)
    try:
        app, new_token, subscription = build(cfg)
    except StoreOpenError as exc:
        raise click.ClickException(str(exc)) from None
    try:
        worker = start_delivery(app)
    except ValueError as exc:
        app.backend.store.close()
        raise click.UsageError(str(exc)) from None
    plane = _start_dataplane(app, cfg, worker)
    # uvicorn handles SIGTERM itself (stops accepting, lets requests in flight finish within
    # --shutdown-timeout), then re-raises it to the handler it found: this one.
    previous = signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        scheme = "https" if cfg.tls_cert else "http"
        _announce(
            f"{scheme}://{cfg.host}:{cfg.port}",
            str(cfg.database),
            subscription,
            new_token,
            cfg.admin_token,
        )
        _announce_dataplane(app, plane)
        uvicorn.Server(uvicorn_config(app, cfg)).run(sockets=[sock] if sock else None)
    except (KeyboardInterrupt, _Terminated):  # uvicorn re-raises the signal it stopped on
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)  # a second SIGTERM now ends the process
        app.obs.draining = True
        if plane is not None:
            plane.stop(cfg.shutdown_timeout)
        released = stop_delivery(app, worker, cfg.shutdown_timeout)
        app.backend.store.close()
        if sock is not None:
            sock.close()
        note = f" ({released} unfinished webhook deliveries queued again)" if released else ""
        click.echo(f"acrctl server: stopped{note}.", err=True)


def _start_dataplane(app: Any, cfg: ServerConfig, worker: Any) -> Any:
    """The data plane (acrctl.dataplane), its region logs into the server's log. When it
    cannot start (its port taken...) the management plane runs without it, and the
    start-up line and /readyz say why."""
    import logging
    import sys

    from acrctl.server.serve import start_dataplane

    log = logging.getLogger("acrctl.dataplane")
    if not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("acrctl server: data plane: %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False
    try:
        return start_dataplane(app, cfg)
    except (OSError, RuntimeError) as exc:  # e.g. the data port is taken: manage anyway
        app.obs.dataplane = f"off: it could not start ({exc})"
        return None


def _announce_dataplane(app: Any, plane: Any) -> None:
    if plane is None:
        click.echo(f"acrctl server: data plane {app.obs.dataplane}.", err=True)
        return
    suffix = plane.login_domain
    click.echo(
        f"acrctl server: data plane on {plane.url} (login servers <name>.{suffix}; "
        f"regions: {', '.join(plane.supervisor.names()) or 'none yet'})",
        err=True,
    )
    registries = list(app.backend.resources.registries())
    names = sorted(reg["name"].lower() for reg in registries)
    host = suffix.rsplit(":", 1)[0] if ":" in suffix else suffix
    if names:
        click.echo(
            "acrctl server: for local clients, add to /etc/hosts: 127.0.0.1 "
            + " ".join(f"{n}.{host}" for n in names),
            err=True,
        )
    if plane.cfg.tls_cert:
        from acrctl.dataplane import tlsnames

        data = frozenset(
            reg["name"].lower()
            for reg in registries
            if (reg.get("properties") or {}).get("dataEndpointEnabled")
        )
        note = tlsnames.warning(plane.cfg.tls_cert, host, plane.desired(), data)
        if note:
            click.echo(f"acrctl server: WARNING: {note}", err=True)
