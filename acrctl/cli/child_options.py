"""Helpers the child-resource groups share (acrctl.cli.replication, acrctl.cli.webhook):
az-style enum validation, location display-name mapping, the registry a child command
works on."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import click

from acrctl.cli.env import Env, group_for
from acrctl.cli.options import normalize_registry
from acrctl.client.errors import UsageError


def _env() -> Env:
    return click.get_current_context().obj  # type: ignore[no-any-return]


def greedy_items(values: tuple[Any, ...] | None) -> tuple[str, ...] | None:
    """A GreedyOption's items. Works around click 8.2+, which hands a valueless option's
    FLAG_NEEDS_VALUE sentinel through GreedyOption: `--tags` alone must mean no items."""
    return None if values is None else tuple(v for v in values if isinstance(v, str))


def enum_value(value: str, allowed: Sequence[str], flag: str) -> str:
    """az's case-insensitive enum: the canonical spelling, or az's usage error (exit 2)."""
    for choice in allowed:
        if choice.lower() == value.lower():
            return choice
    raise UsageError(
        f"'{value}' is not a valid value for '{flag}'. "
        f"Allowed values: {', '.join(sorted(allowed))}."
    )


def enum_option(*decls: str, allowed: Sequence[str], help: str, **kw: Any) -> Any:
    def check(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
        return None if value is None else enum_value(value, allowed, decls[-1])

    return click.option(
        *decls,
        default=kw.pop("default", None),
        callback=check,
        metavar="[" + "|".join(allowed) + "]",
        help=help,
        **kw,
    )


def resolve_location(value: str) -> str:
    """`West US`, `WestUS` and `westus` all become `westus` (the local region catalog);
    an unknown name passes through for the service to judge."""
    from acrctl.backend import regions

    region = regions.lookup(value)
    return str(region["name"]) if region else value


def target(registry: str, resource_group: str | None) -> tuple[Env, str, str]:
    """The Env, resource group and registry name a child command works on."""
    env = _env()
    name = normalize_registry(registry) or registry
    return env, group_for(env, name, resource_group), name
