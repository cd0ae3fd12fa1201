"""`acrctl replication status`: where each image is, per replica region (an acrctl
extension, backed by GET .../registries/{registry}/replicationStatus). Attached to the
`replication` group at the end of acrctl.cli.replication."""

from __future__ import annotations

from typing import Any

import click

from acrctl.cli.base import AzCommand
from acrctl.cli.options import group_option, registry_option


def _cell(value: Any) -> Any:
    return value if value not in (None, "") else " "


def status_table(data: Any) -> list[dict[str, Any]]:
    rows = data if isinstance(data, list) else [data]
    return [
        {
            "IMAGE": r.get("image"),
            "REGION": r.get("region"),
            "STATE": r.get("state"),
            "DIGEST": _cell((r.get("digest") or "")[:19]),
            "UPDATED": _cell(r.get("updatedAt")),
            "ERROR": _cell(r.get("lastError")),
        }
        for r in rows
    ]


@click.command("status", cls=AzCommand, table=status_table)
@registry_option()
@click.option(
    "--image",
    default=None,
    metavar="REPOSITORY:TAG",
    help="One image, e.g. web/app:v1. Default: every image with a known push.",
)
@group_option()
def status(registry: str, image: str | None, resource_group: str | None) -> Any:
    """Show where each image is, per replica region: present, inFlight, retrying or failed,
    with the digest, the last change and the last error.

    \b
    Examples:
      acrctl replication status -r myregistry -o table
      acrctl replication status -r myregistry --image web/app:v1
    """
    from acrctl.cli.replication import target
    from acrctl.client import paths

    env, rg, name = target(registry, resource_group)
    client = env.client()
    url = f"{paths.registry(client.subscription, rg, name)}/replicationStatus"
    body = client.call("GET", url, params={"image": image} if image else None)
    return (body or {}).get("value", [])
