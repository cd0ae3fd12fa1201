"""`acrctl server`: run the ARM-compatible management server in the foreground.

A plain Click command, not an AzCommand: it is a long-running process, not an ARM call, so
az's global options (-o, --query, --subscription...) do not apply. This module parses the
options; acrctl.server.config checks the settings (one schema with the uvicorn factory's),
acrctl.cli.server_run runs the server."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import click

from acrctl.cli.server_config import FILE, TABLE, effective, load_config, option_values
from acrctl.cli.server_run import run as _run

if TYPE_CHECKING:
    from acrctl.backend.core import Settings

__all__ = ["server", "default_database", "mask_database", "SERVER_ENV"]

LRO_MODES = click.Choice(["immediate", "polls", "seconds"], case_sensitive=False)
SERVER_ENV = "ACRCTL_SERVER"
METRICS_MODES = click.Choice(["auto", "on", "off"], case_sensitive=False)


def default_database() -> str:
    """`server.db` next to the embedded state, under the XDG data dir."""
    from acrctl.server import config

    return config.default_database()


def mask_database(value: str) -> str:
    """A database URL with its password masked (acrctl.server.config.mask_database)."""
    from acrctl.server import config

    return config.mask_database(value)


def _cidrs(ctx: click.Context, param: click.Parameter, value: tuple[str, ...]) -> list[str]:
    """Repeatable and comma-separated (ACRCTL_SERVER_WEBHOOK_ALLOW="10.0.0.0/8,..." too)."""
    return [c.strip() for item in value or () for c in str(item).split(",") if c.strip()]


@click.command(
    "server",
    context_settings={"help_option_names": ["-h", "--help"], "auto_envvar_prefix": SERVER_ENV},
)
@click.option(
    "--config",
    "config",
    default=None,
    metavar="FILE",
    is_eager=True,
    expose_value=True,
    callback=load_config,
    help="TOML file of settings (keys are the option names, e.g. port = 8443; "
    "a [settings] table for the other settings, e.g. page_size = 50). Default: "
    "server.toml in acrctl's config dir, if it exists.",
)
@click.option(
    "--print-config",
    is_flag=True,
    default=False,
    allow_from_autoenv=False,
    help="Print the effective configuration (secrets masked) with where each "
    "value came from, and exit.",
)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on. Use 0.0.0.0 to accept remote clients (with TLS).",
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8443,
    show_default=True,
    help="Port to listen on (0: one the system picks, announced at start).",
)
@click.option(
    "--database",
    default=None,
    metavar="PATH|URL",
    help="SQLite file or postgresql:// URL. Default: server.db under the XDG data dir.",
)
@click.option(
    "--tls-cert",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="PEM certificate (chain) to serve HTTPS. Needs --tls-key.",
)
@click.option(
    "--tls-key",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="PEM private key of --tls-cert.",
)
@click.option(
    "--bootstrap-token",
    default=None,
    metavar="TOKEN",
    envvar=[f"{SERVER_ENV}_BOOTSTRAP_TOKEN", "ACRCTL_BOOTSTRAP_TOKEN"],
    help="Admin token to create on first start (else one is generated and printed "
    f"once). Prefer {SERVER_ENV}_BOOTSTRAP_TOKEN or the config file: a flag "
    "shows in the process list.",
)
@click.option(
    "--lro-mode",
    type=LRO_MODES,
    default="immediate",
    show_default=True,
    help="How long-running operations finish: at once, after N polls, or after S seconds.",
)
@click.option(
    "--lro-polls",
    type=click.IntRange(0),
    default=2,
    show_default=True,
    help="Status polls an operation takes in --lro-mode polls.",
)
@click.option(
    "--lro-seconds",
    type=click.FloatRange(0),
    default=5.0,
    show_default=True,
    help="Seconds an operation takes in --lro-mode seconds.",
)
@click.option(
    "--retry-after",
    type=click.IntRange(0),
    default=1,
    show_default=True,
    help="Retry-After (seconds) sent with operations in progress.",
)
@click.option(
    "--allow-reset",
    is_flag=True,
    default=False,
    help="Allow the admin reset endpoint (wipes all state; for test servers).",
)
@click.option(
    "--webhook-allow",
    multiple=True,
    metavar="CIDR",
    callback=_cidrs,
    help="Allow webhook deliveries to this network (repeatable or comma-separated),"
    " e.g. 10.0.0.0/8. Link-local and metadata addresses are always refused.",
)
@click.option(
    "--webhook-allow-local",
    is_flag=True,
    default=False,
    help="Allow webhook deliveries to loopback and private networks.",
)
@click.option(
    "--metrics",
    type=METRICS_MODES,
    default="auto",
    show_default=True,
    help="Serve Prometheus metrics at /metrics, unauthenticated. auto: only when "
    "--host is a loopback address.",
)
@click.option(
    "--access-log",
    default="-",
    show_default=True,
    metavar="FILE|-|off",
    help="Where the request log goes (one JSON line per request): - for stderr, "
    "a file (appended, reopened after rotation), or off.",
)
@click.option(
    "--activity-retention-days",
    type=click.FloatRange(0),
    default=90.0,
    show_default=True,
    help="Days the activity log keeps records (0: forever).",
)
@click.option(
    "--shutdown-timeout",
    type=click.FloatRange(0),
    default=10.0,
    show_default=True,
    help="Seconds a stopping server (SIGTERM, Ctrl-C) waits for requests in "
    "flight, then as long for webhook deliveries in flight.",
)
@click.option(
    "--max-connections",
    type=click.IntRange(1),
    default=1000,
    show_default=True,
    help="Open connections; a request on a connection past it is answered 503 "
    "(Retry-After) and the connection closed.",
)
@click.option(
    "--header-timeout",
    type=click.FloatRange(0.1),
    default=10.0,
    show_default=True,
    help="Seconds a request head (request line and headers) may take to arrive, "
    "from the connection or its first byte; past it: 408, closed.",
)
@click.option(
    "--body-timeout",
    type=click.FloatRange(0.1),
    default=30.0,
    show_default=True,
    help="Seconds a request body may take to arrive after its head (408).",
)
@click.option(
    "--keep-alive-timeout",
    type=click.FloatRange(0.1),
    default=5.0,
    show_default=True,
    help="Seconds an idle kept-alive connection stays open.",
)
@click.option(
    "--max-header-bytes",
    type=click.IntRange(1024),
    default=16384,
    show_default=True,
    help="Size of a request head (431 past it).",
)
@click.option(
    "--backlog",
    type=click.IntRange(1),
    default=2048,
    show_default=True,
    help="Connections the OS queues until the server accepts them.",
)
@click.option(
    "--handler-threads",
    type=click.IntRange(0),
    default=8,
    show_default=True,
    help="Threads that run request handlers off the event loop (0: on it).",
)
@click.option(
    "--error-log-interval",
    type=click.FloatRange(0),
    default=10.0,
    show_default=True,
    help="Repeated connection errors (e.g. out of file descriptors) are logged "
    "once per this many seconds, with a count.",
)
@click.option(
    "--data-port",
    type=click.IntRange(0, 65535),
    default=8444,
    show_default=True,
    help="Port of the data-plane listener (login servers, the OCI API, "
    "/oauth2/token); 0 turns the data plane off. Needs the docker-registry "
    "package (or --region-registry); without it the server runs without a "
    "data plane and says so.",
)
@click.option(
    "--login-domain",
    default="acrctl.test",
    show_default=True,
    metavar="DOMAIN",
    help="A registry's loginServer is <name>.<DOMAIN>[:data port]; the server "
    "prints the /etc/hosts lines that make the names resolve locally.",
)
@click.option(
    "--region-registry",
    multiple=True,
    metavar="REGION=URL",
    callback=lambda ctx, param, value: _region_registries(value),
    help="Use an external CNCF distribution for REGION instead of starting one "
    "(repeatable); it must trust this server's token issuer (docs/"
    "dataplane.md).",
)
@click.option(
    "--registry-binary",
    default="docker-registry",
    show_default=True,
    metavar="PATH",
    help="The CNCF distribution binary run per region.",
)
def server(**params: Any) -> None:
    """Run the acrctl management server (ARM-compatible) in the foreground.

    On first start the server creates a subscription and an Owner admin principal, and
    prints the admin token once on stderr; set ACRCTL_SERVER_BOOTSTRAP_TOKEN (or
    ACRCTL_BOOTSTRAP_TOKEN) to choose it instead. Stop the server with Ctrl-C or SIGTERM:
    it stops accepting, finishes what is in flight (--shutdown-timeout) and exits 0.

    Every option can also come from an ACRCTL_SERVER_<OPTION> environment variable (e.g.
    ACRCTL_SERVER_PORT) or the config file; a flag beats the environment, which beats the
    file, which beats the default. The other settings (the config file's [settings] table,
    docs/operating.md) come from ACRCTL_SERVER_<SETTING> or that table, in that order. A
    value that does not fit, or an unknown key or ACRCTL_SERVER_* variable, is a usage error.
    Probes: /healthz (the process is up), /readyz (ready to serve); /metrics (Prometheus)
    per --metrics.

    \b
    Examples:
      Serve HTTPS on all interfaces with a Postgres store:
        acrctl server --host 0.0.0.0 --port 8443 --tls-cert cert.pem --tls-key key.pem \\
          --database postgresql://acrctl@db/acrctl
      Serve a local test server whose operations take two polls:
        acrctl server --port 8080 --lro-mode polls --lro-polls 2 --allow-reset
      Show the configuration a config file and the environment give, then exit:
        acrctl server --config /etc/acrctl/server.toml --print-config
      Then, in another shell:
        acrctl account login --endpoint https://myhost:8443
    """
    from acrctl.server import config

    ctx = click.get_current_context()
    try:
        values = config.resolve(
            config.from_table(ctx.meta.get(TABLE, {}), ctx.meta.get(FILE, "")),
            config.from_env(os.environ),
            config.validate(option_values(ctx), strict=False),
        )
    except config.ConfigError as exc:
        raise click.UsageError(str(exc)) from None
    if params["print_config"]:
        click.echo(effective(ctx, values), nl=False)
        return
    if bool(params["tls_cert"]) != bool(params["tls_key"]):
        raise click.UsageError("--tls-cert and --tls-key must be given together.")
    _run(_server_config(params, config.to_settings(values)))


def _server_config(params: dict[str, Any], settings: Settings) -> Any:
    from acrctl.server.config import OPTION_FIELDS
    from acrctl.server.serve import ServerConfig

    special = {"config", "print_config", "database", "metrics", "region_registry"}
    same = {k: v for k, v in params.items() if k not in special | set(OPTION_FIELDS.values())}
    return ServerConfig(  # the other options have ServerConfig fields of the same name
        database=params["database"] or default_database(),
        admin_token=params["bootstrap_token"],
        allow_reset=params["allow_reset"],
        settings=settings,
        metrics=params["metrics"].lower(),
        region_registries=dict(r.split("=", 1) for r in params["region_registry"]),
        **same,
    )


def _region_registries(values: tuple[str, ...]) -> tuple[str, ...]:
    """REGION=URL items (URL http:// or https://), the region normalized."""
    from acrctl.backend import regions

    out = []
    for item in values or ():
        region, sep, url = str(item).partition("=")
        if not sep or not url.startswith(("http://", "https://")) or not region.strip():
            raise click.BadParameter(f"{item!r}: expected REGION=http(s)://host:port")
        out.append(f"{regions.normalize(region.strip())}={url.rstrip('/')}")
    return tuple(out)
