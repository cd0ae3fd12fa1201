"""What the data plane does for the management routes (acrctl.backend.imports.DataPlanePort,
set on Backend.dataplane while the plane runs): where an image is (replication wait
--image), verifyReplication, and starting an import."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx

from acrctl.backend.errors import InvalidParameter, TooManyImports
from acrctl.backend.imports import ImportSpec
from acrctl.dataplane.copier import CopyError

if TYPE_CHECKING:
    from acrctl.dataplane.plane import DataPlane


class PlaneTools:
    def __init__(self, plane: DataPlane) -> None:
        self.plane = plane
        self._imports = 0  # running now (import_max_concurrent)
        self._lock = threading.Lock()

    @property
    def engine(self) -> Any:
        if self.plane.engine is None:
            raise CopyError("the replication engine is not running")
        return self.plane.engine

    def image_presence(
        self, reg: dict[str, Any], regions: list[str], repository: str, tag: str
    ) -> dict[str, str | None]:
        """region -> the digest its registry holds for repository:tag (None: absent or the
        region is not reachable)."""
        out: dict[str, str | None] = {}
        for region in regions:
            try:
                copier = self.engine.copier(reg["name"].lower(), repository, region, region)
                out[region] = copier.target_digest(tag)
            except (CopyError, httpx.HTTPError):
                out[region] = None
        return out

    def verify(self, reg: dict[str, Any], regions: list[str]) -> dict[str, Any]:
        from acrctl.dataplane.verify import verify

        return verify(self.engine, reg, regions)

    def is_local_uri(self, registry_uri: str) -> str | None:
        """The registry name when `registry_uri` is one of this server's login servers."""
        text = registry_uri if "://" in registry_uri else f"//{registry_uri}"
        netloc = urlsplit(text).netloc.lower()
        suffix = f".{self.plane.login_domain.lower()}"
        if not netloc.endswith(suffix):
            return None
        name = netloc[: -len(suffix)]
        return name if name and "." not in name else None

    def start_import(self, reg: dict[str, Any], spec: ImportSpec, what: str) -> dict[str, Any]:
        """Check the source against the destination policy, record the operation and run
        the copy in its own thread. Returns the operation record."""
        from acrctl.backend.imports import ImportOps
        from acrctl.dataplane.importer import Importer, source_url
        from acrctl.delivery import Policy, Refused

        if spec.source_registry is None:
            try:
                Policy.from_settings(self.plane.settings).resolve(source_url(spec.registry_uri))
            except Refused as exc:
                raise InvalidParameter(
                    f"The source registry cannot be reached: {exc.reason}"
                ) from None
        engine = self.engine
        limit = max(1, self.plane.settings.import_max_concurrent)
        with self._lock:
            if self._imports >= limit:
                raise TooManyImports(
                    f"{limit} imports are running on this server (import_max_concurrent); "
                    "retry later.",
                    retry_after=self.plane.settings.retry_after,
                )
            self._imports += 1
        try:
            op = ImportOps(self.plane.b).start(reg, what)
            Importer(engine, reg, op["id"], spec, on_done=self._import_done).start()
        except BaseException:
            self._import_done()
            raise
        return op

    def _import_done(self) -> None:
        with self._lock:
            self._imports -= 1
