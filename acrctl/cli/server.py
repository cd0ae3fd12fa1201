"""`acrctl server`: run the ARM-compatible management server in the foreground.

A plain Click command, not an AzCommand: it is a long-running process, not an ARM call, so
az's global options (-o, --query, --subscription...) do not apply."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from acrctl.server.serve import ServerConfig

LRO_MODES = click.Choice(["immediate", "polls", "seconds"], case_sensitive=False)
BOOTSTRAP_ENV = "ACRCTL_BOOTSTRAP_TOKEN"


def default_database() -> str:
    """`server.db` next to the embedded state, under the XDG data dir."""
    from acrctl import embedded

    return os.path.join(os.path.dirname(embedded.state_path()), "server.db")


def _describe(database: str) -> str:
    """The database for the start-up line, without a password a URL may carry."""
    if "://" not in database or "@" not in database:
        return database
    scheme, _, rest = database.partition("://")
    return f"{scheme}://***@{rest.rpartition('@')[2]}"


def _announce(url: str, database: str, subscription: str, new_token: str | None) -> None:
    if new_token is not None and new_token == os.environ.get(BOOTSTRAP_ENV):
        click.echo(f"Bootstrapped subscription {subscription}; its admin principal uses the "
                   f"token from {BOOTSTRAP_ENV}.", err=True)
    elif new_token is not None:
        click.echo(f"Bootstrapped subscription {subscription}.", err=True)
        click.echo(f"Admin token (shown once, store it now): {new_token}", err=True)
    click.echo(f"acrctl server: serving subscription {subscription} on {url} "
               f"(database: {_describe(database)})", err=True)


@click.command("server", context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on. Use 0.0.0.0 to accept remote clients (with TLS).")
@click.option("--port", type=click.IntRange(0, 65535), default=8443, show_default=True,
              help="Port to listen on.")
@click.option("--database", default=None, metavar="PATH|URL",
              help="SQLite file or postgresql:// URL. Default: server.db under the XDG data "
                   "dir.")
@click.option("--tls-cert", type=click.Path(exists=True, dir_okay=False), default=None,
              help="PEM certificate (chain) to serve HTTPS. Needs --tls-key.")
@click.option("--tls-key", type=click.Path(exists=True, dir_okay=False), default=None,
              help="PEM private key of --tls-cert.")
@click.option("--lro-mode", type=LRO_MODES, default="immediate", show_default=True,
              help="How long-running operations finish: at once, after N polls, or after S "
                   "seconds.")
@click.option("--lro-polls", type=click.IntRange(0), default=2, show_default=True,
              help="Status polls an operation takes in --lro-mode polls.")
@click.option("--lro-seconds", type=click.FloatRange(0), default=5.0, show_default=True,
              help="Seconds an operation takes in --lro-mode seconds.")
@click.option("--retry-after", type=click.IntRange(0), default=1, show_default=True,
              help="Retry-After (seconds) sent with operations in progress.")
@click.option("--allow-reset", is_flag=True, default=False,
              help="Allow the admin reset endpoint (wipes all state; for test servers).")
@click.option("--webhook-allow", multiple=True, metavar="CIDR",
              help="Allow webhook deliveries to this network (repeatable), e.g. 10.0.0.0/8. "
                   "Link-local and metadata addresses are always refused.")
@click.option("--webhook-allow-local", is_flag=True, default=False,
              help="Allow webhook deliveries to loopback and private networks.")
def server(host: str, port: int, database: str | None, tls_cert: str | None,
           tls_key: str | None, lro_mode: str, lro_polls: int, lro_seconds: float,
           retry_after: int, allow_reset: bool, webhook_allow: tuple[str, ...],
           webhook_allow_local: bool) -> None:
    """Run the acrctl management server (ARM-compatible) in the foreground.

    On first start the server creates a subscription and an Owner admin principal, and
    prints the admin token once on stderr; set ACRCTL_BOOTSTRAP_TOKEN to choose it instead.
    Stop the server with Ctrl-C.

    \b
    Examples:
      Serve HTTPS on all interfaces with a Postgres store:
        acrctl server --host 0.0.0.0 --port 8443 --tls-cert cert.pem --tls-key key.pem \\
          --database postgresql://acrctl@db/acrctl
      Serve a local test server whose operations take two polls:
        acrctl server --port 8080 --lro-mode polls --lro-polls 2 --allow-reset
      Then, in another shell:
        acrctl account login --endpoint https://myhost:8443
    """
    if bool(tls_cert) != bool(tls_key):
        raise click.UsageError("--tls-cert and --tls-key must be given together.")
    cfg = _config(host, port, database or default_database(), tls_cert, tls_key,
                  lro_mode, lro_polls, lro_seconds, retry_after, allow_reset)
    assert cfg.settings is not None
    cfg.settings.extra.update(webhook_allow=list(webhook_allow),
                              webhook_allow_local=webhook_allow_local)
    _run(cfg)


def _config(host: str, port: int, database: str, tls_cert: str | None, tls_key: str | None,
            lro_mode: str, lro_polls: int, lro_seconds: float, retry_after: int,
            allow_reset: bool) -> ServerConfig:
    from acrctl.backend.core import Settings
    from acrctl.server.serve import ServerConfig

    settings = Settings(lro_mode=lro_mode.lower(), lro_polls=lro_polls,
                        lro_seconds=lro_seconds, retry_after=retry_after)
    return ServerConfig(host=host, port=port, database=database, tls_cert=tls_cert,
                        tls_key=tls_key, allow_reset=allow_reset, settings=settings)


def _run(cfg: ServerConfig) -> None:
    import uvicorn

    from acrctl.server.serve import build, start_delivery, uvicorn_config

    app, new_token, subscription = build(cfg)
    try:
        worker = start_delivery(app)
    except ValueError as exc:
        app.backend.store.close()
        raise click.UsageError(str(exc)) from None
    try:
        scheme = "https" if cfg.tls_cert else "http"
        _announce(f"{scheme}://{cfg.host}:{cfg.port}", str(cfg.database), subscription,
                  new_token)
        uvicorn.Server(uvicorn_config(app, cfg)).run()
    except KeyboardInterrupt:  # uvicorn re-raises the Ctrl-C it shut down on
        click.echo("acrctl server: stopped.", err=True)
    finally:
        worker.stop()
        app.backend.store.close()
