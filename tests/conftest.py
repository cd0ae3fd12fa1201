"""Shared fixtures: an isolated config dir and embedded state for every test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from acrctl.backend.clock import FakeClock
from acrctl.testing import AcrctlMock


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("ACRCTL_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("ACRCTL_STATE", str(tmp_path / "state.db"))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
    # `acrctl server` runs its data plane (docker-registry per region, on :8444) by default;
    # the servers tests start have none unless they ask (--data-port): docs/dataplane.md
    monkeypatch.setenv("ACRCTL_SERVER_DATA_PORT", "0")
    for var in (
        "ACRCTL_ENDPOINT",
        "ACRCTL_TOKEN",
        "ACRCTL_DEFAULTS_REGISTRY",
        "ACRCTL_DEFAULTS_GROUP",
        "ACRCTL_DEFAULTS_LOCATION",
        "ACRCTL_CORE_OUTPUT",
        "ACRCTL_SUBSCRIPTION",
        "NO_COLOR",
        "FORCE_COLOR",
    ):
        monkeypatch.delenv(var, raising=False)
    yield


@pytest.fixture
def cli_on_mock(acrctl_mock: AcrctlMock, monkeypatch: pytest.MonkeyPatch) -> AcrctlMock:
    """The CLI talks to the mock's own backend object, so its settings and clock apply."""
    from acrctl import embedded

    monkeypatch.setattr(
        embedded, "transport", lambda path=None: (acrctl_mock.transport(), acrctl_mock.subscription)
    )
    return acrctl_mock


@pytest.fixture
def fake_time(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeClock]:
    """The CLI wait loop's clock and sleep, with no real sleeping."""
    from acrctl.cli import replication

    clock = FakeClock(0.0)
    monkeypatch.setattr(replication, "_clock", clock.now)
    monkeypatch.setattr(replication, "_sleep", clock.advance)
    yield clock
