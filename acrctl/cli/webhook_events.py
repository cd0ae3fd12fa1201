"""`acrctl webhook list-events` and `webhook ping` (which waits for the first delivery attempt):
a webhook's deliveries. Attached lazily to the `webhook` group by acrctl.cli.webhook."""

from __future__ import annotations

from typing import Any

import click

from acrctl.cli.az_models import az_cell, az_datetimes, az_result, az_table_datetime
from acrctl.cli.base import AzCommand
from acrctl.cli.options import group_option, name_option, registry_option
from acrctl.cli.replication import target
from acrctl.client.errors import AcrctlError


def event_table(data: Any) -> list[dict[str, Any]]:
    rows = []
    for event in data:
        content = ("eventRequestMessage", "content")
        repository = az_cell(event, *content, "target", "repository").strip()
        tag = az_cell(event, *content, "target", "tag").strip()
        status = az_cell(event, "eventResponseMessage", "statusCode").strip()
        reason = az_cell(event, "eventResponseMessage", "reasonPhrase").strip()
        rows.append(
            {
                "ID": az_cell(event, "id"),
                "ACTION": az_cell(event, *content, "action"),
                "IMAGE": f"{repository}:{tag}" if repository and tag else repository or " ",
                "HTTP STATUS": f"{status} {reason}"
                if status and reason
                else status or reason or " ",
                "TIMESTAMP": az_table_datetime(az_cell(event, *content, "timestamp")),
            }
        )
    return rows


def ping_table(data: Any) -> list[dict[str, Any]]:
    return [{"ID": az_cell(data, "id")}]


@click.command("list-events", cls=AzCommand, table=event_table)
@name_option("The name of the webhook.", "webhook")
@registry_option()
@group_option()
def list_events(name: str, registry: str, resource_group: str | None) -> Any:
    """List the recent events of a webhook, newest first.

    Custom header values and credentials in the URI are masked.

    \b
    Examples:
      acrctl webhook list-events -n myhook -r myregistry -o table
    """
    env, rg, registry = target(registry, resource_group)
    client = env.client()
    if env.mode == "embedded":  # what is due goes out now; a background sender sends the rest
        from acrctl import embedded

        embedded.deliver_webhooks(client)
    return events_result(client.webhook_events(rg, registry, name))


def events_result(events: list[Any]) -> list[dict[str, Any]]:
    """az's Event dicts, each keeping acrctl's `delivery` (its attempts), which az's model
    does not know."""
    shaped: list[dict[str, Any]] = az_result("Event", events)
    for out, event in zip(shaped, events, strict=True):
        if event.get("delivery") is not None:
            out["delivery"] = az_datetimes(event["delivery"])
    return shaped


PING_WAIT = 15.0  # seconds `webhook ping` waits for the first delivery attempt (--timeout)
PING_POLL = 0.25  # seconds between looks at the webhook's events while it waits


@click.command("ping", cls=AzCommand, table=ping_table)
@name_option("The name of the webhook.", "webhook")
@registry_option()
@group_option()
@click.option(
    "--timeout",
    type=click.FloatRange(min=0),
    default=PING_WAIT,
    metavar="SECONDS",
    help="acrctl: how long to wait for the first delivery "
    f"attempt before returning. Default: {PING_WAIT:g}; 0 does not wait.",
)
def ping(name: str, registry: str, resource_group: str | None, timeout: float) -> Any:
    """Trigger a ping event for a webhook.

    Prints the event id and waits for the first delivery attempt: when the receiver
    refused it or could not be reached, the command says why and exits 1 (later retries
    show in list-events). The embedded backend has no delivery worker, so there the ping
    is sent before the command returns, and its retries by a background sender that exits
    when nothing is left to send (ACRCTL_WEBHOOK_DELIVERY=off queues it only).

    \b
    Examples:
      acrctl webhook ping -n myhook -r myregistry
      Queue a ping without waiting for the delivery:
        acrctl webhook ping -n myhook -r myregistry --timeout 0
    """
    env, rg, registry = target(registry, resource_group)
    client = env.client()
    result = az_result("EventInfo", client.ping_webhook(rg, registry, name))
    if env.mode == "embedded":
        from acrctl import embedded

        if embedded.local_backend(client) is None:
            return result  # queued only: nothing to wait for
        embedded.deliver_webhooks(client)  # sent here, unless a background sender took it
    elif not timeout:
        return result
    attempt = _first_attempt(
        lambda: client.webhook_events(rg, registry, name, limit=20), str(result["id"]), timeout
    )
    if attempt is None:
        if timeout:
            env.warn(
                f"The ping was not attempted within {timeout:g} seconds; see "
                f"'acrctl webhook list-events -n {name} -r {registry}'."
            )
        return result
    status = attempt.get("statusCode")
    if str(status).isdigit() and 200 <= int(str(status)) < 300:
        return result
    reason = " ".join(
        str(p) for p in (status, attempt.get("reasonPhrase") or attempt.get("error")) if p
    )
    env.emit(result, ping_table)
    raise AcrctlError(
        f"The ping to webhook '{name}' was not delivered: {reason or 'failed'}. "
        f"Its retries show in 'acrctl webhook list-events -n {name} -r "
        f"{registry}'."
    )


def _first_attempt(events: Any, event_id: str, timeout: float) -> dict[str, Any] | None:
    """The first delivery attempt of the event `event_id`, looked for until `timeout`."""
    from acrctl.cli import replication

    deadline = replication._clock() + timeout
    while True:
        for event in events():
            if event.get("id") == event_id:
                attempts = (event.get("delivery") or {}).get("attempts") or []
                if attempts:
                    return dict(attempts[0])
        remaining = deadline - replication._clock()
        if remaining <= 0:
            return None
        replication._sleep(min(PING_POLL, remaining))
