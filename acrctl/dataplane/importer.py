"""Run an import (POST .../importImage): copy an image from another registry of this server
(read from its home region) or from any OCI registry the server may reach into the target
registry's home region, with the replication Copier (streamed). The writes are signed with
the subject `acrctl-import`, not the engine's, so the region reports them as a push and the
engine replicates them like one (the loop guard drops only the engine's own writes).

External sources pass the webhooks' destination policy (acrctl.delivery.Policy, the same
settings) on every request, redirects and the token service included. Their credentials
stay in memory for the operation: never logged, never in the store or in an error."""

from __future__ import annotations

import contextlib
import logging
import re
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx

from acrctl.backend.imports import ImportOps, ImportSpec
from acrctl.dataplane.copier import ACCEPT, Copier, CopyError, manifest_digest
from acrctl.delivery_policy import Policy, Refused

if TYPE_CHECKING:
    from acrctl.dataplane.engine import Engine

log = logging.getLogger("acrctl.dataplane")
IMPORT_SUB = "acrctl-import"  # the subject of an import's writes (they replicate)
_PARAM = re.compile(r'(\w+)="([^"]*)"')


class ImportFailed(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def source_url(registry_uri: str) -> str:
    """`host[:port]` means https, except for localhost and loopback addresses (http, as
    docker treats them); an explicit scheme is kept."""
    uri = registry_uri.rstrip("/")
    if "://" in uri:
        return uri
    host = urlsplit(f"//{uri}").hostname or ""
    local = host == "localhost" or host.startswith("127.") or host == "::1"
    return f"{'http' if local else 'https'}://{uri}"


def unreachable(exc: Refused) -> ImportFailed:
    return ImportFailed("InvalidParameter", f"The source cannot be reached: {exc.reason}")


def regions_of(engine: Engine) -> set[tuple[str, int]]:
    """(host, port) of this server's regions: exempt from the destination policy."""
    out = set()
    for r in engine.plane.supervisor.regions.values():
        u = httpx.URL(r.url)
        out.add((u.host, u.port or (443 if u.scheme == "https" else 80)))
    return out


def transport(engine: Engine) -> httpx.HTTPTransport:
    """The import's transport: every connection (to the source, its token service, its
    redirects) goes only to addresses the destination policy checked for it, the server's
    regions excepted (acrctl.dataplane.pinned: no second DNS answer between the check and
    the connection). The import's client takes no proxy from the environment, as webhook
    deliveries take none: the policy must see the address connected to."""
    from acrctl.dataplane.pinned import checked_transport

    return checked_transport(Policy.from_settings(engine.s), regions_of(engine), unreachable)


def external_auth(
    client: httpx.Client, url: str, repo: str, creds: tuple[str, str] | None
) -> dict[str, str]:
    """Headers that let us pull `repo`: none, Basic, or a bearer token from the realm the
    registry's challenge names (with the credentials when given)."""
    r = client.get(f"{url}/v2/")
    if r.status_code == 200:
        return {}
    challenge = r.headers.get("www-authenticate", "")
    basic = httpx.BasicAuth(*creds) if creds else None
    if r.status_code != 401:
        raise ImportFailed("InvalidParameter", f"The source registry answered {r.status_code}.")
    if challenge.lower().startswith("basic"):
        if creds is None:
            raise ImportFailed("Unauthorized", "The source registry requires credentials.")
        return {"Authorization": _basic_header(creds)}
    params = dict(_PARAM.findall(challenge))
    realm = params.pop("realm", "")
    if not realm:
        raise ImportFailed("InvalidParameter", "The source registry sent no token realm.")
    query = {
        "scope": f"repository:{repo}:pull",
        **({"service": params["service"]} if "service" in params else {}),
    }
    t = client.get(realm, params=query, auth=basic) if basic else client.get(realm, params=query)
    if t.status_code != 200:
        raise ImportFailed("Unauthorized", "The source registry refused the credentials.")
    body = t.json()
    token = body.get("token") or body.get("access_token")
    if not token:
        raise ImportFailed("Unauthorized", "The source registry's token service sent no token.")
    return {"Authorization": f"Bearer {token}"}


def _basic_header(creds: tuple[str, str]) -> str:
    import base64

    user, password = creds
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


class Importer:
    """One import: resolve the source, check NoForce, copy each target, record the outcome."""

    def __init__(
        self,
        engine: Engine,
        reg: dict[str, Any],
        op_id: str,
        spec: ImportSpec,
        on_done: Callable[[], None] | None = None,
    ) -> None:
        self.engine, self.reg, self.op_id, self.spec = engine, reg, op_id, spec
        self.on_done = on_done
        self.ops = ImportOps(engine.b)
        self.done = self.moved = self.total = 0
        self._lock = threading.Lock()

    def start(self) -> threading.Thread:
        t = threading.Thread(target=self.run, name="acrctl-import", daemon=True)
        t.start()
        return t

    def _heartbeat(self, stop: threading.Event) -> None:
        """Keep the record's heartbeat fresh while the copy runs (a record without one for
        replication_lease_seconds reads Failed: its server instance stopped)."""
        every = max(1.0, self.engine.s.replication_lease_seconds / 3)
        while not stop.wait(every):
            with contextlib.suppress(Exception):
                self.ops.update(self.reg, self.op_id)

    def run(self) -> None:
        s = self.engine.s
        client = httpx.Client(
            timeout=httpx.Timeout(s.replication_timeout, connect=5.0),
            follow_redirects=False,
            transport=transport(self.engine),
            trust_env=False,  # no environment proxy around the policy (see transport)
        )
        stop = threading.Event()
        threading.Thread(
            target=self._heartbeat, args=(stop,), name="acrctl-import-heartbeat", daemon=True
        ).start()
        try:
            self._run(client)
            self.ops.update(self.reg, self.op_id, status="Succeeded", progress=self._progress())
        except ImportFailed as exc:
            self._fail(exc.code, exc.message)
        except (CopyError, httpx.HTTPError, ValueError, KeyError) as exc:
            self._fail("ImportFailed", f"{type(exc).__name__}: {_scrub(str(exc), self.spec)}")
        except Exception as exc:  # noqa: BLE001 - recorded on the operation
            log.warning("import into %s failed: %s", self.reg["name"], type(exc).__name__)
            self._fail("InternalError", f"The import failed ({type(exc).__name__}).")
        finally:
            stop.set()
            client.close()
            if self.on_done is not None:
                self.on_done()

    def _fail(self, code: str, message: str) -> None:
        error = {"code": code, "message": message}
        self.ops.update(self.reg, self.op_id, status="Failed", error=error)

    def _progress(self) -> dict[str, Any]:
        return {"blobsTotal": self.total, "blobsDone": self.done, "bytes": self.moved}

    def _on_blob(self, digest: str, moved: int) -> None:
        with self._lock:
            self.done += 1
            self.moved += moved
            progress = self._progress()
        with contextlib.suppress(Exception):  # progress is best effort; the copy goes on
            self.ops.update(self.reg, self.op_id, progress=progress)

    def _source(self, client: httpx.Client) -> tuple[str, str, dict[str, str], str | None]:
        """(base URL, repository there, headers, a repository of the target's region to
        mount blobs from or None)."""
        spec, engine = self.spec, self.engine
        src = spec.source_registry
        if src is not None:
            repo = f"{src['name'].lower()}/{spec.repository}"
            token = engine.sign(
                [{"type": "repository", "name": repo, "actions": ["pull"]}], sub=IMPORT_SUB
            )
            same = src["location"] == self.reg["location"]
            return (
                engine.started_url(src["location"]),
                repo,
                {"Authorization": f"Bearer {token}"},
                (repo if same else None),
            )
        url = source_url(spec.registry_uri)
        return (
            url,
            spec.repository,
            external_auth(client, url, spec.repository, spec.credentials),
            None,
        )

    def _run(self, client: httpx.Client) -> None:
        spec, engine = self.spec, self.engine
        url, src_repo, headers, mount = self._source(client)
        r = client.get(
            f"{url}/v2/{src_repo}/manifests/{spec.reference}", headers={**headers, "Accept": ACCEPT}
        )
        if r.status_code in (401, 403, 404):
            sep = "@" if spec.reference.startswith("sha256:") else ":"
            raise ImportFailed(
                "NotFound" if r.status_code == 404 else "Unauthorized",
                f"The source image {spec.repository}{sep}{spec.reference} was not found "
                f"or access was denied ({r.status_code}).",
            )
        if r.status_code != 200:
            raise ImportFailed("ImportFailed", f"The source registry answered {r.status_code}.")
        digest = r.headers.get("docker-content-digest") or manifest_digest(r.content)
        try:
            doc = r.json()
        except ValueError:
            raise ImportFailed("ImportFailed", "The source manifest is not JSON.") from None
        blobs = ([doc["config"]] if isinstance(doc.get("config"), dict) else []) + list(
            doc.get("layers") or []
        )
        self.total = len(blobs)
        self.ops.update(self.reg, self.op_id, progress=self._progress())
        home = self.reg["location"]
        dst = engine.started_url(home)
        copiers = {
            repo: self._copier(client, url, dst, repo, src_repo, headers, mount)
            for repo in {t[0] for t in spec.target_tags} | set(spec.untagged)
        }
        if not spec.force:
            for repo, tag in spec.target_tags:
                have = copiers[repo].target_digest(tag)
                if have is not None and have != digest:
                    raise ImportFailed(
                        "Conflict", f"Tag {repo}:{tag} already exists in target registry."
                    )
        for repo, tag in spec.target_tags:
            if copiers[repo].copy(tag, source_ref=digest) is None:
                raise ImportFailed("NotFound", "The source image disappeared during the import.")
        for repo in spec.untagged:
            if copiers[repo].copy(digest) is None:
                raise ImportFailed("NotFound", "The source image disappeared during the import.")

    def _copier(
        self,
        client: httpx.Client,
        src: str,
        dst: str,
        repo: str,
        src_repo: str,
        headers: dict[str, str],
        mount: str | None,
    ) -> Copier:
        s, engine = self.engine.s, self.engine
        ns = f"{self.reg['name'].lower()}/{repo}"
        home = self.reg["location"]
        # the engine's index of blobs placed in the home region: mount rather than stream
        index = engine.copier(self.reg["name"].lower(), repo, home, home)

        def sign(access: list[dict[str, Any]]) -> str:
            return engine.sign(access, sub=IMPORT_SUB)

        return Copier(
            client,
            sign,
            src,
            dst,
            ns,
            home,
            engine.stats,
            mount_from=(lambda digest: mount) if mount else index.mount_from,
            placed=index.placed,
            blob_retries=s.replication_blob_retries,
            chunk=s.replication_chunk_bytes,
            parallel=s.replication_blob_parallel,
            src_repo=src_repo,
            src_auth=headers,
            on_blob=self._on_blob,
        )


def _scrub(text: str, spec: ImportSpec) -> str:
    """An error text without the source's password (belt and braces: none should hold it)."""
    if spec.credentials and spec.credentials[1]:
        text = text.replace(spec.credentials[1], "***")
    return text
