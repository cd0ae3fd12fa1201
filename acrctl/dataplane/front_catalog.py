"""The front's /v2/_catalog (acrctl.dataplane.front): answered here, from the serving region's
catalog filtered to the registry's namespace."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlencode

import httpx

from acrctl.dataplane import routing
from acrctl.dataplane.front_io import (
    API_VERSION,
    JSON,
    Send,
    _headers,
    _reply,
)

if TYPE_CHECKING:
    from acrctl.dataplane.plane import DataPlane


class Catalog:
    """The front's catalog (a mixin of Front)."""

    plane: DataPlane
    router: routing.Router
    client: httpx.AsyncClient | None
    _catalog_token: tuple[float, str]

    if TYPE_CHECKING:  # Front's, used here

        async def _challenge(
            self,
            send: Send,
            host: str,
            repository: str | None,
            actions: str | None,
            error: str | None = None,
            scope_type: str = "repository",
        ) -> None: ...

        async def _plan(
            self,
            scope: dict[str, Any],
            headers: dict[str, str],
            registry: str,
            push_key: tuple[str, ...] | None = None,
        ) -> list[tuple[str, str]]: ...

    async def _catalog(self, scope: dict[str, Any], send: Send, host: str, auth: str) -> None:
        import jwt

        registry = self.router.registry_of_host(host)
        claims: dict[str, Any] = {}
        if auth.lower().startswith("bearer "):
            try:
                claims = self.plane.keys.verify(auth[7:].strip(), self.plane.service)
            except (jwt.InvalidTokenError, ValueError):
                claims = {}
        if not registry or claims.get("acrctl_catalog") != registry:
            await self._challenge(
                send,
                host,
                "catalog",
                "*",
                error="insufficient_scope" if auth else None,
                scope_type="registry",
            )
            return
        plan = await self._plan(scope, _headers(scope), registry)
        names = await self._namespace_repositories(plan[0][1], registry) if plan else []
        q = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        last = (q.get("last") or [""])[0]
        names = [n for n in names if n > last] if last else names
        hdrs = [JSON, API_VERSION]
        if q.get("n"):
            try:
                n = max(0, int(q["n"][0]))
            except ValueError:
                n = len(names)
            if len(names) > n:
                names = names[:n]
                nxt = urlencode({"last": names[-1], "n": n}) if names else ""
                hdrs.append((b"link", f'</v2/_catalog?{nxt}>; rel="next"'.encode()))
        await _reply(send, 200, json.dumps({"repositories": names}).encode(), hdrs)

    async def _namespace_repositories(self, region: str, registry: str) -> list[str]:
        """Every repository of `registry` in the region, without the namespace prefix."""
        assert self.client is not None
        prefix, last, out = f"{registry}/", f"{registry}/", []
        token = self._internal_catalog_token()
        while True:
            r = await self.client.get(
                f"{region}/v2/_catalog",
                params={"n": 1000, "last": last},
                headers={"authorization": f"Bearer {token}"},
            )
            r.raise_for_status()
            page = r.json().get("repositories") or []
            mine = [n for n in page if n.startswith(prefix)]
            out += [n[len(prefix) :] for n in mine]
            if len(mine) < len(page) or len(page) < 1000:
                return out
            last = page[-1]

    def _internal_catalog_token(self) -> str:
        until, token = self._catalog_token
        if time.monotonic() < until:
            return token
        now = int(time.time())
        token = self.plane.keys.sign(
            {
                "iss": self.plane.issuer,
                "sub": "acrctl-front",
                "aud": self.plane.service,
                "iat": now,
                "nbf": now - 5,
                "exp": now + 120,
                "access": [{"type": "registry", "name": "catalog", "actions": ["*"]}],
            }
        )
        self._catalog_token = (time.monotonic() + 60, token)
        return token
