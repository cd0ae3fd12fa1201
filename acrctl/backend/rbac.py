"""Principals, tokens, role definitions, role assignments and the authorization check.

ARM semantics: an assignment at a scope applies to everything below it; a role allows an
action when one of its `actions` globs matches and none of the *same* role's `notActions` does;
matching is case-insensitive with `*` as the only wildcard.
"""

from __future__ import annotations

import functools
import hashlib
import re
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from acrctl.backend import ids, roles
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
GUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-"
                     r"[0-9a-fA-F]{12}$")


@dataclass(frozen=True)
class Caller:
    """Who is making a request."""

    id: str
    name: str
    type: str = "User"  # User | Application (service principals)


@functools.lru_cache(maxsize=1024)
def _glob(pattern: str) -> re.Pattern[str]:
    return re.compile("^" + ".*".join(re.escape(p) for p in pattern.split("*")) + "$",
                      re.IGNORECASE)


def matches(pattern: str, action: str) -> bool:
    return bool(_glob(pattern).match(action))


def role_allows(role: dict[str, Any], action: str) -> bool:
    for perm in role["properties"]["permissions"]:
        if any(matches(a, action) for a in perm.get("actions", [])) and not any(
                matches(n, action) for n in perm.get("notActions", [])):
            return True
    return False


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


CACHE_ENTRIES = 4096  # per process; emptied when full


class Rbac:
    def __init__(self, backend: Backend) -> None:
        self.b = backend
        # token hash -> Caller, principal id -> grants; each entry tagged with the store's
        # generation() when it was read, and used only while that has not moved
        self._cache: dict[tuple[str, str], tuple[Any, Any]] = {}

    def _cached(self, key: tuple[str, str], compute: Callable[[], Any]) -> Any:
        """compute(), memoized while the store's generation() stays the same: any committed
        change, by this or another process, invalidates every entry (exact, not a TTL).
        Stores without generation() are read every time."""
        generation = getattr(self.b.store, "generation", None)
        gen = generation() if generation is not None else None
        if gen is None:
            return compute()
        hit = self._cache.get(key)
        if hit is not None and hit[0] == gen:
            return hit[1]
        value = compute()  # read after `gen`: a change in between moves it for next time
        if len(self._cache) >= CACHE_ENTRIES:
            self._cache.clear()
        self._cache[key] = (gen, value)
        return value

    # -- principals ----------------------------------------------------------------------
    def create_principal(self, name: str, type_: str = "Application",
                         token: str | None = None) -> tuple[dict[str, Any], str]:
        """Create a principal and its bearer token; only the token's hash is stored."""
        pid = str(uuid.uuid4())
        token = token or "acr_" + secrets.token_urlsafe(32)
        doc = {"id": pid, "displayName": name, "type": type_,
               "createdAt": self.b.clock.iso()}
        with self.b.store.transaction():
            self.b.store.put(PRINCIPAL, pid, "", name, doc)
            self.b.store.put(TOKEN, hash_token(token), pid, pid, {"principalId": pid})
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
                "Authentication failed. The 'Authorization' header is missing.")
        return self._cached(("token", hash_token(token)),
                            lambda: self._authenticate(token))

    def _authenticate(self, token: str) -> Caller:
        item = self.b.store.get(TOKEN, hash_token(token))
        doc = self.principal(item.parent) if item else None
        if doc is None:
            raise AuthenticationFailed(
                "InvalidAuthenticationToken",
                "The access token is invalid or has been revoked.")
        return self.caller(doc)

    @staticmethod
    def caller(doc: dict[str, Any]) -> Caller:
        ctype = "User" if doc.get("type") == "User" else "Application"
        return Caller(doc["id"], doc["displayName"], ctype)

    # -- role definitions ------------------------------------------------------------------
    def role_definition(self, ref: str) -> dict[str, Any] | None:
        """By guid, full id, or role name."""
        guid = ref.rstrip("/").rsplit("/", 1)[-1].lower()
        if guid in roles.BUILTIN:
            return roles.BUILTIN[guid]
        item = self.b.store.get(ROLE_DEF, guid)
        if item:
            return item.doc
        if ref.lower() in roles.BUILTIN_BY_NAME:
            return roles.BUILTIN_BY_NAME[ref.lower()]
        for it in self.b.store.find_by_name(ROLE_DEF, ref):
            return it.doc
        return None

    def list_role_definitions(self, scope: str) -> list[dict[str, Any]]:
        custom = [i.doc for i in self.b.store.list(ROLE_DEF)]
        return [self._at_scope(d, scope) for d in roles.BUILTIN.values()] + custom

    @staticmethod
    def _at_scope(d: dict[str, Any], scope: str) -> dict[str, Any]:
        sub = ids.parse(scope).get("subscription")
        if not sub:
            return d
        return {**d, "id": f"/subscriptions/{sub}{d['id']}"}

    def put_role_definition(self, scope: str, guid: str, body: dict[str, Any]) -> dict[str, Any]:
        if not GUID_RE.match(guid):
            raise InvalidInput("InvalidRoleDefinitionId",
                               f"The role definition ID '{guid[:100]}' is not valid: it must "
                               "be a GUID.")
        props = body.get("properties")
        if props is not None and not isinstance(props, dict):
            raise InvalidInput("InvalidRoleDefinition",
                               "The role definition's 'properties' must be an object.")
        props = props or {}
        name = props.get("roleName")
        perms = props.get("permissions")
        if not isinstance(name, str) or not name.strip():
            raise InvalidInput("InvalidRoleDefinition", "The role definition needs a roleName.")
        if not isinstance(perms, list) or not perms:
            raise InvalidInput("InvalidRoleDefinition",
                               "The role definition needs at least one permissions entry.")
        if not all(isinstance(p, dict) and all(
                isinstance(p.get(k, []), list) and all(isinstance(a, str) for a in p.get(k, []))
                for k in ("actions", "notActions")) for p in perms):
            raise InvalidInput("InvalidRoleDefinition",
                               "Each permissions entry must be an object whose actions and "
                               "notActions are lists of strings.")
        if not isinstance(props.get("description", ""), str):
            raise InvalidInput("InvalidRoleDefinition", "description must be a string.")
        if guid.lower() in roles.BUILTIN or name.lower() in roles.BUILTIN_BY_NAME:
            raise InvalidInput("RoleDefinitionWithSameNameExists",
                               f"A built-in role named or identified '{name}' exists already.")
        clean = [{"actions": [str(a) for a in p.get("actions", [])],
                  "notActions": [str(a) for a in p.get("notActions", [])],
                  "dataActions": [], "notDataActions": []} for p in perms]
        doc = roles.definition(name, guid.lower(), clean[0]["actions"], clean[0]["notActions"],
                               str(props.get("description", "")), role_type="CustomRole",
                               scopes=props.get("assignableScopes") or [scope],
                               scope_prefix=scope.rstrip("/"))
        doc["properties"]["permissions"] = clean
        self.b.store.put(ROLE_DEF, guid.lower(), "", name, doc)
        return doc

    # -- role assignments ------------------------------------------------------------------
    def create_assignment(self, scope: str, guid: str, body: dict[str, Any]) -> dict[str, Any]:
        if not GUID_RE.match(guid):
            raise InvalidInput("InvalidRoleAssignmentId",
                               f"The role assignment ID '{guid[:100]}' is not valid: it must "
                               "be a GUID.")
        props = body.get("properties")
        if not isinstance(props, dict):
            raise InvalidInput("RoleDefinitionDoesNotExist",
                               "The request names no role definition: 'properties' must be an "
                               "object with roleDefinitionId and principalId.")
        role_ref, pid = props.get("roleDefinitionId"), props.get("principalId")
        for key, value in (("roleDefinitionId", role_ref), ("principalId", pid)):
            if not isinstance(value, str):
                raise InvalidInput("InvalidRequestContent",
                                   f"The request content was invalid and could not be "
                                   f"deserialized: 'properties.{key}' must be a string.")
        role = self.role_definition(str(role_ref or ""))
        if role is None:
            raise InvalidInput("RoleDefinitionDoesNotExist",
                               f"The specified role definition '{role_ref}' does not exist.")
        principal = self.principal(str(pid or ""))
        if principal is None:
            raise InvalidInput("PrincipalNotFound",
                               f"Principal {pid} does not exist in the directory.")
        existing = self.b.store.get(ROLE_ASSIGN, guid.lower())
        if existing is not None:
            # an assignment is immutable: re-PUT the same one, or pick another name
            props_ = existing.doc["properties"]
            if (not same_scope(props_["scope"], scope) or props_["principalId"] != principal["id"]
                    or props_["roleDefinitionId"].rsplit("/", 1)[-1].lower()
                    != role["name"].lower()):
                raise Conflict("RoleAssignmentExists", "The role assignment already exists.")
            return existing.doc
        doc = {
            "id": f"{scope.rstrip('/')}/providers/{ASSIGNMENT_TYPE}/{guid}",
            "name": guid,
            "type": ASSIGNMENT_TYPE,
            "properties": {
                "roleDefinitionId": self._at_scope(role, scope)["id"],
                "principalId": principal["id"],
                "principalType": "User" if principal["type"] == "User" else "ServicePrincipal",
                "scope": scope.rstrip("/") or "/",
                "createdOn": self.b.clock.iso(),
            },
        }
        self.b.store.put(ROLE_ASSIGN, guid.lower(), principal["id"], guid, doc)
        return doc

    def get_assignment(self, guid: str, scope: str | None = None) -> dict[str, Any]:
        """By name; with `scope`, only an assignment made at exactly that scope."""
        item = self.b.store.get(ROLE_ASSIGN, guid.lower())
        if item is None or (scope is not None and not same_scope(
                item.doc["properties"]["scope"], scope)):
            raise NotFound("RoleAssignmentNotFound",
                           f"The role assignment '{guid}' is not found.")
        return item.doc

    def delete_assignment(self, guid: str) -> bool:
        return self.b.store.delete(ROLE_ASSIGN, guid.lower())

    def list_assignments(self, principal_id: str | None = None) -> list[dict[str, Any]]:
        return [i.doc for i in self.b.store.list(ROLE_ASSIGN, parent=principal_id)]

    # -- the check -----------------------------------------------------------------------
    def _grants(self, caller: Caller) -> tuple[tuple[str, dict[str, Any]], ...]:
        """(scope, role definition) of each of the caller's assignments; cached per
        process while the store does not change (a list filter asks once per item)."""
        return self._cached(("grants", caller.id),
                            lambda: self._read_grants(caller))

    def _read_grants(self, caller: Caller) -> tuple[tuple[str, dict[str, Any]], ...]:
        out = []
        for a in self.list_assignments(caller.id):
            role = self.role_definition(a["properties"]["roleDefinitionId"])
            if role:
                out.append((a["properties"]["scope"], role))
        return tuple(out)

    def allowed(self, caller: Caller, action: str, scope: str) -> bool:
        return any(ids.is_within(s if s != "/" else "", scope) and role_allows(r, action)
                   for s, r in self._grants(caller))

    def allowed_below(self, caller: Caller, action: str, scope: str) -> bool:
        """True when some assignment at or below `scope` grants `action` (lists filter)."""
        return any((ids.is_within(s if s != "/" else "", scope) or ids.is_within(scope, s))
                   and role_allows(r, action) for s, r in self._grants(caller))

    def check(self, caller: Caller, action: str, scope: str) -> None:
        if not self.allowed(caller, action, scope):
            raise denied(caller, action, scope)


def same_scope(a: str, b: str) -> bool:
    return (a.rstrip("/") or "/").lower() == (b.rstrip("/") or "/").lower()


def denied(caller: Caller, action: str, scope: str) -> AuthorizationFailed:
    return AuthorizationFailed(
        "AuthorizationFailed",
        f"The client '{caller.name}' with object id '{caller.id}' does not have authorization "
        f"to perform action '{action}' over scope '{scope}' or the scope is invalid. "
        "If access was recently granted, please refresh your credentials.",
    )
