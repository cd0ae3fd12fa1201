"""The data-plane listener (an ASGI app): the ACR token service and the OCI API of every
registry, proxied to its region's distribution.

Requests without credentials get ACR's challenge here; requests with a bearer token go to
the region, which checks the token itself (they are signed for it). Bodies stream both
ways (httpx, never whole in memory); upload `Location`s, `Link`s and challenges from the
region are rewritten back to the client's names. Small JSON answers that carry repository
names (errors, tag lists) are rewritten too. The catalog is answered here, filtered to the
registry's namespace. Blob GETs of a registry with dataEndpointEnabled answer 307 to a
pre-signed URL on the serving region's data endpoint, which this listener serves too
(acrctl.dataplane.dataep).

Front is this module's ASGI dispatch and the OCI API; its mixins hold the proxying
(front_proxy), the catalog (front_catalog) and the token service (front_tokens), and
front_io the ASGI plumbing they share."""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from typing import TYPE_CHECKING, Any

import httpx

from acrctl.dataplane import dataep, geo, redirect, routing
from acrctl.dataplane.front_catalog import Catalog
from acrctl.dataplane.front_io import (
    API_VERSION,
    JSON,
    Receive,
    Send,
    _client,
    _errors,
    _headers,
    _pushes,
    _read,
    _reply,
)
from acrctl.dataplane.front_proxy import Proxy
from acrctl.dataplane.front_tokens import TokenService

if TYPE_CHECKING:
    from acrctl.dataplane.plane import DataPlane

log = logging.getLogger("acrctl.dataplane")


class Front(Proxy, Catalog, TokenService):
    def __init__(self, plane: DataPlane) -> None:
        self.plane = plane
        self.router = routing.Router(plane.login_domain)
        self.client: httpx.AsyncClient | None = None
        self._catalog_token: tuple[float, str] = (0.0, "")

    # -- ASGI -----------------------------------------------------------------------------
    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        path: str = scope["path"]
        try:
            data = redirect.data_target(self.router, scope)
            if data is not None:
                await self._data(scope, send, *data)
            elif path.startswith("/v2"):
                await self._oci(scope, receive, send)
            elif path in ("/oauth2/token", "/oauth2/exchange"):
                await self._oauth(scope, receive, send)
            elif path.startswith("/_acrctl/events/") and scope["method"] == "POST":
                await self._events(scope, receive, send)
            else:
                await _reply(send, 404, _errors("NOT_FOUND", "not found"))
        except httpx.HTTPError as exc:
            log.warning("data plane: region unreachable: %s", type(exc).__name__)
            await _reply(
                send,
                503,
                _errors("UNAVAILABLE", "the registry's region is unavailable; retry later"),
            )

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            msg = await receive()
            if msg["type"] == "lifespan.startup":
                s = self.plane.settings
                self.client = httpx.AsyncClient(
                    timeout=httpx.Timeout(s.dataplane_upstream_timeout, connect=5.0),
                    limits=httpx.Limits(
                        max_connections=s.dataplane_upstream_connections,
                        max_keepalive_connections=32,
                    ),
                    follow_redirects=False,
                )
                await send({"type": "lifespan.startup.complete"})
            elif msg["type"] == "lifespan.shutdown":
                if self.client is not None:
                    await self.client.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return

    # -- the OCI API --------------------------------------------------------------------------
    async def _oci(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        path, method = scope["path"], scope["method"]
        headers = _headers(scope)
        host = headers.get("host", "")
        auth = headers.get("authorization", "")
        if path in ("/v2", "/v2/"):
            if not auth.lower().startswith("bearer "):
                await self._challenge(send, host, None, None)
                return
            plan = await self._plan(scope, headers, self.router.registry_of_host(host) or "")
            if not plan:
                await _reply(send, 200, b"{}", [JSON])
                return
            await self._forward(scope, receive, send, plan, "/v2/", None)
            return
        if path == "/v2/_catalog":
            await self._catalog(scope, send, host, auth)
            return
        m = routing.OCI_ROUTE.match(path)
        if m is None:
            await _reply(
                send, 404, _errors("NAME_UNKNOWN", "repository name not known to registry")
            )
            return
        target = self.router.target(host, m["name"])
        if not auth.lower().startswith("bearer "):
            await self._challenge(send, host, target.repository, routing.required(method))
            return
        push = _pushes(auth, target.upstream)
        key = (_client(scope), push, target.registry, target.upstream) if push else None
        plan = await self._plan(scope, headers, target.registry, key)
        if not plan:
            await self._no_region(send, host, target, method)
            return
        upstream = f"/v2/{target.upstream}/{m['tail']}"
        if m["tail"].startswith("blobs/") and not m["tail"].startswith("blobs/uploads/"):
            await self._blob(scope, receive, send, plan, upstream, target)
            return
        await self._forward(scope, receive, send, plan, upstream, target)

    async def _blob(
        self,
        scope: dict[str, Any],
        receive: Receive,
        send: Send,
        plan: list[tuple[str, str]],
        upstream: str,
        target: routing.Target,
    ) -> None:
        """A blob GET/HEAD (or DELETE). A GET answers 307 to a pre-signed URL on the serving
        region's data endpoint when the registry has dataEndpointEnabled and the policy lets
        it (redirect.data_region); everything else is proxied."""
        if scope["method"] == "GET" and target.registry:
            headers = _headers(scope)
            auth = headers.get("authorization", "")[7:].strip()
            digest = scope["path"].rsplit("/", 1)[-1]
            regions = [region for region, _ in plan]
            client = redirect.Client(
                _client(scope), headers.get(geo.HINT_HEADER), redirect.keeps_alive(scope)
            )
            region = await asyncio.to_thread(
                redirect.data_region, self.plane, target, regions, auth, digest, client
            )
            if region is not None:
                hdrs = redirect.headers(self.plane, scope, target, region, digest)
                await _reply(send, 307, b"", [*hdrs, API_VERSION])
                return
        await self._forward(scope, receive, send, plan, upstream, target)

    async def _data(
        self, scope: dict[str, Any], send: Send, registry: str, region: str, digest: str
    ) -> None:
        if not registry:
            await _reply(send, 404, _errors("NOT_FOUND", "not found"))
            return
        await dataep.serve(
            scope,
            send,
            signer=self.plane.data_signer,
            root=self.plane.data_root(region),
            registry=registry,
            region=region,
            digest=digest,
            chunk=self.plane.settings.dataplane_data_chunk_bytes,
        )

    async def _plan(
        self,
        scope: dict[str, Any],
        headers: dict[str, str],
        registry: str,
        push_key: tuple[str, ...] | None = None,
    ) -> list[tuple[str, str]]:
        """(region, URL) to try, best first (acrctl.dataplane.geo)."""
        pinned = self.router.region_of_host(headers.get("host", ""))
        return await asyncio.to_thread(
            self.plane.geo.route,
            registry,
            _client(scope),
            headers.get(geo.HINT_HEADER),
            pinned,
            push_key,
        )

    async def _no_region(self, send: Send, host: str, target: routing.Target, method: str) -> None:
        pinned = self.router.region_of_host(host)
        if pinned is None:
            await self._challenge(
                send, host, target.repository, routing.required(method), error="insufficient_scope"
            )
            return
        await _reply(
            send,
            404,
            _errors(
                "NAME_UNKNOWN",
                f"registry '{target.registry}' has no replica in region '{pinned}'",
            ),
        )

    async def _challenge(
        self,
        send: Send,
        host: str,
        repository: str | None,
        actions: str | None,
        error: str | None = None,
        scope_type: str = "repository",
    ) -> None:
        realm = f"{self.plane.scheme}://{host}/oauth2/token"
        parts = [f'realm="{realm}"', f'service="{host}"']
        detail = None
        if repository is not None and actions is not None:
            parts.append(f'scope="{scope_type}:{repository}:{actions}"')
            detail = [
                {"Type": scope_type, "Class": "", "Name": repository, "Action": a}
                for a in actions.split(",")
            ]
        if error:
            parts.append(f'error="{error}"')
        hdrs = [(b"www-authenticate", ("Bearer " + ",".join(parts)).encode()), JSON, API_VERSION]
        await _reply(send, 401, _errors("UNAUTHORIZED", "authentication required", detail), hdrs)

    # -- notifications from the regions ---------------------------------------------------------
    async def _events(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        auth = _headers(scope).get("authorization", "")
        expected = f"Bearer {self.plane.events_token}"
        if not hmac.compare_digest(auth.encode(), expected.encode()):
            await _reply(send, 401, _errors("UNAUTHORIZED", "authentication required"))
            return
        region = scope["path"].rsplit("/", 1)[-1]
        raw = await _read(receive, self.plane.settings.dataplane_form_max_bytes * 16)
        try:
            events = json.loads(raw or b"{}").get("events") or []
        except (ValueError, AttributeError):
            events = []
        await asyncio.to_thread(self.plane.on_events, region, events)
        await _reply(send, 200, b"{}", [JSON])
