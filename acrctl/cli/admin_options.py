"""The `admin drill` commands' table and shared options (acrctl.cli.admin)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from acrctl.cli.options import _complete

F = Callable[..., Any]
METHODS = ("GET", "HEAD", "PUT", "PATCH", "DELETE", "POST")


def _cell(value: Any) -> Any:
    return value if value not in (None, "", []) else " "


def _details(d: dict[str, Any]) -> str:
    kind = d.get("kind")
    parts: list[str] = []
    if kind == "Throttle":
        mode = next(
            (f"{k} {d[k]}" for k in ("every", "count", "fraction") if d.get(k) is not None),
            "every 1",
        )
        parts += [
            mode,
            f"retry-after {d.get('retryAfter')}s",
            f"throttled {d.get('throttledRequests', 0)}/{d.get('matchedRequests', 0)}",
        ]
    elif kind == "Latency":
        parts.append(f"{d.get('ms')} ms")
    elif kind == "RegionOutage":
        parts.append(f"retry-after {d.get('retryAfter')}s")
        if d.get("failReads"):
            parts.append("reads fail too")
    for key, label in (
        ("route", "route"),
        ("methods", "methods"),
        ("principal", "principal"),
        ("expiresAt", "until"),
    ):
        if d.get(key):
            value = d[key]
            parts.append(f"{label} {','.join(value) if isinstance(value, list) else value}")
    return "; ".join(parts)


def drill_table(data: Any) -> list[dict[str, Any]]:
    rows = data if isinstance(data, list) else [data]
    return [
        {
            "NAME": _cell(d.get("name")),
            "KIND": _cell(d.get("kind")),
            "STATE": _cell(d.get("state")),
            "REGION": _cell(d.get("region")),
            "DETAILS": _cell(_details(d)),
        }
        for d in rows
    ]


# -- shared options ---------------------------------------------------------------------------
def name_option(default_help: str) -> F:
    return click.option(
        "-n",
        "--name",
        "name",
        default=None,
        help=f"The drill's name. Default: {default_help}. Starting a drill "
        "with the name of an existing one replaces it.",
    )


def region_option() -> F:
    return click.option(
        "-l",
        "--region",
        "region",
        required=True,
        shell_complete=_complete("location"),
        help='The region, e.g. westus or "West US".',
    )


def duration_option(f: F) -> F:
    return click.option(
        "--duration",
        type=click.IntRange(1, 7 * 24 * 3600),
        default=None,
        metavar="SECONDS",
        help="End the drill by itself after this many seconds (it stays "
        "listed as Expired until cleared). Default: until cleared.",
    )(f)


def scope_options(f: F) -> F:
    for decorator in reversed(
        (
            click.option(
                "--route",
                default=None,
                metavar="PATTERN",
                help="Only requests whose path matches this glob, e.g. "
                "'*/replications/*' (case-insensitive; without wildcards: any path "
                "containing it). Default: every request.",
            ),
            click.option(
                "--method",
                "methods",
                multiple=True,
                type=click.Choice(METHODS, case_sensitive=False),
                help="Only requests with this HTTP method (repeatable). Default: all.",
            ),
            click.option(
                "--principal",
                default=None,
                metavar="ID|NAME",
                help="Only requests of this principal (object id or display name). "
                "Default: everyone.",
            ),
        )
    ):
        f = decorator(f)
    return f


def scope_props(
    route: str | None, methods: tuple[str, ...], principal: str | None
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if route:
        out["route"] = route
    if methods:
        out["methods"] = sorted({m.upper() for m in methods})
    if principal:
        out["principal"] = principal
    return out
