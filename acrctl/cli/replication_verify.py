"""`acrctl replication verify`: compare every region of a registry with its home region
(tags, manifest digests, each referenced blob) and report drift; exit 1 on drift. Backed by
POST .../registries/{r}/verifyReplication (an acrctl extension the server's data plane
answers). Attached to the `replication` group at the end of acrctl.cli.replication."""

from __future__ import annotations

from typing import Any

import click

from acrctl.cli.base import AzCommand
from acrctl.cli.options import group_option, registry_option
from acrctl.client.errors import AcrctlError


def _cell(value: Any) -> Any:
    return value if value not in (None, "") else " "


def drift_table(data: Any) -> list[dict[str, Any]]:
    rows = (data or {}).get("drift", []) if isinstance(data, dict) else []
    return [
        {
            "REGION": d.get("region"),
            "IMAGE": _cell(d.get("image")),
            "PROBLEM": d.get("problem"),
            "EXPECTED": _cell((d.get("expected") or d.get("digest") or "")[:19]),
            "ACTUAL": _cell((d.get("actual") or "")[:19]),
        }
        for d in rows
    ]


class VerifyCommand(AzCommand):
    """Exit 1 (with an error naming the count) after printing the report when it found
    drift."""

    def invoke(self, ctx: click.Context) -> Any:
        super().invoke(ctx)
        report = ctx.meta.get("acrctl.verify")
        if isinstance(report, dict) and report.get("drift"):
            n = len(report["drift"])
            raise AcrctlError(f"Replication drift: {n} problem{'s' if n != 1 else ''} found.")
        return None


@click.command("verify", cls=VerifyCommand, table=drift_table)
@registry_option()
@group_option()
def verify(registry: str, resource_group: str | None) -> Any:
    """Compare every replica region with the home region: each tag's manifest digest, and in
    every region each manifest's children and blobs. Prints the report (in a table, one row
    per problem); exits 1 when a region has drifted.

    \b
    Examples:
      acrctl replication verify -r myregistry
      acrctl replication verify -r myregistry -o table
    """
    from acrctl.cli.replication import target
    from acrctl.client import paths

    env, rg, name = target(registry, resource_group)
    client = env.client()
    url = f"{paths.registry(client.subscription, rg, name)}/verifyReplication"
    report = client.call("POST", url)
    click.get_current_context().meta["acrctl.verify"] = report
    return report
