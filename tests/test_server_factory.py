"""The app factory of multi-process serving (uvicorn --factory acrctl.server.factory:app):
built from the environment, one bootstrap per database file, bad settings refused."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest


def _asgi_get(app: Any, path: str, token: str | None = None) -> tuple[int, bytes]:
    sent: list[dict[str, Any]] = []
    headers = [(b"host", b"127.0.0.1")]
    if token:
        headers.append((b"authorization", f"Bearer {token}".encode()))
    scope = {
        "type": "http",
        "method": "GET",
        "path": path.split("?")[0],
        "query_string": path.partition("?")[2].encode(),
        "headers": headers,
        "scheme": "http",
        "server": ("127.0.0.1", 80),
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(msg: dict[str, Any]) -> None:
        sent.append(msg)

    asyncio.run(app(scope, receive, send))
    return sent[0]["status"], sent[1]["body"]


def test_factory_builds_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from acrctl.server import factory

    monkeypatch.setenv("ACRCTL_SERVER_DATABASE", str(tmp_path / "s.db"))
    monkeypatch.setenv("ACRCTL_BOOTSTRAP_TOKEN", "tok-1")
    monkeypatch.setenv("ACRCTL_SERVER_LRO_MODE", "polls")
    monkeypatch.setenv("ACRCTL_SERVER_LRO_POLLS", "3")
    monkeypatch.setenv("ACRCTL_WEBHOOK_DELIVERY", "off")
    app = factory.app()
    try:
        s = app.app.backend.settings
        assert (s.lro_mode, s.lro_polls, s.retry_after) == ("polls", 3, 1)
        assert not app.deliver
        assert _asgi_get(app, "/healthz")[0] == 200
        assert _asgi_get(app, "/subscriptions?api-version=2022-09-01", "tok-1")[0] == 200
        assert _asgi_get(app, "/subscriptions?api-version=2022-09-01", "wrong")[0] == 401
        second = factory.app()  # another worker process on the same file: no new bootstrap
        assert _asgi_get(second, "/subscriptions?api-version=2022-09-01", "tok-1")[0] == 200
        second.stop()
    finally:
        app.stop()
    for name, value in (("LRO_MODE", "later"), ("LRO_POLLS", "x"), ("DATABASE", ":memory:")):
        monkeypatch.setenv(f"ACRCTL_SERVER_{name}", value)
        with pytest.raises(ValueError):
            factory.app()
        monkeypatch.delenv(f"ACRCTL_SERVER_{name}")
        if name == "LRO_MODE":
            monkeypatch.setenv("ACRCTL_SERVER_DATABASE", str(tmp_path / "s.db"))
