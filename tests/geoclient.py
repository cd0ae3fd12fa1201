"""A small OCI client for the geo tests: pushes and pulls through the front from a chosen
source address (the server maps client networks to regions), with an optional region hint
and Host, and records which region answered each request (`X-Acrctl-Region`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
import oci_image

ACCEPT = ", ".join(
    [
        oci_image.MANIFEST,
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    ]
)


@dataclass
class Client:
    base: str  # the front, http://127.0.0.1:<port>
    creds: tuple[str, str]
    source: str = "127.0.0.1"
    host: str | None = None  # Host header (host form); None: the path form
    hint: str | None = None
    seen: list[tuple[str, str, int, str]] = field(
        default_factory=list
    )  # method, path, status, region

    def __post_init__(self) -> None:
        self.http = httpx.Client(
            base_url=self.base,
            transport=httpx.HTTPTransport(local_address=self.source),
            timeout=30,
        )

    def close(self) -> None:
        self.http.close()

    def _headers(self, token: str | None = None) -> dict[str, str]:
        h: dict[str, str] = {}
        if self.host:
            h["Host"] = self.host
        if self.hint:
            h["X-Acrctl-Region"] = self.hint
        if token:
            h["Authorization"] = f"Bearer {token}"
        return h

    def token(self, repo: str, actions: str) -> str:
        service = self.host or self.base.split("//", 1)[1]
        r = self.http.get(
            "/oauth2/token",
            params={"service": service, "scope": f"repository:{repo}:{actions}"},
            auth=self.creds,
            headers=self._headers(),
        )
        assert r.status_code == 200, r.text
        return str(r.json()["access_token"])

    def request(self, method: str, path: str, token: str, **kw: object) -> httpx.Response:
        headers = {**self._headers(token), **kw.pop("headers", {})}  # type: ignore[dict-item]
        r = self.http.request(method, path, headers=headers, **kw)  # type: ignore[arg-type]
        self.seen.append((method, path, r.status_code, r.headers.get("x-acrctl-region", "")))
        return r

    def regions(self) -> set[str]:
        return {s[3] for s in self.seen}

    def push(
        self,
        repo: str,
        image: oci_image.Image,
        tag: str,
        between: Callable[[], None] | None = None,
    ) -> None:
        """Blobs (HEAD, POST, PUT each), then the manifest; `between` runs after the first
        upload has started."""
        token = self.token(repo, "push,pull")
        for i, (digest, data) in enumerate(image.blobs.items()):
            if self.request("HEAD", f"/v2/{repo}/blobs/{digest}", token).status_code == 200:
                continue
            r = self.request("POST", f"/v2/{repo}/blobs/uploads/", token)
            assert r.status_code == 202, r.text
            if i == 0 and between is not None:
                between()
            loc = r.headers["location"]
            sep = "&" if "?" in loc else "?"
            r = self.request("PUT", f"{loc}{sep}digest={digest}", token, content=data)
            assert r.status_code == 201, r.text
        r = self.request(
            "PUT",
            f"/v2/{repo}/manifests/{tag}",
            token,
            content=image.manifest_bytes,
            headers={"Content-Type": oci_image.MANIFEST},
        )
        assert r.status_code == 201, r.text

    def pull(self, repo: str, ref: str) -> tuple[httpx.Response, list[int]]:
        """The manifest GET and the status of each of its blobs' GETs."""
        import json

        token = self.token(repo, "pull")
        r = self.request("GET", f"/v2/{repo}/manifests/{ref}", token, headers={"Accept": ACCEPT})
        if r.status_code != 200:
            return r, []
        doc = json.loads(r.content)
        digests = [doc["config"]["digest"], *(layer["digest"] for layer in doc["layers"])]
        return r, [self.request("GET", f"/v2/{repo}/blobs/{d}", token).status_code for d in digests]
