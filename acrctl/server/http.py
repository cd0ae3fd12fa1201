"""Framework-free request/response types and the per-request context handlers use."""

from __future__ import annotations

import base64
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypedDict
from urllib.parse import quote

from acrctl.backend import ids
from acrctl.backend.errors import (
    InvalidInput,
    InvalidRequestContent,
    InvalidSkipToken,
    RequestEntityTooLarge,
)

if TYPE_CHECKING:
    from acrctl.backend.core import Backend
    from acrctl.backend.rbac import Caller
    from acrctl.backend.store import Item

MAX_BODY = 1024 * 1024
ACR_API_VERSIONS = ("2026-09-01-preview", "2025-11-01", "2025-04-01", "2023-07-01")


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names
    body: bytes = b""
    base_url: str = "http://localhost"
    caller: Caller | None = None  # preset by a trusted in-process transport
    # filled in by dispatch for middleware (logs, metrics, activity log): request_id,
    # route (template), action, scope, caller_id, caller_name
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class Response:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    # `body` already serialized (a stored item's JSON text, when the body is that item's
    # document unchanged: Ctx.resource); never set it for a body that is changed afterwards
    text: str | None = None

    def encode(self) -> bytes:
        if self.body is None:
            return b""
        if self.text is not None:
            return self.text.encode()
        return json.dumps(self.body, separators=(",", ":"), ensure_ascii=False).encode()


def parse_json(raw: bytes, require_object: bool = True) -> Any:
    if len(raw) > MAX_BODY:
        raise RequestEntityTooLarge(f"The request body is larger than {MAX_BODY} bytes.")
    if not raw.strip():
        if require_object:
            raise InvalidRequestContent(
                "The request content was invalid and could not be deserialized: the body is empty.",
            )
        return {}
    try:
        data = json.loads(raw, parse_constant=_no_constant, parse_float=_finite)
    except (ValueError, RecursionError) as exc:
        detail = str(exc)[:200] if not isinstance(exc, RecursionError) else "nested too deeply"
        raise InvalidRequestContent(
            f"The request content was invalid and could not be deserialized: '{detail}'.",
        ) from None
    _check_shape(data, bool(_SURROGATE_ESCAPE.search(raw)))
    if require_object and not isinstance(data, dict):
        raise InvalidRequestContent(
            "The request content was invalid and could not be deserialized: "
            "the body must be a JSON object.",
        )
    return data


MAX_DEPTH = 64  # ARM bodies nest a handful of levels; deeper is refused, not recursed into
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def _invalid(detail: str) -> InvalidInput:
    return InvalidRequestContent(
        f"The request content was invalid and could not be deserialized: {detail}",
    )


def _no_constant(name: str) -> Any:
    raise _invalid(f"'{name}' is not a JSON value.")


def _finite(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise _invalid(f"the number '{text[:40]}' is out of range.")
    return value


def _check_shape(data: Any, check_text: bool) -> None:
    """Refuse bodies nested deeper than MAX_DEPTH (the backend recurses over them) and,
    when the raw body escapes surrogates, strings holding a lone one (not encodable)."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict | list):
            if depth > MAX_DEPTH:
                raise _invalid(f"nested deeper than {MAX_DEPTH} levels.")
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for k, v in items:
                if check_text and isinstance(k, str):
                    stack.append((k, depth))
                stack.append((v, depth + 1))
        elif check_text and isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise _invalid("a string holds a lone UTF-16 surrogate.") from None


class Conditions(TypedDict):
    """If-Match / If-None-Match as backend keyword arguments (None: header absent)."""

    if_match: str | None
    if_none_match: str | None


@dataclass
class Ctx:
    """What a handler gets: path params, the backend, the caller and the request."""

    req: Request
    p: dict[str, str]
    b: Backend
    caller: Caller
    api_version: str

    def body(self, require_object: bool = True) -> dict[str, Any]:
        data = parse_json(self.req.body, require_object)
        return data if isinstance(data, dict) else {}

    def header(self, name: str) -> str | None:
        return self.req.headers.get(name.lower())

    def conditions(self) -> Conditions:
        """The request's If-Match / If-None-Match, as the keyword arguments every
        conditional backend write takes (acrctl.backend.etags.check_preconditions)."""
        return Conditions(
            if_match=self.header("if-match"), if_none_match=self.header("if-none-match")
        )

    def url(self, path: str, **query: str) -> str:
        q = "&".join(
            f"{k}={quote(v, safe='')}"
            for k, v in {"api-version": self.api_version, **query}.items()
        )
        return f"{self.req.base_url}{quote(path)}?{q}"

    # -- responses -----------------------------------------------------------------------
    def ok(self, body: Any, status: int = 200) -> Response:
        return Response(status, body)

    def page(self, result: tuple[list[dict[str, Any]], int | str | None]) -> Response:
        """A list page; `last` continues it: a sequence number (paging()) or a key
        (key_paging(), sent as an opaque token)."""
        items, last = result
        body: dict[str, Any] = {"value": items}
        if last is not None:
            query = {"$skipToken": str(last) if isinstance(last, int) else _key_token(last)}
            if self.req.query.get("$top"):
                query["$top"] = self.req.query["$top"]  # $top is the page size: keep it
            body["nextLink"] = self.url(self.req.path, **query)
        return Response(200, body)

    def paging(self) -> tuple[int | None, int]:
        """(the sequence number to continue after, page size) of a list in `seq` order."""
        token = self.req.query.get("$skipToken")
        try:
            after = int(token) if token else None
        except ValueError:
            raise InvalidSkipToken("The $skipToken or $top query parameter is invalid.") from None
        if after is not None and not 0 <= after < 2**63:  # the store's sequence range
            raise InvalidSkipToken("The $skipToken query parameter is invalid.")
        return after, self._page_size()

    def key_paging(self) -> tuple[str | None, int]:
        """(the key to continue after, page size) of a list in key order (a prefix scan
        of the store: every page costs O(page), the last as the first)."""
        token = self.req.query.get("$skipToken")
        key = _token_key(token) if token else None
        if token and key is None:
            raise InvalidSkipToken("The $skipToken or $top query parameter is invalid.")
        return key, self._page_size()

    def _page_size(self) -> int:
        top = self.req.query.get("$top")
        try:
            limit = min(int(top), 1000) if top else int(self.b.settings.page_size)
        except ValueError:
            raise InvalidSkipToken("The $skipToken or $top query parameter is invalid.") from None
        if limit < 1:
            raise InvalidSkipToken("$top must be a positive number.")
        return limit

    def resource(
        self,
        kind: str,
        doc: dict[str, Any] | Callable[[], dict[str, Any]],
        status: int = 200,
        headers: dict[str, str] | None = None,
    ) -> Response:
        """A resource answer with its ETag header (what If-Match compares with). The ETag must
        be the one of exactly this body: a write landing between reading the body and the
        ETag would let an If-Match built on it drop that write. When `doc` is a reader, the
        ETag comes from the very item it read (Store.remember: no second read), and a GET's
        answer built from settled items only is kept in the backend's read cache until the
        store's generation moves; when `doc` is a write's answer, from the item the request
        wrote. Otherwise the item is read again (the body too, when `doc` is a reader) until
        both agree; failing that, no ETag is sent."""
        out = dict(headers or {})
        if callable(doc):
            reader = doc
            if self.req.method == "GET":
                key = (kind, self.req.path, self.api_version)
                hit = self.b.read_cache.peek(key)  # no closures while current
                if hit is None:
                    hit = self.b.read_cache.get(
                        key, lambda: self._remembered(kind, reader), keep=lambda v: bool(v[2])
                    )
                body, item, settled = hit
                if settled:
                    self.req.meta["memo"] = True  # the whole answer may be kept (answers.py)
            else:
                body, item, settled = self._remembered(kind, reader)
            if item is not None:
                out["ETag"] = item.etag
                # settled implies body == item.doc (_remembered): no deep comparison then
                same = settled or body == item.doc
                text = item.raw if item.raw is not None and same else None
                return Response(status, body, out, text)
        else:
            body = doc
            item = self._written(kind, body)
            if item is not None:
                out["ETag"] = item.etag
                return Response(status, body, out, item.raw)
        for _ in range(3):
            item = self.b.resources.stored(kind, str(body["id"]))
            if item is not None and item.etag and _same(item.doc, body):
                out["ETag"] = item.etag
                break
            if not callable(doc):
                break
            body = doc()
        return Response(status, body, out)

    def _written(self, kind: str, body: dict[str, Any]) -> Item | None:
        """The item a write's answer `body` is, as this request last read or wrote it,
        when that item's stored text says exactly `body`: the ETag then belongs to this
        very body (no second read)."""
        seen = self.req.meta.get("seen")
        item = seen.get((kind, ids.key(str(body["id"])))) if isinstance(seen, dict) else None
        if item is None or not item.etag or item.raw is None or json.loads(item.raw) != body:
            return None
        return item  # type: ignore[no-any-return]

    def _remembered(
        self, kind: str, reader: Callable[[], dict[str, Any]]
    ) -> tuple[dict[str, Any], Item | None, bool]:
        """reader()'s body; the stored item it was built from when that is known; and
        whether the answer may be reused while the store is unchanged (every item read
        settled, so the clock cannot move an operation on; the body that item's document
        unchanged, so no read-time overlay that the clock could end)."""
        remember = getattr(self.b.store, "remember", None)
        if remember is None:
            return reader(), None, False
        with remember() as seen:
            body = reader()
        item = seen.get((kind, ids.key(str(body["id"]))))
        if item is None or not item.etag or not _same(item.doc, body):
            return body, None, False
        settled = body == item.doc and all(map(_settled, seen.values()))
        return body, item, settled

    def lro(
        self,
        doc: dict[str, Any],
        op: dict[str, Any],
        created: bool = False,
        kind: str | None = None,
    ) -> Response:
        """PUT/PATCH answer: 201 on create, 200 otherwise, with Azure-AsyncOperation."""
        status_path = f"{doc['id']}/operationStatuses/{op['id']}"
        headers = {
            "Azure-AsyncOperation": self.url(status_path),
            "Retry-After": str(self.b.settings.retry_after),
        }
        if kind is not None:
            return self.resource(kind, doc, 201 if created else 200, headers)
        return Response(201 if created else 200, doc, headers)

    def accepted_delete(self, op: dict[str, Any] | None) -> Response:
        """DELETE answer: 202 + Location (+ Azure-AsyncOperation), or 204 if nothing existed."""
        if op is None:
            return Response(204)
        sub = self.p["sub"]
        location = (
            f"/subscriptions/{sub}/providers/Microsoft.ContainerRegistry/locations/"
            f"{op['location']}/operationResults/{op['id']}"
        )
        return Response(
            202,
            None,
            {
                "Location": self.url(location),
                "Azure-AsyncOperation": self.url(
                    f"{op['resourceId']}/operationStatuses/{op['id']}"
                ),
                "Retry-After": str(self.b.settings.retry_after),
            },
        )


KEY_TOKEN = "k"  # a $skipToken holding a key starts with this (a sequence number is digits)
MAX_TOKEN = 4096


def _key_token(key: str) -> str:
    return KEY_TOKEN + base64.urlsafe_b64encode(key.encode()).decode().rstrip("=")


def _token_key(token: str) -> str | None:
    if not token.startswith(KEY_TOKEN) or len(token) > MAX_TOKEN:
        return None
    data = token[len(KEY_TOKEN) :]
    try:
        raw = base64.b64decode(data + "=" * (-len(data) % 4), altchars=b"-_", validate=True)
        key = raw.decode()
    except (ValueError, UnicodeDecodeError):
        return None
    return key if key.isprintable() else None


def _settled(item: Item) -> bool:
    """No operation in flight on the item (a write or the clock could move it on)."""
    props = item.doc.get("properties")
    state = props.get("provisioningState") if isinstance(props, dict) else None
    return state is None or state in ("Succeeded", "Failed", "Canceled")


def _same(stored: dict[str, Any], answered: dict[str, Any]) -> bool:
    """The answered body is the stored one, up to read-time overlays (a replica's status
    during an outage drill)."""

    def strip(d: dict[str, Any]) -> dict[str, Any]:
        props = {k: v for k, v in (d.get("properties") or {}).items() if k != "status"}
        return {**d, "properties": props}

    return stored == answered or strip(stored) == strip(answered)
