"""Helpers for tests on the replication bed (test_replication_engine's Bed): a setting
changed for one test, and a region's registry killed and held down."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Callable, Iterator
from typing import Any


@contextlib.contextmanager
def setting(settings: Any, name: str, value: Any) -> Iterator[None]:
    """`settings.name` is `value` inside the block, what it was after it."""
    kept = getattr(settings, name)
    setattr(settings, name, value)
    try:
        yield
    finally:
        setattr(settings, name, kept)


def hold_down(region: Any, wait_for: Callable[..., bool]) -> None:
    """Kill a supervised region's registry and keep the supervisor from restarting it
    (until `region.next_start` is set to now): the supervisor would restart it within a
    second, so it is held once the supervisor has seen it exit."""
    proc = region.process
    assert proc is not None
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(5)
    assert wait_for(lambda: region.next_start != 0.0, timeout=10)
    region.next_start = time.monotonic() + 3600
