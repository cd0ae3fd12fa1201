"""Role definitions (built-in and custom) and the permission check: which roles a caller's
assignments grant, and whether they allow an action at a scope (cached per process while the
store does not change; acrctl.backend.gencache). acrctl.backend.rbac builds on it: principals,
tokens and role assignments."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from acrctl.backend import ids, roles, scopes
from acrctl.backend.errors import (
    AmbiguousRoleDefinitionName,
    CannotDeleteBuiltInRole,
    InvalidRoleDefinitionId,
    RoleDefinitionDoesNotExist,
    RoleDefinitionHasAssignments,
    RoleDefinitionLimitExceeded,
    RoleDefinitionWithSameNameExists,
)
from acrctl.backend.kinds import ROLE_ASSIGN, ROLE_DEF
from acrctl.backend.rbac_rules import (
    DELETE_DEFINITION,
    GUID_RE,
    WRITE_DEFINITION,
    Caller,
    _assignment_out,
    _grants_allow,
    denied,
    role_allows,
)

if TYPE_CHECKING:
    from acrctl.backend.core import Backend


class RbacEngine:
    def __init__(self, backend: Backend) -> None:
        from acrctl.backend.gencache import GenerationCache

        self.b = backend
        # allowed() answers, apart from the tokens and grants (a list filter asks once per
        # item: it must not crowd those out)
        self._decisions = GenerationCache(backend, backend.settings.rbac_decision_cache_entries)

    def _cached(self, key: tuple[str, str], compute: Callable[[], Any]) -> Any:
        """compute(), memoized in the backend's generation cache (token hash -> Caller,
        principal id -> grants): any committed change, by this or another process,
        invalidates every entry (exact, not a TTL; acrctl.backend.gencache)."""
        return self.b.cache.get(key, compute)

    # -- role definitions ------------------------------------------------------------------
    def role_definition(self, ref: str) -> dict[str, Any] | None:
        """By guid, full id, or role name (AmbiguousRoleDefinitionName when more than one
        role has that name)."""
        found = self.definition_by_guid(ref.rstrip("/").rsplit("/", 1)[-1])
        return found if found is not None else self._by_name(ref)

    def definition_by_guid(self, guid: str) -> dict[str, Any] | None:
        guid = guid.lower()
        if guid in roles.BUILTIN:
            return roles.BUILTIN[guid]
        item = self.b.store.get(ROLE_DEF, guid)
        return item.doc if item else None

    def _custom_definitions(self) -> list[dict[str, Any]]:
        return [i.doc for i in self.b.store.list(ROLE_DEF)]

    def _named(self, name: str) -> list[dict[str, Any]]:
        key = roles.name_key(name)
        return [
            d
            for d in [*roles.BUILTIN.values(), *self._custom_definitions()]
            if roles.name_key(d["properties"]["roleName"]) == key
        ]

    def _by_name(self, name: str) -> dict[str, Any] | None:
        found = self._named(name)
        if len(found) > 1:
            raise AmbiguousRoleDefinitionName(
                f"More than one role definition is named '{name[:200]}': "
                f"{', '.join(d['name'] for d in found)}. Name the role by its id.",
            )
        return found[0] if found else None

    def list_role_definitions(self, scope: str, name: str | None = None) -> list[dict[str, Any]]:
        """The definitions visible at `scope` (built-ins, and custom roles assignable at,
        above or below it), optionally only those named `name`, with their ids there."""
        scope = scopes.normalise(scope)
        docs = (
            self._named(name)
            if name is not None
            else [*roles.BUILTIN.values(), *self._custom_definitions()]
        )
        return [roles.present(d, scope) for d in docs if roles.visible_at(d, scope)]

    def get_role_definition(self, scope: str, guid: str) -> dict[str, Any]:
        """One definition as seen at `scope`; one not visible there does not exist there."""
        scope = scopes.normalise(scope)
        doc = self.definition_by_guid(guid)
        if doc is None or not roles.visible_at(doc, scope):
            raise RoleDefinitionDoesNotExist(f"The role definition '{guid[:100]}' does not exist.")
        return roles.present(doc, scope)

    def put_role_definition(
        self, scope: str, guid: str, body: dict[str, Any], caller: Caller | None = None
    ) -> dict[str, Any]:
        """Create or replace a custom role. With `caller`, it needs roleDefinitions/write
        at every scope the role was and will be assignable at. Its name must be free and its
        assignments must stay inside its new assignable scopes."""
        if not GUID_RE.match(guid):
            raise InvalidRoleDefinitionId(
                f"The role definition ID '{guid[:100]}' is not valid: it must be a GUID.",
            )
        scope, guid = scopes.normalise(scope), guid.lower()
        role = roles.parse_custom(body, scope)
        if guid in roles.BUILTIN or roles.name_key(role.name) in roles.BUILTIN_BY_NAME:
            raise RoleDefinitionWithSameNameExists(
                f"A built-in role named or identified '{role.name}' exists already.",
            )
        self._scopes_limit(role)
        with self.b.store.transaction():
            current = self.b.store.get(ROLE_DEF, guid)
            self._authorize_everywhere(
                caller,
                WRITE_DEFINITION,
                [
                    *role.assignable_scopes,
                    *(roles.assignable_scopes(current.doc) if current else []),
                ],
            )
            if current is None:
                self._count_limit()
            self._name_is_free(role.name, guid)
            self._assignments_within(guid, role.assignable_scopes)
            doc = role.document(guid)
            self.b.store.put(ROLE_DEF, guid, "", roles.name_key(role.name), doc)
        return roles.present(doc, scope)

    def delete_role_definition(
        self, scope: str, guid: str, caller: Caller | None = None
    ) -> dict[str, Any] | None:
        """Delete a custom role (None: there is none visible at `scope`). With `caller`, it
        needs roleDefinitions/delete at every scope the role is assignable at; a role that is
        still assigned anywhere is kept (RoleDefinitionHasAssignments)."""
        scope, guid = scopes.normalise(scope), guid.lower()
        if guid in roles.BUILTIN:
            raise CannotDeleteBuiltInRole(
                f"The role definition '{guid}' is a built-in role and cannot be deleted.",
            )
        with self.b.store.transaction():
            item = self.b.store.get(ROLE_DEF, guid)
            if item is None or not roles.visible_at(item.doc, scope):
                return None
            self._authorize_everywhere(caller, DELETE_DEFINITION, roles.assignable_scopes(item.doc))
            assigned = self._assignments_of(guid)
            if assigned:
                raise RoleDefinitionHasAssignments(
                    f"The role definition '{guid}' is still assigned at scope "
                    f"'{assigned[0]['properties']['scope']}'. Delete its role "
                    "assignments first.",
                )
            self.b.store.delete(ROLE_DEF, guid)
        return roles.present(item.doc, scope)

    def _scopes_limit(self, role: roles.CustomRole) -> None:
        limit = self.b.settings.role_assignable_scopes_max
        if len(role.assignable_scopes) > limit:
            raise RoleDefinitionLimitExceeded(
                f"A custom role may name at most {limit} assignableScopes "
                f"(role_assignable_scopes_max); this one names "
                f"{len(role.assignable_scopes)}.",
            )

    def _count_limit(self) -> None:
        """Room for one more custom role."""
        limit = self.b.settings.custom_roles_max
        if self.b.store.count(ROLE_DEF, "") >= limit:
            raise RoleDefinitionLimitExceeded(
                f"This server holds its limit of {limit} custom role "
                "definitions (custom_roles_max); delete one first.",
            )

    def _authorize_everywhere(self, caller: Caller | None, action: str, at: list[str]) -> None:
        if caller is None:
            return
        grants = self._read_grants(caller)  # once: nothing is cached inside a transaction
        for scope in dict.fromkeys(scopes.authority(s) for s in at):
            if not _grants_allow(grants, action, scope):
                raise denied(caller, action, scope)

    def _name_is_free(self, name: str, guid: str) -> None:
        for other in self._named(name):
            if other["name"].lower() != guid:
                raise RoleDefinitionWithSameNameExists(
                    f"A role definition named '{other['properties']['roleName']}'"
                    f" exists already ({other['name']}); role names are unique "
                    "(compared without case and surrounding white space).",
                )

    def _assignments_of(self, guid: str) -> list[dict[str, Any]]:
        return [
            a
            for a in self.list_assignments()
            if a["properties"]["roleDefinitionId"].rsplit("/", 1)[-1].lower() == guid
        ]

    def _assignments_within(self, guid: str, assignable: list[str]) -> None:
        for a in self._assignments_of(guid):
            at = a["properties"]["scope"]
            if not any(scopes.within(s, at) for s in assignable):
                raise RoleDefinitionHasAssignments(
                    f"The role definition '{guid}' is assigned at scope '{at}', "
                    "outside the new assignableScopes. Delete that role assignment "
                    "first, or keep an assignable scope that contains it.",
                )

    def list_assignments(self, principal_id: str | None = None) -> list[dict[str, Any]]:
        return [_assignment_out(i.doc) for i in self.b.store.list(ROLE_ASSIGN, parent=principal_id)]

    # -- the check -----------------------------------------------------------------------
    def _grants(self, caller: Caller) -> tuple[tuple[str, dict[str, Any]], ...]:
        """(scope, role definition) of each of the caller's assignments; cached per
        process while the store does not change (a list filter asks once per item)."""
        return self._cached(("grants", caller.id), lambda: self._read_grants(caller))

    def grants(self, caller: Caller) -> tuple[tuple[str, dict[str, Any]], ...]:
        """(scope, role definition) of each assignment that grants anything."""
        return self._grants(caller)

    def _read_grants(self, caller: Caller) -> tuple[tuple[str, dict[str, Any]], ...]:
        out = []
        for a in self.list_assignments(caller.id):
            role = self.definition_by_guid(a["properties"]["roleDefinitionId"].rsplit("/", 1)[-1])
            at = a["properties"]["scope"]
            # one outside the role's assignable scopes (made before they were checked)
            # grants nothing: a role its author can rewrite never reaches above them
            if role and roles.assignable_at(role, at):
                out.append((at, role))
        return tuple(out)

    def allowed(self, caller: Caller, action: str, scope: str) -> bool:
        key = (caller.id, action, scope)
        hit = self._decisions.peek(key)  # no closure while current (every request)
        if hit is None:
            hit = self._decisions.get(
                key, lambda: _grants_allow(self._grants(caller), action, scope)
            )
        return bool(hit)

    def allowed_below(self, caller: Caller, action: str, scope: str) -> bool:
        """True when some assignment at or below `scope` grants `action` (lists filter)."""
        return any(
            (ids.is_within(s if s != "/" else "", scope) or ids.is_within(scope, s))
            and role_allows(r, action)
            for s, r in self._grants(caller)
        )

    def reaches(self, caller: Caller, scope: str) -> bool:
        """True when the caller has any role assignment at, above or below `scope`: ARM
        shows a subscription (and its locations) to every principal with access anywhere
        inside it."""
        return any(
            ids.is_within(s if s != "/" else "", scope) or ids.is_within(scope, s)
            for s, _ in self._grants(caller)
        )

    def check(self, caller: Caller, action: str, scope: str) -> None:
        if not self.allowed(caller, action, scope):
            raise denied(caller, action, scope)
