"""Registries: create/replace (PUT), update (PATCH), delete, get, list, usages, name check.

Tier rules: Basic -> Standard -> Premium upgrades at any time; a downgrade from Premium is
refused while replicas other than the home one exist; a Premium registry always lists a
replica in its home region, created with it (or with the upgrade).

The tiers, defaults and property checks are in acrctl.backend.registry_rules (re-exported)."""

from __future__ import annotations

import builtins
import copy
from typing import TYPE_CHECKING, Any

from acrctl.backend import admin_user, ids, regions
from acrctl.backend.errors import (
    AlreadyInUse,
    InvalidRequestContent,
    InvalidResourceLocation,
    InvalidResourceType,
    LocationCannotBeChanged,
    RegistrySkuDowngradeNotAllowed,
    ResourceGroupNotFound,
    ResourceNotFound,
)
from acrctl.backend.etags import check_preconditions
from acrctl.backend.kinds import GROUP, REGISTRY, REPLICATION

# the properties' rules (acrctl.backend.registry_rules), re-exported
from acrctl.backend.registry_rules import (  # noqa: F401
    BOOL_PROPS,
    DICT_PROPS,
    ENUM_PROPS,
    IDENTITY_TYPES,
    POLICIES,
    SKUS,
    STATUS,
    STORAGE_GIB,
    WEBHOOK_QUOTA,
    _bad,
    _one_of,
    _sub_rg,
    apply_properties,
    check_identity,
    check_nested,
    check_tier_features,
    check_zone_redundancy,
    data_endpoint_host_names,
    default_properties,
    merge_patch,
    sku_name,
    zone_immutable,
)
from acrctl.backend.validation import body_properties, check_name, check_tags

if TYPE_CHECKING:
    from acrctl.backend.core import Backend
    from acrctl.backend.rbac import Caller


class Registries:
    def __init__(self, backend: Backend) -> None:
        self.b = backend

    # -- reads ---------------------------------------------------------------------------
    def key(self, sub: str, rg: str, name: str) -> str:
        return ids.key(ids.registry_id(sub, rg, name))

    def item(self, sub: str, rg: str, name: str) -> Any:
        key = self.key(sub, rg, name)
        item = self.b.ops.current(REGISTRY, key)
        if item is None:
            if self.b.store.get(GROUP, ids.key(ids.group_id(sub, rg))) is None:
                raise ResourceGroupNotFound(f"Resource group '{rg}' could not be found.")
            raise ResourceNotFound(
                f"The Resource '{ids.REGISTRY_TYPE}/{name}' under resource group '{rg}' was "
                "not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix",
            )
        return item

    def get(self, sub: str, rg: str, name: str) -> dict[str, Any]:
        return dict(self.item(sub, rg, name).doc)

    def list(
        self, sub: str, rg: str, after: int | None = None, limit: int | None = None
    ) -> tuple[builtins.list[dict[str, Any]], int | None]:
        """A resource group's registries in creation order, paged by `seq` (the (kind,
        parent, seq) index). The subscription's: list_all."""
        if self.b.store.get(GROUP, ids.key(ids.group_id(sub, rg))) is None:
            raise ResourceGroupNotFound(f"Resource group '{rg}' could not be found.")
        items = self.b.store.list(
            REGISTRY, parent=ids.key(ids.group_id(sub, rg)), after=after, limit=limit
        )
        last = items[-1].seq if limit is not None and len(items) == limit else None
        return self.b.ops.fresh(items), last

    def list_all(
        self, sub: str, after_key: str | None = None, limit: int | None = None
    ) -> tuple[builtins.list[dict[str, Any]], str | None]:
        """A subscription's registries in key order (resource group, then name), paged by
        key: a prefix scan of the (kind, key) index, so every page costs O(page), the last
        as the first. Returns (docs, the key to continue after, or None at the end)."""
        prefix = ids.key(ids.subscription_id(sub)) + "/"
        items = self.b.store.list(
            REGISTRY, prefix=prefix, limit=limit, after_key=after_key, by_key=True
        )
        last = items[-1].key if limit is not None and len(items) == limit else None
        return self.b.ops.fresh(items), last

    def child(self, kind: str, collection: str, sub: str, rg: str, registry: str, name: str) -> Any:
        """A replication or webhook of a registry, its operation let progress first;
        404 naming it when missing."""
        reg = self.get(sub, rg, registry)
        key = ids.key(f"{reg['id']}/{collection}/{name}")
        item = self.b.ops.current(kind, key)
        if item is None:
            raise ResourceNotFound(
                f"The Resource '{ids.REGISTRY_TYPE}/{registry}/{collection}/{name}' under "
                f"resource group '{rg}' was not found. For more details please go to "
                "https://aka.ms/ARMResourceNotFoundFix",
            )
        return item

    def find(self, name: str) -> dict[str, Any] | None:
        """Registry names are unique across the backend."""
        found = self.b.store.find_by_name(REGISTRY, name)
        return found[0].doc if found else None

    # -- writes --------------------------------------------------------------------------
    def put(
        self,
        caller: Caller,
        sub: str,
        rg: str,
        name: str,
        body: dict[str, Any],
        if_match: str | None = None,
        if_none_match: str | None = None,
    ) -> tuple[dict[str, Any], bool, dict[str, Any]]:
        """Create or replace. Returns (registry, created, operation)."""
        check_name(name, "registry")
        if not self.b.groups.exists(sub, rg):
            raise ResourceGroupNotFound(f"Resource group '{rg}' could not be found.")
        key = self.key(sub, rg, name)
        with self.b.store.transaction():
            cur = self.b.ops.current(REGISTRY, key)
            check_preconditions(cur, if_match, if_none_match)
            if cur:
                self.b.ops.ensure_idle(REGISTRY, key, name)
                cur = self.b.store.get(REGISTRY, key)
            for other in self.b.store.find_by_name(REGISTRY, name):
                if other.key != key:
                    raise AlreadyInUse(
                        f"The registry DNS name {name.lower()}.azurecr.io is already in use. "
                        "You can check if the name is already claimed using following API: "
                        "https://docs.microsoft.com/en-us/rest/api/containerregistry/"
                        "registries/checknameavailability",
                    )
            region = regions.require(body.get("location"), ids.REGISTRY_TYPE)
            sku = sku_name(body.get("sku"))
            props_in = body_properties(body)
            zr = props_in.get(
                "zoneRedundancy", cur.doc["properties"]["zoneRedundancy"] if cur else "Disabled"
            )
            if cur:
                if region["name"] != cur.doc["location"]:
                    raise InvalidResourceLocation(
                        f"The resource '{name}' already exists in location "
                        f"'{cur.doc['location']}' in resource group '{rg}'. A resource with "
                        f"the same name cannot be created in location '{region['name']}'.",
                    )
                if zr != cur.doc["properties"]["zoneRedundancy"]:
                    raise zone_immutable()
                self._check_sku_change(cur.doc, sku)
            check_zone_redundancy(zr, region["name"], sku, "registry")
            now = self.b.clock.iso()
            props = copy.deepcopy(cur.doc["properties"]) if cur else default_properties(name, now)
            props = apply_properties(props, props_in)
            props["zoneRedundancy"] = zr
            check_tier_features(props, sku)
            props["provisioningState"] = "Updating" if cur else "Creating"
            doc = {
                "id": cur.doc["id"] if cur else ids.registry_id(sub, rg, name),
                "name": cur.doc["name"] if cur else name,
                "type": ids.REGISTRY_TYPE,
                "location": region["name"],
                "tags": check_tags(body.get("tags")),
                "sku": {"name": sku, "tier": sku},
                "systemData": self.b.system_data(
                    caller, cur.doc.get("systemData") if cur else None
                ),
                "properties": props,
            }
            if body.get("identity") is not None:
                doc["identity"] = check_identity(body["identity"])
            op = self._write(doc, "update" if cur else "create", caller)
        return self.b.store.get(REGISTRY, key).doc, cur is None, op  # type: ignore[union-attr]

    def update(
        self,
        caller: Caller,
        sub: str,
        rg: str,
        name: str,
        body: dict[str, Any],
        if_match: str | None = None,
        if_none_match: str | None = None,
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """PATCH: sku, tags, identity and the updatable properties (merge-patch)."""
        with self.b.store.transaction():
            cur = self.item(sub, rg, name)
            check_preconditions(cur, if_match, if_none_match)
            self.b.ops.ensure_idle(REGISTRY, cur.key, name)
            doc = copy.deepcopy(self.b.store.get(REGISTRY, cur.key).doc)  # type: ignore[union-attr]
            props_in = body_properties(body)
            if "zoneRedundancy" in props_in and (
                props_in["zoneRedundancy"] != doc["properties"]["zoneRedundancy"]
            ):
                raise zone_immutable()
            if body.get("location") and regions.normalize(str(body["location"])) != doc["location"]:
                raise LocationCannotBeChanged("The location of a registry cannot be changed.")
            if body.get("sku") is not None:
                sku = sku_name(body["sku"])
                self._check_sku_change(doc, sku)
                doc["sku"] = {"name": sku, "tier": sku}
            if "tags" in body:
                doc["tags"] = check_tags(body["tags"])
            if body.get("identity") is not None:
                doc["identity"] = check_identity(body["identity"])
            doc["properties"] = apply_properties(doc["properties"], props_in)
            check_tier_features(doc["properties"], doc["sku"]["name"])
            doc["properties"]["provisioningState"] = "Updating"
            doc["systemData"] = self.b.system_data(caller, doc.get("systemData"))
            op = self._write(doc, "update", caller)
        return self.b.store.get(REGISTRY, cur.key).doc, op  # type: ignore[union-attr]

    def delete(
        self,
        sub: str,
        rg: str,
        name: str,
        if_match: str | None = None,
        if_none_match: str | None = None,
    ) -> dict[str, Any] | None:
        """Start deleting; None when there was nothing to delete (ARM answers 204)."""
        key = self.key(sub, rg, name)
        with self.b.store.transaction():
            cur = self.b.ops.current(REGISTRY, key)
            check_preconditions(cur, if_match, if_none_match)
            if cur is None:
                return None
            self.b.ops.ensure_idle(REGISTRY, key, name)
            cur = self.b.store.get(REGISTRY, key)
            if cur is None:
                return None
            cur.doc["properties"]["provisioningState"] = "Deleting"
            self.b.store.put(REGISTRY, key, cur.parent, cur.name, cur.doc, cur.secret)
            return self.b.ops.start(REGISTRY, key, cur.doc["id"], "delete", cur.doc["location"])

    def _write(self, doc: dict[str, Any], action: str, caller: Caller) -> dict[str, Any]:
        key = ids.key(doc["id"])
        parent = ids.key(ids.group_id(*_sub_rg(doc["id"])))
        if self.b.settings.login_server_suffix:  # served by this server's data plane
            doc["properties"]["loginServer"] = (
                f"{doc['name'].lower()}.{self.b.settings.login_server_suffix}"
            )
        doc["properties"]["dataEndpointHostNames"] = data_endpoint_host_names(
            doc, [r["location"] for r in self.b.replications.all_for(doc)]
        )
        prev = self.b.store.get(REGISTRY, key)  # keep the admin passwords (the secret)
        self.b.store.put(
            REGISTRY,
            key,
            parent,
            doc["name"],
            doc,
            admin_user.with_passwords(prev.secret if prev else None),
        )
        if doc["sku"]["name"] == "Premium":
            self.b.replications.ensure_home(caller, doc)
        else:
            self.b.replications.drop_home(doc)
        return self.b.ops.start(REGISTRY, key, doc["id"], action, doc["location"])

    def refresh_data_endpoints(self, reg_key: str, without: str | None = None) -> None:
        """dataEndpointHostNames after a replica came or (`without` its region) goes."""
        item = self.b.store.get(REGISTRY, reg_key)
        if item is None:
            return
        locs = [
            r.doc["location"]
            for r in self.b.store.list(REPLICATION, parent=reg_key)
            if r.doc["location"] != without
        ]
        names = data_endpoint_host_names(item.doc, locs)
        if names != item.doc["properties"].get("dataEndpointHostNames"):
            doc = copy.deepcopy(item.doc)
            doc["properties"]["dataEndpointHostNames"] = names
            self.b.store.put(REGISTRY, reg_key, item.parent, item.name, doc, item.secret)

    def _check_sku_change(self, doc: dict[str, Any], new_sku: str) -> None:
        old = doc["sku"]["name"]
        if old == "Premium" and new_sku != "Premium":
            extra = [
                r["name"]
                for r in self.b.replications.all_for(doc)
                if r["location"] != doc["location"]
            ]
            if extra:
                raise RegistrySkuDowngradeNotAllowed(
                    f"The registry '{doc['name']}' cannot be downgraded from Premium to "
                    f"{new_sku} while it has geo-replications: {', '.join(sorted(extra))}. "
                    "Delete these replications first.",
                )
        count = self.b.webhooks.count_for(doc)
        if count > WEBHOOK_QUOTA[new_sku]:
            raise RegistrySkuDowngradeNotAllowed(
                f"The registry '{doc['name']}' has {count} webhooks; the {new_sku} SKU allows "
                f"{WEBHOOK_QUOTA[new_sku]}. Delete webhooks first.",
            )

    # -- the admin user (acrctl.backend.admin_user) ------------------------------------------
    def list_credentials(self, sub: str, rg: str, name: str) -> dict[str, Any]:
        return admin_user.AdminUser(self.b).list_credentials(sub, rg, name)

    def regenerate_credential(
        self, sub: str, rg: str, name: str, body: dict[str, Any]
    ) -> dict[str, Any]:
        return admin_user.AdminUser(self.b).regenerate(sub, rg, name, body)

    def check_admin_password(self, registry: str, username: str, password: str) -> bool:
        """For the data plane's token service: is this the enabled admin user of `registry`
        (its name or login server)? Constant-time in the password."""
        return admin_user.AdminUser(self.b).check_password(registry, username, password)

    # -- usages and names ------------------------------------------------------------------
    def usages(self, sub: str, rg: str, name: str) -> builtins.list[dict[str, Any]]:
        doc = self.get(sub, rg, name)
        sku = doc["sku"]["name"]
        replicas = len(self.b.replications.all_for(doc)) if sku == "Premium" else 0
        return [
            {
                "name": "Size",
                "limit": STORAGE_GIB[sku] * 1024**3,
                "currentValue": 0,
                "unit": "Bytes",
            },
            {
                "name": "Webhooks",
                "limit": WEBHOOK_QUOTA[sku],
                "currentValue": self.b.webhooks.count_for(doc),
                "unit": "Count",
            },
            {
                "name": "Geo-replications",
                "limit": -1 if sku == "Premium" else 0,
                "currentValue": replicas,
                "unit": "Count",
            },
        ]

    def check_name(self, body: dict[str, Any]) -> dict[str, Any]:
        name, rtype = body.get("name"), body.get("type")
        if not isinstance(name, str) or not isinstance(rtype, str):
            raise InvalidRequestContent(
                "The request content was invalid and could not be deserialized: "
                "'name' and 'type' are required strings.",
            )
        if rtype.lower() != ids.REGISTRY_TYPE.lower():
            raise InvalidResourceType(
                f"The resource type '{rtype}' is not supported; use '{ids.REGISTRY_TYPE}'.",
            )
        if not ids.is_name(name):
            return {
                "nameAvailable": False,
                "reason": "Invalid",
                "message": "Registry names must be 5 to 50 characters long and contain "
                "only letters and digits.",
            }
        if self.find(name):
            return {
                "nameAvailable": False,
                "reason": "AlreadyExists",
                "message": f"The registry {name} is already in use.",
            }
        return {"nameAvailable": True}
