"""acrctl.dataplane.events: the loopback listener the regions post their notifications to
(the whole path, with real regions over TLS, is in tests/test_dataplane_tls.py)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import httpx

from acrctl.dataplane.events import EventsListener
from acrctl.dataplane.plane import DataPlane


class Recorder:
    """A stand-in front: records the paths it is given, answers 200."""

    def __init__(self) -> None:
        self.paths: list[str] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        self.paths.append(scope["path"])
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})


def test_only_posts_to_the_events_route_reach_the_front() -> None:
    front = Recorder()
    listener = EventsListener()
    listener.start(front)  # type: ignore[arg-type]
    try:
        base = listener.url.rsplit("/_acrctl/", 1)[0]
        assert listener.url.startswith("http://127.0.0.1:")
        assert httpx.post(listener.url.replace("REGION", "eastus")).status_code == 200
        assert httpx.get(listener.url.replace("REGION", "eastus")).status_code == 404
        assert httpx.get(f"{base}/v2/").status_code == 404
        assert httpx.post(f"{base}/oauth2/token").status_code == 404
        assert front.paths == ["/_acrctl/events/eastus"]
    finally:
        listener.stop()


def test_alive_while_serving_only() -> None:
    listener = EventsListener()
    assert listener.alive is False
    listener.start(Recorder())  # type: ignore[arg-type]
    assert listener.alive is True
    listener.stop()
    assert listener.alive is False


def test_a_stopped_listener_makes_the_data_plane_unready() -> None:
    region = SimpleNamespace(name="eastus", ready=False, held=False)
    plane: Any = SimpleNamespace(
        supervisor=SimpleNamespace(regions={"eastus": region}),
        events=SimpleNamespace(alive=False),
    )
    assert DataPlane.status(plane) == "regions not ready: eastus; notification listener stopped"
    region.ready, plane.events.alive = True, True
    assert DataPlane.status(plane) == "ok"
