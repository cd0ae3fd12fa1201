"""In-process acrctl for tests (ours and our users'), the way moto serves AWS mocks.

    from acrctl.testing import mock_acrctl

    with mock_acrctl() as acr:
        client = acr.client()                      # acts as the admin (Owner)
        reader, token = acr.principal("ci", role="Reader")
        acr.client(reader).list_registries()

The pytest fixture `acrctl_mock` (registered through the pytest11 entry point) yields the
same object with a fresh backend per test; `acrctl_mock.reset()` empties it mid-test.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from acrctl.backend.core import Backend, Settings
    from acrctl.backend.rbac import Caller
    from acrctl.client.acr import AcrClient

BASE_URL = "https://acrctl.local"


class AcrctlMock:
    def __init__(self, path: str, settings: Settings | None = None) -> None:
        from acrctl.backend.core import Backend
        from acrctl.backend.sqlite import SqliteStore
        from acrctl.server.app import App

        self.path = path
        self.backend: Backend = Backend(SqliteStore(path), settings=settings)
        self.app = App(self.backend)
        self._bootstrap()

    def _bootstrap(self) -> None:
        sub, token = self.backend.bootstrap()
        self.subscription: str = sub["subscriptionId"]
        self.admin_token: str | None = token
        admin = self.backend.rbac.principal(self.backend.admin_principal_id() or "")
        assert admin is not None
        self.admin: Caller = self.backend.rbac.caller(admin)

    def reset(self) -> None:
        self.backend.reset()
        self._bootstrap()

    def principal(self, name: str, role: str | None = None,
                  scope: str | None = None) -> tuple[Caller, str]:
        """A new principal, optionally with a role (name or id) at a scope (default: the
        subscription). Returns its identity and bearer token."""
        doc, token = self.backend.rbac.create_principal(name, "Application")
        if role:
            self.assign(doc["id"], role, scope)
        return self.backend.rbac.caller(doc), token

    def assign(self, principal_id: str, role: str, scope: str | None = None) -> dict[str, Any]:
        role_doc = self.backend.rbac.role_definition(role)
        assert role_doc is not None, f"no role {role}"
        return self.backend.rbac.create_assignment(
            scope or f"/subscriptions/{self.subscription}", str(uuid.uuid4()),
            {"properties": {"roleDefinitionId": role_doc["name"], "principalId": principal_id}})

    def transport(self, caller: Caller | None = None, token: bool = False) -> Any:
        from acrctl.server.transport import InProcessTransport

        return InProcessTransport(self.app, None if token else (caller or self.admin))

    def client(self, caller: Caller | None = None, **kw: Any) -> AcrClient:
        from acrctl.client.acr import AcrClient

        return AcrClient(BASE_URL, subscription=self.subscription,
                         transport=self.transport(caller), sleep=lambda s: None, **kw)

    def close(self) -> None:
        self.backend.store.close()


@contextlib.contextmanager
def mock_acrctl(path: str | None = None, settings: Settings | None = None
                ) -> Iterator[AcrctlMock]:
    """A fresh in-process backend. `path`: the SQLite file (default: a temporary one, which
    the embedded CLI can share through ACRCTL_STATE)."""
    with tempfile.TemporaryDirectory(prefix="acrctl-") as tmp:
        mock = AcrctlMock(path or os.path.join(tmp, "state.db"), settings)
        try:
            yield mock
        finally:
            mock.close()


try:
    import pytest
except ImportError:  # pragma: no cover - pytest is only needed for the fixture
    pytest = None  # type: ignore[assignment]

if pytest is not None:
    @pytest.fixture
    def acrctl_mock(tmp_path: Any, monkeypatch: Any) -> Iterator[AcrctlMock]:
        """A fresh in-process backend; the embedded CLI in this test uses the same state."""
        path = str(tmp_path / "acrctl-state.db")
        monkeypatch.setenv("ACRCTL_STATE", path)
        with mock_acrctl(path) as mock:
            yield mock
