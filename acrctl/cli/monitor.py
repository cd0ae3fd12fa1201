"""az monitor activity-log list: read the management activity log (every write, action and
denied attempt, recorded by the server; see docs/operating.md)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import click

from acrctl.cli.base import AzGroup
from acrctl.cli.env import Env

API_VERSION = "2015-04-01"
OFFSET_RE = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?$", re.IGNORECASE)
STATUSES = ("Accepted", "Failed", "Succeeded")


def _env() -> Env:
    return click.get_current_context().obj  # type: ignore[no-any-return]


def activity_table(data: Any) -> list[dict[str, Any]]:
    return [
        {
            "Time": str(e.get("eventTimestamp", ""))[:19] + "Z",
            "Caller": (e.get("claims") or {}).get("name") or e.get("caller"),
            "Operation": (e.get("operationName") or {}).get("value"),
            "Status": (e.get("status") or {}).get("value"),
            "SubStatus": (e.get("subStatus") or {}).get("value"),
            "ResourceGroup": e.get("resourceGroupName") or "",
        }
        for e in data
    ]


def parse_offset(value: str) -> dt.timedelta:
    """az's ##d##h offset (minutes too: 1d, 6h, 90m, 1d12h)."""
    m = OFFSET_RE.match(value.strip())
    if not value.strip() or m is None or not any(m.groups()):
        raise click.BadParameter(
            f"'{value}' is not an offset in ##d##h format, e.g. 6h or 1d.", param_hint="'--offset'"
        )
    days, hours, minutes = (int(g or 0) for g in m.groups())
    return dt.timedelta(days=days, hours=hours, minutes=minutes)


def parse_time(value: str, option: str) -> dt.datetime:
    text = value.strip()
    try:
        t = dt.datetime.fromisoformat(text[:-1] + "+00:00" if text[-1:] in "zZ" else text)
    except ValueError:
        raise click.BadParameter(
            f"'{value}' is not an ISO 8601 time, e.g. 2026-12-31T12:59:59Z.",
            param_hint=f"'{option}'",
        ) from None
    return t.replace(tzinfo=dt.UTC) if t.tzinfo is None else t.astimezone(dt.UTC)


def time_range(
    start_time: str | None, end_time: str | None, offset: str | None, now: dt.datetime | None = None
) -> tuple[dt.datetime, dt.datetime]:
    """az's rule: both times given -> them (offset ignored); one -> the other is it +/-
    the offset; none -> the offset back from now. The offset defaults to 6h."""
    delta = parse_offset(offset or "6h")
    start = parse_time(start_time, "--start-time") if start_time else None
    end = parse_time(end_time, "--end-time") if end_time else None
    if start and end:
        return start, end
    if start:
        return start, start + delta
    end = end or now or dt.datetime.now(dt.UTC)
    return end - delta, end


def _iso(t: dt.datetime, up: bool = False) -> str:
    """Whole seconds; `up` rounds up (an end time of now includes this second's events)."""
    t = t.astimezone(dt.UTC)
    if up and t.microsecond:
        t += dt.timedelta(seconds=1)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def _quote(value: str) -> str:
    return value.replace("'", "''")


def build_filter(
    start: dt.datetime,
    end: dt.datetime,
    resource_group: str | None = None,
    resource_id: str | None = None,
    correlation_id: str | None = None,
    caller: str | None = None,
    status: str | None = None,
) -> str:
    parts = [f"eventTimestamp ge '{_iso(start)}'", f"eventTimestamp le '{_iso(end, up=True)}'"]
    for field, value in (
        ("resourceGroupName", resource_group),
        ("resourceUri", resource_id),
        ("correlationId", correlation_id),
        ("caller", caller),
        ("status", status),
    ):
        if value:
            parts.append(f"{field} eq '{_quote(value)}'")
    return " and ".join(parts)


@click.group("monitor", cls=AzGroup)
def group() -> None:
    """Monitor the management activity log."""


@group.group("activity-log", cls=AzGroup)
def activity_log() -> None:
    """Read the activity log: every management write, action and denied attempt."""


@activity_log.command("list", table=activity_table)
@click.option("-g", "--resource-group", default=None, help="Only events of this resource group.")
@click.option(
    "--resource-id",
    default=None,
    help="Only events of this resource (ARM id) and what is below it.",
)
@click.option(
    "--correlation-id",
    default=None,
    help="Only events with this correlation id (x-ms-correlation-request-id).",
)
@click.option(
    "--caller",
    default=None,
    help="Only events by this caller: a principal's object id (appId) or name.",
)
@click.option(
    "--status",
    default=None,
    metavar="STATUS",
    help="Only events with this status: Succeeded, Failed or Accepted.",
)
@click.option(
    "--start-time",
    default=None,
    metavar="TIME",
    help="Start of the query range, in ISO format, e.g. 2026-12-31T12:59:59Z. "
    "Default: --end-time minus --offset.",
)
@click.option(
    "--end-time",
    default=None,
    metavar="TIME",
    help="End of the query range, in ISO format. Default: now, or --start-time plus --offset.",
)
@click.option(
    "--offset",
    default=None,
    metavar="OFFSET",
    help="Length of the query range in ##d##h format (e.g. 6h, 1d, 2d12h); ignored "
    "when both --start-time and --end-time are given. Default: 6h.",
)
@click.option(
    "--max-events",
    type=click.IntRange(1),
    default=50,
    show_default=True,
    help="Maximum number of events to return.",
)
def list_(
    resource_group: str | None,
    resource_id: str | None,
    correlation_id: str | None,
    caller: str | None,
    status: str | None,
    start_time: str | None,
    end_time: str | None,
    offset: str | None,
    max_events: int,
) -> Any:
    """List the events of the activity log, newest first.

    Each write (PUT, PATCH, DELETE) and action (POST) the server received is one event,
    allowed, denied (Failed, Forbidden) or failed: who (caller), what (operationName,
    authorization.action), where (resourceId, authorization.scope), the outcome (status,
    subStatus with the HTTP status) and the request's ids (operationId is the
    x-ms-request-id the CLI prints with an error). Needs read access (e.g. Reader) at the
    subscription, or it lists only events of the scopes the caller may read.

    \b
    Examples:
      Everything of the last day in a resource group, as a table:
        acrctl monitor activity-log list -g MyResourceGroup --offset 1d -o table
      Denied and failed operations of one principal in a time window:
        acrctl monitor activity-log list --caller <appId> --status Failed \\
          --start-time 2026-12-31T00:00:00Z --end-time 2026-12-31T12:00:00Z
      The event of a request id printed with an error:
        acrctl monitor activity-log list --offset 7d --query "[?operationId=='<id>']"
    """
    if sum(bool(v) for v in (resource_group, resource_id, correlation_id)) > 1:
        raise click.UsageError(
            "usage error: --correlation-id ID | --resource-group NAME | --resource-id ID"
        )
    if status and status.capitalize() in STATUSES:
        status = status.capitalize()
    start, end = time_range(start_time, end_time, offset)
    if end < start:
        raise click.UsageError("usage error: --end-time is before --start-time.")
    flt = build_filter(start, end, resource_group, resource_id, correlation_id, caller, status)
    return list_events(_env(), flt, max_events)


def list_events(env: Env, flt: str, max_events: int) -> list[dict[str, Any]]:
    """Page through the activity log with nextLink until `max_events`."""
    from acrctl.client import paths

    client = env.client()
    url = (
        f"{paths.sub(client.subscription)}/providers/Microsoft.Insights/eventtypes/"
        "management/values"
    )
    page = client.call("GET", url, api_version=API_VERSION, params={"$filter": flt})
    out: list[dict[str, Any]] = []
    while True:
        out.extend(page.get("value", []))
        nxt = page.get("nextLink")
        if not nxt or len(out) >= max_events:
            return out[:max_events]
        page = client.call("GET", nxt, api_version=None)
