"""The embedded default: the whole backend in this process, on a local SQLite state file,
acting as the local user (Owner of the local subscription). No server, no login."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from acrctl.backend.core import Backend
    from acrctl.backend.rbac import Caller
    from acrctl.server.transport import InProcessTransport


def state_path() -> str:
    explicit = os.environ.get("ACRCTL_STATE")
    if explicit:
        return explicit
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local",
                                                            "share")
    return os.path.join(base, "acrctl", "state.db")


def open_backend(path: str | None = None) -> tuple[Backend, Caller, str]:
    """Open (and on first use bootstrap) the embedded backend. Returns the backend, the local
    user's identity and the subscription id."""
    from acrctl.backend.core import Backend
    from acrctl.statefile import bootstrap, open_store

    backend = Backend(open_store(path or state_path()))
    sub = bootstrap(backend)
    admin = backend.rbac.principal(backend.admin_principal_id() or "")
    if admin is None:  # pragma: no cover - a store bootstrapped by something else
        raise RuntimeError("the embedded state has no admin principal")
    return backend, backend.rbac.caller(admin), sub["subscriptionId"]


def transport(path: str | None = None) -> tuple[InProcessTransport, str]:
    from acrctl.server.app import App
    from acrctl.server.transport import InProcessTransport

    backend, caller, sub = open_backend(path)
    return InProcessTransport(App(backend), caller), sub


def deliver_webhooks(client: Any, timeout: float = 10.0) -> int:
    """Send the webhook events that are due, in this process: the embedded mode has no
    server and so no delivery worker. Call it after an embedded command that queued events
    (webhook ping, webhook redeliver). Waits up to `timeout` for the answers; retries of
    failed deliveries are left for a later command (or a server) to send. A no-op for a
    client of a remote server, or when ACRCTL_WEBHOOK_DELIVERY=off. Returns how many
    deliveries were attempted."""
    from acrctl.server.transport import InProcessTransport

    transport = getattr(client, "transport", None)
    if not isinstance(transport, InProcessTransport):
        return 0
    if os.environ.get("ACRCTL_WEBHOOK_DELIVERY", "").lower() in ("0", "off", "false", "no"):
        return 0
    from acrctl.statefile import ReadOnlyStore

    if isinstance(transport.app.backend.store, ReadOnlyStore):
        return 0  # nothing could have been queued, and sending would have to write
    from acrctl.delivery import deliver_due

    return deliver_due(transport.app.backend, timeout=timeout)
