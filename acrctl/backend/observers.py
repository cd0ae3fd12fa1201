"""What may watch the backend from outside it (the server's metrics), installed in one place:
Backend.observe(). The backend calls its observer; nothing outside the backend wraps or
replaces a backend or store method."""

from __future__ import annotations

from typing import Any

from acrctl.backend.store import Timer


class Observer:
    """The default observer watches nothing. A subclass sets `store_timer` ((operation,
    seconds) of each store call; None costs the store nothing) and overrides the events it
    wants."""

    store_timer: Timer | None = None

    def delivery_attempt(self, attempt: dict[str, Any], state: str | None) -> None:
        """A webhook delivery attempt was recorded: the event's new state (None: the event
        is gone)."""
