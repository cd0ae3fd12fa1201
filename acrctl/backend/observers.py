"""What may watch the backend from outside it (the server's metrics), installed in one place:
Backend.observe(). The backend calls its observer (and so does the data plane's replication
engine, through its backend: lag and copy counts); nothing outside the backend wraps or
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

    def replication_lag(self, source: str, target: str, seconds: float) -> None:
        """The replication engine put a pushed manifest in `target`: `seconds` from the
        source registry's event time to the moment the target accepted it."""

    def replication_counts(self, target: str, delta: dict[str, int]) -> None:
        """The replication engine moved (or skipped) content into `target`: counts by
        acrctl.dataplane.copier.Counters field name."""
