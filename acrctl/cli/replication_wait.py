"""`acrctl replication wait`: until a replication is created, updated or deleted (its
provisioning state), or with --image until an image is in every replica region.

--image polls GET .../registries/{r}/imagePresence?image=repo:tag (an acrctl extension the
server's data plane answers by asking each region): the server sends Retry-After while a
region lacks the image and the wait sleeps that long, so the server sets the pace and a
wait holds no server thread between polls (a long-poll would). Attached to the
`replication` group at the end of acrctl.cli.replication."""

from __future__ import annotations

from typing import Any

import click

from acrctl.cli.base import AzCommand
from acrctl.cli.options import group_option, name_option, registry_option
from acrctl.client.errors import AcrctlError, UsageError


def presence_table(data: Any) -> list[dict[str, Any]]:
    rows = (data or {}).get("value", []) if isinstance(data, dict) else []
    return [
        {"REGION": r.get("region"), "STATE": r.get("state"), "DIGEST": r.get("digest") or " "}
        for r in rows
    ]


def progress_rows(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """The live table's rows: each region's state, with the replication's when missing."""
    out = []
    for r in doc.get("value", []):
        detail = (r.get("digest") or "")[:19]
        if r.get("state") != "present":
            detail = " ".join(str(x) for x in (r.get("replication"), r.get("lastError")) if x)
        out.append({"region": r.get("region"), "state": r.get("state"), "detail": detail})
    return out


def wait_image(
    client: Any, url: str, image: str, timeout: float, interval: float, progress: Any
) -> dict[str, Any]:
    """Poll imagePresence until complete; sleep what Retry-After says (else `interval`).
    Raises on timeout, naming the regions that lack the image."""
    from acrctl.cli import replication
    from acrctl.client.arm import retry_after

    deadline = replication._clock() + timeout
    while True:
        resp = client.request("GET", url, params={"image": image})
        if resp.status_code >= 400:
            raise client.error(resp)
        doc: dict[str, Any] = resp.json()
        progress.update(progress_rows(doc))
        if doc.get("complete"):
            return doc
        remaining = deadline - replication._clock()
        if remaining <= 0:
            missing = ", ".join(doc.get("missing") or []) or "unknown"
            raise AcrctlError(
                f"Timed out after {timeout:g} seconds waiting for image '{image}' in every "
                f"replica region; missing in: {missing}."
            )
        replication._sleep(min(retry_after(resp, interval), remaining))


@click.command("wait", cls=AzCommand, table=presence_table)
@registry_option()
@name_option("The name of the replication (not with --image).", "replication", required=False)
@click.option(
    "--image",
    default=None,
    metavar="REPOSITORY:TAG",
    help="Wait until this image is in every replica region at the home region's digest, "
    "then print where it is.",
)
@group_option()
@click.option(
    "--created",
    "condition",
    flag_value="created",
    help="Wait until created with provisioningState 'Succeeded'.",
)
@click.option(
    "--updated",
    "condition",
    flag_value="updated",
    help="Wait until updated with provisioningState 'Succeeded'.",
)
@click.option("--deleted", "condition", flag_value="deleted", help="Wait until deleted.")
@click.option(
    "--timeout",
    type=click.FloatRange(min=0),
    default=3600.0,
    metavar="SECONDS",
    help="Maximum wait in seconds. Default: 3600.",
)
@click.option(
    "--interval",
    type=click.FloatRange(min=0, min_open=True),
    default=1.0,
    metavar="SECONDS",
    help="Polling interval in seconds when the server sends no Retry-After. Default: 1.",
)
def wait(
    registry: str,
    name: str | None,
    image: str | None,
    resource_group: str | None,
    condition: str | None,
    timeout: float,
    interval: float,
) -> Any:
    """Wait until a replication is created, updated or deleted (prints nothing), or with
    --image until an image is in every replica region (prints each region's digest; exit
    1 on timeout, naming the regions that lack it). On a terminal, --image shows live
    per-region progress on stderr.

    \b
    Examples:
      Wait for a replication started with --no-wait:
        acrctl replication wait -r myregistry -n eastus --created
      Wait up to 10 minutes for a delete:
        acrctl replication wait -r myregistry -n eastus --deleted --timeout 600
      Wait until a pushed image is in every replica, for at most 5 minutes:
        acrctl replication wait -r myregistry --image web/app:v1 --timeout 300
    """
    from acrctl.cli.replication import target, wait_for

    env, rg, registry = target(registry, resource_group)
    client = env.client()
    if image is None:
        if not name:
            raise UsageError("the following arguments are required: --name/-n")
        wait_for(
            lambda: client.get_replication(rg, registry, name),
            condition,
            timeout,
            interval,
            f"replication '{name}'",
            env._spinner(),
        )
        return None
    if name or condition:
        raise UsageError("usage error: --image cannot be combined with --name or a condition")
    from acrctl.cli.progress import RegionProgress
    from acrctl.client import paths

    url = f"{paths.registry(client.subscription, rg, registry)}/imagePresence"
    live = not env.only_show_errors and RegionProgress.tty()
    with RegionProgress(f"Waiting for {image}", enabled=live) as progress:
        return wait_image(client, url, image, timeout, interval, progress)
