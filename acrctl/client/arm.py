"""The ARM client: base URL, bearer auth, retries that honour Retry-After, long-running
operation polling, nextLink paging and ARM error bodies turned into typed errors.
Returns plain JSON (dicts); acrctl.client.AcrClient adds typed models on top."""

from __future__ import annotations

import datetime as dt
import email.utils
import json
import math
import time
from collections.abc import Callable
from typing import Any

import httpx

from acrctl.client.errors import (
    AcrctlError,
    ConnectionFailed,
    OperationFailed,
    Throttled,
    TlsVerifyFailed,
    from_response,
)
from acrctl.client.tls import httpx_verify, verify_failed_message, verify_failure

API_VERSION = "2025-11-01"
RESOURCES_API_VERSION = "2022-09-01"
AUTHZ_API_VERSION = "2022-04-01"
TERMINAL = {"succeeded", "failed", "canceled"}
# Methods that may be sent again after a connection error or a timeout (RFC 9110 §9.2.2).
# POST and PATCH are not: a POST (ping, getCallbackConfig, listEvents, principal create)
# that timed out may have happened, so it is repeated only when the server says so (a 429
# or 503 carrying Retry-After) or when the connection was never made (NOT_SENT).
IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
# Errors that prove the request never left: any method may be sent again after them.
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
CONNECT_RETRIES = 2  # extra attempts after a connection error (see IDEMPOTENT, NOT_SENT)
STATUS_RETRIES = 10  # 429/503 retries of one request, whatever the Retry-After values
SECRET_KEYS = {"serviceuri", "customheaders", "token", "signingsecret"}


def redact(value: Any) -> Any:
    """Mask secrets (webhook URIs, header values, tokens) for --debug traces."""
    if isinstance(value, dict):
        return {k: ("******" if k.lower() in SECRET_KEYS else redact(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value


class ArmClient:
    def __init__(
        self,
        endpoint: str,
        token: str | None = None,
        transport: httpx.BaseTransport | None = None,
        verify: bool | str = True,
        timeout: float = 30.0,
        max_wait: float = 300.0,
        on_retry: Callable[[str], None] | None = None,
        debug: Callable[[str], None] | None = None,
        on_poll: Callable[[str], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        connect_retries: int = CONNECT_RETRIES,
    ) -> None:
        self.endpoint = endpoint.rstrip("/")
        headers = {"Accept": "application/json", "User-Agent": "acrctl"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self.http = httpx.Client(
            base_url=self.endpoint,
            headers=headers,
            transport=transport,
            verify=httpx_verify(verify),
            timeout=timeout,
            follow_redirects=False,
        )
        self.max_wait = max_wait
        self.on_retry = on_retry
        self.debug = debug
        self.on_poll = on_poll
        self.sleep = sleep
        self.connect_retries = connect_retries

    def close(self) -> None:
        self.http.close()

    # -- the one request path -----------------------------------------------------------
    def request(
        self,
        method: str,
        url: str,
        body: Any = None,
        api_version: str | None = API_VERSION,
        params: dict[str, str] | None = None,
    ) -> httpx.Response:
        query = dict(params or {})
        if api_version and "api-version=" not in url:
            query["api-version"] = api_version
        content = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json"} if content is not None else {}
        waited = 0.0
        idempotent = method.upper() in IDEMPOTENT
        failures = retries = 0
        while True:
            self._trace_request(method, url, query, body)
            try:
                resp = self.http.request(
                    method, url, params=query or None, content=content, headers=headers
                )
            except httpx.TransportError as exc:
                delay = 0.5 * 2**failures
                what = self._transport_failure(exc, method, idempotent, failures, waited + delay)
                failures += 1
                if self.on_retry:
                    self.on_retry(
                        f"{what}; retrying {method.upper()} in {delay:g}s "
                        f"({failures}/{self.connect_retries})."
                    )
                self.sleep(delay)
                waited += delay
                continue
            self._trace_response(resp)
            if resp.status_code not in (429, 503):
                return resp
            if not idempotent and not has_retry_after(resp):
                return resp  # only the server's Retry-After makes a POST/PATCH safe to repeat
            delay = retry_after(resp, 5.0)
            if waited + delay > self.max_wait or retries >= STATUS_RETRIES:
                err = self.error(resp)
                raise Throttled(
                    f"{err.message} (gave up after {retries} retries and {waited:g}s of waiting)",
                    err.code,
                    resp.status_code,
                    err.request_id,
                )
            retries += 1
            if self.on_retry:
                self.on_retry(
                    f"Server answered {resp.status_code}; retrying in {delay:g}s (Retry-After)."
                )
            self.sleep(delay)
            waited += delay

    def _transport_failure(
        self,
        exc: httpx.TransportError,
        method: str,
        idempotent: bool,
        failures: int,
        total_wait: float,
    ) -> str:
        """What went wrong, when the request may be sent again; else raises. A connection
        that was never made proves the request was not sent, so any method may retry it;
        once it may have been sent, only an idempotent method is sent again. A certificate
        that failed verification is never retried."""
        failed = verify_failure(exc)
        if failed is not None:
            raise TlsVerifyFailed(verify_failed_message(self.endpoint, failed)) from None
        timeout = isinstance(exc, httpx.TimeoutException)
        what = (
            f"The request to {self.endpoint} timed out ({type(exc).__name__})"
            if timeout
            else f"Could not connect to {self.endpoint}: {str(exc) or type(exc).__name__}"
        )
        not_sent = isinstance(exc, NOT_SENT)
        if (
            (idempotent or not_sent)
            and failures < self.connect_retries
            and total_wait <= self.max_wait
        ):  # max_wait bounds every wait
            return what
        if not (idempotent or not_sent):
            what += (
                f". A {method.upper()} is not sent twice: check whether it took "
                "effect before running it again"
            )
        elif not timeout:
            what += ". Is the server running and the endpoint right?"
        raise ConnectionFailed(what if what.endswith((".", "?")) else what + ".") from None

    def error(self, resp: httpx.Response) -> AcrctlError:
        try:
            body = resp.json()
        except ValueError:
            body = None
        return from_response(resp.status_code, body, resp.headers.get("x-ms-request-id"))

    def call(
        self,
        method: str,
        url: str,
        body: Any = None,
        api_version: str | None = API_VERSION,
        params: dict[str, str] | None = None,
    ) -> Any:
        """A request whose non-2xx answer is an error; returns the JSON body (or None)."""
        resp = self.request(method, url, body, api_version, params)
        if resp.status_code >= 400:
            raise self.error(resp)
        return _json(resp)

    # -- lists ------------------------------------------------------------------------------
    def list(
        self,
        url: str,
        api_version: str | None = API_VERSION,
        method: str = "GET",
        limit: int | None = None,
    ) -> list[Any]:
        out: list[Any] = []
        page = self.call(method, url, api_version=api_version)
        while True:
            if not isinstance(page, dict) or not isinstance(page.get("value", []), list):
                raise _malformed('a list page that is not {"value": [...]}')
            out.extend(page.get("value", []))
            nxt = page.get("nextLink")
            if nxt is not None and not isinstance(nxt, str):
                raise _malformed("a nextLink that is not a URL")
            if not nxt or (limit is not None and len(out) >= limit):
                return out[:limit] if limit is not None else out
            page = self.call("GET", nxt, api_version=None)

    # -- long-running operations -------------------------------------------------------------
    def lro(
        self,
        method: str,
        url: str,
        body: Any = None,
        wait: bool = True,
        api_version: str = API_VERSION,
    ) -> Any:
        """PUT/PATCH/DELETE and, unless wait=False, poll to the end. Returns the final
        resource for PUT/PATCH, None for DELETE."""
        resp = self.request(method, url, body, api_version)
        if resp.status_code >= 400:
            raise self.error(resp)
        if not wait:
            return _json(resp) if method != "DELETE" else None
        if method == "DELETE":
            self._wait_delete(resp)
            return None
        doc = _json(resp)
        if doc is not None and not (
            isinstance(doc, dict) and isinstance(doc.get("properties", {}), dict)
        ):
            raise _malformed("a resource that is not a JSON object with properties")
        state = str((doc or {}).get("properties", {}).get("provisioningState", "Succeeded"))
        if state.lower() in TERMINAL:
            if state.lower() != "succeeded":
                raise OperationFailed(f"The operation ended {state}.", state)
            return doc
        status_url = resp.headers.get("azure-asyncoperation")
        if status_url:
            self.wait_status(status_url, retry_after(resp, 1.0))
        return self.call("GET", url, api_version=api_version)

    def wait_status(self, status_url: str, delay: float) -> dict[str, Any]:
        while True:
            self.sleep(delay)
            resp = self.request("GET", status_url, api_version=None)
            if resp.status_code >= 400:
                raise self.error(resp)
            body = _json(resp) or {}
            if not isinstance(body, dict):
                raise _malformed("an operation status that is not a JSON object")
            status = str(body.get("status", ""))
            if self.on_poll:
                self.on_poll(status)
            if status.lower() in TERMINAL:
                if status.lower() != "succeeded":
                    found = body.get("error")
                    err: dict[str, Any] = found if isinstance(found, dict) else {}
                    raise OperationFailed(
                        err.get("message", f"The operation ended {status}."),
                        err.get("code", status),
                    )
                return dict(body)
            delay = retry_after(resp, 1.0)

    def _wait_delete(self, resp: httpx.Response) -> None:
        location = resp.headers.get("location")
        delay = 0.0  # the first look is free: a fast operation is often done already
        while resp.status_code == 202 and location:
            self.sleep(delay)
            resp = self.request("GET", location, api_version=None)
            if self.on_poll:
                self.on_poll("InProgress" if resp.status_code == 202 else "Succeeded")
            if resp.status_code == 404:
                return  # a 404 while a delete completes counts as done (az does the same)
            if resp.status_code >= 400:
                raise self.error(resp)
            delay = retry_after(resp, 1.0)

    # -- --debug ----------------------------------------------------------------------------
    def _trace_request(self, method: str, url: str, query: dict[str, str], body: Any) -> None:
        if not self.debug:
            return
        qs = "&".join(f"{k}={v}" for k, v in query.items())
        full = url if url.startswith("http") else f"{self.endpoint}{url}"
        self.debug(f"Request: {method} {full}{'?' + qs if qs else ''}")
        for k, v in self.http.headers.items():
            self.debug(f"  {k}: {'******' if k.lower() == 'authorization' else v}")
        if body is not None:
            self.debug(f"  body: {json.dumps(redact(body), sort_keys=True)}")

    def _trace_response(self, resp: httpx.Response) -> None:
        if not self.debug:
            return
        self.debug(
            f"Response: {resp.status_code} "
            f"(x-ms-request-id: {resp.headers.get('x-ms-request-id', '-')})"
        )
        for k in ("azure-asyncoperation", "location", "retry-after"):
            if k in resp.headers:
                self.debug(f"  {k}: {resp.headers[k]}")
        try:
            body = resp.json() if resp.content else None
        except ValueError:
            body = resp.text[:200]
        if body is not None:
            self.debug(f"  body: {json.dumps(redact(body), sort_keys=True)[:4000]}")


def retry_after(resp: httpx.Response, default: float) -> float:
    """Seconds the server asks to wait: retry-after-ms, x-ms-retry-after-ms, Retry-After
    (seconds or an HTTP date); `default` when it says nothing usable."""
    found = _told_delay(resp)
    return default if found is None else found


def has_retry_after(resp: httpx.Response) -> bool:
    return _told_delay(resp) is not None


def _told_delay(resp: httpx.Response) -> float | None:
    for name in ("retry-after-ms", "x-ms-retry-after-ms"):
        if name in resp.headers:
            try:
                value = float(resp.headers[name]) / 1000
            except ValueError:
                continue
            if math.isfinite(value):
                return max(0.0, value)
    value = resp.headers.get("retry-after")
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds())
    return max(0.0, seconds) if math.isfinite(seconds) else None


def _malformed(what: str) -> AcrctlError:
    return AcrctlError(
        f"The server sent {what}; is the endpoint an ARM (acrctl) server?", "InvalidResponse"
    )


def _json(resp: httpx.Response) -> Any:
    if not resp.content:
        return None
    try:
        return resp.json()
    except ValueError:
        raise AcrctlError(
            f"The server sent a body that is not JSON (HTTP {resp.status_code}).",
            "InvalidResponse",
            resp.status_code,
        ) from None
