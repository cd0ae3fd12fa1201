"""Data endpoints (issue 17): blob downloads served from a region's storage by a pre-signed,
short-lived URL, ACR's `<name>.<region>.data.<login domain>` model.

The front answers a blob GET of a registry with `dataEndpointEnabled` with a 307 to

* host form: `<scheme>://<name>.<region>.data.<login domain>/blobs/<digest>?exp=<t>&sig=<s>`
* path form (clients without DNS): `<scheme>://<listener>/_acrctl/data/<name>/<region>/blobs/
  <digest>?exp=<t>&sig=<s>`

Clients drop `Authorization` on a redirect to another host, so the URL carries the
permission: `sig` is HMAC-SHA256 (base64url) over registry, region, digest and `exp` (Unix
seconds) with a server secret. The secret file (`<storage>/pki/data.secret`) holds one
secret a line: the first signs, every line verifies (rotation: add a new first line, drop the
old one after `dataplane_data_url_seconds`); it is re-read when it changes and never logged.
The blob is streamed from the region's storage root (distribution's filesystem layout) with
Content-Length, Docker-Content-Digest and single-range support."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import os
import re
import secrets
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs, quote

Send = Callable[[dict[str, Any]], Awaitable[None]]
DIGEST = re.compile(r"^(?P<alg>sha256|sha512):(?P<hex>[0-9a-f]{64}|[0-9a-f]{128})$")
PATH_PREFIX = "/_acrctl/data/"
RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
JSON = (b"content-type", b"application/json; charset=utf-8")


class Signer:
    """Signs and checks data-endpoint URLs with the secrets of one file (thread-safe)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._keys: list[bytes] = []
        if not os.path.exists(path):
            self._write([secrets.token_urlsafe(32)])

    def _write(self, lines: list[str]) -> None:
        tmp = f"{self.path}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write("\n".join(lines) + "\n")
        os.replace(tmp, self.path)

    def keys(self) -> list[bytes]:
        """The secrets, first one signing (re-read when the file changed)."""
        st = os.stat(self.path)
        stamp = (st.st_mtime_ns, st.st_size)
        with self._lock:
            if stamp != self._stamp:
                with open(self.path) as fh:
                    self._keys = [ln.strip().encode() for ln in fh if ln.strip()]
                self._stamp = stamp
            if not self._keys:
                raise RuntimeError(f"{self.path}: no secret")
            return list(self._keys)

    def rotate(self) -> None:
        """A new signing secret; the previous one still verifies (older ones are dropped)."""
        with self._lock:
            old = [k.decode() for k in self._keys] or _read_lines(self.path)
            self._write([secrets.token_urlsafe(32), *old[:1]])
            self._stamp = None

    def sign(self, registry: str, region: str, digest: str, exp: int) -> str:
        return _mac(self.keys()[0], registry, region, digest, exp)

    def refusal(
        self, registry: str, region: str, digest: str, exp: str, sig: str, now: float
    ) -> str | None:
        """Why a URL is refused (None: it is good)."""
        if not exp.isdigit() or not sig:
            return "the URL is not signed"
        given = sig.encode()
        if not any(
            hmac.compare_digest(given, _mac(k, registry, region, digest, int(exp)).encode())
            for k in self.keys()
        ):
            return "the URL's signature is not valid"
        if int(exp) < now:
            return "the URL has expired; request the blob again"
        return None


def _read_lines(path: str) -> list[str]:
    with open(path) as fh:
        return [ln.strip() for ln in fh if ln.strip()]


def _mac(key: bytes, registry: str, region: str, digest: str, exp: int) -> str:
    msg = f"{registry}\n{region}\n{digest}\n{exp}".encode()
    raw = hmac.new(key, msg, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def host_name(registry: str, region: str, login_domain: str) -> str:
    """A data endpoint's host (with the login domain's port, if any)."""
    return f"{registry}.{region}.data.{login_domain}"


def location(
    signer: Signer,
    *,
    scheme: str,
    host: str | None,
    listener: str,
    registry: str,
    region: str,
    digest: str,
    exp: int,
) -> str:
    """The pre-signed URL: on the data host (host form), else on `listener` (path form)."""
    q = f"?exp={exp}&sig={signer.sign(registry, region, digest, exp)}"
    d = quote(digest, safe=":")
    if host is not None:
        return f"{scheme}://{host}/blobs/{d}{q}"
    return f"{scheme}://{listener}{PATH_PREFIX}{registry}/{region}/blobs/{d}{q}"


def parse_path(path: str) -> tuple[str, str, str] | None:
    """(registry, region, digest) of a path-form data URL's path."""
    parts = path[len(PATH_PREFIX) :].split("/")
    if not path.startswith(PATH_PREFIX) or len(parts) != 4 or parts[2] != "blobs":
        return None
    return parts[0], parts[1], parts[3]


def blob_file(root: str, digest: str) -> str | None:
    """Where distribution's filesystem driver keeps a blob (None: not a digest)."""
    m = DIGEST.match(digest)
    if m is None:
        return None
    hx = m["hex"]
    return os.path.join(root, "docker", "registry", "v2", "blobs", m["alg"], hx[:2], hx, "data")


def layer_link(root: str, repository: str, digest: str) -> str | None:
    """Where distribution's filesystem driver keeps a repository's link to a blob (None:
    not a digest, or a repository name that would leave the tree)."""
    m = DIGEST.match(digest)
    parts = repository.split("/")
    if m is None or any(p in ("", ".", "..") for p in parts):
        return None
    v2 = os.path.join(root, "docker", "registry", "v2")
    return os.path.join(v2, "repositories", *parts, "_layers", m["alg"], m["hex"], "link")


def linked(root: str, repository: str, digest: str) -> bool:
    """Whether distribution would serve `digest` as a blob of `repository` from `root`: the
    repository's layer link and the blob's data are both there."""
    link, path = layer_link(root, repository, digest), blob_file(root, digest)
    return link is not None and path is not None and os.path.isfile(link) and os.path.isfile(path)


def error(code: str, message: str) -> bytes:
    return json.dumps({"errors": [{"code": code, "message": message}]}).encode() + b"\n"


async def reply(send: Send, status: int, body: bytes, extra: list[tuple[bytes, bytes]]) -> None:
    hdrs = [JSON, *extra, (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": hdrs})
    await send({"type": "http.response.body", "body": body})


async def serve(
    scope: dict[str, Any],
    send: Send,
    *,
    signer: Signer,
    root: str | None,
    registry: str,
    region: str,
    digest: str,
    chunk: int,
) -> None:
    """Answer one data-endpoint request (GET or HEAD) for the blob `digest` of `root`."""
    tag = [(b"x-acrctl-region", region.encode())]
    if scope["method"] not in ("GET", "HEAD"):
        await reply(
            send,
            405,
            error("UNSUPPORTED", "data endpoints serve GET and HEAD"),
            [(b"allow", b"GET, HEAD"), *tag],
        )
        return
    q = parse_qs(scope.get("query_string", b"").decode("latin-1"))
    exp, sig = (q.get("exp") or [""])[0], (q.get("sig") or [""])[0]
    why = signer.refusal(registry, region, digest, exp, sig, time.time())
    if why is not None:
        await reply(send, 403, error("DENIED", why), tag)
        return
    path = blob_file(root, digest) if root else None
    try:
        fd = os.open(path, os.O_RDONLY) if path else -1
    except OSError:
        fd = -1
    if fd < 0:
        await reply(send, 404, error("BLOB_UNKNOWN", "blob unknown to registry"), tag)
        return
    try:
        await _send_file(scope, send, fd, digest, chunk, tag)
    finally:
        os.close(fd)


async def _send_file(
    scope: dict[str, Any],
    send: Send,
    fd: int,
    digest: str,
    chunk: int,
    tag: list[tuple[bytes, bytes]],
) -> None:
    size = os.fstat(fd).st_size
    start, end, status = 0, size - 1, 200
    wanted = _range(scope)
    if wanted is not None and RANGE.match(wanted):  # other forms (several ranges): ignored
        got = _bounds(wanted, size)
        if got is None:
            await reply(
                send,
                416,
                error("RANGE_INVALID", "the requested range cannot be served"),
                [(b"content-range", f"bytes */{size}".encode()), *tag],
            )
            return
        start, end, status = got[0], got[1], 206
    hdrs = [
        (b"content-type", b"application/octet-stream"),
        (b"content-length", str(end - start + 1).encode()),
        (b"docker-content-digest", digest.encode()),
        (b"etag", f'"{digest}"'.encode()),
        (b"accept-ranges", b"bytes"),
        *tag,
    ]
    if status == 206:
        hdrs.append((b"content-range", f"bytes {start}-{end}/{size}".encode()))
    await send({"type": "http.response.start", "status": status, "headers": hdrs})
    if scope["method"] == "HEAD":
        await send({"type": "http.response.body", "body": b""})
        return
    offset = start
    while offset <= end:
        n = min(chunk, end - offset + 1)
        data = await asyncio.to_thread(os.pread, fd, n, offset)
        if not data:
            break
        offset += len(data)
        await send({"type": "http.response.body", "body": data, "more_body": offset <= end})
    if offset <= end:  # the file shrank under us: end the body (the client sees it short)
        await send({"type": "http.response.body", "body": b""})


def _range(scope: dict[str, Any]) -> str | None:
    for k, v in scope["headers"]:
        if k.lower() == b"range":
            return str(v.decode("latin-1").strip())
    return None


def _bounds(value: str, size: int) -> tuple[int, int] | None:
    """One `bytes=a-b` / `bytes=a-` / `bytes=-n` range within `size` (None: unsatisfiable)."""
    m = RANGE.match(value)
    if m is None or (not m[1] and not m[2]) or size == 0:
        return None
    if not m[1]:
        n = int(m[2])
        return (max(0, size - n), size - 1) if n > 0 else None
    a = int(m[1])
    b = min(int(m[2]), size - 1) if m[2] else size - 1
    return (a, b) if a <= b else None
