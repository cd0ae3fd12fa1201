"""`acrctl show-endpoints` (az acr show-endpoints): the login server and the data endpoints
of a registry, one per region (issue 17)."""

from __future__ import annotations

from typing import Any

import click

from acrctl.cli.base import AzCommand
from acrctl.cli.env import Env, group_for
from acrctl.cli.options import group_option, normalize_registry, registry_name_option


def endpoints_table(data: Any) -> list[dict[str, Any]]:
    """az's columns: the login server beside each region's data endpoint."""
    return [
        {
            "LoginServer": data.get("loginServer"),
            "Region": e.get("region"),
            "Endpoint": e.get("endpoint"),
        }
        for e in data.get("dataEndpoints") or []
    ]


@click.command("show-endpoints", cls=AzCommand, table=endpoints_table)
@registry_name_option()
@group_option()
def show_endpoints(name: str, resource_group: str | None) -> Any:
    """Display registry endpoints including data endpoints.

    As az: also the regional endpoints when the registry has them enabled.

    With data endpoints enabled (`acrctl update -n NAME --data-endpoint-enabled true`,
    Premium), each region's `<name>.<region>.data.<login domain>` serves blob downloads;
    without, blobs come through the login server, which is then listed for each replica
    region.

    \b
    Examples:
      Show the endpoints for a registry:
        acrctl show-endpoints -n myregistry
      As a table:
        acrctl show-endpoints -n myregistry -o table
    """
    env: Env = click.get_current_context().obj
    name = normalize_registry(name) or name
    rg = group_for(env, name, resource_group)
    client = env.client()
    reg = client.get_registry(rg, name).to_arm()
    props = reg.get("properties") or {}
    login = props.get("loginServer")
    info: dict[str, Any] = {"loginServer": login, "dataEndpoints": []}
    if props.get("dataEndpointEnabled"):
        for host in props.get("dataEndpointHostNames") or []:
            info["dataEndpoints"].append({"region": host.split(".")[1], "endpoint": host})
    else:
        env.warn(
            "To configure client firewall w/o using wildcard storage blob urls, use "
            f'"acrctl update --name {name} --data-endpoint-enabled" to enable dedicated data '
            "endpoints."
        )
        regions = [r.location for r in client.list_replications(rg, name)] or [reg["location"]]
        for region in regions:
            info["dataEndpoints"].append({"region": region, "endpoint": login})
    if props.get("regionalEndpoints") == "Enabled":
        info["regionalEndpoints"] = [
            {"region": host.split(".")[1], "endpoint": host}
            for host in props.get("regionalEndpointHostNames") or []
        ]
    return info
