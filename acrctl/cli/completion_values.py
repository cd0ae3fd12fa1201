"""Live values for tab completion: registry, replication, webhook, group and location names.
Fast and silent: any failure (no backend, no login, a slow server) completes nothing."""

from __future__ import annotations

from typing import Any

import click


def values(what: str, ctx: click.Context, incomplete: str) -> list[str]:
    try:
        names = _names(what, ctx)
    except Exception:  # noqa: BLE001 - completion must never fail loudly
        return []
    low = incomplete.lower()
    return sorted(n for n in names if n.lower().startswith(low))


def _client(ctx: click.Context) -> Any:
    from acrctl.cli.env import Env

    env = Env(endpoint=ctx.params.get("endpoint"), subscription=ctx.params.get("subscription"))
    client = env.client()
    client.http.timeout = __import__("httpx").Timeout(2.0)
    return client


def _names(what: str, ctx: click.Context) -> list[str]:
    if what == "location":
        from acrctl.backend.regions import catalog

        return list(catalog())
    client = _client(ctx)
    if what == "group":
        return [g.name for g in client.list_groups()]
    if what == "registry":
        return [r.name for r in client.list_registries()]
    registry = ctx.params.get("registry")
    if not registry:
        return []
    rg = ctx.params.get("resource_group") or client.registry_group(registry)
    if what == "replication":
        return [r.name for r in client.list_replications(rg, registry)]
    if what == "webhook":
        return [w.name for w in client.list_webhooks(rg, registry)]
    return []
