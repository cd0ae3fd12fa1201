"""The rules of authorization, as plain functions: who a caller is, how an action matches a
role's globs, how a token is hashed, and the AuthorizationFailed a denial raises. A leaf module
(acrctl.backend.rbac re-exports these names): credentials and the JWT provider use it without
importing the RBAC engine."""

from __future__ import annotations

import functools
import hashlib
import re
from dataclasses import dataclass
from typing import Any

from acrctl.backend import ids, roles
from acrctl.backend.errors import AccessDenied, AuthorizationFailed

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
    return AccessDenied(
        f"The client '{caller.name}' with object id '{caller.id}' does not have authorization "
        f"to perform action '{action}' over scope '{scope}' or the scope is invalid. "
        "If access was recently granted, please refresh your credentials.",
    )
