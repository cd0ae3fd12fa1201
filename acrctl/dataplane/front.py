"""The data-plane listener (an ASGI app): the ACR token service and the OCI API of every
registry, proxied to its region's distribution.

Requests without credentials get ACR's challenge here; requests with a bearer token go to
the region, which checks the token itself (they are signed for it). Bodies stream both
ways (httpx, never whole in memory); upload `Location`s, `Link`s and challenges from the
region are rewritten back to the client's names. Small JSON answers that carry repository
names (errors, tag lists) are rewritten too. The catalog is answered here, filtered to the
registry's namespace. Blob GETs of a registry with dataEndpointEnabled answer 307 to a
pre-signed URL on the serving region's data endpoint, which this listener serves too
(acrctl.dataplane.dataep)."""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, quote, urlencode

import httpx

from acrctl.dataplane import dataep, geo, redirect, routing
from acrctl.dataplane.tokens import Refused, parse_scopes

if TYPE_CHECKING:
    from acrctl.dataplane.plane import DataPlane

log = logging.getLogger("acrctl.dataplane")
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


class Front:
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
        region's data endpoint when the registry has dataEndpointEnabled (redirect.data_region);
        everything else is proxied."""
        if scope["method"] == "GET" and target.registry:
            auth = _headers(scope).get("authorization", "")[7:].strip()
            digest = scope["path"].rsplit("/", 1)[-1]
            regions = [region for region, _ in plan]
            region = await asyncio.to_thread(
                redirect.data_region, self.plane, target, regions, auth, digest
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

    # -- the catalog ----------------------------------------------------------------------------
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

    # -- the token service --------------------------------------------------------------------
    async def _oauth(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        method, path = scope["method"], scope["path"]
        headers = _headers(scope)
        host = headers.get("host", "")
        if method == "GET" and path == "/oauth2/token":
            form = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        elif method == "POST":
            raw = await _read(receive, self.plane.settings.dataplane_form_max_bytes)
            if raw is None:
                await _reply(send, 413, _errors("SIZE_INVALID", "request body too large"))
                return
            form = parse_qs(raw.decode("utf-8", "replace"))
            form.update(
                {
                    k: v
                    for k, v in parse_qs(scope.get("query_string", b"").decode("latin-1")).items()
                    if k not in form
                }
            )
        else:
            await _reply(
                send,
                405,
                _errors("UNSUPPORTED", "method not allowed"),
                [(b"allow", b"GET, POST" if path == "/oauth2/token" else b"POST")],
            )
            return
        try:
            answer = await asyncio.to_thread(
                self._token_answer, method, path, form, host, headers.get("authorization", "")
            )
        except Refused as exc:
            await _reply(
                send,
                401,
                _errors("UNAUTHORIZED", str(exc)),
                [
                    JSON,
                    (
                        b"www-authenticate",
                        f'Basic realm="{self.plane.scheme}://{host}/oauth2/token"'.encode(),
                    ),
                ],
            )
            return
        await _reply(send, 200, json.dumps(answer).encode(), [JSON])

    def _token_answer(
        self, method: str, path: str, form: dict[str, list[str]], host: str, authorization: str
    ) -> dict[str, Any]:
        svc = self.plane.tokens
        first = {k: v[0] for k, v in form.items() if v}
        service = first.get("service") or host
        registry = self.router.registry_of_host(host)
        if path == "/oauth2/exchange":
            if first.get("grant_type", "access_token") not in (
                "access_token",
                "access_token_refresh_token",
                "refresh_token",
            ):
                raise Refused("unsupported grant_type")
            who = svc.from_arm_token(first.get("access_token", ""))
            return {"refresh_token": svc.refresh_token(who, service)}
        if method == "GET":
            user, password = _basic(authorization)
            who = svc.basic(user, password, registry)
        elif first.get("grant_type") == "refresh_token":
            who = svc.from_refresh(first.get("refresh_token", ""), service)
        elif first.get("grant_type") == "password":
            who = svc.basic(first.get("username", ""), first.get("password", ""), registry)
        else:
            raise Refused("unsupported grant_type")
        scopes = parse_scopes(form.get("scope", []))
        token, seconds = svc.access_token(who, scopes, lambda name: self.router.resolve(host, name))
        answer: dict[str, Any] = {"access_token": token, "expires_in": seconds}
        if method == "GET":
            answer["issued_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        if (
            method == "POST"
            and first.get("grant_type") == "password"
            and first.get("access_type") == "offline"
        ):
            answer["refresh_token"] = svc.refresh_token(who, service)
        return answer

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
