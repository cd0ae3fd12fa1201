"""Conditional requests: If-Match / If-None-Match (RFC 9110 section 13) against a stored
item's ETag, the one check every conditional write (PUT, PATCH, DELETE) makes.

Call it inside the write's transaction, on the item as it is now (its in-flight operation
let progress first), so the condition and the write see the same state.

* If-Match: `*` holds when the item exists; a list of entity tags holds when one of them
  equals the item's ETag (strong comparison: a weak `W/"..."` tag never matches).
* If-None-Match: `*` holds when the item does not exist ("create only"); a list holds when
  none of its tags equals the item's ETag (weak comparison).
A condition that does not hold is 412 PreconditionFailed; an absent header always holds.
"""

from __future__ import annotations

import re
from typing import Any

from acrctl.backend.errors import PreconditionFailed, PreconditionNotMet
from acrctl.backend.store import EtagMismatch
from acrctl.headers import split_commas

# one list member: an entity tag (optionally weak), or a bare token that is taken as the
# opaque tag without its quotes (some clients strip them)
_MEMBER = re.compile(r'\s*(W/)?"([^"]*)"\s*|\s*([^,\s]+)\s*')


def parse(value: str) -> list[tuple[bool, str]] | None:
    """An If-Match / If-None-Match value as [(weak, opaque tag)]; None for `*`."""
    if value.strip() == "*":
        return None
    out: list[tuple[bool, str]] = []
    for part in split_commas(value):
        m = _MEMBER.fullmatch(part)
        if m is None:
            continue
        weak, quoted, bare = m.groups()
        out.append((bool(weak), quoted if quoted is not None else bare.strip('"')))
    return out


def _opaque(etag: str) -> tuple[bool, str]:
    weak = etag.startswith("W/")
    return weak, etag[2:].strip('"') if weak else etag.strip('"')


def check_preconditions(cur: Any, if_match: str | None, if_none_match: str | None) -> None:
    """Raise 412 PreconditionFailed unless both conditions hold for `cur` (a store Item,
    or None when the resource does not exist)."""
    if if_match is not None:
        tags = parse(if_match)
        if cur is None:
            raise PreconditionNotMet(
                "The resource does not exist, so the If-Match condition does not hold.",
            )
        weak, opaque = _opaque(cur.etag)
        if tags is not None and (weak or (False, opaque) not in tags):
            raise PreconditionNotMet("The resource's etag does not match the If-Match header.")
    if if_none_match is not None and cur is not None:
        tags = parse(if_none_match)
        if tags is None:
            raise PreconditionNotMet("The resource exists already (If-None-Match: *).")
        if _opaque(cur.etag)[1] in {t for _, t in tags}:
            raise PreconditionNotMet("The resource's etag matches the If-None-Match header.")


def etag_mismatch_error(exc: EtagMismatch) -> PreconditionFailed:
    return PreconditionNotMet("The resource was changed by another request; retry.")
