"""Principals, tokens, role definitions, role assignments and the authorization check.

ARM semantics: an assignment at a scope applies to everything below it; a role allows an
action when one of its `actions` globs matches and none of the *same* role's `notActions` does;
matching is case-insensitive with `*` as the only wildcard.
"""

from __future__ import annotations

import functools
import hashlib
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from acrctl.backend import ids, roles, scopes
from acrctl.backend.errors import (
    AuthenticationFailed,
    AuthorizationFailed,
    Conflict,
    InvalidInput,
    NotFound,
)

if TYPE_CHECKING:
    from acrctl.backend.core import Backend

PRINCIPAL, TOKEN, ROLE_DEF, ROLE_ASSIGN = "principal", "token", "roleDefinition", "roleAssignment"
ASSIGNMENT_TYPE = "Microsoft.Authorization/roleAssignments"
WRITE_DEFINITION = "Microsoft.Authorization/roleDefinitions/write"
DELETE_DEFINITION = "Microsoft.Authorization/roleDefinitions/delete"
GUID_RE = re.compile(
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
    r"[0-9a-fA-F]{12}\Z"
)


@dataclass(frozen=True)
class Caller:
    """Who is making a request."""

    id: str
    name: str
    type: str = "User"  # User | Application (service principals)


@functools.lru_cache(maxsize=1024)
def _glob(pattern: str) -> re.Pattern[str]:
    return re.compile(
        "^" + ".*".join(re.escape(p) for p in pattern.split("*")) + "$", re.IGNORECASE
    )


def matches(pattern: str, action: str) -> bool:
    return bool(_glob(pattern).match(action))


def role_allows(role: dict[str, Any], action: str) -> bool:
    for perm in role["properties"]["permissions"]:
        if any(matches(a, action) for a in perm.get("actions", [])) and not any(
            matches(n, action) for n in perm.get("notActions", [])
        ):
            return True
    return False


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


DECISIONS = 8192  # (principal, action, scope) -> allowed, per process (gencache)


class Rbac:
    def __init__(self, backend: Backend) -> None:
        from acrctl.backend.credentials import check_expiry  # imports this module
        from acrctl.backend.gencache import GenerationCache

        self.b = backend
        self._check_expiry = check_expiry  # on every request: no import statement there
        # allowed() answers, apart from the tokens and grants (a list filter asks once per
        # item: it must not crowd those out)
        self._decisions = GenerationCache(backend, DECISIONS)

    def _cached(self, key: tuple[str, str], compute: Callable[[], Any]) -> Any:
        """compute(), memoized in the backend's generation cache (token hash -> Caller,
        principal id -> grants): any committed change, by this or another process,
        invalidates every entry (exact, not a TTL; acrctl.backend.gencache)."""
        return self.b.cache.get(key, compute)

    # -- principals ----------------------------------------------------------------------
    def create_principal(
        self,
        name: str,
        type_: str = "Application",
        token: str | None = None,
        expires_on: float | None = None,
    ) -> tuple[dict[str, Any], str]:
        """Create a principal and its bearer token; only the token's hash is stored. The
        token ends at `expires_on` (epoch seconds), by default after the settings' token
        lifetime (service principals) or never (users)."""
        from acrctl.backend import credentials

        pid = str(uuid.uuid4())
        doc = {"id": pid, "displayName": name, "type": type_, "createdAt": self.b.clock.iso()}
        if expires_on is None:
            expires_on = credentials.default_expiry(self.b, type_)
        with self.b.store.transaction():
            self.b.store.put(PRINCIPAL, pid, "", name, doc)
            token = credentials.mint(self.b, pid, token, expires_on)
        return doc, token

    def principal(self, pid: str) -> dict[str, Any] | None:
        item = self.b.store.get(PRINCIPAL, pid)
        return item.doc if item else None

    def find_principal(self, name_or_id: str) -> dict[str, Any] | None:
        doc = self.principal(name_or_id)
        if doc:
            return doc
        found = self.b.store.find_by_name(PRINCIPAL, name_or_id)
        return found[0].doc if found else None

    def list_principals(self) -> list[dict[str, Any]]:
        return [i.doc for i in self.b.store.list(PRINCIPAL)]

    def authenticate(self, token: str | None) -> Caller:
        if not token:
            raise AuthenticationFailed(
                "AuthenticationFailed",
                "Authentication failed. The 'Authorization' header is missing.",
            )
        if token.startswith("eyJ"):  # the identity provider's JWTs (backend.jwt_tokens)
            from acrctl.backend import jwt_tokens

            if jwt_tokens.looks_like_jwt(token):
                return jwt_tokens.authenticate(self, token)
        key = hash_token(token)
        caller, token_doc = self._cached(("token", key), lambda: self._authenticate(key))
        self._check_expiry(token_doc, self.b.clock)  # not cached: the clock moves
        return caller  # type: ignore[no-any-return]

    def _authenticate(self, key: str) -> tuple[Caller, dict[str, Any]]:
        item = self.b.store.get(TOKEN, key)
        doc = self.principal(item.parent) if item else None
        if item is None or doc is None:
            raise AuthenticationFailed(
                "InvalidAuthenticationToken", "The access token is invalid or has been revoked."
            )
        return self.caller(doc), item.doc

    @staticmethod
    def caller(doc: dict[str, Any]) -> Caller:
        ctype = "User" if doc.get("type") == "User" else "Application"
        return Caller(doc["id"], doc["displayName"], ctype)

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
            raise InvalidInput(
                "AmbiguousRoleDefinitionName",
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
            raise NotFound(
                "RoleDefinitionDoesNotExist", f"The role definition '{guid[:100]}' does not exist."
            )
        return roles.present(doc, scope)

    def put_role_definition(
        self, scope: str, guid: str, body: dict[str, Any], caller: Caller | None = None
    ) -> dict[str, Any]:
        """Create or replace a custom role. With `caller`, it needs roleDefinitions/write
        at every scope the role was and will be assignable at. Its name must be free and its
        assignments must stay inside its new assignable scopes."""
        if not GUID_RE.match(guid):
            raise InvalidInput(
                "InvalidRoleDefinitionId",
                f"The role definition ID '{guid[:100]}' is not valid: it must be a GUID.",
            )
        scope, guid = scopes.normalise(scope), guid.lower()
        role = roles.parse_custom(body, scope)
        if guid in roles.BUILTIN or roles.name_key(role.name) in roles.BUILTIN_BY_NAME:
            raise InvalidInput(
                "RoleDefinitionWithSameNameExists",
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
            raise InvalidInput(
                "CannotDeleteBuiltInRole",
                f"The role definition '{guid}' is a built-in role and cannot be deleted.",
            )
        with self.b.store.transaction():
            item = self.b.store.get(ROLE_DEF, guid)
            if item is None or not roles.visible_at(item.doc, scope):
                return None
            self._authorize_everywhere(caller, DELETE_DEFINITION, roles.assignable_scopes(item.doc))
            assigned = self._assignments_of(guid)
            if assigned:
                raise Conflict(
                    "RoleDefinitionHasAssignments",
                    f"The role definition '{guid}' is still assigned at scope "
                    f"'{assigned[0]['properties']['scope']}'. Delete its role "
                    "assignments first.",
                )
            self.b.store.delete(ROLE_DEF, guid)
        return roles.present(item.doc, scope)

    def _scopes_limit(self, role: roles.CustomRole) -> None:
        limit = self.b.settings.role_assignable_scopes_max
        if len(role.assignable_scopes) > limit:
            raise InvalidInput(
                "RoleDefinitionLimitExceeded",
                f"A custom role may name at most {limit} assignableScopes "
                f"(role_assignable_scopes_max); this one names "
                f"{len(role.assignable_scopes)}.",
            )

    def _count_limit(self) -> None:
        """Room for one more custom role."""
        limit = self.b.settings.custom_roles_max
        if self.b.store.count(ROLE_DEF, "") >= limit:
            raise InvalidInput(
                "RoleDefinitionLimitExceeded",
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
                raise InvalidInput(
                    "RoleDefinitionWithSameNameExists",
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
                raise Conflict(
                    "RoleDefinitionHasAssignments",
                    f"The role definition '{guid}' is assigned at scope '{at}', "
                    "outside the new assignableScopes. Delete that role assignment "
                    "first, or keep an assignable scope that contains it.",
                )

    # -- role assignments ------------------------------------------------------------------
    def create_assignment(self, scope: str, guid: str, body: dict[str, Any]) -> dict[str, Any]:
        if not GUID_RE.match(guid):
            raise InvalidInput(
                "InvalidRoleAssignmentId",
                f"The role assignment ID '{guid[:100]}' is not valid: it must be a GUID.",
            )
        scope = scopes.normalise(scope)
        props = body.get("properties")
        if not isinstance(props, dict):
            raise InvalidInput(
                "RoleDefinitionDoesNotExist",
                "The request names no role definition: 'properties' must be an "
                "object with roleDefinitionId and principalId.",
            )
        role_ref, pid = props.get("roleDefinitionId"), props.get("principalId")
        for key, value in (("roleDefinitionId", role_ref), ("principalId", pid)):
            if not isinstance(value, str):
                raise InvalidInput(
                    "InvalidRequestContent",
                    f"The request content was invalid and could not be "
                    f"deserialized: 'properties.{key}' must be a string.",
                )
        with self.b.store.transaction():  # no narrowing of the role in between
            role = self._assignable_role(str(role_ref), scope)
            return self._put_assignment(scope, guid.lower(), role, str(pid))

    def _assignable_role(self, ref: str, scope: str) -> dict[str, Any]:
        role = self.role_definition(ref)
        if role is None or not roles.visible_at(role, scope):
            raise InvalidInput(
                "RoleDefinitionDoesNotExist",
                f"The specified role definition '{ref[:200]}' does not exist.",
            )
        if not roles.assignable_at(role, scope):
            raise InvalidInput(
                "InvalidRoleAssignmentScope",
                f"The role definition '{role['name']}' ('{role['properties']['roleName']}') "
                f"cannot be assigned at scope '{scope}': it is assignable only at or below "
                f"{', '.join(repr(s) for s in roles.assignable_scopes(role))}.",
            )
        return role

    def _put_assignment(
        self, scope: str, guid: str, role: dict[str, Any], pid: str
    ) -> dict[str, Any]:
        principal = self.principal(pid)
        if principal is None:
            raise InvalidInput(
                "PrincipalNotFound", f"Principal {pid} does not exist in the directory."
            )
        existing = self.b.store.get(ROLE_ASSIGN, guid)
        if existing is not None:
            # an assignment is immutable: re-PUT the same one, or pick another name
            props_ = existing.doc["properties"]
            if (
                not same_scope(props_["scope"], scope)
                or props_["principalId"] != principal["id"]
                or props_["roleDefinitionId"].rsplit("/", 1)[-1].lower() != role["name"].lower()
            ):
                raise Conflict("RoleAssignmentExists", "The role assignment already exists.")
            return _assignment_out(existing.doc)
        doc = {
            "id": f"{scope.rstrip('/')}/providers/{ASSIGNMENT_TYPE}/{guid}",
            "name": guid,
            "type": ASSIGNMENT_TYPE,
            "properties": {
                "roleDefinitionId": roles.definition_id(role["name"], scope),
                "principalId": principal["id"],
                "principalType": "User" if principal["type"] == "User" else "ServicePrincipal",
                "scope": scope,
                "createdOn": self.b.clock.iso(),
            },
        }
        self.b.store.put(ROLE_ASSIGN, guid, principal["id"], guid, doc)
        return doc

    def get_assignment(self, guid: str, scope: str | None = None) -> dict[str, Any]:
        """By name; with `scope`, only an assignment made at exactly that scope."""
        item = self.b.store.get(ROLE_ASSIGN, guid.lower())
        if item is None or (
            scope is not None
            and not same_scope(item.doc["properties"]["scope"], scopes.normalise(scope))
        ):
            raise NotFound("RoleAssignmentNotFound", f"The role assignment '{guid}' is not found.")
        return _assignment_out(item.doc)

    def delete_assignment(self, guid: str) -> bool:
        return self.b.store.delete(ROLE_ASSIGN, guid.lower())

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
        return bool(
            self._decisions.get(
                (caller.id, action, scope),
                lambda: _grants_allow(self._grants(caller), action, scope),
            )
        )

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


def _grants_allow(grants: tuple[tuple[str, dict[str, Any]], ...], action: str, scope: str) -> bool:
    return any(
        ids.is_within(s if s != "/" else "", scope) and role_allows(r, action) for s, r in grants
    )


def _assignment_out(doc: dict[str, Any]) -> dict[str, Any]:
    """An assignment as the API shows it: its roleDefinitionId rebuilt from the role's guid
    (ones stored before the fix carried a doubled /subscriptions/... prefix)."""
    props = doc["properties"]
    guid = props["roleDefinitionId"].rstrip("/").rsplit("/", 1)[-1]
    return {
        **doc,
        "properties": {**props, "roleDefinitionId": roles.definition_id(guid, props["scope"])},
    }


def same_scope(a: str, b: str) -> bool:
    return (a.rstrip("/") or "/").lower() == (b.rstrip("/") or "/").lower()


def denied(caller: Caller, action: str, scope: str) -> AuthorizationFailed:
    return AuthorizationFailed(
        "AuthorizationFailed",
        f"The client '{caller.name}' with object id '{caller.id}' does not have authorization "
        f"to perform action '{action}' over scope '{scope}' or the scope is invalid. "
        "If access was recently granted, please refresh your credentials.",
    )
