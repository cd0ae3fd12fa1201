"""Keeping a flood of connections from flooding the log, and from running out of file
descriptors early.

Out of file descriptors (EMFILE), asyncio's accept loop logs a traceback for every failed
accept(), up to the listen backlog each time it retries: hundreds of lines a second.
`install_throttle` puts a filter on the loggers that repeat themselves under such a load
(asyncio's, uvicorn's protocol warnings): the first record of a kind passes, those that
follow within the interval are counted, and the next one that passes says how many were
held back. Out-of-resources errors lose their traceback (the line names the errno)."""

from __future__ import annotations

import errno
import logging
import threading
import time
from collections.abc import Callable

THROTTLED_LOGGERS = ("asyncio", "uvicorn.error", "acrctl.server.connections")
RESOURCE_ERRNOS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})
MAX_KINDS = 1024  # distinct messages tracked at once (forgotten all together past it)


class Throttle(logging.Filter):
    """At most one record per (logger, first line of the message) per `interval` seconds."""

    def __init__(self, interval: float, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.interval = interval
        self.clock = clock
        self._seen: dict[tuple[str, str], tuple[float, int]] = {}
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        key = (record.name, str(record.msg).split("\n", 1)[0])
        now = self.clock()
        with self._lock:
            last, held = self._seen.get(key, (None, 0))
            if last is not None and now - last < self.interval:
                self._seen[key] = (last, held + 1)
                return False
            if len(self._seen) >= MAX_KINDS:
                self._seen.clear()
            self._seen[key] = (now, 0)
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, OSError) and exc.errno in RESOURCE_ERRNOS:
            record.msg, record.args = f"{key[1]}: {exc}", None
            record.exc_info, record.exc_text = None, None
        if held:
            suffix = f" ({held} more like this in the last {self.interval:g} s)"
            record.msg = f"{record.msg}{suffix.replace('%', '%%') if record.args else suffix}"
        return True


def install_throttle(interval: float) -> Throttle:
    """Put one Throttle on each logger of THROTTLED_LOGGERS (replacing an earlier one)."""
    throttle = Throttle(interval)
    for name in THROTTLED_LOGGERS:
        logger = logging.getLogger(name)
        for old in [f for f in logger.filters if isinstance(f, Throttle)]:
            logger.removeFilter(old)
        logger.addFilter(throttle)
    return throttle


def raise_open_files_limit() -> tuple[int, int]:
    """Raise the soft RLIMIT_NOFILE to the hard limit where the OS allows it (each
    connection holds a descriptor). Returns the (soft, hard) limits in force afterwards;
    (-1, -1) where there is no such limit (Windows)."""
    try:
        import resource
    except ImportError:  # pragma: no cover - not on POSIX
        return -1, -1
    inf = resource.RLIM_INFINITY
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    targets = [hard] if hard != inf else [1 << 20, 10240]  # macOS refuses an unlimited one
    for target in targets:
        if soft == inf or soft >= target:
            break
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            break
        except (ValueError, OSError):
            continue
    return resource.getrlimit(resource.RLIMIT_NOFILE)
