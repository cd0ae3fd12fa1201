"""Route templates and their matching: a template's params are whole path segments
(`{name}`) or a leading run of them (`{name:path}`), matched segment by segment, case-
insensitively, as ARM matches its paths; anything else by a regex compiled once."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from acrctl.backend.core import Backend
    from acrctl.backend.rbac import Caller
    from acrctl.server.http import Ctx, Response

Handler = Callable[["Ctx"], "Response"]


@dataclass
class Route:
    method: str
    template: str
    handler: Handler
    action: str | None = None  # None: any authenticated caller
    scope: str = ""  # template of the scope the action is checked at
    listing: bool = False  # lists filter what the caller may read instead of 403
    public: bool = False  # no authentication, no api-version (health)
    acr: bool = True  # api-version checked against the container registry versions
    # consulted when the caller lacks `action` at `scope`: (backend, caller, params) -> allowed
    fallback: Callable[[Backend, Caller, dict[str, str]], bool] | None = None
    regex: re.Pattern[str] | None = None

    def compile(self) -> None:
        out, pos = "", 0
        for m in re.finditer(r"\{(\w+)(:path)?\}", self.template):
            out += re.escape(self.template[pos : m.start()])
            out += f"(?P<{m.group(1)}>(?:/[^/]+)*?)" if m.group(2) else f"(?P<{m.group(1)}>[^/]+)"
            pos = m.end()
        out += re.escape(self.template[pos:])
        self.regex = re.compile(f"^{out}/?$", re.IGNORECASE)

    def match(self, paths: list[list[str] | None], path: str) -> dict[str, str] | None:
        """The route's params when it matches `path`, else None. `paths` is what
        `_segments(path)` returned. Templates whose params are whole segments are matched
        segment by segment (what compile()'s regex matches, without building ~50 regexes at
        start-up or scanning them per request); any other template uses the regex."""
        pattern = _pattern(self.template) if self.regex is None else None
        if pattern is None:
            if self.regex is None:
                self.compile()
            m = self.regex.match(path) if self.regex else None
            return dict(m.groupdict()) if m else None
        rest_name, elems = pattern
        for segs in paths:
            if segs is None:
                continue
            start = len(segs) - len(elems)
            if start < 0 or (start and rest_name is None):
                continue
            params = (
                {} if rest_name is None else {rest_name: "".join("/" + seg for seg in segs[:start])}
            )
            for (is_param, text, lower), seg in zip(elems, segs[start:], strict=True):
                if is_param:
                    params[text] = seg
                elif seg.lower() != lower and (seg.isascii() or not _ci(text).fullmatch(seg)):
                    break
            else:
                return params
        return None


Element = tuple[bool, str, str]  # (is a param, param name or literal, lower-cased literal)


@functools.cache
def _pattern(template: str) -> tuple[str | None, tuple[Element, ...]] | None:
    """A template as (name of a leading {x:path} param or None, one element per segment);
    None when a param is not a whole segment (such templates use the regex)."""
    tokens = template.split("/")
    rest = None
    head = re.fullmatch(r"\{(\w+):path\}", tokens[0])
    if head:
        rest = head.group(1)
    elif tokens[0]:
        return None
    elems: list[Element] = []
    for tok in tokens[1:]:
        m = re.fullmatch(r"\{(\w+)\}", tok)
        if m:
            elems.append((True, m.group(1), ""))
        elif not tok or "{" in tok or "}" in tok:
            return None
        else:
            elems.append((False, tok, tok.lower()))
    return rest, tuple(elems)


def _may_match(route: Route, count: int, last: str | None) -> bool:
    """Whether `route` can match a path of `count` segments whose lower-cased last segment
    is the literal `last` (None: not a literal that ends any route)."""
    pattern = _pattern(route.template) if route.regex is None else None
    if pattern is None:
        return True
    rest, elems = pattern
    if (len(elems) != count) if rest is None else (len(elems) > count):
        return False
    return not elems or elems[-1][0] or elems[-1][2] == last


@functools.lru_cache(maxsize=256)
def _ci(literal: str) -> re.Pattern[str]:
    """Case-insensitive literal, for non-ASCII segments (re's case folding, as the regex)."""
    return re.compile(re.escape(literal), re.IGNORECASE)


def _segments(path: str) -> list[list[str] | None]:
    """The ways compile()'s `^.../?$` can see `path`: its segments without one trailing
    slash, and, when it ends in a newline (`$` matches before one), those of the path
    without it. None where no route can match (no leading slash, an empty segment)."""
    out: list[list[str] | None] = []
    for body in (path, path[:-1]) if path.endswith("\n") else (path,):
        if body.endswith("/"):
            body = body[:-1]
        segs = body.split("/")
        out.append(segs[1:] if not segs[0] and "" not in segs[1:] else None)
    return out


@functools.lru_cache(maxsize=256)
def _fill_parts(template: str) -> tuple[tuple[str, str], ...]:
    parts, pos = [], 0
    for m in re.finditer(r"\{(\w+)(:path)?\}", template):
        parts.append((template[pos : m.start()], m.group(1)))
        pos = m.end()
    parts.append((template[pos:], ""))
    return tuple(parts)


def fill(template: str, params: dict[str, str]) -> str:
    return "".join(
        lit + (params.get(name, "") if name else "") for lit, name in _fill_parts(template)
    )
