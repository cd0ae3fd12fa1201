"""Masking a webhook's secrets in what a delivery attempt records (errors, the receiver's
status reason, headers and body), so `listEvents` never shows them in any form.

A secret value (a custom header value, the signing secret, the URI's credentials, query
values and path segments) is masked wherever any run of PARTIAL_MIN or more of its
characters appears, compared case-insensitively, also in its escaped forms (JSON, Python
repr of str and bytes, percent-encoding): a receiver echoing 'Bearer TOPSECRET', a prefix
of it, or an exception text quoting b'Bearer TOPSECRET\\r\\n' is masked. The whole URI, its
path and query are masked where they appear whole. Masking errs on the side of hiding: a
harmless word that shares 6 characters with a secret is masked too."""

from __future__ import annotations

import json
from collections.abc import Iterable
from urllib.parse import parse_qsl, quote, quote_plus, unquote, urlsplit

from acrctl.backend.webhooks import MASK

PARTIAL_MIN = 6  # a run of this many characters of a secret is masked
EXACT_MIN = 4  # shorter whole values are not masked (too many false hits)


def _forms(value: str) -> set[str]:
    """The value and the escaped forms it takes in JSON, reprs and URLs."""
    forms = {
        value,
        value.strip(),
        json.dumps(value)[1:-1],
        json.dumps(value, ensure_ascii=False)[1:-1],
        repr(value)[1:-1],
        repr(value.encode("utf-8", "backslashreplace"))[2:-1],
        repr(value.encode("latin-1", "backslashreplace"))[2:-1],
        quote(value, safe=""),
        quote_plus(value, safe=""),
    }
    return {f for f in forms if f}


def _lower(text: str) -> str:
    """Lower-case, keeping every index in place (a few characters grow when lowered)."""
    return "".join(c.lower() if len(c.lower()) == 1 else c for c in text)


class Masker:
    """mask(text) hides the given secrets; built once per delivery attempt."""

    def __init__(self, partial: Iterable[str], exact: Iterable[str] = ()) -> None:
        self.grams: set[str] = set()
        wholes: set[str] = set()
        for secret in partial:
            for form in _forms(secret):
                low = _lower(form)
                if len(low) >= PARTIAL_MIN:
                    self.grams.update(
                        low[i : i + PARTIAL_MIN] for i in range(len(low) - PARTIAL_MIN + 1)
                    )
                elif len(low) >= EXACT_MIN:
                    wholes.add(low)
        for value in exact:
            wholes.update(_lower(f) for f in _forms(value) if len(f) >= EXACT_MIN)
        self.wholes = sorted(wholes, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        if not text or not (self.grams or self.wholes):
            return text
        low = _lower(text)
        hidden = bytearray(len(text))
        for i in range(len(low) - PARTIAL_MIN + 1):
            if low[i : i + PARTIAL_MIN] in self.grams:
                hidden[i : i + PARTIAL_MIN] = b"\1" * PARTIAL_MIN
        for whole in self.wholes:
            at = low.find(whole)
            while at >= 0:
                hidden[at : at + len(whole)] = b"\1" * len(whole)
                at = low.find(whole, at + 1)
        if not any(hidden):
            return text
        out: list[str] = []
        for i, ch in enumerate(text):
            if not hidden[i]:
                out.append(ch)
            elif i == 0 or not hidden[i - 1]:
                out.append(MASK)
        return "".join(out)


def uri_secrets(uri: str) -> tuple[list[str], list[str]]:
    """(partial, exact) secrets of a webhook URI: its credentials, query values and path
    segments of PARTIAL_MIN+ characters; the whole URI, its path and its query."""
    try:
        p = urlsplit(uri)
        user, password = p.username or "", p.password or ""
    except ValueError:
        return [], [uri]
    partial = [
        user,
        password,
        *(v for _, v in parse_qsl(p.query, keep_blank_values=True)),
        *(unquote(s) for s in p.path.split("/")),
    ]
    exact = [uri, p.query, unquote(p.query)] + (
        [p.path, unquote(p.path)] if p.path not in ("", "/") else []
    )
    return [s for s in partial if len(s) >= PARTIAL_MIN], [s for s in exact if s]
