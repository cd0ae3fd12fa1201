"""The embedded default: the whole backend in this process, on a local SQLite state file,
acting as the local user (Owner of the local subscription). No server, no login."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from acrctl.backend.core import Backend
    from acrctl.backend.rbac import Caller
    from acrctl.server.transport import InProcessTransport


def state_path() -> str:
    explicit = os.environ.get("ACRCTL_STATE")
    if explicit:
        return explicit
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(
        os.path.expanduser("~"), ".local", "share"
    )
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


# None: start the background sender (acrctl.delivery_agent) unless acrctl's in-process test
# harness (acrctl.testing, e.g. the acrctl_mock pytest fixture) is loaded, where tests send
# with AcrctlMock.deliver() and no process may outlive a test. True/False: always/never.
BACKGROUND_DELIVERY: bool | None = None


def local_backend(client: Any) -> Backend | None:
    """The backend whose webhook events this process sends for `client`: the embedded one,
    when it can be written and ACRCTL_WEBHOOK_DELIVERY is not off; else None."""
    from acrctl.server.transport import InProcessTransport

    transport = getattr(client, "transport", None)
    if not isinstance(transport, InProcessTransport):
        return None
    if os.environ.get("ACRCTL_WEBHOOK_DELIVERY", "").lower() in ("0", "off", "false", "no"):
        return None
    from acrctl.statefile import ReadOnlyStore

    if isinstance(transport.app.backend.store, ReadOnlyStore):
        return None  # nothing could have been queued, and sending would have to write
    return transport.app.backend


def deliver_webhooks(client: Any, timeout: float = 10.0) -> int:
    """Send the webhook events that are due, in this process: the embedded mode has no
    server and so no delivery worker. Call it after an embedded command that queued events
    (webhook ping, webhook redeliver). Waits up to `timeout` for the answers; when retries
    remain, makes sure a background sender (acrctl.delivery_agent) runs for the state file
    to send them as they come due. A no-op for a client of a remote server, or when
    ACRCTL_WEBHOOK_DELIVERY=off. Returns how many deliveries were attempted here."""
    backend = local_backend(client)
    if backend is None:
        return 0
    from acrctl.delivery import deliver_due

    started = deliver_due(backend, timeout=timeout)
    start_delivery_agent(backend)
    return started


def start_delivery_agent(backend: Backend) -> int | None:
    """Start the background sender for the backend's state file if events are pending and
    none runs yet (see BACKGROUND_DELIVERY). Returns its pid (None: none started)."""
    enabled = BACKGROUND_DELIVERY
    if enabled is None:
        enabled = "acrctl.testing" not in sys.modules
    path = getattr(backend.store, "path", None)
    if not enabled or not isinstance(path, str) or path == ":memory:":
        return None
    from acrctl.delivery_agent import ensure_running

    return ensure_running(backend, path)
