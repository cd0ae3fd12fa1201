"""A small client of the OCI distribution API (`/v2/...`) at a registry's login server, with
the registry token protocol as ACR speaks it.

* Auth: a request answered 401 with `Www-Authenticate: Bearer realm=...,service=...,scope=...`
  gets a token from the realm and is sent again: with a refresh token (`POST` the realm,
  `grant_type=refresh_token`, as `az acr` does) or a username and password (`GET` the realm
  with Basic). Tokens are kept per scope for the client's life.
* Addressing: `base_url` is the login server (`http(s)://<name>.<login domain>[:port]`).
  `connect` (host[:port]) sends the requests, and those to the realm when it names the same
  host, to another address with the login server as `Host`, for login servers that do not
  resolve on this machine (the listener serves both).
* Manifests are read with every manifest media type accepted; sizes are bounded.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

import httpx

from acrctl.client.errors import AcrctlError, ConnectionFailed, NotFoundError
from acrctl.headers import split_commas

MANIFEST_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v2+json",
)
INDEX_TYPES = MANIFEST_TYPES[0], MANIFEST_TYPES[2]
MAX_RESPONSE_BYTES = 4 * 1024 * 1024  # any answer read (manifests, configs, lists, tokens)
MAX_MANIFEST_BYTES = MAX_RESPONSE_BYTES  # distribution's own limit on a manifest
MAX_CONFIG_BYTES = MAX_RESPONSE_BYTES  # an image config read for its os/architecture
MAX_PAGES = 10_000  # catalog / tag-list pages followed before giving up
PAGE_SIZE = 1000  # `n` asked per catalog / tag-list page
TIMEOUT = 30.0  # seconds per request (connect, read, write)
NULL_USER = "00000000-0000-0000-0000-000000000000"


@dataclass(frozen=True)
class Manifest:
    digest: str
    media_type: str
    raw: bytes

    def json(self) -> Any:
        return json.loads(self.raw)


class OciError(AcrctlError):
    """The registry answered with a distribution error body."""


class OciNotFound(NotFoundError):
    pass


def _challenge(value: str) -> dict[str, str] | None:
    scheme, _, rest = value.partition(" ")
    if scheme.lower() != "bearer":
        return None
    out: dict[str, str] = {}
    for part in split_commas(rest):
        k, _, v = part.partition("=")
        out[k.strip().lower()] = v.strip().strip('"')
    return out


def _error(resp: httpx.Response, what: str) -> AcrctlError:
    try:
        errors = resp.json().get("errors") or []
        first = errors[0] if errors else {}
        code, message = str(first.get("code") or ""), str(first.get("message") or "")
    except (ValueError, AttributeError):
        code, message = "", ""
    code = code or f"HTTP{resp.status_code}"
    text = f"{what}: {message or resp.reason_phrase}"
    if resp.status_code == 404:
        return OciNotFound(text, code, 404)
    if resp.status_code in (401, 403):
        return OciError(
            f"{what}: access denied ({message or 'unauthorized'}).", code, resp.status_code
        )
    return OciError(text, code, resp.status_code)


class OciClient:
    def __init__(
        self,
        base_url: str,
        *,
        refresh_token: str | None = None,
        username: str | None = None,
        password: str | None = None,
        connect: str | None = None,
        verify: Any = True,
        timeout: float = TIMEOUT,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.login_host = urlsplit(self.base_url).netloc
        self.refresh_token, self.username, self.password = refresh_token, username, password
        self.connect = connect
        self._tokens: dict[str, str] = {}
        self.http = httpx.Client(
            verify=verify, timeout=timeout, transport=transport, follow_redirects=False
        )

    def close(self) -> None:
        self.http.close()

    def __enter__(self) -> OciClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- transport ----------------------------------------------------------------------------
    def _send(self, method: str, url: str, **kw: Any) -> httpx.Response:
        parts = urlsplit(url)
        headers = dict(kw.pop("headers", None) or {})
        auth = kw.pop("auth", None)
        ext: dict[str, Any] = {}
        if self.connect and parts.netloc == self.login_host:
            headers["Host"] = self.login_host
            if parts.scheme == "https":
                ext["sni_hostname"] = parts.hostname or ""
            url = urlunsplit(parts._replace(netloc=self.connect))
        try:
            req = self.http.build_request(
                method, url, headers=headers, extensions=ext or None, **kw
            )
            resp = self.http.send(req, auth=auth, stream=True)
            try:
                _read_bounded(resp, MAX_RESPONSE_BYTES)
            finally:
                resp.close()
            return resp
        except httpx.TransportError as exc:
            raise ConnectionFailed(
                f"Could not reach the registry's login server {self.login_host}"
                f"{f' (through {self.connect})' if self.connect else ''}: {exc}. Is an "
                "acrctl server with its data plane running?"
            ) from None

    def request(self, method: str, path: str, **kw: Any) -> httpx.Response:
        url = urljoin(self.base_url + "/", path.lstrip("/"))
        headers = dict(kw.pop("headers", None) or {})
        scope_key = _scope_key(method, path)
        if scope_key in self._tokens:
            headers["Authorization"] = f"Bearer {self._tokens[scope_key]}"
        resp = self._send(method, url, headers=headers, **kw)
        if resp.status_code != 401:
            return resp
        params = _challenge(resp.headers.get("www-authenticate", ""))
        if params is None or not params.get("realm"):
            return resp
        token = self._token(params)
        self._tokens[scope_key] = token
        headers["Authorization"] = f"Bearer {token}"
        return self._send(method, url, headers=headers, **kw)

    def _token(self, ch: dict[str, str]) -> str:
        realm, service, scope = ch["realm"], ch.get("service", ""), ch.get("scope", "")
        scopes = scope.split(" ") if scope else []
        if self.refresh_token:
            form: dict[str, Any] = {
                "grant_type": "refresh_token",
                "service": service,
                "refresh_token": self.refresh_token,
                "scope": scopes,
            }
            resp = self._send("POST", realm, data=form)
        else:
            auth = (self.username, self.password or "") if self.username else None
            resp = self._send(
                "GET",
                realm,
                auth=auth,
                params=[("service", service)] + [("scope", s) for s in scopes],
            )
        if resp.status_code != 200:
            raise _error(resp, f"Could not get a token for {service or self.login_host}")
        body = resp.json()
        token = body.get("access_token") or body.get("token")
        if not isinstance(token, str) or not token:
            raise OciError("The token service sent no access token.", "InvalidResponse")
        return token

    def exchange(self, arm_token: str) -> str:
        """An ACR refresh token for an ARM access token (`POST /oauth2/exchange`)."""
        resp = self._send(
            "POST",
            f"{self.base_url}/oauth2/exchange",
            data={
                "grant_type": "access_token",
                "service": self.login_host,
                "access_token": arm_token,
            },
        )
        if resp.status_code != 200:
            raise _error(resp, f"Could not log in to {self.login_host}")
        token = resp.json().get("refresh_token")
        if not isinstance(token, str) or not token:
            raise OciError("The token service sent no refresh token.", "InvalidResponse")
        return token

    def check_basic(self) -> None:
        """Check the username and password at the token service (`GET /oauth2/token`)."""
        resp = self._send(
            "GET",
            f"{self.base_url}/oauth2/token",
            params={"service": self.login_host},
            auth=(self.username or "", self.password or ""),
        )
        if resp.status_code != 200:
            raise _error(resp, f"Could not log in to {self.login_host}")

    # -- the API ------------------------------------------------------------------------------
    def _pages(self, path: str, key: str, top: int | None) -> list[str]:
        out: list[str] = []
        url: str | None = f"{path}?n={PAGE_SIZE if top is None else min(top, PAGE_SIZE)}"
        for _ in range(MAX_PAGES):
            if url is None or (top is not None and len(out) >= top):
                break
            resp = self.request("GET", url)
            if resp.status_code != 200:
                raise _error(resp, f"Could not list {path}")
            out += [str(x) for x in resp.json().get(key) or []]
            url = _next_link(resp.headers.get("link", ""))
        return out if top is None else out[:top]

    def catalog(self, top: int | None = None) -> list[str]:
        return self._pages("/v2/_catalog", "repositories", top)

    def tags(self, repository: str, top: int | None = None) -> list[str]:
        return self._pages(f"/v2/{repository}/tags/list", "tags", top)

    def manifest(self, repository: str, reference: str) -> Manifest:
        resp = self.request(
            "GET",
            f"/v2/{repository}/manifests/{reference}",
            headers={"Accept": ", ".join(MANIFEST_TYPES)},
        )
        if resp.status_code != 200:
            raise _error(
                resp,
                f"Could not read the manifest {repository}:{reference}"
                if not reference.startswith("sha256:")
                else f"Could not read the manifest {repository}@{reference}",
            )
        raw = resp.content
        if len(raw) > MAX_MANIFEST_BYTES:
            raise OciError(
                f"The manifest {repository}:{reference} is larger than {MAX_MANIFEST_BYTES} bytes.",
                "ManifestTooLarge",
            )
        digest = (
            resp.headers.get("docker-content-digest") or "sha256:" + hashlib.sha256(raw).hexdigest()
        )
        media = resp.headers.get("content-type", "").split(";")[0].strip()
        return Manifest(digest, media, raw)

    def head_manifest(self, repository: str, reference: str) -> tuple[str, str, int]:
        """(digest, media type, size) of a manifest, without its body."""
        resp = self.request(
            "HEAD",
            f"/v2/{repository}/manifests/{reference}",
            headers={"Accept": ", ".join(MANIFEST_TYPES)},
        )
        if resp.status_code != 200 or not resp.headers.get("docker-content-digest"):
            if resp.status_code == 200:  # no digest header: read the body to compute it
                m = self.manifest(repository, reference)
                return m.digest, m.media_type, len(m.raw)
            raise _error(resp, f"Could not find the manifest {repository}:{reference}")
        return (
            resp.headers["docker-content-digest"],
            resp.headers.get("content-type", "").split(";")[0].strip(),
            int(resp.headers.get("content-length") or 0),
        )

    def put_manifest(self, repository: str, reference: str, manifest: Manifest) -> None:
        resp = self.request(
            "PUT",
            f"/v2/{repository}/manifests/{reference}",
            content=manifest.raw,
            headers={"Content-Type": manifest.media_type},
        )
        if resp.status_code not in (200, 201):
            raise _error(resp, f"Could not write the manifest {repository}:{reference}")

    def delete_manifest(self, repository: str, digest: str) -> None:
        resp = self.request("DELETE", f"/v2/{repository}/manifests/{digest}")
        if resp.status_code not in (200, 202):
            raise _error(resp, f"Could not delete the manifest {repository}@{digest}")

    def blob_json(self, repository: str, digest: str) -> Any:
        """A small JSON blob (an image config), None when it cannot be read."""
        resp = self.request("GET", f"/v2/{repository}/blobs/{digest}")
        for _ in range(3):  # a region may redirect blob reads
            if resp.status_code not in (301, 302, 303, 307, 308):
                break
            resp = self._send("GET", urljoin(str(resp.url), resp.headers["location"]))
        if resp.status_code != 200 or len(resp.content) > MAX_CONFIG_BYTES:
            return None
        try:
            return resp.json()
        except ValueError:
            return None


class ResponseTooLarge(AcrctlError):
    pass


def _read_bounded(resp: httpx.Response, limit: int) -> None:
    """Read a streamed answer into `resp` (as `.read()` does), refusing one past `limit`
    bytes before holding it all."""
    chunks, size = [], 0
    for chunk in resp.iter_bytes():
        size += len(chunk)
        if size > limit:
            raise ResponseTooLarge(
                f"The registry's answer to {resp.request.method} "
                f"{resp.request.url.path} is larger than {limit} bytes.",
                "ResponseTooLarge",
            )
        chunks.append(chunk)
    resp._content = b"".join(chunks)


_OCI_PATH = re.compile(r"^/v2/(?P<name>.+)/(?:manifests|blobs|tags)/")


def _scope_key(method: str, path: str) -> str:
    """Requests that need the same token: the repository and the kind of action (what
    distribution asks for), or the path itself."""
    path = path.split("?", 1)[0]
    m = _OCI_PATH.match(path)
    if m is None:
        return path
    action = {"GET": "pull", "HEAD": "pull", "DELETE": "delete"}.get(method, "push")
    return f"{m.group('name')}:{action}"


def _next_link(value: str) -> str | None:
    """The `rel="next"` target of a Link header (distribution's paging)."""
    for part in value.split(","):
        if 'rel="next"' in part and "<" in part and ">" in part:
            return part[part.index("<") + 1 : part.index(">")]
    return None
