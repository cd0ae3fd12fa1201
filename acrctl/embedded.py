"""The embedded default: the whole backend in this process, on a local SQLite state file,
acting as the local user (Owner of the local subscription). No server, no login."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

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
    from acrctl.backend.sqlite import SqliteStore

    backend = Backend(SqliteStore(path or state_path()))
    sub, _ = backend.bootstrap()
    admin = backend.rbac.principal(backend.admin_principal_id() or "")
    if admin is None:  # pragma: no cover - a store bootstrapped by something else
        raise RuntimeError("the embedded state has no admin principal")
    return backend, backend.rbac.caller(admin), sub["subscriptionId"]


def transport(path: str | None = None) -> tuple[InProcessTransport, str]:
    from acrctl.server.app import App
    from acrctl.server.transport import InProcessTransport

    backend, caller, sub = open_backend(path)
    return InProcessTransport(App(backend), caller), sub
