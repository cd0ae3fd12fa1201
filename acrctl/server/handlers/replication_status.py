"""GET .../registries/{registry}/replicationStatus[?image=repo:tag] (an acrctl extension):
where each image is, per replica region (acrctl.backend.replication_tasks.image_status)."""

from __future__ import annotations

from acrctl.backend.replication_tasks import ReplicationTasks, image_status
from acrctl.server.http import Ctx, Response


def get(c: Ctx) -> Response:
    reg = c.b.registries.get(c.p["sub"], c.p["rg"], c.p["registry"])
    regions = sorted({r["location"] for r in c.b.replications.all_for(reg)} | {reg["location"]})
    image = c.req.query.get("image") or None
    rows = image_status(ReplicationTasks(c.b), reg, regions, image)
    return c.ok({"value": rows})
