"""Live values for tab completion: registry, replication, webhook, group and location names.

Fast and silent: the lookup runs under a hard deadline with stderr, warnings and logging
muted, never retries or waits on a throttled server, never creates an embedded state file,
and any failure (no backend, no login, a slow server) completes nothing."""

from __future__ import annotations

import contextlib
import io
import logging
import os
import threading
import warnings
from typing import Any

import click

DEADLINE = 2.0  # seconds for the whole lookup, whatever the server does
HTTP_TIMEOUT = 1.0  # seconds per connect/read


def values(what: str, ctx: click.Context, incomplete: str) -> list[str]:
    """The names of `what` that start with `incomplete` (case-insensitive), sorted."""
    found: list[str] = []

    def run() -> None:
        with contextlib.suppress(Exception):  # completion must never fail loudly
            found.extend(_names(what, ctx))

    with _silenced():
        worker = threading.Thread(target=run, name="acrctl-complete", daemon=True)
        worker.start()
        worker.join(DEADLINE)
        if worker.is_alive():
            return []
    low = incomplete.lower()
    return sorted(n for n in found if n.lower().startswith(low))


@contextlib.contextmanager
def _silenced() -> Any:
    previous = logging.root.manager.disable
    logging.disable(logging.CRITICAL)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
            warnings.simplefilter("ignore")
            yield
    finally:
        logging.disable(previous)


def _client(ctx: click.Context) -> Any:
    from acrctl.cli.env import EMBEDDED, Env

    env = Env(endpoint=ctx.params.get("endpoint"), subscription=ctx.params.get("subscription"))
    if env.mode == EMBEDDED:
        from acrctl.embedded import state_path

        if not os.path.exists(state_path()):
            return None  # nothing to complete, and no state file created as a side effect
    client = env.client()
    import httpx

    client.http.timeout = httpx.Timeout(HTTP_TIMEOUT)
    client.max_wait = 0.0  # a 429/503 fails at once instead of sleeping for Retry-After
    client.on_retry = client.on_poll = client.debug = None
    return client


def _names(what: str, ctx: click.Context) -> list[str]:
    if what == "location":
        from acrctl.backend.regions import catalog

        return list(catalog())
    if what not in ("group", "registry", "replication", "webhook"):
        return []
    client = _client(ctx)
    if client is None:
        return []
    try:
        return _remote_names(what, ctx, client)
    finally:
        client.close()


def _remote_names(what: str, ctx: click.Context, client: Any) -> list[str]:
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
    return [w.name for w in client.list_webhooks(rg, registry)]
