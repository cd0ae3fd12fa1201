"""Principals, tokens, role definitions, role assignments and the authorization check.

ARM semantics: an assignment at a scope applies to everything below it; a role allows an
action when one of its `actions` globs matches and none of the *same* role's `notActions` does;
matching is case-insensitive with `*` as the only wildcard.

Here: Rbac, the principals, their tokens and the role assignments. It builds on
acrctl.backend.rbac_engine (RbacEngine: role definitions and the check) and
acrctl.backend.rbac_rules (Caller, matching, hash_token, denied); their names are re-exported.
"""

from __future__ import annotations

import uuid
from typing import Any

from acrctl.backend import roles, scopes
from acrctl.backend.credentials import check_expiry
from acrctl.backend.errors import (
    AuthorizationHeaderMissing,
    InvalidAuthenticationToken,
    InvalidRequestContent,
    InvalidRoleAssignmentId,
    InvalidRoleAssignmentScope,
    PrincipalNotFoundInRequest,
    RoleAssignmentExists,
    RoleAssignmentNotFound,
    RoleDefinitionDoesNotExistInRequest,
)
from acrctl.backend.kinds import PRINCIPAL, ROLE_ASSIGN, ROLE_DEF, TOKEN  # noqa: F401

# the engine and the rules (acrctl.backend.rbac_engine, acrctl.backend.rbac_rules), re-exported
from acrctl.backend.rbac_engine import RbacEngine  # noqa: F401
from acrctl.backend.rbac_rules import (  # noqa: F401
    ASSIGNMENT_TYPE,
    DELETE_DEFINITION,
    GUID_RE,
    WRITE_DEFINITION,
    Caller,
    _assignment_out,
    _glob,
    _grants_allow,
    denied,
    hash_token,
    matches,
    role_allows,
    same_scope,
)


class Rbac(RbacEngine):
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

    def authenticate(self, token: str | None, key: str | None = None) -> Caller:
        """The caller `token` belongs to; `key`: its hash_token() when already computed."""
        if not token:
            raise AuthorizationHeaderMissing(
                "Authentication failed. The 'Authorization' header is missing.",
            )
        if token.startswith("eyJ"):  # the identity provider's JWTs (backend.jwt_tokens)
            from acrctl.backend import jwt_tokens

            if jwt_tokens.looks_like_jwt(token):
                return jwt_tokens.authenticate(self, token)
        key = key or hash_token(token)
        hit = self.b.cache.peek(("token", key))  # no closure while current (every request)
        if hit is None:
            hit = self._cached(("token", key), lambda: self._authenticate(key))
        caller, token_doc = hit
        check_expiry(token_doc, self.b.clock)  # not cached: the clock moves
        return caller  # type: ignore[no-any-return]

    def _authenticate(self, key: str) -> tuple[Caller, dict[str, Any]]:
        item = self.b.store.get(TOKEN, key)
        doc = self.principal(item.parent) if item else None
        if item is None or doc is None:
            raise InvalidAuthenticationToken("The access token is invalid or has been revoked.")
        return self.caller(doc), item.doc

    @staticmethod
    def caller(doc: dict[str, Any]) -> Caller:
        ctype = "User" if doc.get("type") == "User" else "Application"
        return Caller(doc["id"], doc["displayName"], ctype)

    # -- role assignments ------------------------------------------------------------------
    def create_assignment(self, scope: str, guid: str, body: dict[str, Any]) -> dict[str, Any]:
        if not GUID_RE.match(guid):
            raise InvalidRoleAssignmentId(
                f"The role assignment ID '{guid[:100]}' is not valid: it must be a GUID.",
            )
        scope = scopes.normalise(scope)
        props = body.get("properties")
        if not isinstance(props, dict):
            raise RoleDefinitionDoesNotExistInRequest(
                "The request names no role definition: 'properties' must be an "
                "object with roleDefinitionId and principalId.",
            )
        role_ref, pid = props.get("roleDefinitionId"), props.get("principalId")
        for key, value in (("roleDefinitionId", role_ref), ("principalId", pid)):
            if not isinstance(value, str):
                raise InvalidRequestContent(
                    f"The request content was invalid and could not be "
                    f"deserialized: 'properties.{key}' must be a string.",
                )
        with self.b.store.transaction():  # no narrowing of the role in between
            role = self._assignable_role(str(role_ref), scope)
            return self._put_assignment(scope, guid.lower(), role, str(pid))

    def _assignable_role(self, ref: str, scope: str) -> dict[str, Any]:
        role = self.role_definition(ref)
        if role is None or not roles.visible_at(role, scope):
            raise RoleDefinitionDoesNotExistInRequest(
                f"The specified role definition '{ref[:200]}' does not exist.",
            )
        if not roles.assignable_at(role, scope):
            raise InvalidRoleAssignmentScope(
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
            raise PrincipalNotFoundInRequest(f"Principal {pid} does not exist in the directory.")
        existing = self.b.store.get(ROLE_ASSIGN, guid)
        if existing is not None:
            # an assignment is immutable: re-PUT the same one, or pick another name
            props_ = existing.doc["properties"]
            if (
                not same_scope(props_["scope"], scope)
                or props_["principalId"] != principal["id"]
                or props_["roleDefinitionId"].rsplit("/", 1)[-1].lower() != role["name"].lower()
            ):
                raise RoleAssignmentExists("The role assignment already exists.")
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
            raise RoleAssignmentNotFound(f"The role assignment '{guid}' is not found.")
        return _assignment_out(item.doc)

    def delete_assignment(self, guid: str) -> bool:
        return self.b.store.delete(ROLE_ASSIGN, guid.lower())
