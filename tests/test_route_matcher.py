"""The route matcher of acrctl.server.app gives the same answers as the route regexes
(a randomised comparison over every route of THE route table)."""

from __future__ import annotations

import copy
import random
import re
from typing import Any

import pytest

pytestmark = pytest.mark.fuzz


def test_route_matching_agrees_with_the_route_regexes() -> None:
    from acrctl.server.app import App
    from acrctl.server.routes import ROUTES

    regex_routes = [copy.copy(r) for r in ROUTES]
    for r in regex_routes:
        r.compile()

    def by_regex(method: str, path: str) -> tuple[Any, ...]:
        known = False
        for r in regex_routes:
            m = r.regex.match(path) if r.regex else None
            if m:
                known = True
                if r.method == method:
                    return r.template, r.method, m.groupdict(), True
        return None, None, {}, known

    app = App.__new__(App)  # match() needs only the route table
    app.routes = ROUTES
    literals = sorted({t for r in ROUTES for t in r.template.split("/") if t and "{" not in t})
    odd = ["x", "abc\n", "ſubscriptions", "roleAßignments", "K", "é", "a b", ""]
    rnd = random.Random(6)
    for r in ROUTES:
        for _ in range(12):

            def fill(m: re.Match[str]) -> str:
                if m.group(2):
                    return "".join(
                        "/" + rnd.choice(literals + odd[:-1]) for _ in range(rnd.randint(0, 3))
                    )
                return rnd.choice(["eastus", "Myreg1", "x\n", "ſ", *odd])

            path = re.sub(r"\{(\w+)(:path)?\}", fill, r.template)
            path = "".join(c.swapcase() if rnd.random() < 0.2 else c for c in path)
            for tail in ("", "/", "\n", "//"):
                for method in ("GET", "PUT", r.method):
                    found, params, known = app.match(method, path + tail)
                    got = (
                        (found.template, found.method, params, True)
                        if found
                        else (None, None, {}, known)
                    )
                    assert got == by_regex(method, path + tail), repr(path + tail)
