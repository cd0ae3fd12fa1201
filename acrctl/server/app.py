"""Dispatch: match a route, check api-version, authenticate, authorize, run the handler,
and map domain errors to ARM error responses. This is the ONE place errors become HTTP."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from acrctl.backend import errors
from acrctl.backend.core import Settings
from acrctl.server.http import ACR_API_VERSIONS, MAX_BODY, Ctx, Request, Response
from acrctl.server.requestid import new_request_id
from acrctl.server.routing import Route, _may_match, _pattern, _segments, fill

if TYPE_CHECKING:
    from acrctl.backend.core import Backend
    from acrctl.backend.rbac import Caller

log = logging.getLogger("acrctl.server")

API_VERSION_RE = re.compile(r"^\d{4}-\d{2}-\d{2}(-preview)?\Z")
MATCH_CACHE_PATH = 512  # longer paths are matched every time (bounds the cache's memory)

# Extension points. A middleware wraps all of handle() (request logs, metrics, activity log);
# it reads req.meta after call_next. A guard runs after authorization and before the handler
# (failure drills: throttling, latency, region outages) and may raise an ArmError.
Middleware = Callable[[Request, Callable[[Request], Response]], Response]
Guard = Callable[[Ctx, "Route"], None]


class App:
    """The ARM application, framework-free: `handle(Request) -> Response`."""

    # the middleware wrapped around _handle, built again when the list changes
    _chain: tuple[list[Middleware], Callable[[Request], Response]] | None = None
    # routed(): (method, path) -> route, params, path known, scope; for the route table
    # identified by _matched_version
    _matched: dict[tuple[str, str], tuple[Route | None, dict[str, str], bool, str]]
    _matched_version: tuple[int, int] | None = None
    # the setting route_match_cache_entries, read when the app is made (its default for an
    # app made without one, as the routing tests do)
    _match_entries = Settings.route_match_cache_entries

    def __init__(self, backend: Backend, routes: list[Route] | None = None) -> None:
        from acrctl.server.routes import ROUTES

        self.backend = backend
        self.routes = routes or ROUTES
        self._match_entries = backend.settings.route_match_cache_entries
        self.middleware: list[Middleware] = []
        from acrctl.server.drills import guard as drill_guard

        self.guards: list[Guard] = [drill_guard]  # failure drills (acrctl.server.drills)
        from acrctl.server.observability import Observability

        # request log, activity log, metrics (the outermost middleware); readiness
        self.obs = Observability(self)
        self.middleware.append(self.obs.middleware)
        from acrctl.server.ratelimit import Limiter

        self.limiter = Limiter(backend)  # per-principal request rate limits (429)
        from acrctl.server.answers import Answers

        self.answers = Answers(backend)  # whole GET answers while the store is unchanged

    def match(self, method: str, path: str) -> tuple[Route | None, dict[str, str], bool]:
        """The route for `method` and `path` (None if none), its params, and whether any
        route matches the path."""
        route, params, known, _ = self.routed(method, path)
        return route, params, known

    def routed(self, method: str, path: str) -> tuple[Route | None, dict[str, str], bool, str]:
        """match() and the route's authorization scope ("/" for the root). Memoized per
        (method, path) for the current route table: routing is pure, and clients repeat
        their paths."""
        version = (id(self.routes), len(self.routes))
        if self._matched_version != version:
            self._matched = {}
            self._matched_version = version
        key = (method, path)
        hit = self._matched.get(key)
        if hit is None:
            route, params, known = self._match(method, path)
            hit = (route, params, known, (fill(route.scope, params) or "/") if route else "")
            if len(path) <= MATCH_CACHE_PATH:
                if len(self._matched) >= self._match_entries:
                    self._matched.clear()
                self._matched[key] = hit
        route, params, known, scope = hit
        return route, dict(params), known, scope  # the caller's own params dict

    def _match(self, method: str, path: str) -> tuple[Route | None, dict[str, str], bool]:
        path_known = False
        paths = _segments(path)
        routes = self._candidates(paths[0]) if len(paths) == 1 and paths[0] else None
        for r in self.routes if routes is None else routes:
            params = r.match(paths, path)
            if params is not None:
                path_known = True
                if r.method == method:
                    return r, params, True
        return None, {}, path_known

    def _candidates(self, segs: list[str]) -> list[Route] | None:
        """The routes, in table order, that can match a path of these segments: by segment
        count and last segment (routes ending in a param match any). Memoized per (count,
        last literal); None (scan them all) for a non-ASCII last segment."""
        last = segs[-1].lower()
        if not last.isascii():
            return None
        version = (id(self.routes), len(self.routes))
        if getattr(self, "_memo_version", None) != version:
            self._memo: dict[tuple[int, str | None], list[Route]] = {}
            self._memo_version = version
            self._literals = {
                p[1][-1][2]
                for p in map(_pattern, (r.template for r in self.routes))
                if p and p[1] and not p[1][-1][0]
            }
        key = (len(segs), last if last in self._literals else None)
        found = self._memo.get(key)
        if found is None:
            found = self._memo[key] = [r for r in self.routes if _may_match(r, *key)]
        return found

    def handle(self, req: Request) -> Response:
        if "request_id" not in req.meta:
            req.meta["request_id"] = new_request_id()
        chain = self._chain
        if chain is None or chain[0] != self.middleware:
            call: Callable[[Request], Response] = self._handle
            for mw in reversed(self.middleware):
                call = _wrap(mw, call)
            chain = self._chain = (list(self.middleware), call)
        return chain[1](req)

    def _handle(self, req: Request) -> Response:
        request_id = str(req.meta["request_id"])
        try:
            resp = self._dispatch(req)
        except Exception as exc:
            resp = error_response(exc, request_id)
            if resp.status == 500:
                log.exception("unhandled error, request id %s", request_id)
            elif not isinstance(exc, errors.ArmError):
                log.warning(
                    "database unavailable (%s: %s), request id %s",
                    type(exc).__name__,
                    str(exc)[:200],
                    request_id,
                )
        resp.headers["x-ms-request-id"] = request_id
        resp.headers["x-ms-correlation-request-id"] = (
            req.headers.get("x-ms-correlation-request-id") or request_id
        )
        if "x-ms-client-request-id" in req.headers:
            resp.headers["x-ms-client-request-id"] = req.headers["x-ms-client-request-id"]
        if resp.body is not None:
            resp.headers.setdefault("Content-Type", "application/json; charset=utf-8")
        return resp

    def _dispatch(self, req: Request) -> Response:
        if len(req.body) > MAX_BODY:  # every route, whether or not its handler reads a body
            raise errors.RequestEntityTooLarge(f"The request body is larger than {MAX_BODY} bytes.")
        if req.method == "GET" and req.caller is None:  # a kept answer (acrctl.server.answers)
            kept = self.answers.serve(req, _bearer(req))
            if kept is not None:
                return kept
        route, params, known, scope = self.routed(req.method, req.path)
        if route is None:
            if known or req.method not in {r.method for r in self.routes}:
                return self._method_not_allowed(req, known)
            raise errors.PathNotFound(f"No route matches '{req.method} {req.path}'.")
        req.meta.update(route=route.template, action=route.action)
        if route.public:
            return route.handler(Ctx(req, params, self.backend, _anonymous(), ""))
        version = self._api_version(req, route, params)
        token = _bearer(req)
        caller = req.caller or self.limiter.authenticate(req, token)  # 401, 429
        req.meta.update(caller_id=caller.id, caller_name=caller.name, scope=scope)
        if route.action:
            rbac = self.backend.rbac
            ok = (rbac.allowed_below if route.listing else rbac.allowed)(
                caller, route.action, scope
            )
            if not ok and route.fallback is not None:
                ok = route.fallback(self.backend, caller, params)
            if not ok:
                from acrctl.backend.rbac import denied

                raise denied(caller, route.action, scope)
        ctx = Ctx(req, params, self.backend, caller, version)
        for guard in self.guards:
            guard(ctx, route)
        resp = self.obs.run(ctx, route)  # a write with its activity record, in one unit
        if req.method == "GET":
            self.answers.keep(req, resp)
        return resp

    def _method_not_allowed(self, req: Request, known: bool) -> Response:
        """405 with Allow: the methods of the routes matching the path (any route's when
        none matches), as ARM answers a method a resource does not support."""
        paths = _segments(req.path)
        allowed = {
            r.method for r in self.routes if not known or r.match(paths, req.path) is not None
        }
        return Response(
            405,
            {
                "error": {
                    "code": "MethodNotAllowed",
                    "message": f"The HTTP method '{req.method}' is not supported on the resource "
                    f"'{req.path}'.",
                }
            },
            {"Allow": ", ".join(sorted(allowed))},
        )

    @staticmethod
    def _api_version(req: Request, route: Route, params: dict[str, str]) -> str:
        version = req.query.get("api-version")
        if version in ACR_API_VERSIONS:  # valid for every route
            return version
        if not version:
            raise errors.MissingApiVersionParameter(
                "The api-version query parameter (?api-version=) is required for all requests.",
            )
        if not API_VERSION_RE.match(version):
            raise errors.InvalidApiVersionParameter(
                f"The api-version '{version}' is invalid. The supported versions are "
                f"'{','.join(ACR_API_VERSIONS)}'.",
            )
        if route.acr and version not in ACR_API_VERSIONS:
            raise errors.NoRegisteredProviderFound(
                f"No registered resource provider found for location 'global' and API version "
                f"'{version}' for type 'registries'. The supported api-versions are "
                f"'{', '.join(ACR_API_VERSIONS)}'.",
            )
        return version


def error_response(exc: BaseException, request_id: str) -> Response:
    """The ARM error answer for an exception: a domain error's status (its class's, through
    the hierarchy), code and message (Retry-After when it has one); a lost or busy database
    (errors.connection_lost) 503 with Retry-After; anything else, and an ArmError subclass
    outside the status families, 500."""
    arm = exc if isinstance(exc, errors.ArmError) else errors.connection_lost(exc)
    if arm is None or type(arm).status == 500:  # 500: an ArmError outside the families
        return Response(
            500,
            {
                "error": {
                    "code": "InternalServerError",
                    "message": f"The server had an internal error. Request id: {request_id}.",
                }
            },
        )
    resp = Response(type(arm).status, arm.body())
    if arm.retry_after is not None:
        resp.headers["Retry-After"] = str(arm.retry_after)
    if isinstance(arm, errors.AuthenticationFailed):
        resp.headers["WWW-Authenticate"] = 'Bearer realm="acrctl"'
    return resp


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
