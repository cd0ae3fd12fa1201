"""The replication group's tables, pre-checks and options (acrctl.cli.replication): the table
rows, the Premium pre-check, --global-endpoint-routing and its deprecated alias."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from acrctl.cli.az_models import az_cell
from acrctl.cli.env import Env
from acrctl.cli.options import three_state
from acrctl.client.errors import AcrctlError, UsageError

PREMIUM_ONLY = "Replications are only supported for managed registries in Premium SKU."
SAME_LOCATION = "Replication could not be created in the same location as the registry."
PREVIEW = (
    "Argument '--zone-redundancy' is in preview and under development. "
    "Reference and support levels: https://aka.ms/CLI_refstatus"
)
DEPRECATED = (
    "Option '--region-endpoint-enabled' has been deprecated and will be removed in "
    "a future release. Use '--global-endpoint-routing' instead."
)


REPLICATION = "Replication"  # the SDK model az prints (acrctl.cli.az_models)


def replication_table(data: Any) -> list[dict[str, Any]]:
    rows = data if isinstance(data, list) else [data]
    return [
        {
            "NAME": az_cell(r, "name"),
            "LOCATION": az_cell(r, "location"),
            "PROVISIONING STATE": az_cell(r, "provisioningState"),
            "STATUS": az_cell(r, "status", "displayStatus"),
            "REGION ENDPOINT ENABLED": az_cell(r, "regionEndpointEnabled"),
        }
        for r in rows
    ]


def _premium(env: Env, rg: str, registry: str) -> Any:
    """az's pre-check: the one registry GET of the command."""
    reg = env.client().get_registry(rg, registry)
    if reg.sku.name != "Premium":
        raise AcrctlError(PREMIUM_ONLY)
    return reg


def _endpoint(env: Env, routing: str | None, legacy: str | None) -> bool | None:
    new, old = three_state(routing), three_state(legacy)
    if old is not None:
        env.warn(DEPRECATED)
        if new is not None and new != old:
            raise UsageError(
                "usage error: --global-endpoint-routing and its deprecated alias "
                "--region-endpoint-enabled were given different values."
            )
    return new if new is not None else old


def endpoint_options(f: Callable[..., Any]) -> Callable[..., Any]:
    f = click.option(
        "--region-endpoint-enabled",
        "region_endpoint_enabled",
        is_flag=False,
        flag_value="true",
        default=None,
        hidden=True,
        help="Deprecated alias of --global-endpoint-routing.",
    )(f)
    return click.option(
        "--global-endpoint-routing",
        "global_endpoint_routing",
        is_flag=False,
        flag_value="true",
        default=None,
        metavar="[true|false]",
        help="Route requests through the regional endpoint of this replica "
        "(regionEndpointEnabled). Default: true.",
    )(f)
