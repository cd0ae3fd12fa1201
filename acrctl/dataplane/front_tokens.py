"""The front's token service (acrctl.dataplane.front): /oauth2/token and /oauth2/exchange,
answered from acrctl.dataplane.tokens."""

from __future__ import annotations

import asyncio
import json
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from acrctl.dataplane import routing
from acrctl.dataplane.front_io import (
    JSON,
    Receive,
    Send,
    _basic,
    _errors,
    _headers,
    _read,
    _reply,
)
from acrctl.dataplane.tokens import Refused, parse_scopes

if TYPE_CHECKING:
    from acrctl.dataplane.plane import DataPlane


class TokenService:
    """The front's /oauth2/* endpoints (a mixin of Front)."""

    plane: DataPlane
    router: routing.Router

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
