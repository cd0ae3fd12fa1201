"""The ACR token service's logic (no HTTP): who the caller is, and what access a token
grants: requested ∩ what RBAC allows on the registry.

Data actions (as ACR's built-in roles grant them: AcrPull, AcrPush, AcrDelete; Reader pulls
through `*/read`, Contributor and Owner through `*`):
  pull   -> Microsoft.ContainerRegistry/registries/pull/read
  push   -> Microsoft.ContainerRegistry/registries/push/write
  delete -> Microsoft.ContainerRegistry/registries/artifacts/delete

Repository names inside a region are namespaced per registry: `<registry>/<repository>`.
Access tokens name the namespaced repositories, so a token of one registry opens nothing of
another even at the region itself. A catalog grant is the claim `acrctl_catalog` (the
registry), which only the front honours: a token never opens the region's whole catalog.
Refresh tokens carry another audience, so a region never accepts one."""

from __future__ import annotations

import hmac
import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from acrctl.backend.rbac import Caller

if TYPE_CHECKING:
    from acrctl.backend.core import Backend
    from acrctl.dataplane.pki import Keys

ACR = "Microsoft.ContainerRegistry/registries"
DATA_ACTIONS = {
    "pull": f"{ACR}/pull/read",
    "push": f"{ACR}/push/write",
    "delete": f"{ACR}/artifacts/delete",
}
NULL_USER = "00000000-0000-0000-0000-000000000000"
REFRESH_AUDIENCE = "acrctl-dataplane-refresh"


class Refused(Exception):
    """Bad or missing credentials (401)."""


@dataclass(frozen=True)
class Scope:
    type: str
    name: str
    actions: tuple[str, ...]


def parse_scopes(values: list[str]) -> list[Scope]:
    """`type[(class)]:name:action[,action]`, one per value or space-separated; the name may
    hold a host:port, so the actions are split off at the last colon."""
    out = []
    for value in values:
        for item in value.split():
            head, sep, actions = item.rpartition(":")
            typ, sep2, name = head.partition(":")
            if not sep or not sep2 or not name:
                continue
            typ = typ.split("(", 1)[0]
            out.append(Scope(typ, name, tuple(a for a in actions.split(",") if a)))
    return out


@dataclass(frozen=True)
class Grantee:
    """Who asks: an RBAC caller, or a registry's admin user (all actions, one registry)."""

    sub: str
    caller: Caller | None = None
    admin_of: str | None = None  # registry name (lower case)


class TokenService:
    def __init__(
        self,
        backend: Backend,
        keys: Keys,
        issuer: str,
        service: str,
        access_seconds: int,
        refresh_seconds: int,
    ) -> None:
        self.b, self.keys, self.issuer, self.service = backend, keys, issuer, service
        self.access_seconds, self.refresh_seconds = access_seconds, refresh_seconds

    # -- who ------------------------------------------------------------------------------
    def basic(self, username: str, password: str, registry: str | None) -> Grantee:
        """A principal's appId and secret, the null-GUID user with a refresh token, or the
        registry's admin user (when the backend offers check_admin_password)."""
        if username == NULL_USER:
            return self.from_refresh(password, None)
        if registry and username.lower() == registry.lower():
            check = getattr(self.b.registries, "check_admin_password", None)
            reg = self.b.registries.find(registry)
            if callable(check) and reg is not None and _admin_ok(check, reg, username, password):
                return Grantee(username, admin_of=registry.lower())
        from acrctl.backend.credentials import ClientAuthError, check_client_secret

        try:
            doc, _, _ = check_client_secret(self.b, username, password, "")
        except ClientAuthError:
            raise Refused("invalid username or password") from None
        return Grantee(doc["id"], caller=self.b.rbac.caller(doc))

    def from_arm_token(self, token: str) -> Grantee:
        """POST /oauth2/exchange: an acrctl ARM bearer token (opaque or JWT)."""
        from acrctl.backend.errors import AuthenticationFailed

        try:
            caller = self.b.rbac.authenticate(token)
        except AuthenticationFailed:
            raise Refused("invalid access token") from None
        return Grantee(caller.id, caller=caller)

    def from_refresh(self, token: str, service: str | None) -> Grantee:
        import jwt

        try:
            claims = self.keys.verify(token, REFRESH_AUDIENCE)
        except (jwt.InvalidTokenError, ValueError):
            raise Refused("invalid refresh token") from None
        if claims.get("iss") != self.issuer or claims.get("grant_type") != "refresh_token":
            raise Refused("invalid refresh token")
        if service and claims.get("service") and not _same_service(claims["service"], service):
            raise Refused("refresh token issued for another service")
        doc = self.b.rbac.principal(str(claims.get("sub")))
        if doc is None:
            raise Refused("the refresh token's principal no longer exists")
        return Grantee(doc["id"], caller=self.b.rbac.caller(doc))

    # -- what -----------------------------------------------------------------------------
    def refresh_token(self, who: Grantee, service: str) -> str:
        now = int(time.time())
        return self.keys.sign(
            {
                "iss": self.issuer,
                "sub": who.sub,
                "aud": REFRESH_AUDIENCE,
                "service": service,
                "grant_type": "refresh_token",
                "iat": now,
                "nbf": now - 5,
                "exp": now + self.refresh_seconds,
                "jti": str(uuid.uuid4()),
                "version": "1.0",
            }
        )

    def access_token(self, who: Grantee, scopes: list[Scope], resolve: Any) -> tuple[str, int]:
        """A token granting requested ∩ allowed. `resolve(scope name)` gives (registry name,
        namespaced repository) or None when the name names no registry."""
        access: list[dict[str, Any]] = []
        extra: dict[str, Any] = {}
        for scope in scopes:
            if scope.type == "registry" and scope.name == "catalog":
                continue  # resolved by the caller below through `catalog`
            if scope.type != "repository":
                continue
            target = resolve(scope.name)
            if target is None:
                continue
            registry, namespaced = target
            granted = self.allowed_actions(who, registry, scope.actions)
            if granted:
                access.append({"type": "repository", "name": namespaced, "actions": granted})
        catalog = next((s for s in scopes if s.type == "registry" and s.name == "catalog"), None)
        if catalog is not None:
            registry = resolve(None)
            if registry is not None and self.allowed_actions(who, registry[0], ("pull",)):
                extra["acrctl_catalog"] = registry[0]
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "sub": who.sub,
            "aud": self.service,
            "iat": now,
            "nbf": now - 5,
            "exp": now + self.access_seconds,
            "jti": str(uuid.uuid4()),
            "access": access,
            "grant_type": "access_token",
            "version": "1.0",
            **extra,
        }
        return self.keys.sign(claims), self.access_seconds

    def allowed_actions(self, who: Grantee, registry: str, wanted: tuple[str, ...]) -> list[str]:
        wanted = ("pull", "push", "delete") if "*" in wanted else wanted
        if who.admin_of is not None:
            return [a for a in wanted if a in DATA_ACTIONS] if who.admin_of == registry else []
        reg = self.b.registries.find(registry)
        if reg is None or who.caller is None:
            return []
        if reg.get("properties", {}).get("provisioningState") == "Deleting":
            return []
        return [
            a
            for a in wanted
            if a in DATA_ACTIONS and self.b.rbac.allowed(who.caller, DATA_ACTIONS[a], reg["id"])
        ]


def _admin_ok(check: Any, reg: dict[str, Any], username: str, password: str) -> bool:
    from acrctl.backend import ids

    parts = ids.parse(reg["id"])
    try:
        return bool(
            check(parts.get("subscription"), parts.get("resourceGroup"), reg["name"], password)
        )
    except TypeError:  # another signature: (registry, username, password)
        return bool(check(reg["name"], username, password))
    except Exception:  # noqa: BLE001 - admin user disabled or unknown: not this user
        return False


def _same_service(a: str, b: str) -> bool:
    return hmac.compare_digest(a.lower().encode(), b.lower().encode())
