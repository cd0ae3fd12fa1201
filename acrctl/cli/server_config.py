"""`acrctl server`'s configuration sources as Click sees them: the TOML config file (its
top-level keys become option defaults, its [settings] table goes to acrctl.server.config),
where each option's value came from, and --print-config."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from acrctl.server.config import Value

SERVER_ENV = "ACRCTL_SERVER"
TABLE, FILE = "acrctl.server.settings", "acrctl.server.config_file"  # ctx.meta keys


def default_config() -> str:
    """`server.toml` in acrctl's config dir ($ACRCTL_CONFIG_DIR, else
    $XDG_CONFIG_HOME/acrctl)."""
    from acrctl.cli.config import config_dir

    return os.path.join(config_dir(), "server.toml")


def load_config(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    """Read the TOML config file: its top-level keys into Click's default_map (they then rank
    below flags and ACRCTL_SERVER_* variables and above the built-in defaults), its
    [settings] table into ctx.meta for acrctl.server.config."""
    from acrctl.server.config import ConfigError, read_file

    path = value or default_config()
    if not os.path.isfile(path):
        if value:
            raise click.BadParameter(f"no such file: {value}", ctx, param)
        return None
    names = {p.name for p in ctx.command.params if p.name and p.expose_value} - {
        "config",
        "print_config",
    }
    try:
        defaults, table = read_file(path, names)
    except ConfigError as exc:
        raise click.BadParameter(str(exc), ctx, param) from None
    ctx.meta[TABLE], ctx.meta[FILE] = table, os.path.abspath(path)
    ctx.default_map = {**(ctx.default_map or {}), **defaults}
    return os.path.abspath(path)


def option_values(ctx: click.Context) -> dict[str, Value]:
    """The settings that have an option of their own, as Click resolved them."""
    from acrctl.server.config import OPTION_FIELDS, Value

    out = {}
    for param in ctx.command.params:
        field = next((f for f, o in OPTION_FIELDS.items() if o == param.name), None)
        if field is None:
            continue
        source = source_of(ctx, param)
        if source == "config file":
            where = f"{ctx.meta.get(FILE)} {param.name}"
        elif source.startswith("env "):
            where = source.removeprefix("env ")
        else:  # a flag, or its default
            where = param.opts[0] if isinstance(param, click.Option) else str(param.name)
        out[field] = Value(ctx.params[param.name or ""], source, where)
    return out


# -- --print-config ----------------------------------------------------------------------------
def source_of(ctx: click.Context, param: click.Parameter) -> str:
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


def effective(ctx: click.Context, values: dict[str, Value]) -> str:
    """The configuration as TOML (usable as a config file once secrets are filled back in),
    each value annotated with its source."""
    from acrctl.server.config import (
        MASK,
        SECRET_OPTIONS,
        default_database,
        mask_database,
        settings_lines,
        toml_value,
    )

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
        if value is not None and name in SECRET_OPTIONS:
            value = MASK
        elif isinstance(value, str) and name == "database":
            value = mask_database(value)
        source = source_of(ctx, param)
        if value is None:
            lines.append(f"# {name} =  (not set; {source})")
        else:
            lines.append(f"{name} = {toml_value(value)}  # {source}")
    return "\n".join([*lines, "", *settings_lines(values)]) + "\n"
