"""The in-process adapter: an httpx transport that hands requests to the route table with no
socket. Used by the embedded mode and by tests."""

from __future__ import annotations

import functools
import re
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, unquote

import httpx

from acrctl.server.http import Request

if TYPE_CHECKING:
    from acrctl.backend.rbac import Caller
    from acrctl.server.app import App


ENCODED_SLASH = re.compile("%2f", re.IGNORECASE)


def to_request(
    method: str, raw_path: str, query: str, headers: dict[str, str], body: bytes, base_url: str
) -> Request:
    """An encoded slash stays encoded: `a%2Fb` is one (invalid) name, never two segments
    that route somewhere else."""
    path = unquote(ENCODED_SLASH.sub("%252F", raw_path)) if "%" in raw_path else raw_path
    return Request(
        method=method.upper(),
        path=path,
        query=dict(_query(query)) if query else {},
        headers=headers,
        body=body,
        base_url=base_url,
    )


@functools.lru_cache(maxsize=256)
def _query(query: str) -> tuple[tuple[str, str], ...]:
    """A query string's pairs (clients repeat theirs: `api-version=...`)."""
    return tuple(parse_qsl(query, keep_blank_values=True))


class InProcessTransport(httpx.BaseTransport):
    """`caller`: act as this principal without a token (a trusted in-process caller);
    None means authenticate the request's bearer token like the server does."""

    def __init__(self, app: App, caller: Caller | None = None) -> None:
        self.app = app
        self.caller = caller

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        base = f"{url.scheme}://{url.netloc.decode()}"
        req = to_request(
            request.method,
            url.raw_path.split(b"?", 1)[0].decode(),
            url.query.decode(),
            {k.lower(): v for k, v in request.headers.items()},
            request.read(),
            base,
        )
        req.caller = self.caller
        resp = self.app.handle(req)
        return httpx.Response(
            resp.status, headers=resp.headers, content=resp.encode(), request=request
        )
