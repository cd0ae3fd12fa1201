"""`acrctl admin`: operator commands. `admin drill` starts, lists and clears failure drills
(region outages, replica outages, throttling, latency) on the backend, so scripts can be
rehearsed against the failures Azure's geo-replication documentation warns about. An acrctl
extension; the caller needs Microsoft.Authorization/elevateAccess/Action (Owner) at the
subscription. See docs/drills.md."""

from __future__ import annotations

from typing import Any

import click

from acrctl.cli.admin_options import (
    drill_table,
    duration_option,
    name_option,
    region_option,
    scope_options,
    scope_props,
)
from acrctl.cli.base import AzGroup
from acrctl.cli.env import Env


def _env() -> Env:
    return click.get_current_context().obj  # type: ignore[no-any-return]


def _start(name: str, props: dict[str, Any], duration: int | None) -> Any:
    if duration:
        props["durationSeconds"] = duration
    return _env().client().put_drill(name, props)


def _slug(region: str) -> str:
    return "".join(region.split()).lower()


# -- the commands ------------------------------------------------------------------------------
@click.group("admin", cls=AzGroup)
def group() -> None:
    """Operator commands: failure drills.

    These are acrctl extensions (az has no equivalent). They need the Owner role
    (Microsoft.Authorization/elevateAccess/Action) at the subscription.
    """


@group.group("drill", cls=AzGroup)
def drill() -> None:
    """Rehearse failures: region outages, replica outages, throttling and latency.

    A drill applies to every request in the subscription, on every server instance that
    shares the database, until it is cleared (`acrctl admin drill clear`). See
    docs/drills.md for a rehearsal of a home-region outage.
    """


@drill.command("region-outage", table=drill_table)
@region_option()
@name_option("region-outage-REGION")
@click.option(
    "--retry-after",
    type=click.IntRange(1, 3600),
    default=60,
    show_default=True,
    metavar="SECONDS",
    help="The Retry-After of the 503 answers. acrctl's client "
    "waits up to 300 s in all: above that it fails at once.",
)
@click.option(
    "--fail-reads",
    is_flag=True,
    default=False,
    help="Fail GETs of registries homed in the region (and of their replications "
    "and webhooks) too. Default: reads keep working.",
)
@duration_option
def region_outage(
    region: str, name: str | None, retry_after: int, fail_reads: bool, duration: int | None
) -> Any:
    """Take a region down: management of registries homed there fails with 503.

    PUT, PATCH, DELETE and POST requests on a registry whose home region is REGION, on its
    replications and webhooks, and on any resource located in REGION answer 503
    RegionUnavailable with Retry-After. GETs keep working (unless --fail-reads), and every
    replica in REGION, the home replica included, shows status Unavailable; replicas in
    other regions keep their own status. A running data plane stops REGION's registry
    while the drill lasts: pushes and pulls go to the nearest other replica.

    \b
    Examples:
      Rehearse an outage of West US; fail fast in acrctl (Retry-After above its budget):
        acrctl admin drill region-outage --region westus --retry-after 600
      End it:
        acrctl admin drill clear --name region-outage-westus
    """
    props: dict[str, Any] = {"kind": "RegionOutage", "region": region, "retryAfter": retry_after}
    if fail_reads:
        props["failReads"] = True
    return _start(name or f"region-outage-{_slug(region)}", props, duration)


@drill.command("replica-outage", table=drill_table)
@region_option()
@name_option("replica-outage-REGION")
@duration_option
def replica_outage(region: str, name: str | None, duration: int | None) -> Any:
    """Take the replicas in a region down, without blocking management.

    Every replica in REGION (a home replica too) shows status Unavailable in `replication
    list` and `replication show`; no management request is refused. A running data plane
    stops REGION's registry while the drill lasts: pushes and pulls go to the nearest
    other replica.

    \b
    Examples:
      Rehearse the loss of the East US replicas:
        acrctl admin drill replica-outage --region eastus
        acrctl replication list -r myregistry -o table
    """
    return _start(
        name or f"replica-outage-{_slug(region)}",
        {"kind": "ReplicaOutage", "region": region},
        duration,
    )


@drill.command("throttle", table=drill_table)
@click.option(
    "--every",
    type=click.IntRange(1),
    default=None,
    metavar="N",
    help="Throttle every Nth matching request (deterministic).",
)
@click.option(
    "--count",
    type=click.IntRange(1),
    default=None,
    metavar="N",
    help="Throttle the next N matching requests, then let everything through.",
)
@click.option(
    "--fraction",
    type=click.FloatRange(0, 1, min_open=True),
    default=None,
    metavar="F",
    help="Throttle a random fraction F (0-1] of matching requests.",
)
@scope_options
@click.option(
    "--retry-after",
    type=click.IntRange(0, 3600),
    default=10,
    show_default=True,
    metavar="SECONDS",
    help="The Retry-After of the 429 answers (0 only with --count, or --every 2 or more).",
)
@name_option("throttle")
@duration_option
def throttle(
    every: int | None,
    count: int | None,
    fraction: float | None,
    route: str | None,
    methods: tuple[str, ...],
    principal: str | None,
    retry_after: int,
    name: str | None,
    duration: int | None,
) -> Any:
    """Throttle requests: 429 ResourceRequestsThrottled with Retry-After.

    Give one of --every, --count and --fraction; with none, every matching request is
    throttled. `admin drill list` shows how many requests matched and were throttled.

    \b
    Examples:
      Throttle the next two requests (acrctl retries after Retry-After):
        acrctl admin drill throttle --count 2 --retry-after 1
      Throttle every third write to replications:
        acrctl admin drill throttle --every 3 --route '*/replications/*' --method PUT
    """
    from acrctl.client.errors import UsageError

    if sum(v is not None for v in (every, count, fraction)) > 1:
        raise UsageError("usage error: --every | --count | --fraction")
    props: dict[str, Any] = {
        "kind": "Throttle",
        "retryAfter": retry_after,
        **scope_props(route, methods, principal),
    }
    if count is not None:
        props["count"] = count
    elif fraction is not None:
        props["fraction"] = fraction
    else:
        props["every"] = every or 1
    return _start(name or "throttle", props, duration)


@drill.command("latency", table=drill_table)
@click.option(
    "--ms",
    type=click.IntRange(1, 60000),
    required=True,
    help="Milliseconds to add to each matching request (at most 60000).",
)
@scope_options
@name_option("latency")
@duration_option
def latency(
    ms: int,
    route: str | None,
    methods: tuple[str, ...],
    principal: str | None,
    name: str | None,
    duration: int | None,
) -> Any:
    """Delay requests by a number of milliseconds.

    Several latency drills that match a request add up (to at most 60 s).

    \b
    Examples:
      Add half a second to every request:
        acrctl admin drill latency --ms 500
      Slow down only replication reads:
        acrctl admin drill latency --ms 2000 --route '*/replications*' --method GET
    """
    return _start(
        name or "latency",
        {"kind": "Latency", "ms": ms, **scope_props(route, methods, principal)},
        duration,
    )


@drill.command("list", table=drill_table)
def list_() -> Any:
    """List the failure drills of the subscription, active or not.

    \b
    Examples:
      List the drills as a table:
        acrctl admin drill list -o table
    """
    return _env().client().list_drills()


@drill.command("show", table=drill_table)
@click.option("-n", "--name", "name", required=True, help="The drill's name.")
def show(name: str) -> Any:
    """Show one failure drill, with its counters.

    \b
    Examples:
      How many requests did the throttle drill refuse?
        acrctl admin drill show --name throttle --query throttledRequests
    """
    return _env().client().get_drill(name)


@drill.command("clear", table=drill_table)
@click.option("-n", "--name", "name", default=None, help="Clear the drill with this name.")
@click.option("--all", "all_", is_flag=True, default=False, help="Clear every drill.")
def clear(name: str | None, all_: bool) -> Any:
    """Clear (end) one failure drill or all of them; prints what was cleared.

    Clearing a drill that does not exist is not an error (a warning), so cleanup steps
    can run unconditionally.

    \b
    Examples:
      End the West US outage:
        acrctl admin drill clear --name region-outage-westus
      End every drill:
        acrctl admin drill clear --all
    """
    from acrctl.client.errors import UsageError

    if bool(name) == all_:
        raise UsageError("usage error: --name NAME | --all")
    env = _env()
    if all_:
        return env.client().clear_drills()
    doc = env.client().delete_drill(str(name))
    if doc is None:
        env.warn(f"There is no failure drill named '{name}'; nothing to clear.")
        return []
    return [doc]
