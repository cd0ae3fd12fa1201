"""Resource groups. Deleting one deletes every registry in it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from acrctl.backend import ids, regions
from acrctl.backend.core import check_tags
from acrctl.backend.errors import InvalidInput, NotFound

if TYPE_CHECKING:
    from acrctl.backend.core import Backend
    from acrctl.backend.rbac import Caller

GROUP = "resourceGroup"
GROUP_TYPE = "Microsoft.Resources/resourceGroups"


class Groups:
    def __init__(self, backend: Backend) -> None:
        self.b = backend

    def get(self, sub: str, rg: str) -> dict[str, Any]:
        item = self.b.store.get(GROUP, ids.key(ids.group_id(sub, rg)))
        if item is None:
            raise NotFound("ResourceGroupNotFound", f"Resource group '{rg}' could not be found.")
        return item.doc

    def exists(self, sub: str, rg: str) -> bool:
        return self.b.store.get(GROUP, ids.key(ids.group_id(sub, rg))) is not None

    def put(self, caller: Caller, sub: str, rg: str,
            body: dict[str, Any]) -> tuple[dict[str, Any], bool]:
        """Create or update; returns (group, created)."""
        self.b.subscription(sub)
        if not ids.RG_RE.match(rg) or rg.endswith("."):
            raise InvalidInput("InvalidResourceGroupName",
                               f"The resource group name '{rg}' is invalid: 1-90 letters, "
                               "digits, underscores, hyphens, periods and parentheses, "
                               "not ending in a period.")
        key = ids.key(ids.group_id(sub, rg))
        cur = self.b.store.get(GROUP, key)
        location = body.get("location")
        if cur is None:
            region = regions.require(location, GROUP_TYPE)
            location = region["name"]
        elif location is not None and (not isinstance(location, str)
                                       or regions.normalize(location) != cur.doc["location"]):
            raise InvalidInput("InvalidResourceGroupLocation",
                               f"Invalid resource group location '{location}'. The Resource "
                               f"group already exists in location '{cur.doc['location']}'.")
        doc = {
            "id": cur.doc["id"] if cur else ids.group_id(sub, rg),
            "name": cur.doc["name"] if cur else rg,
            "type": GROUP_TYPE,
            "location": cur.doc["location"] if cur else location,
            "tags": check_tags(body.get("tags")),
            "managedBy": None,
            "properties": {"provisioningState": "Succeeded"},
        }
        self.b.store.put(GROUP, key, ids.key(ids.subscription_id(sub)), rg, doc)
        return doc, cur is None

    def list(self, sub: str, after: int | None = None,
             limit: int | None = None) -> tuple[list[dict[str, Any]], int | None]:
        """One page of the subscription's groups and the seq to continue after (or None)."""
        items = self.b.store.list(GROUP, parent=ids.key(ids.subscription_id(sub)), after=after,
                                  limit=limit)
        last = items[-1].seq if limit is not None and len(items) == limit else None
        return [i.doc for i in items], last

    def delete(self, sub: str, rg: str) -> bool:
        key = ids.key(ids.group_id(sub, rg))
        with self.b.store.transaction():
            if self.b.store.get(GROUP, key) is None:
                return False
            self.b.store.delete_tree(key)
            return True
