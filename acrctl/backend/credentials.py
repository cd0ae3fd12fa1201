"""The lifecycle of principals' bearer tokens: minting with an expiry, rotation
(`ad sp credential reset`), expiry at authentication, deleting a principal with everything
it holds (`ad sp delete`), and the admin credential a store reset keeps.

A token is stored only as its SHA-256 hash: the key of a TOKEN item whose parent is the
principal's id. Its doc names the credential as Microsoft Graph's passwordCredential does
(`keyId`, `startDateTime`, `endDateTime`) and keeps the end as `expiresOn` (epoch seconds);
a token without an end never expires (the bootstrap admin's, and those minted before
tokens had an expiry)."""

from __future__ import annotations

import datetime as dt
import math
import secrets
import uuid
from typing import TYPE_CHECKING, Any

from acrctl.backend.errors import (
    CannotDeleteLastOwner,
    ExpiredAuthenticationToken,
    InvalidCredentialEndDate,
    InvalidRequestContent,
    PrincipalNotFound,
)
from acrctl.backend.kinds import PRINCIPAL, TOKEN
from acrctl.backend.rbac_rules import hash_token

if TYPE_CHECKING:
    from acrctl.backend.clock import Clock
    from acrctl.backend.core import Backend

OWNER = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
DAY = 86400.0
LATEST_END = dt.datetime(9999, 12, 31, 23, 59, 59, tzinfo=dt.UTC).timestamp()


def new_token() -> str:
    return "acr_" + secrets.token_urlsafe(32)


def default_expiry(b: Backend, principal_type: str) -> float | None:
    """When a new token of this kind of principal ends by default: service principals after
    Settings.token_lifetime_days (az's one year); users (the bootstrap admin) never, so
    the server's own admin cannot be locked out by the calendar."""
    days = b.settings.token_lifetime_days
    if principal_type == "User" or not math.isfinite(days) or days <= 0:
        return None
    return min(b.clock.now() + days * DAY, LATEST_END)


def mint(b: Backend, pid: str, token: str | None = None, expires_on: float | None = None) -> str:
    """Store a token of principal `pid` (its hash only); returns the token."""
    token = token or new_token()
    now = b.clock.now()
    doc: dict[str, Any] = {
        "principalId": pid,
        "keyId": str(uuid.uuid4()),
        "startDateTime": b.clock.iso(now),
    }
    if expires_on is not None:
        doc.update(endDateTime=b.clock.iso(expires_on), expiresOn=expires_on)
    b.store.put(TOKEN, hash_token(token), pid, pid, doc)
    return token


def check_expiry(doc: dict[str, Any], clock: Clock) -> None:
    """401 ExpiredAuthenticationToken (ARM's code) once the token's end has passed."""
    end = doc.get("expiresOn")
    now = clock.now()
    if not isinstance(end, int | float) or now < end:
        return
    raise ExpiredAuthenticationToken(
        f"The access token expiry UTC time '{clock.iso(end)}' is earlier than current UTC "
        f"time '{clock.iso(now)}'. Ask an administrator for a new token "
        f"(acrctl ad sp credential reset --id {doc.get('principalId')}), then log in with "
        "it (acrctl account login).",
    )


def parse_end_date(value: Any, now: float) -> float:
    """An ISO 8601 date or date-time (no zone: UTC) after `now`, as epoch seconds."""
    if not isinstance(value, str):
        raise InvalidRequestContent(
            "The request content was invalid and could not be deserialized: "
            "'endDateTime' must be a string.",
        )
    try:
        parsed = dt.datetime.fromisoformat(value.strip())
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=dt.UTC)
        end = parsed.timestamp()
    except (ValueError, OverflowError):
        end = math.inf
    if end > LATEST_END:
        raise InvalidCredentialEndDate(
            f"The end date '{value[:100]}' is not an ISO 8601 date or time "
            "up to 9999-12-31, e.g. 2027-12-31 or 2027-12-31T23:59:59Z.",
        )
    if end <= now:
        raise InvalidCredentialEndDate(
            f"The end date '{value[:100]}' is not in the future: a credential "
            "must end after the current time.",
        )
    return end


def _principal(b: Backend, pid: str) -> dict[str, Any]:
    doc = b.rbac.principal(pid)
    if doc is None:
        raise PrincipalNotFound(f"Principal {pid[:100]} does not exist in the directory.")
    return doc


def reset_credential(
    b: Backend, pid: str, append: bool = False, expires_on: float | None = None
) -> tuple[dict[str, Any], str, float | None]:
    """A new token for principal `pid`. Without `append` every other token of the principal
    stops working at once; with it they stay, except those already expired (dropped).
    Returns the principal, the token (shown once) and its end (None: never)."""
    with b.store.transaction():
        doc = _principal(b, pid)
        now = b.clock.now()
        for item in b.store.list(TOKEN, parent=pid):
            end = item.doc.get("expiresOn")
            if not append or (isinstance(end, int | float) and end <= now):
                b.store.delete(TOKEN, item.key)
        if expires_on is None:
            expires_on = default_expiry(b, doc.get("type", "Application"))
        return doc, mint(b, pid, expires_on=expires_on), expires_on


# -- deleting a principal ---------------------------------------------------------------------
def _owners(b: Backend, sub_scope: str) -> list[str]:
    """Principals holding Owner at the subscription (or above), in assignment order."""
    out: list[str] = []
    for a in b.rbac.list_assignments():
        props = a["properties"]
        scope = props["scope"]
        if (
            props["roleDefinitionId"].rsplit("/", 1)[-1].lower() == OWNER
            and scope.rstrip("/").lower() in ("", sub_scope.rstrip("/").lower())
            and props["principalId"] not in out
        ):
            out.append(props["principalId"])
    return out


def _check_not_last_owner(b: Backend, doc: dict[str, Any]) -> str | None:
    """Refuse (409) to delete the last Owner of a subscription or the bootstrap admin when
    no other Owner remains. Returns who takes over as the admin principal, if it is one."""
    pid, successor = doc["id"], None
    is_admin = b.admin_principal_id() == pid
    for sub in b.list_subscriptions():
        owners = _owners(b, sub["id"])
        others = [o for o in owners if o != pid]
        if (pid in owners or is_admin) and not others:
            raise CannotDeleteLastOwner(
                f"The principal '{doc['displayName']}' ({pid}) is the last Owner of "
                f"subscription '{sub['subscriptionId']}': deleting it would leave nobody "
                "able to manage it. Assign Owner at the subscription to another principal "
                f"first, or rotate this one's secret instead (acrctl ad sp credential reset "
                f"--id {pid}).",
            )
        successor = successor or (others[0] if others else None)
    return successor if is_admin else None


def delete_principal(b: Backend, pid: str) -> dict[str, Any]:
    """Delete a principal, its tokens and its role assignments, in one transaction."""
    with b.store.transaction():
        doc = _principal(b, pid)
        successor = _check_not_last_owner(b, doc)
        for item in b.store.list(TOKEN, parent=pid):
            b.store.delete(TOKEN, item.key)
        for assignment in b.rbac.list_assignments(pid):
            b.rbac.delete_assignment(assignment["name"])
        b.store.delete(PRINCIPAL, pid)
        if successor is not None:  # the embedded mode and resets act as the admin principal
            b.store.meta_set("admin_principal", successor)
    return doc


# -- resets -------------------------------------------------------------------------------------
def reset_store(
    b: Backend, subscription: str, admin_token: str | None, caller_token: str | None
) -> tuple[dict[str, Any], str | None]:
    """Wipe the store and bootstrap again without locking anyone out. The new admin
    principal holds the configured bootstrap token if there is one, else the old admin's
    tokens (their hashes, carried over); and in both cases the token the reset was called
    with, so the caller keeps working. Returns the new admin and, only when no credential
    could be carried over, its freshly minted token (to show once)."""
    with b.store.transaction():
        kept = _kept_tokens(b, admin_token is None, caller_token)
        b.reset()
        _, minted = b.bootstrap(admin_token=admin_token, subscription=subscription)
        admin = _principal(b, b.admin_principal_id() or "")
        if admin_token is not None:
            minted = None  # the operator's own bootstrap token: nothing to show
        elif minted is not None and kept:
            b.store.delete(TOKEN, hash_token(minted))  # never shown: drop it
            minted = None
        skip = hash_token(admin_token) if admin_token else None
        for key, doc in kept.items():
            if key != skip:
                b.store.put(
                    TOKEN, key, admin["id"], admin["id"], {**doc, "principalId": admin["id"]}
                )
    return admin, minted


def _kept_tokens(
    b: Backend, with_admin: bool, caller_token: str | None
) -> dict[str, dict[str, Any]]:
    """The admin's (when asked) and the caller's tokens that have not expired, by hash."""
    items = []
    admin = b.admin_principal_id()
    if with_admin and admin:
        items += b.store.list(TOKEN, parent=admin)
    caller = b.store.get(TOKEN, hash_token(caller_token)) if caller_token else None
    if caller is not None:
        items.append(caller)
    now = b.clock.now()
    return {
        i.key: i.doc
        for i in items
        if not isinstance(i.doc.get("expiresOn"), int | float) or i.doc["expiresOn"] > now
    }


# -- client credentials (the identity provider's token endpoint) ------------------------------
class ClientAuthError(Exception):
    """A refused client-credentials request, in Microsoft Entra's terms: the OAuth 2 `error`,
    the AADSTS number and the description (which starts with it)."""

    def __init__(self, error: str, code: int, description: str) -> None:
        super().__init__(description)
        self.error, self.code, self.description = error, code, description


def credential_id(key: str, doc: dict[str, Any]) -> str:
    """The id a JWT names its credential by: the keyId (a hash prefix for tokens minted
    before credentials had one)."""
    return str(doc.get("keyId") or f"h-{key[:16]}")


def check_client_secret(
    b: Backend, client_id: str, secret: str, tenant: str
) -> tuple[dict[str, Any], str, float | None]:
    """The principal whose appId is `client_id` if `secret` is one of its live tokens
    (compared by SHA-256, as stored). Returns (principal, credential id, credential end);
    else ClientAuthError with Entra's codes (700016 unknown app, 7000215 wrong secret,
    7000222 expired secret)."""
    doc = b.rbac.principal(client_id) if client_id else None
    if doc is None:
        raise ClientAuthError(
            "unauthorized_client",
            700016,
            f"AADSTS700016: Application with identifier '{client_id[:100]}' was not found in "
            f"the directory '{tenant}'. This can happen if the application has not been "
            "installed by the administrator of the tenant or consented to by any user in the "
            "tenant. You may have sent your authentication request to the wrong tenant.",
        )
    item = b.store.get(TOKEN, hash_token(secret)) if secret else None
    if item is None or item.parent != doc["id"]:
        raise ClientAuthError(
            "invalid_client",
            7000215,
            "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in "
            "the request is the client secret value, not the client secret ID, for a secret "
            f"added to app '{client_id}'.",
        )
    end = item.doc.get("expiresOn")
    if isinstance(end, int | float) and b.clock.now() >= end:
        raise ClientAuthError(
            "invalid_client",
            7000222,
            f"AADSTS7000222: The provided client secret keys for app '{client_id}' are "
            f"expired (since {b.clock.iso(end)}). Create a new one: acrctl ad sp credential "
            f"reset --id {client_id}",
        )
    return doc, credential_id(item.key, item.doc), end if isinstance(end, int | float) else None
