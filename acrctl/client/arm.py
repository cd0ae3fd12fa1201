"""The ARM client: base URL, bearer auth, retries that honour Retry-After, long-running
operation polling, nextLink paging and ARM error bodies turned into typed errors.
Returns plain JSON (dicts); acrctl.client.AcrClient adds typed models on top."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import httpx

from acrctl.client.errors import (
    AcrctlError,
    ConnectionFailed,
    OperationFailed,
    Throttled,
    from_response,
)

API_VERSION = "2025-11-01"
RESOURCES_API_VERSION = "2022-09-01"
AUTHZ_API_VERSION = "2022-04-01"
TERMINAL = {"succeeded", "failed", "canceled"}
SECRET_KEYS = {"serviceuri", "customheaders", "token", "signingsecret"}


def redact(value: Any) -> Any:
    """Mask secrets (webhook URIs, header values, tokens) for --debug traces."""
    if isinstance(value, dict):
        return {k: ("******" if k.lower() in SECRET_KEYS else redact(v))
                for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value


class ArmClient:
    def __init__(self, endpoint: str, token: str | None = None,
                 transport: httpx.BaseTransport | None = None, verify: bool | str = True,
                 timeout: float = 30.0, max_wait: float = 300.0,
                 on_retry: Callable[[str], None] | None = None,
                 debug: Callable[[str], None] | None = None,
                 on_poll: Callable[[str], None] | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.endpoint = endpoint.rstrip("/")
        headers = {"Accept": "application/json", "User-Agent": "acrctl"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self.http = httpx.Client(base_url=self.endpoint, headers=headers, transport=transport,
                                 verify=verify, timeout=timeout, follow_redirects=False)
        self.max_wait = max_wait
        self.on_retry = on_retry
        self.debug = debug
        self.on_poll = on_poll
        self.sleep = sleep

    def close(self) -> None:
        self.http.close()

    # -- the one request path -----------------------------------------------------------
    def request(self, method: str, url: str, body: Any = None,
                api_version: str | None = API_VERSION,
                params: dict[str, str] | None = None) -> httpx.Response:
        query = dict(params or {})
        if api_version and "api-version=" not in url:
            query["api-version"] = api_version
        content = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json"} if content is not None else {}
        waited = 0.0
        while True:
            self._trace_request(method, url, query, body)
            try:
                resp = self.http.request(method, url, params=query or None, content=content,
                                         headers=headers)
            except httpx.TimeoutException as exc:
                raise ConnectionFailed(
                    f"The request to {self.endpoint} timed out ({type(exc).__name__}).") from None
            except httpx.TransportError as exc:
                raise ConnectionFailed(
                    f"Could not connect to {self.endpoint}: {exc}. Is the server running "
                    "and the endpoint right?") from None
            self._trace_response(resp)
            if resp.status_code not in (429, 503):
                return resp
            delay = retry_after(resp, 5.0)
            if waited + delay > self.max_wait:
                err = self.error(resp)
                raise Throttled(f"{err.message} (gave up after waiting {waited:.0f}s)",
                                err.code, resp.status_code, err.request_id)
            if self.on_retry:
                self.on_retry(f"Server answered {resp.status_code}; retrying in "
                              f"{delay:g}s (Retry-After).")
            self.sleep(delay)
            waited += delay

    def error(self, resp: httpx.Response) -> AcrctlError:
        try:
            body = resp.json()
        except ValueError:
            body = None
        return from_response(resp.status_code, body, resp.headers.get("x-ms-request-id"))

    def call(self, method: str, url: str, body: Any = None,
             api_version: str | None = API_VERSION,
             params: dict[str, str] | None = None) -> Any:
        """A request whose non-2xx answer is an error; returns the JSON body (or None)."""
        resp = self.request(method, url, body, api_version, params)
        if resp.status_code >= 400:
            raise self.error(resp)
        return _json(resp)

    # -- lists ------------------------------------------------------------------------------
    def list(self, url: str, api_version: str | None = API_VERSION, method: str = "GET",
             limit: int | None = None) -> list[Any]:
        out: list[Any] = []
        page = self.call(method, url, api_version=api_version)
        while True:
            out.extend(page.get("value", []))
            nxt = page.get("nextLink")
            if not nxt or (limit is not None and len(out) >= limit):
                return out[:limit] if limit is not None else out
            page = self.call("GET", nxt, api_version=None)

    # -- long-running operations -------------------------------------------------------------
    def lro(self, method: str, url: str, body: Any = None, wait: bool = True,
            api_version: str = API_VERSION) -> Any:
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
            status = str(body.get("status", ""))
            if self.on_poll:
                self.on_poll(status)
            if status.lower() in TERMINAL:
                if status.lower() != "succeeded":
                    err = body.get("error") or {}
                    raise OperationFailed(err.get("message", f"The operation ended {status}."),
                                          err.get("code", status))
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
        self.debug(f"Response: {resp.status_code} "
                   f"(x-ms-request-id: {resp.headers.get('x-ms-request-id', '-')})")
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
    for name in ("retry-after-ms", "x-ms-retry-after-ms"):
        if name in resp.headers:
            try:
                return max(0.0, float(resp.headers[name]) / 1000)
            except ValueError:
                pass
    value = resp.headers.get("retry-after")
    if value is None:
        return default
    try:
        return max(0.0, float(value))
    except ValueError:
        return default


def _json(resp: httpx.Response) -> Any:
    if not resp.content:
        return None
    try:
        return resp.json()
    except ValueError:
        raise AcrctlError(f"The server sent a body that is not JSON (HTTP {resp.status_code}).",
                          "InvalidResponse", resp.status_code) from None
