"""`acrctl configure --defaults name=value`: az's way to set the defaults that commands use
when -r/-n, -g or -l is left out (`az configure --defaults acr=myregistry group=rg`). The
values land in acrctl's config file as defaults.registry, defaults.group and
defaults.location, the keys `acrctl config` manages."""

from __future__ import annotations

import os
from typing import Any

import click

from acrctl.cli import config
from acrctl.cli.base import AzCommand
from acrctl.cli.options import GreedyOption

# az's names (and acrctl's own) -> the config key
NAMES = {
    "acr": "defaults.registry",
    "registry": "defaults.registry",
    "group": "defaults.group",
    "location": "defaults.location",
}
AZ_ALIAS = "defaults.acr"  # [defaults] acr = ..., as az's own config file spells it


def defaults_table(data: Any) -> list[dict[str, Any]]:
    return [{"Name": r["name"], "Source": r["source"], "Value": r["value"]} for r in data]


def _usage(message: str) -> Exception:
    from acrctl.client.errors import UsageError

    return UsageError(message)


def _parse(pairs: tuple[str, ...]) -> list[tuple[str, str]]:
    out = []
    for pair in pairs:
        raw, sep, value = pair.partition("=")
        name = raw.strip().lower().removeprefix("defaults.")
        if not sep or name not in NAMES:
            raise _usage(
                f"usage error: --defaults takes NAME=VALUE pairs with NAME one of "
                f"{', '.join(NAMES)}; got '{pair}'."
            )
        out.append((NAMES[name], value.strip()))
    return out


def _forget_az_alias() -> None:
    """Drop a `[defaults] acr` line, which would otherwise still apply once cleared."""
    if config.get(AZ_ALIAS, use_env=False) is None:
        return
    cp = config._read()
    cp.remove_option("defaults", "acr")
    config._write(cp)


def _listing() -> list[dict[str, str]]:
    rows = []
    for key in sorted(set(NAMES.values())):
        env = config.KEYS[key]
        if os.environ.get(env):
            rows.append(
                {"name": key.removeprefix("defaults."), "source": env, "value": os.environ[env]}
            )
            continue
        value = config.get(key, use_env=False)
        if value is None and key == "defaults.registry":
            value = config.get(AZ_ALIAS, use_env=False)
        if value:
            rows.append(
                {
                    "name": key.removeprefix("defaults."),
                    "source": config.config_path(),
                    "value": value,
                }
            )
    return rows


@click.command("configure", cls=AzCommand, table=defaults_table)
@click.option(
    "-d",
    "--defaults",
    "pairs",
    cls=GreedyOption,
    default=None,
    metavar="NAME=VALUE...",
    help="Space-separated NAME=VALUE defaults: acr (or registry), group, location. "
    "An empty value clears one.",
)
@click.option(
    "-l",
    "--list-defaults",
    is_flag=True,
    default=False,
    help="List the defaults that are set and where each comes from.",
)
def configure(pairs: tuple[str, ...] | None, list_defaults: bool) -> Any:
    """Set the defaults used when -r/-n, -g or -l is left out (az configure's --defaults).

    `acr` is az's name for the default registry; acrctl keeps it as defaults.registry
    (`acrctl config get defaults.registry`). ACRCTL_DEFAULTS_* environment variables win
    over these values.

    \b
    Examples:
      Use a default registry and resource group:
        acrctl configure --defaults acr=myregistry group=MyResourceGroup
      Show the defaults that are set:
        acrctl configure --list-defaults -o table
      Clear the default registry:
        acrctl configure --defaults acr=''
    """
    # a GreedyOption's items (click 8.2+ may hand over a sentinel when it has none)
    items = tuple(v for v in pairs or () if isinstance(v, str))
    if not items and not list_defaults:
        raise _usage("usage error: give --defaults NAME=VALUE [NAME=VALUE ...] or --list-defaults.")
    for key, value in _parse(items):
        if value:
            config.set_value(key, value)
        else:
            config.unset(key)
        if key == "defaults.registry":
            _forget_az_alias()
    return _listing() if list_defaults else None
