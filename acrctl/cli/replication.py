"""az acr replication: create, list, show, update, delete, plus acrctl's wait and map.

Also home to the polling loop behind `wait`, which the webhook group shares. The helpers
both groups share are in acrctl.cli.child_options, the replication tables and options in
acrctl.cli.replication_options (all importable from here too)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import click

from acrctl.cli.az_models import az_result
from acrctl.cli.base import AzGroup
from acrctl.cli.child_options import (  # noqa: F401
    _env,
    enum_option,
    enum_value,
    greedy_items,
    resolve_location,
    target,
)
from acrctl.cli.generic_update import apply_generic, generic_update_options, policy_options
from acrctl.cli.options import (
    group_option,
    location_option,
    name_option,
    no_wait_option,
    parse_pairs,
    registry_option,
    tags_option,
)
from acrctl.cli.replication_options import (  # noqa: F401
    DEPRECATED,
    PREMIUM_ONLY,
    PREVIEW,
    REPLICATION,
    SAME_LOCATION,
    _endpoint,
    _premium,
    endpoint_options,
    replication_table,
)
from acrctl.client.errors import AcrctlError, NotFoundError, UsageError

# The polling loop's clock and sleep, module attributes so tests can replace them.
_clock: Callable[[], float] = time.monotonic
_sleep: Callable[[float], None] = time.sleep


def wait_for(
    get: Callable[[], Any],
    condition: str | None,
    timeout: float,
    interval: float,
    what: str,
    tick: Callable[[str], None] | None = None,
) -> None:
    """Poll `get` (a GET of the resource) until `condition` holds: created/updated mean
    provisioningState Succeeded, deleted means a 404. Raises on Failed and on timeout.
    `tick` (the spinner) is called before each wait."""
    if condition is None:
        raise UsageError("incorrect usage: --created | --updated | --deleted")

    def done() -> bool:
        try:
            state = get().properties.provisioning_state
        except NotFoundError:
            return condition == "deleted"
        if condition == "deleted":
            return False
        if state in ("Failed", "Canceled"):
            raise AcrctlError(f"The {what} ended in provisioning state {state}.")
        return bool(state == "Succeeded")

    deadline = _clock() + timeout
    while not done():
        remaining = deadline - _clock()
        if remaining <= 0:
            raise AcrctlError(
                f"Timed out after {timeout:g} seconds waiting for {what} to be {condition}."
            )
        if tick is not None:
            tick("Running")
        _sleep(min(interval, remaining))


def wait_options(f: Callable[..., Any]) -> Callable[..., Any]:
    for decorator in reversed(
        (
            click.option(
                "--created",
                "condition",
                flag_value="created",
                help="Wait until created with provisioningState 'Succeeded'.",
            ),
            click.option(
                "--updated",
                "condition",
                flag_value="updated",
                help="Wait until updated with provisioningState 'Succeeded'.",
            ),
            click.option(
                "--deleted", "condition", flag_value="deleted", help="Wait until deleted."
            ),
            click.option(
                "--timeout",
                type=click.FloatRange(min=0),
                default=3600.0,
                metavar="SECONDS",
                help="Maximum wait in seconds. Default: 3600.",
            ),
            click.option(
                "--interval",
                type=click.FloatRange(min=0, min_open=True),
                default=1.0,
                metavar="SECONDS",
                help="Polling interval in seconds. Default: 1.",
            ),
        )
    ):
        f = decorator(f)
    return f


@click.group("replication", cls=AzGroup)
def group() -> None:
    """Manage geo-replicated regions of Azure Container Registries (Premium only)."""


@group.command("create", table=replication_table)
@registry_option()
@location_option(
    'Location, e.g. eastus or "East US". Default: config defaults.location.', required=True
)
@name_option("The name of the replication. Default: the location, e.g. eastus.", required=False)
@group_option()
@endpoint_options
@enum_option(
    "--zone-redundancy",
    allowed=("Disabled", "Enabled"),
    help="Zone redundancy (preview). Cannot be updated later. Default: Disabled.",
)
@tags_option()
@no_wait_option()
@policy_options
def create(
    registry: str,
    location: str,
    name: str | None,
    resource_group: str | None,
    global_endpoint_routing: str | None,
    region_endpoint_enabled: str | None,
    zone_redundancy: str | None,
    tags: tuple[str, ...] | None,
    no_wait: bool,
) -> Any:
    """Create a replicated region for an Azure Container Registry.

    \b
    Examples:
      Create a replication in East US (named eastus):
        acrctl replication create -r myregistry -l eastus
      Create a replication without a regional endpoint and return at once:
        acrctl replication create -r myregistry -l "West Europe" \\
          --global-endpoint-routing false --no-wait
    """
    from acrctl.backend.regions import normalize

    env = _env()
    if zone_redundancy:
        env.warn(PREVIEW)
    endpoint = _endpoint(env, global_endpoint_routing, region_endpoint_enabled)
    env, rg, registry = target(registry, resource_group)
    reg = _premium(env, rg, registry)
    location = resolve_location(location)
    if normalize(location) == normalize(reg.location or ""):
        raise AcrctlError(SAME_LOCATION)
    props: dict[str, Any] = {}
    if endpoint is not None:
        props["regionEndpointEnabled"] = endpoint
    if zone_redundancy:
        props["zoneRedundancy"] = zone_redundancy
    body: dict[str, Any] = {"location": location, "properties": props}
    if tags is not None:
        body["tags"] = parse_pairs(greedy_items(tags))
    result = env.client().create_replication(
        rg, registry, name or normalize(location), body, wait=not no_wait
    )
    return None if no_wait else az_result(REPLICATION, result)


@group.command("list", table=replication_table)
@registry_option()
@group_option()
def list_(registry: str, resource_group: str | None) -> Any:
    """List the replications of a registry, the home replica included.

    \b
    Examples:
      List replications as a table:
        acrctl replication list -r myregistry -o table
    """
    env, rg, registry = target(registry, resource_group)
    _premium(env, rg, registry)
    return az_result(REPLICATION, env.client().list_replications(rg, registry))


@group.command("show", table=replication_table)
@registry_option()
@name_option("The name of the replication.", "replication")
@group_option()
def show(registry: str, name: str, resource_group: str | None) -> Any:
    """Get the details of a replication.

    \b
    Examples:
      Show the status of the eastus replication:
        acrctl replication show -r myregistry -n eastus --query status.displayStatus
    """
    env, rg, registry = target(registry, resource_group)
    _premium(env, rg, registry)
    return az_result(REPLICATION, env.client().get_replication(rg, registry, name))


@group.command("update", table=replication_table)
@registry_option()
@name_option("The name of the replication.", "replication")
@group_option()
@endpoint_options
@tags_option()
@no_wait_option()
@generic_update_options
@policy_options
def update(
    registry: str,
    name: str,
    resource_group: str | None,
    global_endpoint_routing: str | None,
    region_endpoint_enabled: str | None,
    tags: tuple[str, ...] | None,
    no_wait: bool,
    set_: tuple[tuple[str, ...], ...],
    add: tuple[tuple[str, ...], ...],
    remove: tuple[tuple[str, ...], ...],
    force_string: bool,
) -> Any:
    """Update a replication (regional endpoint routing, tags). Without flags, print it.

    As in az, only regionEndpointEnabled and tags are sent: anything else set through
    --set/--add/--remove is silently dropped.

    \b
    Examples:
      Turn off the regional endpoint of a replica:
        acrctl replication update -r myregistry -n eastus --global-endpoint-routing false
      Replace the tags:
        acrctl replication update -r myregistry -n eastus --tags team=infra
      The same with generic update arguments:
        acrctl replication update -r myregistry -n eastus --set regionEndpointEnabled=false
    """
    env = _env()
    endpoint = _endpoint(env, global_endpoint_routing, region_endpoint_enabled)
    env, rg, registry = target(registry, resource_group)
    body: dict[str, Any] = {}
    if endpoint is not None:
        body["properties"] = {"regionEndpointEnabled": endpoint}
    if tags is not None:
        body["tags"] = parse_pairs(greedy_items(tags))
    client = env.client()
    apply_generic(
        body,
        set_,
        add,
        remove,
        force_string,
        current=lambda: client.get_replication(rg, registry, name).to_arm(),
    )
    # az's setter rebuilds the body from these two fields only.
    patch: dict[str, Any] = {"tags": body["tags"]} if "tags" in body else {}
    props = body.get("properties")
    if isinstance(props, dict) and "regionEndpointEnabled" in props:
        patch["properties"] = {"regionEndpointEnabled": props["regionEndpointEnabled"]}
    result = env.client().update_replication(rg, registry, name, patch, wait=not no_wait)
    return None if no_wait else az_result(REPLICATION, result)


@group.command("delete")
@registry_option()
@name_option("The name of the replication.", "replication")
@group_option()
@no_wait_option()
@policy_options
def delete(registry: str, name: str, resource_group: str | None, no_wait: bool) -> None:
    """Delete a replication (the home replica cannot be deleted).

    \b
    Examples:
      Delete the eastus replication:
        acrctl replication delete -r myregistry -n eastus
    """
    env, rg, registry = target(registry, resource_group)
    _premium(env, rg, registry)
    env.client().delete_replication(rg, registry, name, wait=not no_wait)


# `replication sync` lives in its own module; attached last, so that module can use the
# helpers above (it imports them lazily: no import cycle either way).
from acrctl.cli.replication_sync import sync as _sync  # noqa: E402

group.add_command(_sync)

from acrctl.cli.replication_status import status as _status  # noqa: E402

group.add_command(_status)

from acrctl.cli.replication_wait import wait as _wait  # noqa: E402

group.add_command(_wait)

from acrctl.cli.replication_verify import verify as _verify  # noqa: E402

group.add_command(_verify)

from acrctl.cli.replication_map import map_ as _map  # noqa: E402

group.add_command(_map)
