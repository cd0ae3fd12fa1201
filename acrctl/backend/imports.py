"""Image import (POST .../registries/{r}/importImage, as ACR) and the data-plane port.

No HTTP here: `parse` validates an importImage body into an ImportSpec; `ImportOps` keeps
the import's operation record (its own kind, finished by the data plane that runs the copy,
not by the lazy LRO machine of acrctl.backend.operations); `DataPlanePort` is what the
server's data plane offers the handlers (acrctl.dataplane.tools implements it). Source
credentials live only in the ImportSpec handed to the data plane: never in the store."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from acrctl.backend.errors import InvalidParameter, OperationNotFound

if TYPE_CHECKING:
    from acrctl.backend.core import Backend

IMPORT_OP = "importOperation"
MODES = ("NoForce", "Force")
_REPO = re.compile(
    r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*\Z"
)
_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}\Z")
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}\Z")


@dataclass
class ImportSpec:
    repository: str  # in the source
    reference: str  # tag or digest in the source
    target_tags: list[tuple[str, str]]  # (repository, tag) in the target registry
    untagged: list[str]  # target repositories that get the manifest by digest only
    force: bool
    registry_uri: str = ""  # an OCI registry (scheme optional); "" when source_registry
    source_registry: dict[str, Any] | None = None  # a registry of this server
    credentials: tuple[str, str] | None = field(default=None, repr=False)


class DataPlanePort(Protocol):
    """What a running data plane does for the management routes (set on Backend.dataplane
    while it runs)."""

    def image_presence(
        self, reg: dict[str, Any], regions: list[str], repository: str, tag: str
    ) -> dict[str, str | None]: ...

    def verify(self, reg: dict[str, Any], regions: list[str]) -> dict[str, Any]: ...

    def start_import(self, reg: dict[str, Any], spec: ImportSpec, what: str) -> dict[str, Any]: ...

    def is_local_uri(self, registry_uri: str) -> str | None: ...


def split_image(image: str, what: str) -> tuple[str, str]:
    """`repo:tag`, `repo@sha256:...` or `repo` (tag latest) -> (repo, reference)."""
    repo, at, digest = image.partition("@")
    if at:
        ref = digest
    else:
        head, colon, tag = repo.rpartition(":")
        repo, ref = (head, tag) if colon and "/" not in tag else (repo, "latest")
    if not _REPO.match(repo) or not (_TAG.match(ref) or _DIGEST.match(ref)):
        raise InvalidParameter(f"The {what} '{image}' is not a valid image name.")
    return repo, ref


def parse(body: dict[str, Any]) -> ImportSpec:
    """An importImage body -> ImportSpec (400 InvalidParameter on what is wrong)."""
    source = body.get("source")
    if not isinstance(source, dict) or not isinstance(source.get("sourceImage"), str):
        raise InvalidParameter("The source image (source.sourceImage) is required.")
    repo, ref = split_image(source["sourceImage"], "source image")
    mode = body.get("mode") or "NoForce"
    if mode not in MODES:
        raise InvalidParameter(f"The mode '{mode}' is not NoForce or Force.")
    tags = [_target(t) for t in _strings(body, "targetTags")]
    untagged = [_untagged(r) for r in _strings(body, "untaggedTargetRepositories")]
    if not tags and not untagged:
        if ref.startswith("sha256:"):
            untagged = [repo]
        else:
            tags = [(repo, ref)]
    creds = source.get("credentials")
    pair = None
    if isinstance(creds, dict) and (creds.get("username") or creds.get("password")):
        pair = (str(creds.get("username") or ""), str(creds.get("password") or ""))
    uri, rid = source.get("registryUri"), source.get("resourceId")
    if bool(uri) == bool(rid) and (uri or rid):
        raise InvalidParameter("Give the source's registryUri or its resourceId, not both.")
    if not uri and not rid:
        raise InvalidParameter("The source registry (registryUri or resourceId) is required.")
    return ImportSpec(
        repo, ref, tags, untagged, mode == "Force", registry_uri=str(uri or ""), credentials=pair
    )


def _strings(body: dict[str, Any], key: str) -> list[str]:
    value = body.get(key) or []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidParameter(f"{key} must be a list of strings.")
    return list(value)


def _target(image: str) -> tuple[str, str]:
    repo, ref = split_image(image, "target tag")
    if ref.startswith("sha256:"):
        raise InvalidParameter(f"The target tag '{image}' names a digest.")
    return repo, ref


def _untagged(repo: str) -> str:
    if not _REPO.match(repo):
        raise InvalidParameter(f"The repository '{repo}' is not a valid name.")
    return repo


class ImportOps:
    """The operation record of imports: InProgress -> Succeeded | Failed (with the error).
    The server instance running the copy beats a heartbeat (every update); a record whose
    heartbeat is older than `replication_lease_seconds` reads Failed (ImportAbandoned: that
    instance stopped). Finished records are kept `operation_retention_hours`."""

    def __init__(self, backend: Backend) -> None:
        self.b = backend

    def start(self, reg: dict[str, Any], what: str) -> dict[str, Any]:
        from acrctl.backend import ids

        self.prune(reg)
        op_id = str(uuid.uuid4())
        now = self.b.clock.now()
        doc = {
            "id": op_id,
            "name": op_id,
            "status": "InProgress",
            "resourceId": reg["id"],
            "startTime": self.b.clock.iso(),
            "started": now,
            "heartbeat": now,
            "image": what,
            "progress": {"blobsTotal": 0, "blobsDone": 0, "bytes": 0},
        }
        self.b.store.put(IMPORT_OP, _key(reg, op_id), ids.key(reg["id"]), op_id, doc)
        return doc

    def get(self, reg: dict[str, Any], op_id: str) -> dict[str, Any]:
        item = self.b.store.get(IMPORT_OP, _key(reg, op_id.lower()))
        if item is None:
            raise OperationNotFound(f"The operation '{op_id}' could not be found.")
        doc = dict(item.doc)
        lease = self.b.settings.replication_lease_seconds
        if doc["status"] == "InProgress" and self.b.clock.now() - doc["heartbeat"] > lease:
            error = {
                "code": "ImportAbandoned",
                "message": f"The server instance running the import stopped (no heartbeat "
                f"for {lease:g} seconds).",
            }
            self.update(reg, doc["id"], status="Failed", error=error)
            doc = dict(self.b.store.get(IMPORT_OP, item.key).doc)  # type: ignore[union-attr]
        return doc

    def update(self, reg: dict[str, Any], op_id: str, **fields: Any) -> None:
        """Change fields (none: only the heartbeat)."""
        item = self.b.store.get(IMPORT_OP, _key(reg, op_id))
        if item is None or item.doc["status"] != "InProgress":
            return  # finished (or read as abandoned): the record stays as it is
        doc = {**item.doc, **fields, "heartbeat": self.b.clock.now()}
        if fields.get("status") in ("Succeeded", "Failed"):
            doc["endTime"] = self.b.clock.iso()
        self.b.store.put(IMPORT_OP, item.key, item.parent, item.name, doc)

    def prune(self, reg: dict[str, Any]) -> int:
        """Forget this registry's finished imports older than operation_retention_hours."""
        from acrctl.backend import ids

        hours = float(self.b.settings.operation_retention_hours or 0)
        if hours <= 0:
            return 0
        cutoff = self.b.clock.now() - hours * 3600
        old = [
            i.key
            for i in self.b.store.list(IMPORT_OP, parent=ids.key(reg["id"]))
            if i.doc["status"] != "InProgress" and float(i.doc.get("started", 0)) < cutoff
        ]
        for key in old:
            self.b.store.delete(IMPORT_OP, key)
        return len(old)

    @staticmethod
    def status_body(doc: dict[str, Any]) -> dict[str, Any]:
        keys = ("id", "name", "status", "startTime", "endTime", "resourceId", "error")
        out = {k: doc[k] for k in keys if doc.get(k) is not None}
        out["percentComplete"] = 100 if doc["status"] != "InProgress" else 50
        out["properties"] = {"image": doc.get("image"), "progress": doc.get("progress")}
        return out


def _key(reg: dict[str, Any], op_id: str) -> str:
    from acrctl.backend import ids

    return f"{ids.key(reg['id'])}/importoperations/{op_id}"
