"""az group: create, list, show, delete (resource groups)."""

from __future__ import annotations

from typing import Any

import click

from acrctl.cli.az_models import az_result
from acrctl.cli.base import AzCommand, AzGroup
from acrctl.cli.env import Env
from acrctl.cli.options import location_option, parse_pairs, tags_option

GROUP = "ResourceGroup"  # the SDK model az prints (acrctl.cli.az_models)


class GroupCommand(AzCommand):
    """Prints az's ResourceGroup dict as it is: `properties` stays nested, as in az."""

    shape = staticmethod(lambda result: result)


def group_table(data: Any) -> list[dict[str, Any]]:
    """az's `group list` table; show and create have none (az's automatic table)."""
    return [
        {
            "Name": r["name"],
            "Location": r["location"],
            "Status": r["properties"]["provisioningState"],
        }
        for r in data
    ]


def _env() -> Env:
    return click.get_current_context().obj  # type: ignore[no-any-return]


@click.group("group", cls=AzGroup)
def group() -> None:
    """Manage resource groups."""


@group.command("create", cls=GroupCommand)
@click.option(
    "-n",
    "--name",
    "-g",
    "--resource-group",
    "name",
    required=True,
    help="Name of the new resource group.",
)
@location_option("Location, e.g. westus. Default: config defaults.location.")
@tags_option()
def create(name: str, location: str | None, tags: tuple[str, ...] | None) -> Any:
    """Create a new resource group (or update the tags of an existing one).

    \b
    Examples:
      acrctl group create -n MyResourceGroup -l westus
    """
    if not location:
        raise click.UsageError("the following arguments are required: --location/-l")
    return az_result(GROUP, _env().client().create_group(name, location, parse_pairs(tags)))


@group.command("show", cls=GroupCommand)
@click.option(
    "-n",
    "--name",
    "-g",
    "--resource-group",
    "name",
    required=True,
    help="Name of the resource group.",
)
def show(name: str) -> Any:
    """Get a resource group.

    \b
    Examples:
      acrctl group show -n MyResourceGroup
    """
    return az_result(GROUP, _env().client().get_group(name))


@group.command("list", cls=GroupCommand, table=group_table)
def list_() -> Any:
    """List resource groups.

    \b
    Examples:
      acrctl group list -o table
    """
    return az_result(GROUP, _env().client().list_groups())


@group.command("delete")
@click.option(
    "-n",
    "--name",
    "-g",
    "--resource-group",
    "name",
    required=True,
    help="Name of the resource group.",
)
@click.option("-y", "--yes", is_flag=True, default=False, help="Do not prompt for confirmation.")
def delete(name: str, yes: bool) -> None:
    """Delete a resource group and every registry in it.

    \b
    Examples:
      acrctl group delete -n MyResourceGroup --yes
    """
    from acrctl.cli.registry import confirm

    if not yes:
        confirm("Are you sure you want to perform this operation?")
    _env().client().delete_group(name)
