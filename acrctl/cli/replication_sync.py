"""`acrctl replication sync`: bring a registry's replicas to a layout kept in code (an
acrctl extension). Attached to the `replication` group at the end of acrctl.cli.replication;
the plan itself is computed by acrctl.sync."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import click

from acrctl.cli.base import AzCommand
from acrctl.cli.options import GreedyOption, group_option, registry_option

if TYPE_CHECKING:
    from acrctl.cli.env import Env
    from acrctl.sync import Outcome, Step


def _cell(value: Any) -> Any:
    return value if value not in (None, "") else " "


def _changes(changes: dict[str, Any]) -> str:
    import json

    def show(v: Any) -> str:
        return "-" if v is None else json.dumps(v, sort_keys=True)

    return "; ".join(f"{k}: {show(b)} -> {show(a)}" for k, (b, a) in changes.items())


def sync_table(data: Any) -> list[dict[str, Any]]:
    rows = data if isinstance(data, list) else [data]
    return [
        {
            "ACTION": r.get("action"),
            "NAME": r.get("name"),
            "LOCATION": r.get("location"),
            "CHANGES": _cell(_changes(r.get("changes") or {})),
            "STATUS": _cell(r.get("status")),
            "ERROR": _cell(r.get("error")),
        }
        for r in rows
    ]


def _stdout_is_tty() -> bool:
    return sys.stdout.isatty()


def _read_layout(path: str) -> Any:
    """A layout file: JSON (.json) or YAML (anything else; JSON is YAML too); '-' is stdin."""
    from acrctl.client.errors import AcrctlError

    try:
        if path == "-":
            text = sys.stdin.read()
        else:
            with open(path, encoding="utf-8") as f:
                text = f.read()
    except OSError as exc:
        raise AcrctlError(f"Cannot read the layout file '{path}': {exc.strerror}.") from None
    if path.lower().endswith(".json"):
        import json

        try:
            return json.loads(text)
        except ValueError as exc:
            raise AcrctlError(f"The layout file '{path}' is not valid JSON: {exc}.") from None
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise AcrctlError(f"The layout file '{path}' is not valid YAML: {exc}") from None


def _desired(locations: tuple[str, ...] | None, layout_file: str | None) -> list[Any]:
    from acrctl.cli.replication import greedy_items, resolve_location
    from acrctl.client.errors import AcrctlError, UsageError
    from acrctl.sync import LayoutError, Replica, parse_layout

    items = greedy_items(locations)
    if (items is None) == (layout_file is None):
        raise UsageError(
            "usage error: give the layout with --locations or with --file (one of them)."
        )
    try:
        if items is not None:
            desired = [Replica(loc) for loc in items]
        else:
            desired = parse_layout(_read_layout(str(layout_file)), str(layout_file))
    except LayoutError as exc:
        raise AcrctlError(str(exc)) from None
    return [
        Replica(resolve_location(d.location), d.name, d.region_endpoint_enabled, d.tags)
        for d in desired
    ]


@click.command("sync", cls=AzCommand, table=sync_table)
@registry_option()
@group_option()
@click.option(
    "--locations",
    cls=GreedyOption,
    default=None,
    metavar="LOCATION...",
    help="Space-separated regions the registry should have replicas in, e.g. "
    "eastus westeurope. The home region may be listed or not.",
)
@click.option(
    "--file",
    "layout_file",
    default=None,
    metavar="PATH",
    help='A layout file (JSON or YAML, \'-\' for stdin): {"locations": ["eastus", '
    '{"location": "westeurope", "regionEndpointEnabled": false, "tags": '
    "{...}}]}. Fields left out are left as they are.",
)
@click.option(
    "--prune",
    is_flag=True,
    default=False,
    help="Delete replicas the layout does not list (never the home replica); asks "
    "first on a terminal.",
)
@click.option(
    "-y",
    "--yes",
    is_flag=True,
    default=False,
    help="Do not prompt for confirmation of --prune's deletes.",
)
@click.option("--dry-run", is_flag=True, default=False, help="Print the plan and change nothing.")
@click.option(
    "--max-parallel",
    type=click.IntRange(1, 32),
    default=4,
    show_default=True,
    help="How many replica operations run at the same time.",
)
def sync(
    registry: str,
    resource_group: str | None,
    locations: tuple[str, ...] | None,
    layout_file: str | None,
    prune: bool,
    yes: bool,
    dry_run: bool,
    max_parallel: int,
) -> Any:
    """Bring a registry's replicas to a layout: create, update and (with --prune) delete.

    Computes the plan against the current replicas, applies it with the operations running
    in parallel, reports each step's outcome (progress on stderr, the result on stdout: a
    table on a terminal, JSON otherwise) and exits 1 if any step failed. Running it again
    changes nothing (it says so on stderr). On a terminal, --prune asks before deleting
    (--yes does not ask).

    \b
    Examples:
      Make sure the registry has replicas in East US and West Europe:
        acrctl replication sync -r myregistry --locations eastus westeurope
      Apply a layout file, deleting replicas it does not list, after a look at the plan:
        acrctl replication sync -r myregistry --file layout.yaml --prune --dry-run
        acrctl replication sync -r myregistry --file layout.yaml --prune
    """
    from acrctl.cli.replication import _premium, target
    from acrctl.sync import apply_plan, plan

    ctx = click.get_current_context()
    env: Env = ctx.obj
    if (
        ctx.get_parameter_source("output") in (None, click.core.ParameterSource.DEFAULT)
        and not _output_configured()
        and _stdout_is_tty()
    ):
        env.output = "table"
    desired = _desired(locations, layout_file)
    env, rg, registry = target(registry, resource_group)
    reg = _premium(env, rg, registry)
    client = env.client()
    current = [r.to_arm() for r in client.list_replications(rg, registry)]
    steps = plan(current, desired, reg.location or "", prune=prune)
    if dry_run:
        return [{**s.to_dict(), "status": "Planned", "error": None} for s in steps]
    if not steps:
        if not env.only_show_errors:
            click.echo(f"Nothing to do: the replicas of '{registry}' match the layout.", err=True)
        return []
    _confirm_deletes(steps, registry, yes)

    def execute(step: Step) -> Any:
        if step.action == "create":
            return client.create_replication(rg, registry, step.name, step.body)
        if step.action == "update":
            return client.update_replication(rg, registry, step.name, step.body)
        return client.delete_replication(rg, registry, step.name)

    def progress(o: Outcome) -> None:
        if not env.only_show_errors or o.status != "Succeeded":
            detail = f": {o.error}" if o.error else ""
            click.echo(
                f"{o.status}: {o.step.action} {o.step.name} ({o.step.location}){detail}", err=True
            )

    outcomes = apply_plan(steps, execute, workers=max_parallel, on_done=progress)
    rows = [o.to_dict() for o in outcomes]
    failed = [o for o in outcomes if o.status != "Succeeded"]
    if failed:
        from acrctl.client.errors import AcrctlError

        env.emit(rows, sync_table)
        raise AcrctlError(
            f"{len(failed)} of {len(outcomes)} steps failed: "
            + ", ".join(f"{o.step.action} {o.step.name}" for o in failed)
            + "."
        )
    return rows


def _confirm_deletes(steps: list[Step], registry: str, yes: bool) -> None:
    """--prune's deletes, confirmed first at a terminal (as `delete` does); without one
    the flag is the confirmation, as before."""
    doomed = [s.name for s in steps if s.action == "delete"]
    if doomed and not yes and sys.stdin.isatty():
        from acrctl.cli.registry import confirm

        confirm(
            f"Are you sure you want to delete the replications {', '.join(doomed)} of "
            f"the registry '{registry}'?"
        )


def _output_configured() -> bool:
    from acrctl.cli import config

    return bool(config.get("core.output"))
