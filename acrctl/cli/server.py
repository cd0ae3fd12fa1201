"""`acrctl server`: run the ARM-compatible management server in the foreground.

A plain Click command, not an AzCommand: it is a long-running process, not an ARM call, so
az's global options (-o, --query, --subscription...) do not apply."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from acrctl.server.serve import ServerConfig

LRO_MODES = click.Choice(["immediate", "polls", "seconds"], case_sensitive=False)
BOOTSTRAP_ENV = "ACRCTL_BOOTSTRAP_TOKEN"
SERVER_ENV = "ACRCTL_SERVER"
MASK = "******"
SECRET_KEYS = ("bootstrap_token",)
SECRET_SETTINGS = ("managed_identity_header",)  # [settings] keys --print-config masks
METRICS_MODES = click.Choice(["auto", "on", "off"], case_sensitive=False)
# option names whose value is a path: relative ones in a config file are relative to it
PATH_KEYS = ("database", "tls_cert", "tls_key", "access_log")
# Settings keys a config file's [settings] table may set (those without an option of their
# own); the webhook keys are documented in docs/webhooks.md
SETTINGS_KEYS = ("webhook_deny", "webhook_allow_public", "webhook_verify")


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


def _announce(
    url: str, database: str, subscription: str, new_token: str | None, configured: str | None = None
) -> None:
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


def default_config() -> str:
    """`server.toml` in acrctl's config dir ($ACRCTL_CONFIG_DIR, else
    $XDG_CONFIG_HOME/acrctl)."""
    from acrctl.cli.config import config_dir

    return os.path.join(config_dir(), "server.toml")


def _settings_fields() -> set[str]:
    """Fields of the backend's Settings a [settings] table may set (typed, checked)."""
    import dataclasses

    from acrctl.backend.core import Settings

    return {f.name for f in dataclasses.fields(Settings)} - {"extra"}


def _settings_keys() -> set[str]:
    from acrctl.backend.webhooks import DEFAULTS as OUTBOX
    from acrctl.delivery import DEFAULTS as SENDER

    return {*SETTINGS_KEYS, *OUTBOX, *SENDER, *_settings_fields()}


def apply_settings(settings: object, values: dict[str, object]) -> None:
    """Put a [settings] table's values on Settings: its own fields typed as their defaults
    (a bad value is a usage error), anything else into Settings.extra."""
    fields = _settings_fields()
    for key, value in values.items():
        if key not in fields:
            settings.extra[key] = value  # type: ignore[attr-defined]
            continue
        current = getattr(settings, key)
        kind = type(current)
        try:
            if kind is bool and not isinstance(value, bool):
                raise ValueError(value)
            typed = kind(value) if current is not None else value
        except (TypeError, ValueError):
            raise click.UsageError(
                f"[settings] {key}: {value!r} is not a valid {type(current).__name__}."
            ) from None
        setattr(settings, key, typed)


def _load_config(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """Read the TOML config file into Click's default_map: the file's values then rank below
    flags and ACRCTL_SERVER_* variables and above the built-in defaults."""
    import tomllib

    path = value or default_config()
    if not os.path.isfile(path):
        if value:
            raise click.BadParameter(f"no such file: {value}", ctx, param)
        return None
    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise click.BadParameter(f"cannot read {path}: {exc}", ctx, param) from None
    names = {p.name for p in ctx.command.params if p.name and p.expose_value} - {
        "config",
        "print_config",
    }
    base = os.path.dirname(os.path.abspath(path))
    defaults: dict[str, object] = {}
    for raw_key, val in data.items():
        key = raw_key.replace("-", "_")
        if key == "settings" and isinstance(val, dict):
            unknown = sorted(set(val) - _settings_keys())
            if unknown:
                raise click.BadParameter(
                    f"{path}: unknown [settings] key(s) {', '.join(unknown)}", ctx, param
                )
            ctx.meta["acrctl.server.settings"] = dict(val)
            continue
        if key not in names:
            raise click.BadParameter(f"{path}: unknown key '{raw_key}'", ctx, param)
        if (
            key in PATH_KEYS
            and isinstance(val, str)
            and val not in ("-", "off", ":memory:")
            and "://" not in val
        ):
            val = os.path.join(base, os.path.expanduser(val))
        defaults[key] = val
    ctx.default_map = {**(ctx.default_map or {}), **defaults}
    return os.path.abspath(path)


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
    callback=_load_config,
    help="TOML file of settings (keys are the option names, e.g. port = 8443; "
    "a [settings] table for webhook tuning). Default: server.toml in "
    "acrctl's config dir, if it exists.",
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
    help="Port to listen on.",
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
    envvar=[f"{SERVER_ENV}_BOOTSTRAP_TOKEN", BOOTSTRAP_ENV],
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
def server(
    config: str | None,
    print_config: bool,
    host: str,
    port: int,
    database: str | None,
    tls_cert: str | None,
    tls_key: str | None,
    bootstrap_token: str | None,
    lro_mode: str,
    lro_polls: int,
    lro_seconds: float,
    retry_after: int,
    allow_reset: bool,
    webhook_allow: list[str],
    webhook_allow_local: bool,
    metrics: str,
    access_log: str,
    activity_retention_days: float,
    shutdown_timeout: float,
    **limits: Any,
) -> None:
    """Run the acrctl management server (ARM-compatible) in the foreground.

    On first start the server creates a subscription and an Owner admin principal, and
    prints the admin token once on stderr; set ACRCTL_SERVER_BOOTSTRAP_TOKEN (or
    ACRCTL_BOOTSTRAP_TOKEN) to choose it instead. Stop the server with Ctrl-C or SIGTERM:
    it stops accepting, finishes what is in flight (--shutdown-timeout) and exits 0.

    Every option can also come from an ACRCTL_SERVER_<OPTION> environment variable (e.g.
    ACRCTL_SERVER_PORT) or the config file; a flag beats the environment, which beats the
    file, which beats the default. Probes: /healthz (the process is up), /readyz (ready to
    serve); /metrics (Prometheus) per --metrics.

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
    ctx = click.get_current_context()
    if print_config:
        click.echo(_effective(ctx), nl=False)
        return
    if bool(tls_cert) != bool(tls_key):
        raise click.UsageError("--tls-cert and --tls-key must be given together.")
    cfg = _config(
        host,
        port,
        database or default_database(),
        tls_cert,
        tls_key,
        lro_mode,
        lro_polls,
        lro_seconds,
        retry_after,
        allow_reset,
    )
    assert cfg.settings is not None
    apply_settings(cfg.settings, ctx.meta.get("acrctl.server.settings", {}))
    cfg.settings.extra.update(
        webhook_allow=list(webhook_allow), webhook_allow_local=webhook_allow_local
    )
    cfg.settings.activity_retention_days = activity_retention_days
    cfg.admin_token = bootstrap_token
    cfg.metrics, cfg.access_log, cfg.shutdown_timeout = (
        metrics.lower(),
        access_log,
        shutdown_timeout,
    )
    cfg.region_registries = dict(r.split("=", 1) for r in limits.pop("region_registry"))
    for name, value in limits.items():  # --max-connections ... --registry-binary
        setattr(cfg, name, value)
    _run(cfg)


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


def _config(
    host: str,
    port: int,
    database: str,
    tls_cert: str | None,
    tls_key: str | None,
    lro_mode: str,
    lro_polls: int,
    lro_seconds: float,
    retry_after: int,
    allow_reset: bool,
) -> ServerConfig:
    from acrctl.backend.core import Settings
    from acrctl.server.serve import ServerConfig

    settings = Settings(
        lro_mode=lro_mode.lower(),
        lro_polls=lro_polls,
        lro_seconds=lro_seconds,
        retry_after=retry_after,
    )
    return ServerConfig(
        host=host,
        port=port,
        database=database,
        tls_cert=tls_cert,
        tls_key=tls_key,
        allow_reset=allow_reset,
        settings=settings,
    )


# -- --print-config ----------------------------------------------------------------------------
def mask_database(value: str) -> str:
    """A database URL with its password (user:password@, or password=) masked."""
    from urllib.parse import urlsplit, urlunsplit

    if "://" not in value:
        return value
    try:
        p = urlsplit(value)
    except ValueError:
        return MASK
    netloc = p.netloc
    if p.password is not None:
        user, _, host = netloc.rpartition("@")
        netloc = f"{user.partition(':')[0]}:{MASK}@{host}"
    query = (
        "&".join(
            f"{k}={MASK}" if k.lower() == "password" else f"{k}={v}"
            for k, _, v in (part.partition("=") for part in p.query.split("&"))
        )
        if p.query
        else ""
    )
    return urlunsplit((p.scheme, netloc, p.path, query, p.fragment))


def _toml(value: object) -> str:
    import json

    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return json.dumps(str(value), ensure_ascii=False)


def _source(ctx: click.Context, param: click.Parameter) -> str:
    from click.core import ParameterSource

    src = ctx.get_parameter_source(param.name or "")
    if src == ParameterSource.COMMANDLINE:
        return "flag"
    if src == ParameterSource.ENVIRONMENT:
        envvar = param.envvar
        names = (
            [str(n) for n in envvar]
            if isinstance(envvar, list | tuple)
            else ([str(envvar)] if envvar else [f"{SERVER_ENV}_{(param.name or '').upper()}"])
        )
        found = [n for n in names if os.environ.get(n)]
        return f"env {found[0] if found else names[0]}"
    if src == ParameterSource.DEFAULT_MAP:
        return "config file"
    return "default"


def _effective(ctx: click.Context) -> str:
    """The configuration as TOML (usable as a config file once secrets are filled back in),
    each value annotated with its source."""
    lines = [
        "# acrctl server: effective configuration",
        "# precedence: flag > ACRCTL_SERVER_* environment > config file > default",
        f"# config file: {ctx.params.get('config') or 'none'}",
    ]
    for param in ctx.command.params:
        name = param.name or ""
        if not param.expose_value or name in ("config", "print_config", "help"):
            continue
        value = ctx.params.get(name)
        if name == "database" and not value:
            value = default_database()
        if value is not None and name in SECRET_KEYS:
            value = MASK
        elif isinstance(value, str) and name == "database":
            value = mask_database(value)
        source = _source(ctx, param)
        if value is None:
            lines.append(f"# {name} =  (not set; {source})")
        else:
            lines.append(f"{name} = {_toml(value)}  # {source}")
    extra = ctx.meta.get("acrctl.server.settings") or {}
    if extra:
        lines += ["", "[settings]"]
        lines += [
            f"{k} = {_toml(MASK if k in SECRET_SETTINGS else v)}  # config file"
            for k, v in sorted(extra.items())
        ]
    return "\n".join(lines) + "\n"


# -- running -------------------------------------------------------------------------------------
class _Terminated(Exception):
    """SIGTERM, turned into an exception so the server shuts down like on Ctrl-C."""


def _on_sigterm(signum: int, frame: object) -> None:
    raise _Terminated()


def _run(cfg: ServerConfig) -> None:
    import signal

    import uvicorn

    from acrctl.server.observability import configure_access_log
    from acrctl.server.serve import build, start_delivery, stop_delivery, uvicorn_config
    from acrctl.server.startup import StoreOpenError, guard_process

    configure_access_log(cfg.access_log)
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
        uvicorn.Server(uvicorn_config(app, cfg)).run()
    except (KeyboardInterrupt, _Terminated):  # uvicorn re-raises the signal it stopped on
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)  # a second SIGTERM now ends the process
        app.obs.draining = True
        if plane is not None:
            plane.stop(cfg.shutdown_timeout)
        released = stop_delivery(app, worker, cfg.shutdown_timeout)
        app.backend.store.close()
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
    from acrctl.backend.registries import REGISTRY

    names = sorted(i.doc["name"].lower() for i in app.backend.store.list(REGISTRY))
    host = suffix.rsplit(":", 1)[0] if ":" in suffix else suffix
    if names:
        click.echo(
            "acrctl server: for local clients, add to /etc/hosts: 127.0.0.1 "
            + " ".join(f"{n}.{host}" for n in names),
            err=True,
        )
