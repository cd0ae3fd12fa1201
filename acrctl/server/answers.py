"""Whole GET answers kept per (token, path, query), exact while the store is unchanged.

A GET of one resource whose answer the read cache may keep (acrctl.server.http
Ctx.resource: every item read settled, the body the stored document) is the same answer for
the same caller, path and query until the store's generation moves: the token's principal,
the role assignments that allow the read, the subscription's failure drills and the item
itself are all in the store. So the server keeps the answer, with what the request log and
metrics say of it (route, principal, scope), and answers the next such GET without routing,
authentication, authorization, the drill guard or the handler: one dictionary look-up, the
generation (read once a request anyway) and the token's expiry.

Exact, not a TTL: an entry is used only at the generation it was made at; any committed
write, by any process or instance, retires every entry. What is not in the store is checked
at each use or keeps the answer out:

* the token's expiry (the clock): checked at each use; an expired token takes the full
  path, which answers 401 as it always does;
* failure drills start and end by the clock: a subscription with any drill defined is never
  kept;
* read rate limits (`rate_limit_reads`) count every request: with them on nothing is kept;
* JSON web tokens (the identity provider's) and in-process callers take the full path.

Entries are keyed by the token's SHA-256 (as the store keys tokens), never the token.
`answer_cache_entries` bounds them (0 turns the cache off); the cache is emptied when full.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from acrctl.backend.credentials import check_expiry
from acrctl.backend.errors import ArmError
from acrctl.backend.rbac_rules import hash_token
from acrctl.server.drills import subscription_of
from acrctl.server.http import Request, Response

if TYPE_CHECKING:
    from acrctl.backend.core import Backend

KEPT_META = ("route", "action", "caller_id", "caller_name", "scope")  # what logs/metrics read
MEMO = "memo"  # req.meta key: the answer may be kept (set by Ctx.resource)


@dataclass(frozen=True)
class Entry:
    generation: Any
    token_doc: dict[str, Any]
    meta: tuple[tuple[str, Any], ...]
    status: int
    body: Any
    headers: tuple[tuple[str, str], ...]
    text: str


class Answers:
    def __init__(self, backend: Backend) -> None:
        self.b = backend
        self._data: dict[tuple[str, str, tuple[tuple[str, str], ...]], Entry] = {}
        self._lock = threading.Lock()
        self.hits = 0

    def serve(self, req: Request, token: str | None) -> Response | None:
        """The kept answer for this request, or None: take the full path."""
        s = self.b.settings
        if not token or token.startswith("eyJ") or s.rate_limit_reads or not s.answer_cache_entries:
            return None  # (settings are read at each request: they change at run time)
        key = req.meta["token_key"] = hash_token(token)
        entry = self._data.get((key, req.path, tuple(req.query.items())))
        if entry is None:
            return None
        generation = getattr(self.b.store, "generation", None)
        if generation is None or generation() != entry.generation:
            return None
        try:
            check_expiry(entry.token_doc, self.b.clock)
        except ArmError:
            return None  # the full path answers (and counts) the expired token
        req.meta.update(entry.meta)
        self.hits += 1
        return Response(entry.status, entry.body, dict(entry.headers), entry.text)

    def keep(self, req: Request, resp: Response) -> None:
        """Keep `resp` if nothing outside the store can change it (module docstring)."""
        meta = req.meta
        s = self.b.settings
        key = meta.get("token_key")
        if (
            not meta.get(MEMO)
            or resp.status != 200
            or resp.text is None
            or not isinstance(key, str)
            or float(s.rate_limit_reads or 0) > 0
            or int(s.answer_cache_entries) <= 0
        ):
            return
        hit = self.b.cache.peek(("token", key))  # (caller, token document), as authenticated
        sub = subscription_of(req.path)
        if hit is None or sub is None or self.b.drills.defined(sub):
            return
        generation = getattr(self.b.store, "generation", None)
        gen = generation() if generation is not None else None
        if gen is None:
            return
        entry = Entry(
            gen,
            hit[1],
            tuple((k, meta[k]) for k in KEPT_META if k in meta),
            resp.status,
            resp.body,
            tuple(resp.headers.items()),
            resp.text,
        )
        with self._lock:
            if len(self._data) >= int(s.answer_cache_entries):
                self._data.clear()
            self._data[(key, req.path, tuple(req.query.items()))] = entry
