"""The webhook group's tables and options (acrctl.cli.webhook): the table rows, --actions,
the webhook properties a create or update sends, the location check, the shared options."""

from __future__ import annotations

import difflib
from typing import Any

import click

from acrctl.cli.az_models import az_cell
from acrctl.cli.child_options import enum_option, greedy_items
from acrctl.cli.env import Env
from acrctl.cli.options import (
    GreedyOption,
    no_wait_option,
    parse_pairs,
    tags_option,
)
from acrctl.client.errors import AcrctlError, UsageError

ACTIONS = ("chart_delete", "chart_push", "delete", "push", "quarantine")
STATUSES = ("disabled", "enabled")
MANAGED = ("Basic", "Standard", "Premium")


WEBHOOK = "Webhook"  # the SDK model az prints (acrctl.cli.az_models)


def webhook_table(data: Any) -> list[dict[str, Any]]:
    rows = data if isinstance(data, list) else [data]
    return [
        {
            "NAME": az_cell(r, "name"),
            "LOCATION": az_cell(r, "location"),
            "ACTIONS": az_cell(r, "actions"),
            "SCOPE": az_cell(r, "scope"),
            "STATUS": az_cell(r, "status"),
        }
        for r in rows
    ]


def config_table(data: Any) -> list[dict[str, Any]]:
    return [{"SERVICE URI": az_cell(data, "serviceUri"), "HEADERS": az_cell(data, "customHeaders")}]


def _actions(values: tuple[str, ...] | None) -> list[str] | None:
    """az's --actions enum, checked item by item (case-insensitive, exit 2)."""
    values = greedy_items(values)
    if values is None:
        return None
    if not values:
        raise UsageError("argument --actions: expected at least one argument")
    out = []
    for value in values:
        if value.lower() not in ACTIONS:
            hint = difflib.get_close_matches(value.lower(), ACTIONS, n=1)
            raise UsageError(
                f"'{value}' is not a valid value for '--actions'. Allowed values: "
                f"{', '.join(ACTIONS)}." + (f"\nDid you mean '{hint[0]}' ?" if hint else "")
            )
        out.append(value.lower())
    return out


def _props(
    uri: str | None,
    actions: list[str] | None,
    headers: tuple[str, ...] | None,
    scope: str | None,
    status: str | None,
    secret: str | None,
) -> dict[str, Any]:
    """The properties that were given, named as the REST API names them."""
    given = {
        "serviceUri": uri,
        "actions": actions,
        "customHeaders": parse_pairs(greedy_items(headers)),
        "scope": scope,
        "status": status,
        "signingSecret": secret,
    }
    return {k: v for k, v in given.items() if v is not None}


def _check_location(env: Env, rg: str, registry: str, reg: Any, location: str) -> str:
    """acrctl's guard against az's misleading RegistryResourceNotFound (azure-cli#26676):
    the location must be the registry's home or one of its replica regions."""
    from acrctl.backend.regions import normalize

    allowed = [reg.location or ""]
    if normalize(location) == normalize(allowed[0]):
        return location
    if reg.sku.name == "Premium":
        allowed += [
            r.location or ""
            for r in env.client().list_replications(rg, registry)
            if r.location not in allowed
        ]
    if normalize(location) not in {normalize(a) for a in allowed}:
        raise AcrctlError(
            f"A webhook of registry '{registry}' can't be created in '{location}': it must be "
            f"in the registry's home region or one of its replica regions "
            f"({', '.join(allowed)})."
        )
    return location


def _webhook_options(create: bool) -> Any:
    def decorate(f: Any) -> Any:
        for decorator in reversed(
            (
                click.option(
                    "--uri", required=create, help="The service URI that receives POST events."
                ),
                click.option(
                    "--actions",
                    cls=GreedyOption,
                    required=create,
                    help="Space-separated actions that trigger the webhook: "
                    + ", ".join(ACTIONS)
                    + ".",
                ),
                click.option(
                    "--headers",
                    cls=GreedyOption,
                    default=None,
                    help="Space-separated custom headers key[=value] sent with each "
                    "event. Use '' to clear them.",
                ),
                click.option(
                    "--scope",
                    default=None,
                    help="Repository filter: 'foo:*' (all tags), 'foo:bar' or 'foo' "
                    "(foo:latest). Empty means every repository.",
                ),
                enum_option(
                    "--status",
                    allowed=STATUSES,
                    default="enabled" if create else None,
                    help="Whether the webhook is enabled."
                    + (" Default: enabled." if create else ""),
                ),
                click.option(
                    "--signing-secret",
                    default=None,
                    help="acrctl: an HMAC secret to sign deliveries with (write-only)."
                    + ("" if create else " Use '' to remove it."),
                ),
                tags_option(),
                no_wait_option(),
            )
        ):
            f = decorator(f)
        return f

    return decorate
