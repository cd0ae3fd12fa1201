"""Small parsing helpers for HTTP header values, shared by the backend and the client."""

from __future__ import annotations


def split_commas(value: str) -> list[str]:
    """Split a header value on the commas outside double quotes (an entity tag or a
    challenge's scope may hold a comma); empty parts are dropped."""
    parts, cur, quoted = [], "", False
    for ch in value:
        if ch == '"':
            quoted = not quoted
        if ch == "," and not quoted:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    return [p for p in [*parts, cur] if p.strip()]
