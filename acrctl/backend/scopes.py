"""ARM scopes: the one place a scope string is checked and put in canonical form.

A scope is `/` (the root), or starts with `/subscriptions/{id}[/resourceGroups/{name}]` or
`/providers`; a `providers` part names `{namespace}/{type}/{name}[/{type}/{name}...]`.
Scopes are compared by prefix on segment boundaries, so a segment that a file system or a URL
library would resolve (`..`, `.`, `%2e%2e`, an empty segment) is refused rather than kept:
`/subscriptions/s/resourceGroups/rg1/..` must never pass for a scope inside rg1.
"""

from __future__ import annotations

import posixpath
import re
from urllib.parse import unquote

from acrctl.backend.errors import InvalidInput, InvalidScope

# characters ARM allows in no resource name (`%` too: see _check_segment)
_FORBIDDEN = re.compile(r"[<>&:\\?*#\x00-\x1f\x7f]")
_KEYWORDS = {
    "subscriptions": "subscriptions",
    "resourcegroups": "resourceGroups",
    "providers": "providers",
}
SHAPE = (
    "/, /subscriptions/{id}, /subscriptions/{id}/resourceGroups/{name}, or one of them "
    "followed by /providers/{namespace}/{type}/{name}"
)


def invalid(scope: str, reason: str) -> InvalidInput:
    return InvalidScope(f"The scope '{scope[:200]}' is not valid: {reason}.")


def normalise(scope: str) -> str:
    """`scope` in canonical form (keywords in ARM's casing, no trailing slash), or
    InvalidInput `InvalidScope` naming what is wrong with it."""
    if not isinstance(scope, str) or not scope.startswith("/"):
        raise invalid(str(scope), "a scope starts with '/'")
    if scope == "/":
        return "/"
    body = scope[1:-1] if scope.endswith("/") else scope[1:]  # one trailing slash
    segs = body.split("/")
    for seg in segs:
        _check_segment(scope, seg)
    return "/" + "/".join(_canonical(scope, segs))


def _check_segment(scope: str, seg: str) -> None:
    if not seg:
        raise invalid(scope, "empty segments ('//') are not allowed")
    if seg in (".", ".."):
        raise invalid(scope, f"'{seg}' segments are not allowed")
    if "%" in seg:
        raise invalid(scope, "percent-encoded text (such as '%2e%2e') is not allowed")
    if _FORBIDDEN.search(seg):
        raise invalid(
            scope,
            "a segment holds a character that no ARM name may contain "
            "(<>&:\\?*# or a control character)",
        )
    if seg != seg.strip():
        raise invalid(scope, "a segment starts or ends with white space")


def _canonical(scope: str, segs: list[str]) -> list[str]:
    out: list[str] = []
    if segs[0].lower() == "subscriptions":
        out = _pair(scope, segs, 0)
        if len(segs) > 2 and segs[2].lower() == "resourcegroups":
            out += _pair(scope, segs, 2)
    rest = segs[len(out) :]
    if not rest:
        return out
    if rest[0].lower() != "providers":
        if not out:  # the root holds subscriptions and providers only
            raise invalid(scope, f"expected {SHAPE}")
        return out + rest  # e.g. /subscriptions/{id}/locations
    if len(rest) < 4 or len(rest) % 2:
        raise invalid(scope, f"expected {SHAPE}")
    return out + ["providers", *rest[1:]]


def _pair(scope: str, segs: list[str], i: int) -> list[str]:
    """A keyword and the name after it."""
    if i + 1 >= len(segs):
        raise invalid(scope, f"'{segs[i]}' needs a name after it")
    return [_KEYWORDS[segs[i].lower()], segs[i + 1]]


def within(scope: str, target: str) -> bool:
    """True when `target` is `scope` or below it (segment boundaries, case-insensitive);
    `/` contains everything. Both are expected in canonical form."""
    s, t = scope.rstrip("/").lower(), target.rstrip("/").lower()
    return s == "" or t == s or t.startswith(s + "/")


def related(a: str, b: str) -> bool:
    """One of the two scopes contains the other."""
    return within(a, b) or within(b, a)


def authority(scope: str) -> str:
    """The scope whose rights it takes to change something recorded at `scope`, a string
    that may predate these checks: the scope itself when valid; else the deepest valid
    scope that contains both the literal reading (the segments before the first bad one)
    and the resolved one (`..` applied, percent-decoding undone), else the root."""
    try:
        return normalise(scope)
    except InvalidInput:
        pass
    raw = scope.split("/")[1:]
    literal: list[str] = []
    for seg in raw:
        try:
            _check_segment(scope, seg)
        except InvalidInput:
            break
        literal.append(seg)
    decoded = scope
    for _ in range(5):  # %252e -> %2e -> .
        decoded = unquote(decoded)
    resolved = posixpath.normpath("/" + decoded.lstrip("/")).split("/")[1:]
    common: list[str] = []
    for a, b in zip(literal, resolved, strict=False):
        if a.lower() != b.lower():
            break
        common.append(a)
    while common:
        try:
            return normalise("/" + "/".join(common))
        except InvalidInput:
            common.pop()
    return "/"
