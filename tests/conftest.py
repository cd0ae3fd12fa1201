"""Shared fixtures: an isolated config dir and embedded state for every test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("ACRCTL_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("ACRCTL_STATE", str(tmp_path / "state.db"))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.null.Keyring")
    for var in ("ACRCTL_ENDPOINT", "ACRCTL_TOKEN", "ACRCTL_DEFAULTS_REGISTRY",
                "ACRCTL_DEFAULTS_GROUP", "ACRCTL_DEFAULTS_LOCATION", "ACRCTL_CORE_OUTPUT",
                "ACRCTL_SUBSCRIPTION", "NO_COLOR", "FORCE_COLOR"):
        monkeypatch.delenv(var, raising=False)
    yield
