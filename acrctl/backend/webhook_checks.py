"""Webhook input checks (no HTTP here): serviceUri, actions, custom headers, status, scope,
signing secret; and the masking of a serviceUri where it is shown."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from acrctl.backend.errors import WebhookInvalidParameterValue

ACTIONS = ("push", "delete", "quarantine", "chart_push", "chart_delete")
MASK = "******"


def mask_uri(uri: str) -> str:
    """scheme://host[:port], with credentials, a non-trivial path and the query masked
    (tokens often live in the path, e.g. Slack- and Teams-style hook URLs)."""
    p = urlsplit(uri)
    host = p.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    try:
        if p.port:
            host += f":{p.port}"
    except ValueError:
        pass
    out = f"{p.scheme}://{MASK + '@' if (p.username or p.password) else ''}{host}"
    out += p.path if p.path in ("", "/") else f"/{MASK}"
    return out + (f"?{MASK}" if p.query else "")


def check_uri(uri: Any) -> str:
    if not isinstance(uri, str) or not uri:
        raise WebhookInvalidParameterValue("The webhook serviceUri is required.")
    try:  # 'http://[x' (an unclosed IPv6 bracket) or a port past 65535 raise ValueError
        p = urlsplit(uri)
        _ = p.port
    except ValueError:
        p = urlsplit("")
    if p.scheme not in ("http", "https") or not p.hostname:
        raise WebhookInvalidParameterValue(
            "The webhook serviceUri must be an absolute http or https URI.",
        )
    return uri


def check_actions(actions: Any) -> list[str]:
    if not isinstance(actions, list) or not actions:
        raise WebhookInvalidParameterValue(
            "The webhook needs at least one action: " + ", ".join(ACTIONS) + ".",
        )
    out = []
    for a in actions:
        if not isinstance(a, str) or a.lower() not in ACTIONS:
            raise WebhookInvalidParameterValue(
                f"'{a}' is not a webhook action. Allowed: {', '.join(ACTIONS)}.",
            )
        if a.lower() not in out:
            out.append(a.lower())
    return out


def check_headers(headers: Any) -> dict[str, str]:
    if headers is None:
        return {}
    if not isinstance(headers, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in headers.items()
    ):
        raise WebhookInvalidParameterValue("customHeaders must be an object of string values.")
    for name, value in headers.items():
        problem = header_problem(name, value)
        if problem:
            raise WebhookInvalidParameterValue(problem)
    return dict(headers)


HEADER_NAME_RE = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# a header value may hold printable Latin-1 only: no C0/C1 control characters (CR, LF, NUL,
# TAB...), no DEL, nothing a Latin-1 encoding cannot carry
BAD_VALUE_CHAR_RE = re.compile(r"[\x00-\x1f\x7f-\x9f]|[^\x00-\xff]")


def header_problem(name: str, value: str) -> str | None:
    """Why a custom header cannot be sent (None: it can). Names the header (escaped), never
    quotes the value: header values are secrets."""
    shown = name.encode("unicode_escape").decode("ascii")[:100]
    if not HEADER_NAME_RE.fullmatch(name):
        return (
            f"The customHeaders name '{shown}' is not a valid HTTP header name (letters, "
            "digits and !#$%&'*+-.^_`|~ only)."
        )
    if BAD_VALUE_CHAR_RE.search(value):
        return (
            f"The value of the custom header '{shown}' contains control characters (such "
            "as CR, LF or NUL) or characters outside Latin-1; it cannot be sent as an "
            "HTTP header."
        )
    return None


def delivery_host(uri: str) -> str:
    """The receiving host of a serviceUri (lower-case; "" if it has none): the unit of the
    per-host delivery cap."""
    try:
        return (urlsplit(uri).hostname or "").lower()
    except ValueError:
        return ""


def check_status(status: Any) -> str:
    if status not in ("enabled", "disabled"):
        raise WebhookInvalidParameterValue(
            f"The webhook status must be 'enabled' or 'disabled', not '{status}'.",
        )
    return str(status)


def check_signing_secret(value: Any) -> str:
    if not isinstance(value, str):
        raise WebhookInvalidParameterValue("The webhook signingSecret must be a string.")
    return value


def check_scope(scope: Any) -> str:
    if not isinstance(scope, str):
        raise WebhookInvalidParameterValue("The webhook scope must be a string.")
    return scope
