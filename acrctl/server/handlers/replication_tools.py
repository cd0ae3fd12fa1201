"""Routes the server's data plane answers (acrctl.backend.imports.DataPlanePort):

- GET .../registries/{r}/imagePresence?image=repo:tag (acrctl extension; what `replication
  wait --image` polls): per region, whether its registry holds the tag at the home region's
  digest; Retry-After while some region lacks it.
- POST .../registries/{r}/verifyReplication (acrctl extension): the drift report.
- POST .../registries/{r}/importImage (ACR's action, an LRO) and its status,
  GET .../registries/{r}/importOperations/{op}."""

from __future__ import annotations

from typing import Any

from acrctl.backend.errors import DataPlaneOff, InvalidParameter, ResourceNotFound
from acrctl.backend.imports import DataPlanePort, ImportOps, parse, split_image
from acrctl.backend.rbac import denied
from acrctl.backend.replication_tasks import ReplicationTasks, image_status
from acrctl.server.http import Ctx, Response

PULL = "Microsoft.ContainerRegistry/registries/pull/read"


def _port(c: Ctx) -> DataPlanePort:
    if c.b.dataplane is None:
        raise DataPlaneOff(
            "The data plane is not running on this server (see /readyz checks.dataplane).",
        )
    return c.b.dataplane


def _registry(c: Ctx) -> tuple[dict[str, Any], list[str]]:
    reg = c.b.registries.get(c.p["sub"], c.p["rg"], c.p["registry"])
    regions = sorted({r["location"] for r in c.b.replications.all_for(reg)} | {reg["location"]})
    return reg, regions


def image_presence(c: Ctx) -> Response:
    image = c.req.query.get("image") or ""
    if not image:
        raise InvalidParameter("The query parameter 'image' (repo:tag) is required.")
    repo, tag = split_image(image, "image")
    if tag.startswith("sha256:"):
        raise InvalidParameter(f"The image '{image}' must name a tag.")
    reg, regions = _registry(c)
    held = _port(c).image_presence(reg, regions, repo, tag)
    home = reg["location"]
    want = held.get(home)
    rows, tasks = [], {}
    if not want or any(held.get(r) != want for r in regions):  # why a region lacks it
        status = image_status(ReplicationTasks(c.b), reg, regions, f"{repo}:{tag}")
        tasks = {r["region"]: r for r in status}
    for region in regions:
        got = held.get(region)
        state = "present" if got and got == want else ("differs" if got else "missing")
        row: dict[str, Any] = {"region": region, "state": state, "digest": got}
        if state != "present":
            row["replication"] = tasks.get(region, {}).get("state", "unknown")
            row["lastError"] = tasks.get(region, {}).get("lastError")
        rows.append(row)
    missing = [r["region"] for r in rows if r["state"] != "present"]
    resp = c.ok(
        {
            "image": f"{repo}:{tag}",
            "home": home,
            "digest": want,
            "complete": not missing,
            "missing": missing,
            "value": rows,
        }
    )
    if missing:
        resp.headers["Retry-After"] = str(c.b.settings.retry_after)
    return resp


def verify(c: Ctx) -> Response:
    reg, regions = _registry(c)
    return c.ok(_port(c).verify(reg, regions))


def import_image(c: Ctx) -> Response:
    reg = c.b.registries.get(c.p["sub"], c.p["rg"], c.p["registry"])
    body = c.body()
    spec = parse(body)
    port = _port(c)
    source = body["source"]
    local = port.is_local_uri(spec.registry_uri) if spec.registry_uri else None
    if source.get("resourceId") or local:
        spec.source_registry = _source_registry(c, str(source.get("resourceId") or ""), local)
        spec.registry_uri, spec.credentials = "", None
    sep = "@" if spec.reference.startswith("sha256:") else ":"
    op = port.start_import(reg, spec, f"{spec.repository}{sep}{spec.reference}")
    status = c.url(f"{reg['id']}/importOperations/{op['id']}")
    return Response(
        202,
        None,
        {
            "Azure-AsyncOperation": status,
            "Location": status,
            "Retry-After": str(c.b.settings.retry_after),
        },
    )


def _source_registry(c: Ctx, resource_id: str, name: str | None) -> dict[str, Any]:
    """A source registry of this server, by resource id or login server; the caller must
    be able to pull from it."""
    if resource_id:
        name = resource_id.rstrip("/").rsplit("/", 1)[-1]
    src = c.b.registries.find(name or "")
    if src is None or (resource_id and src["id"].lower() != resource_id.rstrip("/").lower()):
        raise ResourceNotFound(f"The source registry '{resource_id or name}' could not be found.")
    if not c.b.rbac.allowed(c.caller, PULL, src["id"]):
        raise denied(c.caller, PULL, src["id"])
    return src


def import_status(c: Ctx) -> Response:
    reg = c.b.registries.get(c.p["sub"], c.p["rg"], c.p["registry"])
    op = ImportOps(c.b).get(reg, c.p["op"])
    resp = c.ok(ImportOps.status_body(op))
    if op["status"] == "InProgress":
        resp.headers["Retry-After"] = str(c.b.settings.retry_after)
    return resp
