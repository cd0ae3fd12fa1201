"""The registry admin user, as ACR has it: username = the registry name, two regenerable
passwords `password` and `password2`, usable only while `adminUserEnabled` is true.

ARM returns the passwords again on every listCredentials, so they are kept retrievable, in
the registry item's `secret` field (as webhook serviceUri and customHeaders are), never in the
document that GET returns. The data plane's token service checks a Basic credential with
`check_password`, in constant time."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import TYPE_CHECKING, Any

from acrctl.backend.errors import (
    InvalidInput,
    InvalidRequestContent,
    UnAuthorizedForCredentialOperations,
)

if TYPE_CHECKING:
    from acrctl.backend.core import Backend

PASSWORD_NAMES = ("password", "password2")
SECRET_KEY = "adminPasswords"
PASSWORD_BYTES = 39  # 52 characters of URL-safe base64, the length of an ACR password


def new_password() -> str:
    return secrets.token_urlsafe(PASSWORD_BYTES)


def with_passwords(secret: dict[str, Any] | None) -> dict[str, Any]:
    """The registry's secret with both passwords present (new ones where missing)."""
    out = dict(secret or {})
    pw = dict(out.get(SECRET_KEY) or {})
    for name in PASSWORD_NAMES:
        if not isinstance(pw.get(name), str) or not pw[name]:
            pw[name] = new_password()
    out[SECRET_KEY] = pw
    return out


def disabled(resource_id: str) -> InvalidInput:
    return UnAuthorizedForCredentialOperations(
        f"Cannot perform credential operations for {resource_id} as admin user is disabled. "
        "Kindly enable admin user as per docs: https://docs.microsoft.com/en-us/azure/"
        "container-registry/container-registry-authentication#admin-account",
    )


def check_name(name: Any) -> str:
    if name not in PASSWORD_NAMES:
        raise InvalidRequestContent(
            "The request content was invalid and could not be deserialized: "
            "'name' must be one of password, password2.",
        )
    return str(name)


def result(doc: dict[str, Any], secret: dict[str, Any]) -> dict[str, Any]:
    """ARM's RegistryListCredentialsResult."""
    pw = secret[SECRET_KEY]
    return {
        "username": doc["name"],
        "passwords": [{"name": n, "value": pw[n]} for n in PASSWORD_NAMES],
    }


def _digest(value: str) -> bytes:
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).digest()


def matches(secret: dict[str, Any] | None, password: str) -> bool:
    """Whether `password` is one of the two, compared in constant time (both are always
    compared, on digests of equal length)."""
    pw = (secret or {}).get(SECRET_KEY) or {}
    given = _digest(password)
    ok = False
    for name in PASSWORD_NAMES:
        stored = pw.get(name)
        same = hmac.compare_digest(given, _digest(stored if isinstance(stored, str) else ""))
        ok = (same and bool(stored)) or ok
    return ok


class AdminUser:
    """The operations; registry lookups and writes go through the backend's store."""

    def __init__(self, backend: Backend) -> None:
        self.b = backend

    def _enabled_item(self, sub: str, rg: str, name: str) -> Any:
        item = self.b.registries.item(sub, rg, name)
        if not item.doc["properties"].get("adminUserEnabled"):
            raise disabled(item.doc["id"])
        return item

    def _save(self, item: Any, secret: dict[str, Any]) -> None:
        cur = self.b.store.get(item.kind, item.key)
        doc = cur.doc if cur is not None else item.doc
        self.b.store.put(item.kind, item.key, item.parent, item.name, doc, secret)

    def list_credentials(self, sub: str, rg: str, name: str) -> dict[str, Any]:
        with self.b.store.transaction():
            item = self._enabled_item(sub, rg, name)
            secret = item.secret or {}
            if not all((secret.get(SECRET_KEY) or {}).get(n) for n in PASSWORD_NAMES):
                secret = with_passwords(secret)  # a registry stored before the admin user
                self._save(item, secret)
        return result(item.doc, secret)

    def regenerate(self, sub: str, rg: str, name: str, body: dict[str, Any]) -> dict[str, Any]:
        which = check_name(body.get("name"))
        with self.b.store.transaction():
            item = self._enabled_item(sub, rg, name)
            secret = with_passwords(item.secret)
            secret[SECRET_KEY][which] = new_password()
            self._save(item, secret)
        return result(item.doc, secret)

    def check_password(self, registry: str, username: str, password: str) -> bool:
        """Whether (username, password) is the admin user of `registry` (a registry name or
        its login server, `<name>.<domain>`), with the admin user enabled. Unknown
        registries, other usernames and disabled admin users all answer False."""
        name = registry.split(".", 1)[0].split(":", 1)[0]
        found = self.b.store.find_by_name("registry", name) if name else []
        item = found[0] if found else None
        secret = item.secret if item is not None else None
        ok = matches(secret, password)  # compared even when the answer is already known
        if item is None or username.lower() != str(item.doc["name"]).lower():
            return False
        props = item.doc.get("properties") or {}
        return (
            ok
            and bool(props.get("adminUserEnabled"))
            and props.get("provisioningState") != "Deleting"
        )
