"""Resource groups. Deleting one deletes every registry in it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from acrctl.backend import ids, regions
from acrctl.backend.errors import (
    InvalidResourceGroup,
    InvalidResourceGroupLocation,
    ResourceGroupNotFound,
)
from acrctl.backend.etags import check_preconditions
from acrctl.backend.kinds import GROUP
from acrctl.backend.validation import check_tags

if TYPE_CHECKING:
    from acrctl.backend.core import Backend
    from acrctl.backend.rbac import Caller

GROUP_TYPE = "Microsoft.Resources/resourceGroups"


class Groups:
    def __init__(self, backend: Backend) -> None:
        self.b = backend

    def get(self, sub: str, rg: str) -> dict[str, Any]:
        item = self.b.store.get(GROUP, ids.key(ids.group_id(sub, rg)))
        if item is None:
            raise ResourceGroupNotFound(f"Resource group '{rg}' could not be found.")
        return item.doc

    def exists(self, sub: str, rg: str) -> bool:
        return self.b.store.get(GROUP, ids.key(ids.group_id(sub, rg))) is not None

    def put(
        self,
        caller: Caller,
        sub: str,
        rg: str,
        body: dict[str, Any],
        if_match: str | None = None,
        if_none_match: str | None = None,
    ) -> tuple[dict[str, Any], bool]:
        """Create or update; returns (group, created)."""
        self.b.subscription(sub)
        problem = ids.group_name_problem(rg)
        if problem:
            raise InvalidResourceGroup(problem)
        key = ids.key(ids.group_id(sub, rg))
        with self.b.store.transaction():
            cur = self.b.store.get(GROUP, key)
            check_preconditions(cur, if_match, if_none_match)
            location = body.get("location")
            if cur is None:
                location = regions.require(location, GROUP_TYPE)["name"]
            else:
                self._check_location(cur.doc, location)
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

    def update(
        self,
        caller: Caller,
        sub: str,
        rg: str,
        body: dict[str, Any],
        if_match: str | None = None,
        if_none_match: str | None = None,
    ) -> dict[str, Any]:
        """PATCH: the tags (replaced as a whole, as ARM does); the location cannot change."""
        key = ids.key(ids.group_id(sub, rg))
        with self.b.store.transaction():
            cur = self.b.store.get(GROUP, key)
            if cur is None:
                raise ResourceGroupNotFound(f"Resource group '{rg}' could not be found.")
            check_preconditions(cur, if_match, if_none_match)
            self._check_location(cur.doc, body.get("location"))
            doc = dict(cur.doc)
            if "tags" in body:
                doc["tags"] = check_tags(body["tags"])
            self.b.store.put(GROUP, key, cur.parent, cur.name, doc)
        return doc

    @staticmethod
    def _check_location(doc: dict[str, Any], location: Any) -> None:
        if location is not None and (
            not isinstance(location, str) or regions.normalize(location) != doc["location"]
        ):
            raise InvalidResourceGroupLocation(
                f"Invalid resource group location '{location}'. The Resource "
                f"group already exists in location '{doc['location']}'.",
            )

    def list(
        self, sub: str, after: int | None = None, limit: int | None = None
    ) -> tuple[list[dict[str, Any]], int | None]:
        """One page of the subscription's groups and the seq to continue after (or None)."""
        items = self.b.store.list(
            GROUP, parent=ids.key(ids.subscription_id(sub)), after=after, limit=limit
        )
        last = items[-1].seq if limit is not None and len(items) == limit else None
        return [i.doc for i in items], last

    def delete(
        self, sub: str, rg: str, if_match: str | None = None, if_none_match: str | None = None
    ) -> bool:
        key = ids.key(ids.group_id(sub, rg))
        with self.b.store.transaction():
            cur = self.b.store.get(GROUP, key)
            check_preconditions(cur, if_match, if_none_match)
            if cur is None:
                return False
            self.b.store.delete_tree(key)
            return True
