"""Request rate limits, as ARM throttles: token buckets per principal (writes and reads
apart) and, for requests that fail authentication, per client address. A request over its
limit is answered 429 with Retry-After before it reaches authorization, its handler or
the activity log.

The rates and bursts are Settings fields read at each request (0 turns a limit off):

* `rate_limit_writes` / `rate_limit_write_burst`: PUT, PATCH, DELETE and POST per
  principal (per second / bucket size).
* `rate_limit_reads` / `rate_limit_read_burst`: GET and HEAD per principal.
* `rate_limit_anonymous` / `rate_limit_anonymous_burst`: requests without valid
  credentials per client address.
* `rate_limit_tracked`: how many principals and addresses are tracked at once; the least
  recently seen is forgotten first (its bucket starts full again).

Buckets live in the server process: several instances on one database each keep their own.
Trusted in-process callers (the embedded CLI, `acrctl.testing`) are never limited: they
present no token to authenticate.
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from acrctl.backend.errors import (
    AuthenticationFailed,
    SubscriptionRequestsThrottled,
    TenantRequestsThrottled,
    TooManyRequests,
)

if TYPE_CHECKING:
    from acrctl.backend.core import Backend, Settings
    from acrctl.backend.rbac import Caller
    from acrctl.server.http import Request

WRITES = frozenset({"PUT", "PATCH", "DELETE", "POST"})
SUB_RE = re.compile(r"^/subscriptions/([^/]{1,64})", re.IGNORECASE)


@dataclass
class Bucket:
    tokens: float
    stamp: float
    skipped: int = 0  # what a caller chose not to do while the bucket was empty


class Buckets:
    """Token buckets by key. Each key's bucket starts full (`burst` tokens) and refills at
    `rate` tokens a second. At most `tracked()` keys are kept, least recently used first
    forgotten. Thread-safe."""

    def __init__(
        self, tracked: Callable[[], int], clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.tracked = tracked
        self.clock = clock
        self._buckets: OrderedDict[str, Bucket] = OrderedDict()
        self._lock = threading.Lock()

    def take(self, key: str, rate: float, burst: int) -> tuple[float, Bucket | None]:
        """Take one token from `key`'s bucket. Returns (0.0, bucket) when one was there,
        else (seconds until one will be, bucket). A rate or burst of 0 or less means no
        limit: (0.0, None), nothing tracked."""
        if rate <= 0 or burst <= 0:
            return 0.0, None
        with self._lock:
            return self._take(key, rate, burst)

    def admit(self, key: str, rate: float, burst: int) -> int | None:
        """take() for something that is skipped rather than refused (a log record): None
        when the bucket is empty (one more skipped), else how many were skipped since the
        last one admitted."""
        if rate <= 0 or burst <= 0:
            return 0
        with self._lock:
            wait, bucket = self._take(key, rate, burst)
            if wait:
                bucket.skipped += 1
                return None
            skipped, bucket.skipped = bucket.skipped, 0
            return skipped

    def _take(self, key: str, rate: float, burst: int) -> tuple[float, Bucket]:
        now = self.clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            bucket = self._buckets[key] = Bucket(float(burst), now)
            limit = max(1, self.tracked())
            while len(self._buckets) > limit:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(key)
            bucket.tokens = min(float(burst), bucket.tokens + (now - bucket.stamp) * rate)
            bucket.stamp = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return 0.0, bucket
        return (1.0 - bucket.tokens) / rate, bucket

    def __len__(self) -> int:
        return len(self._buckets)


def retry_after(wait: float) -> int:
    """Whole seconds to wait (at least 1), as Retry-After carries them."""
    return max(1, math.ceil(wait))


class Limiter:
    """The request limits of one App."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.buckets = Buckets(lambda: int(self.settings.rate_limit_tracked))

    @property
    def settings(self) -> Settings:
        return self.backend.settings

    def authenticate(self, req: Request, token: str | None) -> Caller:
        """The request's caller (rbac.authenticate), once its bucket had a token. A
        request without valid credentials is charged to its client address: 429 once that
        is empty, else the 401."""
        try:
            # the token's digest when the kept-answer look-up already computed it
            caller = self.backend.rbac.authenticate(token, req.meta.get("token_key"))
        except AuthenticationFailed:
            self._anonymous(req)
            raise
        self._principal(req, caller)
        return caller

    def _principal(self, req: Request, caller: Caller) -> None:
        req.meta.update(caller_id=caller.id, caller_name=caller.name)  # logs, even if refused
        s = self.backend.settings  # not the property: every request
        if req.method in WRITES:
            kind, rate, burst = "write", s.rate_limit_writes, s.rate_limit_write_burst
        else:
            kind, rate, burst = "read", s.rate_limit_reads, s.rate_limit_read_burst
        wait, _ = self.buckets.take(f"{kind}:{caller.id}", float(rate), int(burst))
        if not wait:
            return
        seconds = retry_after(wait)
        m = SUB_RE.match(req.path)
        if m is not None:
            raise SubscriptionRequestsThrottled(
                f"Number of '{kind}' requests for subscription '{m.group(1)}' "
                f"actor '{caller.id}' exceeded. Please try again after "
                f"'{seconds}' seconds.",
                retry_after=seconds,
            )
        raise TenantRequestsThrottled(
            f"Number of '{kind}' requests for tenant actor '{caller.id}' "
            f"exceeded. Please try again after '{seconds}' seconds.",
            retry_after=seconds,
        )

    def _anonymous(self, req: Request) -> None:
        s = self.settings
        client = str(req.meta.get("client") or "local")
        wait, _ = self.buckets.take(
            f"anonymous:{client}", float(s.rate_limit_anonymous), int(s.rate_limit_anonymous_burst)
        )
        if wait:
            seconds = retry_after(wait)
            raise TooManyRequests(
                "Too many requests without valid credentials from this client "
                f"address. Please try again after '{seconds}' seconds.",
                retry_after=seconds,
            )
