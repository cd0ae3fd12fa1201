"""`acrctl webhook redeliver`: send a past webhook event again (an acrctl extension; ACR has
no redelivery). Attached to the `webhook` group by acrctl.cli.webhook."""

from __future__ import annotations

from typing import Any

import click

from acrctl.cli.base import AzCommand
from acrctl.cli.env import Env, group_for
from acrctl.cli.options import group_option, name_option, normalize_registry, registry_option


def _env() -> Env:
    return click.get_current_context().obj  # type: ignore[no-any-return]


@click.command("redeliver", cls=AzCommand)
@name_option("The name of the webhook.", "webhook")
@registry_option()
@group_option()
@click.option(
    "--event-id",
    "event_id",
    required=True,
    help="The id of the event to send again (from `webhook list-events` or the "
    "id `webhook ping` printed).",
)
def redeliver(name: str, registry: str, resource_group: str | None, event_id: str) -> Any:
    """Send a past webhook event again.

    The event's payload is sent as a new delivery (its `id` field is unchanged, so a
    receiver can de-duplicate); the new delivery shows up first in `webhook list-events`.

    \b
    Examples:
      Send the latest event of a webhook again:
        acrctl webhook redeliver -n myhook -r myregistry \\
          --event-id $(acrctl webhook list-events -n myhook -r myregistry --query "[0].id" -o tsv)
    """
    env = _env()
    registry = normalize_registry(registry) or registry
    client = env.client()
    result = client.redeliver_webhook_event(
        group_for(env, registry, resource_group), registry, name, event_id
    )
    if env.mode == "embedded":
        from acrctl import embedded

        embedded.deliver_webhooks(client)
    return result
