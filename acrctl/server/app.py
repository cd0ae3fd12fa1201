"""Dispatch: match a route, check api-version, authenticate, authorize, run the handler,
and map domain errors to ARM error responses. This is the ONE place errors become HTTP."""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from acrctl.backend import errors
from acrctl.server.http import ACR_API_VERSIONS, Ctx, Request, Response

if TYPE_CHECKING:
    from acrctl.backend.core import Backend
    from acrctl.backend.rbac import Caller

log = logging.getLogger("acrctl.server")

STATUS = {
    errors.InvalidInput: 400, errors.AuthenticationFailed: 401,
    errors.AuthorizationFailed: 403, errors.NotFound: 404, errors.Conflict: 409,
    errors.PreconditionFailed: 412, errors.PayloadTooLarge: 413, errors.Throttled: 429,
    errors.Unavailable: 503,
}
API_VERSION_RE = re.compile(r"^\d{4}-\d{2}-\d{2}(-preview)?$")

Handler = Callable[[Ctx], Response]
# Extension points. A middleware wraps all of handle() (request logs, metrics, activity log);
# it reads req.meta after call_next. A guard runs after authorization and before the handler
# (failure drills: throttling, latency, region outages) and may raise an ArmError.
Middleware = Callable[[Request, Callable[[Request], Response]], Response]
Guard = Callable[[Ctx, "Route"], None]


@dataclass
class Route:
    method: str
    template: str
    handler: Handler
    action: str | None = None  # None: any authenticated caller
    scope: str = ""  # template of the scope the action is checked at
    listing: bool = False  # lists filter what the caller may read instead of 403
    public: bool = False  # no authentication, no api-version (health)
    acr: bool = True  # api-version checked against the container registry versions
    # consulted when the caller lacks `action` at `scope`: (backend, caller, params) -> allowed
    fallback: Callable[[Backend, Caller, dict[str, str]], bool] | None = None
    regex: re.Pattern[str] | None = None

    def compile(self) -> None:
        out, pos = "", 0
        for m in re.finditer(r"\{(\w+)(:path)?\}", self.template):
            out += re.escape(self.template[pos:m.start()])
            out += (f"(?P<{m.group(1)}>(?:/[^/]+)*?)" if m.group(2)
                    else f"(?P<{m.group(1)}>[^/]+)")
            pos = m.end()
        out += re.escape(self.template[pos:])
        self.regex = re.compile(f"^{out}/?$", re.IGNORECASE)


def fill(template: str, params: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)(:path)?\}", lambda m: params.get(m.group(1), ""), template)


class App:
    """The ARM application, framework-free: `handle(Request) -> Response`."""

    def __init__(self, backend: Backend, routes: list[Route] | None = None) -> None:
        from acrctl.server.routes import ROUTES

        self.backend = backend
        self.routes = routes or ROUTES
        self.middleware: list[Middleware] = []
        self.guards: list[Guard] = []
        for r in self.routes:
            if r.regex is None:
                r.compile()

    def match(self, method: str, path: str) -> tuple[Route | None, dict[str, str], bool]:
        path_known = False
        for r in self.routes:
            m = r.regex.match(path) if r.regex else None
            if m:
                path_known = True
                if r.method == method:
                    return r, {k: v for k, v in m.groupdict().items()}, True
        return None, {}, path_known

    def handle(self, req: Request) -> Response:
        req.meta.setdefault("request_id", str(uuid.uuid4()))
        call: Callable[[Request], Response] = self._handle
        for mw in reversed(self.middleware):
            call = _wrap(mw, call)
        return call(req)

    def _handle(self, req: Request) -> Response:
        request_id = str(req.meta["request_id"])
        try:
            resp = self._dispatch(req)
        except errors.ArmError as exc:
            resp = Response(STATUS.get(type(exc), 400), exc.body())
            if exc.retry_after is not None:
                resp.headers["Retry-After"] = str(exc.retry_after)
            if isinstance(exc, errors.AuthenticationFailed):
                resp.headers["WWW-Authenticate"] = 'Bearer realm="acrctl"'
        except Exception:
            log.exception("unhandled error, request id %s", request_id)
            resp = Response(500, {"error": {
                "code": "InternalServerError",
                "message": f"The server had an internal error. Request id: {request_id}."}})
        resp.headers["x-ms-request-id"] = request_id
        resp.headers["x-ms-correlation-request-id"] = (
            req.headers.get("x-ms-correlation-request-id") or request_id)
        if "x-ms-client-request-id" in req.headers:
            resp.headers["x-ms-client-request-id"] = req.headers["x-ms-client-request-id"]
        if resp.body is not None:
            resp.headers.setdefault("Content-Type", "application/json; charset=utf-8")
        return resp

    def _dispatch(self, req: Request) -> Response:
        route, params, known = self.match(req.method, req.path)
        if route is None:
            if known:
                raise errors.InvalidInput(
                    "UnsupportedHttpMethod",
                    f"The HTTP method '{req.method}' is not supported for '{req.path}'.")
            raise errors.NotFound("NotFound", f"No route matches '{req.method} {req.path}'.")
        req.meta.update(route=route.template, action=route.action)
        if route.public:
            return route.handler(Ctx(req, params, self.backend, _anonymous(), ""))
        version = self._api_version(req, route, params)
        caller = req.caller or self.backend.rbac.authenticate(_bearer(req))
        req.meta.update(caller_id=caller.id, caller_name=caller.name,
                        scope=fill(route.scope, params) or "/")
        if route.action:
            scope = fill(route.scope, params) or "/"
            rbac = self.backend.rbac
            ok = (rbac.allowed_below if route.listing else rbac.allowed)(
                caller, route.action, scope)
            if not ok and route.fallback is not None:
                ok = route.fallback(self.backend, caller, params)
            if not ok:
                from acrctl.backend.rbac import denied

                raise denied(caller, route.action, scope)
        ctx = Ctx(req, params, self.backend, caller, version)
        for guard in self.guards:
            guard(ctx, route)
        return route.handler(ctx)

    @staticmethod
    def _api_version(req: Request, route: Route, params: dict[str, str]) -> str:
        version = req.query.get("api-version")
        if not version:
            raise errors.InvalidInput(
                "MissingApiVersionParameter",
                "The api-version query parameter (?api-version=) is required for all requests.")
        if not API_VERSION_RE.match(version):
            raise errors.InvalidInput(
                "InvalidApiVersionParameter",
                f"The api-version '{version}' is invalid. The supported versions are "
                f"'{','.join(ACR_API_VERSIONS)}'.")
        if route.acr and version not in ACR_API_VERSIONS:
            raise errors.InvalidInput(
                "NoRegisteredProviderFound",
                f"No registered resource provider found for location 'global' and API version "
                f"'{version}' for type 'registries'. The supported api-versions are "
                f"'{', '.join(ACR_API_VERSIONS)}'.")
        return version


def _wrap(mw: Middleware, nxt: Callable[[Request], Response]) -> Callable[[Request], Response]:
    return lambda req: mw(req, nxt)


def _bearer(req: Request) -> str | None:
    auth = req.headers.get("authorization", "")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip()
    return None


def _anonymous() -> Caller:
    from acrctl.backend.rbac import Caller

    return Caller("", "anonymous")
