"""The ASGI plumbing of the data plane's front (acrctl.dataplane.front): the OCI error body,
the hop-by-hop headers, reading a request body, answering, and the header helpers."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from acrctl.dataplane import routing
from acrctl.dataplane.tokens import Refused

Send = Callable[[dict[str, Any]], Awaitable[None]]
Receive = Callable[[], Awaitable[dict[str, Any]]]
HOP = {
    b"connection",
    b"keep-alive",
    b"proxy-authenticate",
    b"proxy-authorization",
    b"te",
    b"trailer",
    b"transfer-encoding",
    b"upgrade",
    b"host",
    b"content-length",
}
API_VERSION = (b"docker-distribution-api-version", b"registry/2.0")
JSON = (b"content-type", b"application/json; charset=utf-8")
REGION_HEADER = b"x-acrctl-region"  # on every proxied answer: the region that gave it


def _errors(code: str, message: str, detail: Any = None) -> bytes:
    err: dict[str, Any] = {"code": code, "message": message}
    if detail is not None:
        err["detail"] = detail
    return json.dumps({"errors": [err]}).encode() + b"\n"


# -- helpers ------------------------------------------------------------------------------------
def _headers(scope: dict[str, Any]) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}


def _client(scope: dict[str, Any]) -> str:
    client = scope.get("client")
    return str(client[0]) if client else ""


def _pushes(auth: str, upstream: str) -> str:
    """The token's subject when it grants push on the repository (a push session), else "".
    The claims are read unverified: they only choose the region, which verifies the token."""
    try:
        part = auth[7:].strip().split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
        for grant in claims.get("access") or []:
            if grant.get("name") == upstream and "push" in (grant.get("actions") or []):
                return str(claims.get("sub") or "?")
    except (IndexError, ValueError, TypeError, AttributeError, binascii.Error):
        return ""
    return ""


def _basic(value: str) -> tuple[str, str]:
    if not value.lower().startswith("basic "):
        raise Refused("authentication required")
    try:
        user, _, password = base64.b64decode(value[6:].strip()).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        raise Refused("malformed Basic credentials") from None
    return user, password


def _challenge_params(value: str) -> list[tuple[str, str]]:
    import re

    return re.findall(r'(\w+)="([^"]*)"', value)


def _rename_path(value: str, target: routing.Target) -> str:
    """A region's /v2/<namespaced>/... path (in Location or Link) in the client's names."""
    inner = f"/v2/{target.upstream}/"
    if target.host_form and inner in value:
        return value.replace(inner, f"/v2/{target.repository}/", 1)
    return value


async def _body(receive: Receive) -> AsyncIterator[bytes]:
    while True:
        msg = await receive()
        if msg["type"] == "http.disconnect":
            raise ConnectionError("client went away")
        chunk = msg.get("body", b"")
        if chunk:
            yield chunk
        if not msg.get("more_body", False):
            return


async def _read(receive: Receive, limit: int) -> bytes | None:
    data = b""
    async for chunk in _body(receive):
        data += chunk
        if len(data) > limit:
            return None
    return data


async def _reply(
    send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    hdrs = list(headers or [JSON, API_VERSION])
    hdrs.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": hdrs})
    await send({"type": "http.response.body", "body": body})
