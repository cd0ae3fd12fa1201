"""Proxying a request to a region for the front (acrctl.dataplane.front): the request streamed
up, the answer streamed back with its Location, Link and challenge headers (and small JSON
answers) in the client's names."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import httpx

from acrctl.dataplane import routing
from acrctl.dataplane.front_io import (
    HOP,
    REGION_HEADER,
    Receive,
    Send,
    _body,
    _challenge_params,
    _headers,
    _rename_path,
)

if TYPE_CHECKING:
    from acrctl.dataplane.plane import DataPlane


class Proxy:
    """The front's proxy half (a mixin of Front)."""

    plane: DataPlane
    client: httpx.AsyncClient | None

    async def _forward(
        self,
        scope: dict[str, Any],
        receive: Receive,
        send: Send,
        plan: list[tuple[str, str]],
        upstream: str,
        target: routing.Target | None,
    ) -> None:
        """Proxy to the first region of the plan. A read (GET/HEAD) goes on to the next
        region when one cannot be reached, or answers 404 for a manifest or blob (it has not
        arrived there yet: read-your-writes); the last region's answer is the client's."""
        assert self.client is not None
        method = scope["method"]
        reads = method in ("GET", "HEAD")
        blob = "/blobs/" in upstream and "/blobs/uploads/" not in upstream
        again = reads and ("/manifests/" in upstream or blob)
        for i, (region, url) in enumerate(plan):
            last = i == len(plan) - 1 or not reads
            try:
                resp = await self._send(scope, receive, url, upstream)
            except (httpx.ConnectError, httpx.ConnectTimeout):
                self.plane.geo.failed(region)
                if last:
                    raise
                continue
            try:
                if not last and again and resp.status_code == 404:
                    continue
                await self._respond(send, resp, target, scope, region)
                return
            finally:
                await resp.aclose()

    async def _send(
        self, scope: dict[str, Any], receive: Receive, region: str, upstream: str
    ) -> httpx.Response:
        assert self.client is not None
        method = scope["method"]
        query = scope.get("query_string", b"")
        url = (
            region + quote(upstream, safe="/:@") + ("?" + query.decode("latin-1") if query else "")
        )
        out = [(k, v) for k, v in scope["headers"] if k not in HOP or k == b"content-length"]
        out.append((b"host", dict(scope["headers"]).get(b"host", b"")))
        body = _body(receive) if method in ("POST", "PUT", "PATCH") else None
        req = self.client.build_request(method, url, headers=out, content=body)
        return await self.client.send(req, stream=True)

    async def _respond(
        self,
        send: Send,
        resp: httpx.Response,
        target: routing.Target | None,
        scope: dict[str, Any],
        region: str,
    ) -> None:
        host = _headers(scope).get("host", "")
        hdrs: list[tuple[bytes, bytes]] = [(REGION_HEADER, region.encode())]
        for k, v in resp.headers.raw:
            key = k.lower()
            if key in HOP and key != b"content-length":
                continue
            if key in (b"location", b"link") and target is not None:
                v = _rename_path(v.decode("latin-1"), target).encode("latin-1")
            elif key == b"www-authenticate":
                v = self._rewrite_challenge(v.decode("latin-1"), host, target).encode()
            hdrs.append((key, v))
        small = (
            target is not None
            and target.host_form
            and (resp.status_code >= 400 or scope["path"].endswith("/tags/list"))
        )
        if (
            small
            and scope["method"] != "HEAD"
            and await self._send_renamed(send, resp, hdrs, target)
        ):
            return
        await send({"type": "http.response.start", "status": resp.status_code, "headers": hdrs})
        async for chunk in resp.aiter_raw():
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})

    async def _send_renamed(
        self, send: Send, resp: httpx.Response, hdrs: list[tuple[bytes, bytes]], target: Any
    ) -> bool:
        """A small answer with the namespace prefix taken out of its repository names;
        False (nothing sent) when it is larger than dataplane_rewrite_max_bytes."""
        limit = self.plane.settings.dataplane_rewrite_max_bytes
        length = resp.headers.get("content-length")
        if length is None or not length.isdigit() or int(length) > limit:
            return False
        raw = b"".join([chunk async for chunk in resp.aiter_raw()])
        raw = raw.replace(f'"{target.registry}/'.encode(), b'"')
        hdrs = [(k, v) for k, v in hdrs if k != b"content-length"]
        hdrs.append((b"content-length", str(len(raw)).encode()))
        await send({"type": "http.response.start", "status": resp.status_code, "headers": hdrs})
        await send({"type": "http.response.body", "body": raw})
        return True

    def _rewrite_challenge(self, value: str, host: str, target: routing.Target | None) -> str:
        params = dict(_challenge_params(value))
        params["realm"] = f"{self.plane.scheme}://{host}/oauth2/token"
        params["service"] = host
        if target is not None and "scope" in params:
            typ, _, rest = params["scope"].partition(":")
            name, _, actions = rest.rpartition(":")
            params["scope"] = f"{typ}:{target.outward(name)}:{actions}"
        return "Bearer " + ",".join(f'{k}="{v}"' for k, v in params.items())
