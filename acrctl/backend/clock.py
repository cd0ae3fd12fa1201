"""An injectable clock, so long-running operations progress without sleeping in tests."""

from __future__ import annotations

import datetime as dt
import time


class Clock:
    def now(self) -> float:
        return time.time()

    def iso(self, ts: float | None = None) -> str:
        t = self.now() if ts is None else ts
        return dt.datetime.fromtimestamp(t, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "Z"


class FakeClock(Clock):
    """A clock that only moves when told to."""

    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.t = start

    def now(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds
