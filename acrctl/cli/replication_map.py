"""`acrctl replication map`: a world map of a registry's home region and replicas.
Attached to the `replication` group at the end of acrctl.cli.replication."""

from __future__ import annotations

import shutil
import sys

import click

from acrctl.cli.base import AzCommand
from acrctl.cli.options import group_option, registry_option


@click.command("map", cls=AzCommand)
@registry_option()
@group_option()
@click.option(
    "--width",
    type=click.IntRange(min=20),
    default=None,
    metavar="COLUMNS",
    help="Map width. Default: the terminal's width, kept within 60..160.",
)
def map_(registry: str, resource_group: str | None, width: int | None) -> None:
    """Draw a world map of a registry's home region and replicas.

    Unlike other commands this prints text, not JSON, so it echoes the map itself and
    ignores --output and --query. Colour follows the terminal (NO_COLOR, FORCE_COLOR).

    \b
    Examples:
      acrctl replication map -r myregistry
      acrctl replication map -r myregistry --width 80
    """
    from acrctl.backend import regions
    from acrctl.cli.base import color_enabled
    from acrctl.cli.replication import target
    from acrctl.cli.worldmap import render_map

    env, rg, registry = target(registry, resource_group)
    reg = env.client().get_registry(rg, registry)
    home = reg.location or ""
    premium = reg.sku.name == "Premium"
    replicas = {
        r.location or "": (r.properties.status and r.properties.status.display_status)
        or r.properties.provisioning_state
        or ""
        for r in (env.client().list_replications(rg, registry) if premium else [])
    }
    catalog = list(regions.catalog().values())
    blocked = set() if premium else {r["name"] for r in catalog if r["name"] != home}
    width = width or max(60, min(160, shutil.get_terminal_size().columns))
    text = render_map(
        regions=catalog,
        replicas=replicas,
        home=home,
        width=width,
        color=color_enabled(sys.stdout),
        unavailable=blocked,
    )
    if not premium:
        text += (
            f"\nNote: replicas need the Premium SKU; '{registry}' is {reg.sku.name}. "
            f"Upgrade with: acrctl update -n {registry} --sku Premium\n"
        )
    click.echo(text, nl=False)
