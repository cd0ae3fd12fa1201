"""`acrctl config set|get|unset`: acrctl's defaults (az config's shape).

Values resolve flag > ACRCTL_* environment > config file > built-in default; `get` says
which of environment and file a value came from."""

from __future__ import annotations

import os
from typing import Any

import click

from acrctl.cli import config
from acrctl.cli.base import OUTPUTS, AzGroup

KNOWN = ", ".join(sorted(config.KEYS))
CHOICES = {"core.output": OUTPUTS, "core.token_store": ("keyring", "file")}


def config_table(data: Any) -> list[dict[str, Any]]:
    rows = data if isinstance(data, list) else [data]
    return [{"Name": r["name"], "Value": r["value"], "Source": r["source"]} for r in rows]


def _usage(message: str) -> Exception:
    from acrctl.client.errors import UsageError

    return UsageError(message)


ALIASES = {"defaults.acr": "defaults.registry"}  # az's name for the default registry


def _key(raw: str) -> str:
    key = raw.strip().lower()
    key = ALIASES.get(key, key)
    config.check_key(key)  # unknown key: usage error, exit 2
    return key


def _validate(key: str, value: str) -> str:
    if key in CHOICES and value:
        if value.lower() not in CHOICES[key]:
            raise _usage(
                f"Invalid value '{value}' for {key}. Allowed values: {', '.join(CHOICES[key])}."
            )
        return value.lower()
    if (
        key == "core.endpoint"
        and value
        and value != "embedded"
        and not value.startswith(("http://", "https://"))
    ):
        raise _usage(
            f"Invalid value '{value}' for core.endpoint: use an http(s) URL or 'embedded'."
        )
    return value


def _complete_keys(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[str]:
    return [k for k in sorted(config.KEYS) if k.startswith(incomplete.lower())]


def _entry(key: str) -> dict[str, str] | None:
    env = config.KEYS.get(key)
    if env and os.environ.get(env):
        return {"name": key, "value": os.environ[env], "source": "env"}
    value = config.get(key, use_env=False)
    return {"name": key, "value": value, "source": "file"} if value else None


@click.group("config", cls=AzGroup)
def group() -> None:
    """Manage acrctl's defaults.

    Defaults for the registry, resource group, location, output format, endpoint and
    subscription. Values resolve in this order: command-line flag, ACRCTL_* environment
    variable (e.g. ACRCTL_DEFAULTS_GROUP, ACRCTL_CORE_OUTPUT, ACRCTL_ENDPOINT), the config
    file ($ACRCTL_CONFIG_DIR/config, else $XDG_CONFIG_HOME/acrctl/config), built-in default.

    \b
    Examples:
      acrctl config set defaults.registry=myregistry defaults.group=MyResourceGroup
      acrctl config get -o table
    """


@group.command("set")
@click.argument("pairs", nargs=-1, required=True, metavar="KEY=VALUE...")
def set_(pairs: tuple[str, ...]) -> None:
    """Set configuration values.

    Writes the config file (mode 0600). Keys: defaults.registry, defaults.group,
    defaults.location, core.output (json, jsonc, yaml, yamlc, table, tsv or none),
    core.endpoint (an http(s) URL or "embedded"), core.subscription, core.token_store
    (keyring or file). An empty value removes the key.

    \b
    Examples:
      Use a default registry and resource group:
        acrctl config set defaults.registry=myregistry defaults.group=MyResourceGroup
      Print tables by default:
        acrctl config set core.output=table
    """
    updates: list[tuple[str, str]] = []
    for pair in pairs:
        raw, sep, value = pair.partition("=")
        if not sep:
            raise _usage(f"Expected KEY=VALUE, got '{pair}'. Known keys: {KNOWN}.")
        key = _key(raw)
        updates.append((key, _validate(key, value.strip())))
    for key, value in updates:
        if value:
            config.set_value(key, value)
        else:
            config.unset(key)


@group.command("get", table=config_table)
@click.argument("key", required=False, shell_complete=_complete_keys)
def get(key: str | None) -> Any:
    """Show configuration values and where they come from.

    With KEY, shows that value; without, every value that is set. The source is "env" (an
    ACRCTL_* environment variable, which wins over the file) or "file".

    \b
    Examples:
      Show the default registry:
        acrctl config get defaults.registry
      Show everything that is set as a table:
        acrctl config get -o table
    """
    if key is not None:
        key = _key(key)
        entry = _entry(key)
        if entry is None:
            from acrctl.client.errors import AcrctlError

            raise AcrctlError(f"Configuration '{key}' is not set.")
        return entry
    in_file = config.items()
    names = set(in_file) | {k for k, env in config.KEYS.items() if os.environ.get(env)}
    entries = [
        _entry(k) if k in config.KEYS else {"name": k, "value": in_file[k], "source": "file"}
        for k in sorted(names)
    ]
    return [e for e in entries if e]


@group.command("unset")
@click.argument("keys", nargs=-1, required=True, metavar="KEY...", shell_complete=_complete_keys)
def unset(keys: tuple[str, ...]) -> None:
    """Remove configuration values.

    Removes the keys from the config file. Environment variables still apply; unsetting a
    key that is not set is not an error.

    \b
    Examples:
      Forget the default registry and group:
        acrctl config unset defaults.registry defaults.group
    """
    for key in [_key(k) for k in keys]:
        config.unset(key)
