"""Replications (geo-replicas) of Premium registries, including the home replica."""

from __future__ import annotations

import builtins
import copy
from typing import TYPE_CHECKING, Any

from acrctl.backend import ids, regions
from acrctl.backend.errors import (
    HomeReplicationCannotBeDeleted,
    InvalidRequestContent,
    LocationCannotBeChanged,
    ReplicationInHomeLocation,
    ReplicationLocationAlreadyExists,
    ReplicationNotSupportedForSku,
    ZoneRedundancyCannotBeChanged,
)
from acrctl.backend.etags import check_preconditions
from acrctl.backend.kinds import REPLICATION
from acrctl.backend.registries import REGISTRY, check_zone_redundancy
from acrctl.backend.validation import body_properties, check_name, check_tags

if TYPE_CHECKING:
    from acrctl.backend.core import Backend
    from acrctl.backend.rbac import Caller


class Replications:
    def __init__(self, backend: Backend) -> None:
        self.b = backend
        backend.ops.before_delete[REPLICATION] = self.before_delete

    def _registry(self, sub: str, rg: str, registry: str) -> dict[str, Any]:
        return self.b.registries.get(sub, rg, registry)

    def _premium(self, reg: dict[str, Any]) -> None:
        if reg["sku"]["name"] != "Premium":
            raise ReplicationNotSupportedForSku(
                f"Replications are only supported for managed registries in Premium SKU. "
                f"Registry '{reg['name']}' is {reg['sku']['name']}; upgrade it first "
                f"(acrctl update -n {reg['name']} --sku Premium).",
            )

    def _doc(
        self,
        reg: dict[str, Any],
        name: str,
        location: str,
        caller: Caller,
        state: str,
        zr: str = "Disabled",
        endpoint: bool = True,
        tags: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        now = self.b.clock.iso()
        ready = state == "Succeeded"
        return {
            "id": f"{reg['id']}/replications/{name}",
            "name": name,
            "type": ids.REPLICATION_TYPE,
            "location": location,
            "tags": tags or {},
            "systemData": self.b.system_data(caller),
            "properties": {
                "provisioningState": state,
                "status": {
                    "displayStatus": "Ready" if ready else "Provisioning",
                    "message": "The replication is ready."
                    if ready
                    else "The replication is provisioning.",
                    "timestamp": now,
                },
                "regionEndpointEnabled": endpoint,
                "zoneRedundancy": zr,
            },
        }

    # -- the home replica --------------------------------------------------------------------
    def ensure_home(self, caller: Caller, reg: dict[str, Any]) -> None:
        if any(r["location"] == reg["location"] for r in self.all_for(reg)):
            return
        doc = self._doc(
            reg,
            reg["location"],
            reg["location"],
            caller,
            "Succeeded",
            reg["properties"].get("zoneRedundancy", "Disabled"),
        )
        self.b.store.put(REPLICATION, ids.key(doc["id"]), ids.key(reg["id"]), doc["name"], doc)

    def drop_home(self, reg: dict[str, Any]) -> None:
        for r in self.all_for(reg):
            if r["location"] == reg["location"]:
                self.b.store.delete_tree(ids.key(r["id"]))

    def all_for(self, reg: dict[str, Any]) -> list[dict[str, Any]]:
        return [i.doc for i in self.b.store.list(REPLICATION, parent=ids.key(reg["id"]))]

    # -- operations ----------------------------------------------------------------------------
    def item(self, sub: str, rg: str, registry: str, name: str) -> Any:
        return self.b.registries.child(REPLICATION, "replications", sub, rg, registry, name)

    def get(self, sub: str, rg: str, registry: str, name: str) -> dict[str, Any]:
        doc = dict(self.item(sub, rg, registry, name).doc)
        return self.b.drills.overlay(sub, self._syncing([doc]))[0]  # drills: Unavailable

    def list(
        self, sub: str, rg: str, registry: str, after: int | None = None, limit: int | None = None
    ) -> tuple[list[dict[str, Any]], int | None]:
        reg = self._registry(sub, rg, registry)
        items = self.b.store.list(REPLICATION, parent=ids.key(reg["id"]), after=after, limit=limit)
        last = items[-1].seq if limit is not None and len(items) == limit else None
        return self.b.drills.overlay(sub, self._syncing(self.b.ops.fresh(items))), last

    def _syncing(self, docs: builtins.list[dict[str, Any]]) -> builtins.list[dict[str, Any]]:
        """A replica the replication engine is still filling reads Syncing."""
        from acrctl.backend.replication_tasks import ReplicationTasks

        tasks = ReplicationTasks(self.b)
        out = []
        for doc in docs:
            if tasks.syncing(ids.key(doc["id"])):
                doc = copy.deepcopy(doc)
                doc["properties"]["status"] = {
                    "displayStatus": "Syncing",
                    "timestamp": self.b.clock.iso(),
                    "message": "The replication is copying the registry's content.",
                }
            out.append(doc)
        return out

    def put(
        self,
        caller: Caller,
        sub: str,
        rg: str,
        registry: str,
        name: str,
        body: dict[str, Any],
        if_match: str | None = None,
        if_none_match: str | None = None,
    ) -> tuple[dict[str, Any], bool, dict[str, Any]]:
        check_name(name, "replication")
        with self.b.store.transaction():
            reg = self._registry(sub, rg, registry)
            self._premium(reg)
            key = ids.key(f"{reg['id']}/replications/{name}")
            cur = self.b.ops.current(REPLICATION, key)
            check_preconditions(cur, if_match, if_none_match)
            region = regions.require(body.get("location"), ids.REPLICATION_TYPE)
            loc = region["name"]
            props = body_properties(body)
            endpoint = props.get("regionEndpointEnabled", True)
            if not isinstance(endpoint, bool):
                raise InvalidRequestContent("'regionEndpointEnabled' must be a boolean.")
            if cur:
                self.b.ops.ensure_idle(REPLICATION, key, name)
                cur = self.b.store.get(REPLICATION, key)
            if cur is None:
                for other in self.all_for(reg):
                    if other["location"] == loc:
                        raise (
                            ReplicationLocationAlreadyExists
                            if loc != reg["location"]
                            else ReplicationInHomeLocation
                        )(
                            f"Replication could not be created in the same location as the "
                            f"registry ('{loc}'): the home replica '{other['name']}' is there "
                            "already."
                            if loc == reg["location"]
                            else f"The registry already has a replication in '{loc}' "
                            f"('{other['name']}').",
                        )
                zr = props.get("zoneRedundancy", "Disabled")
                check_zone_redundancy(zr, loc, "Premium", "replication")
                doc = self._doc(
                    reg, name, loc, caller, "Creating", zr, endpoint, check_tags(body.get("tags"))
                )
                action = "create"
                if self.b.settings.replication_backfill:
                    from acrctl.backend.replication_tasks import ReplicationTasks

                    ReplicationTasks(self.b).start_backfill(key, ids.key(reg["id"]), loc)
            else:
                if loc != cur.doc["location"]:
                    raise LocationCannotBeChanged(
                        "The location of a replication cannot be changed.",
                    )
                zr = props.get("zoneRedundancy", cur.doc["properties"]["zoneRedundancy"])
                if zr != cur.doc["properties"]["zoneRedundancy"]:
                    raise ZoneRedundancyCannotBeChanged(
                        "zoneRedundancy cannot be changed after creation; "
                        "delete and recreate the replication to change it.",
                    )
                doc = copy.deepcopy(cur.doc)
                doc["tags"] = check_tags(body.get("tags"))
                doc["properties"]["regionEndpointEnabled"] = endpoint
                doc["properties"]["provisioningState"] = "Updating"
                doc["systemData"] = self.b.system_data(caller, doc.get("systemData"))
                action = "update"
            self.b.store.put(REPLICATION, key, ids.key(reg["id"]), name, doc)
            self.b.registries.refresh_data_endpoints(ids.key(reg["id"]))
            op = self.b.ops.start(REPLICATION, key, doc["id"], action, loc)
        return self.b.store.get(REPLICATION, key).doc, cur is None, op  # type: ignore[union-attr]

    def update(
        self,
        caller: Caller,
        sub: str,
        rg: str,
        registry: str,
        name: str,
        body: dict[str, Any],
        if_match: str | None = None,
        if_none_match: str | None = None,
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """PATCH: tags and properties.regionEndpointEnabled only."""
        with self.b.store.transaction():
            cur = self.item(sub, rg, registry, name)
            check_preconditions(cur, if_match, if_none_match)
            self.b.ops.ensure_idle(REPLICATION, cur.key, name)
            doc = copy.deepcopy(self.b.store.get(REPLICATION, cur.key).doc)  # type: ignore[union-attr]
            props = body_properties(body)
            unknown = set(props) - {"regionEndpointEnabled"}
            if unknown:
                raise InvalidRequestContent(
                    f"Only regionEndpointEnabled and tags can be updated on a replication; "
                    f"got {', '.join(sorted(unknown))}.",
                )
            if "regionEndpointEnabled" in props:
                if not isinstance(props["regionEndpointEnabled"], bool):
                    raise InvalidRequestContent("'regionEndpointEnabled' must be a boolean.")
                doc["properties"]["regionEndpointEnabled"] = props["regionEndpointEnabled"]
            if "tags" in body:
                doc["tags"] = check_tags(body["tags"])
            doc["properties"]["provisioningState"] = "Updating"
            doc["systemData"] = self.b.system_data(caller, doc.get("systemData"))
            self.b.store.put(REPLICATION, cur.key, cur.parent, cur.name, doc)
            op = self.b.ops.start(REPLICATION, cur.key, doc["id"], "update", doc["location"])
        return self.b.store.get(REPLICATION, cur.key).doc, op  # type: ignore[union-attr]

    def delete(
        self,
        sub: str,
        rg: str,
        registry: str,
        name: str,
        if_match: str | None = None,
        if_none_match: str | None = None,
    ) -> dict[str, Any] | None:
        with self.b.store.transaction():
            reg = self._registry(sub, rg, registry)
            key = ids.key(f"{reg['id']}/replications/{name}")
            cur = self.b.ops.current(REPLICATION, key)
            check_preconditions(cur, if_match, if_none_match)
            if cur is None:
                return None
            if cur.doc["location"] == reg["location"]:
                raise HomeReplicationCannotBeDeleted(
                    f"The replication '{cur.doc['name']}' is in the registry's home region "
                    f"'{reg['location']}' and cannot be deleted. Delete the registry instead.",
                )
            self.b.ops.ensure_idle(REPLICATION, key, name)
            cur = self.b.store.get(REPLICATION, key)
            if cur is None:
                return None
            cur.doc["properties"]["provisioningState"] = "Deleting"
            self.b.store.put(REPLICATION, key, cur.parent, cur.name, cur.doc)
            return self.b.ops.start(REPLICATION, key, cur.doc["id"], "delete", cur.doc["location"])

    def before_delete(self, item: Any) -> None:
        """A replica's regional webhooks go with it."""
        reg_key = item.parent
        reg = self.b.store.get(REGISTRY, reg_key)
        if reg is not None:
            self.b.webhooks.drop_in_region(reg.doc, item.doc["location"])
            self.b.registries.refresh_data_endpoints(reg_key, without=item.doc["location"])
