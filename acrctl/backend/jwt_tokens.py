"""Access tokens as JWTs: what the server's identity provider hands out
(acrctl.server.handlers.identity) and what `Rbac.authenticate` accepts beside the opaque
`acr_...` tokens.

A token is signed HS256 with a server key kept in the store (one item, its bytes in the
item's secret part), so every instance on one database signs and verifies alike and a store
reset retires every token. Claims as Microsoft Entra's v1 access tokens for ARM: `aud`,
`iss`, `iat`, `nbf`, `exp`, `tid`, `oid`, `sub`, `appid`, `idtyp`, `ver`; plus `acrctl_cid`,
the keyId of the client secret it was obtained with (a credential reset or a principal
delete revokes the token at once), or `acrctl_mi` for a managed-identity token (valid while
the principal is still the server's managed identity).

Verified: the signature (HS256 only), `aud` (one of AUDIENCES), `exp` and `nbf` against the
backend's clock, the principal and its credential. PyJWT is imported only when a JWT is
seen: the opaque-token path pays nothing for it."""

from __future__ import annotations

import base64
import secrets
import uuid
from typing import TYPE_CHECKING, Any

from acrctl.backend.errors import (
    AuthenticationFailed,
    ExpiredAuthenticationToken,
    InvalidAuthenticationToken,
    InvalidAuthenticationTokenAudience,
)
from acrctl.backend.kinds import TOKEN
from acrctl.backend.rbac_rules import Caller
from acrctl.backend.store import EtagMismatch

if TYPE_CHECKING:
    from acrctl.backend.core import Backend
    from acrctl.backend.rbac import Rbac

ALGORITHM = "HS256"
KEY_KIND, KEY_NAME = "signingKey", "jwt-hs256"
# ARM's audiences (authentication.audiences of the cloud metadata): az asks for the first
AUDIENCES = ("https://management.core.windows.net/", "https://management.azure.com/")
CLOCK_SKEW = 300  # seconds a token's nbf/iat may lie in the future (other clocks)
CLAIMS = ("aud", "iss", "iat", "exp", "tid", "oid")


def looks_like_jwt(token: str) -> bool:
    """A compact JWS (header.payload.signature, header JSON starting `{"`)."""
    return token.startswith("eyJ") and token.count(".") == 2


def audience_ok(aud: str) -> bool:
    want = aud.rstrip("/").lower()
    return any(want == a.rstrip("/").lower() for a in AUDIENCES)


def signing_key(b: Backend) -> bytes:
    """The server's HS256 key, created on first use (compare-and-set: instances racing to
    create it all end up with the one stored)."""
    return b.rbac._cached(("jwt", "key"), lambda: _load_key(b))  # type: ignore[no-any-return]


def _load_key(b: Backend) -> bytes:
    item = b.store.get(KEY_KIND, KEY_NAME)
    if item is None or not item.secret:
        fresh = base64.b64encode(secrets.token_bytes(32)).decode()
        try:
            item = b.store.put(
                KEY_KIND,
                KEY_NAME,
                "",
                KEY_NAME,
                {"alg": ALGORITHM, "createdAt": b.clock.iso()},
                secret={"key": fresh},
                if_etag="",
            )
        except EtagMismatch:
            item = b.store.get(KEY_KIND, KEY_NAME)
    assert item is not None and item.secret
    return base64.b64decode(item.secret["key"])


def issue(
    b: Backend,
    principal: dict[str, Any],
    tenant: str,
    audience: str,
    issuer: str,
    expires_on: float | None,
    credential: str | None = None,
) -> tuple[str, int, int]:
    """A signed access token for `principal`, its expiry and its issue time (epoch seconds):
    the settings' access-token lifetime, cut to the credential's own end (`expires_on`)."""
    import jwt

    now = int(b.clock.now())
    exp = now + max(1, int(b.settings.access_token_lifetime_seconds))
    if expires_on is not None:
        exp = min(exp, int(expires_on))
    pid = principal["id"]
    claims: dict[str, Any] = {
        "aud": audience,
        "iss": issuer,
        "iat": now,
        "nbf": now,
        "exp": exp,
        "tid": tenant,
        "oid": pid,
        "sub": pid,
        "appid": pid,
        "appidacr": "1",
        "idtyp": "app",
        "name": principal.get("displayName"),
        "uti": uuid.uuid4().hex,
        "ver": "1.0",
    }
    if credential is not None:
        claims["acrctl_cid"] = credential
    else:
        claims["acrctl_mi"] = True
    return jwt.encode(claims, signing_key(b), algorithm=ALGORITHM), exp, now


def authenticate(rbac: Rbac, token: str) -> Caller:
    """The caller a JWT stands for, or 401 (InvalidAuthenticationToken,
    InvalidAuthenticationTokenAudience, ExpiredAuthenticationToken). What does not depend
    on the time (signature, audience, principal, credential) is memoized per token while
    the store does not change (Rbac._cached); the times are checked on every request."""
    b = rbac.b
    claims, doc, ends = rbac._cached(("jwt", token), lambda: _verified(rbac, token))
    now = b.clock.now()
    if now >= float(claims["exp"]):
        raise ExpiredAuthenticationToken(
            f"The access token expiry UTC time '{b.clock.iso(float(claims['exp']))}' is earlier "
            f"than current UTC time '{b.clock.iso(now)}'. Get a new access token (az does "
            "so by itself; else az account get-access-token).",
        )
    if float(claims.get("nbf", claims["iat"])) > now + CLOCK_SKEW:
        raise _invalid("it is not valid yet (nbf)")
    if (ends is not None and now >= ends) or (
        claims.get("acrctl_mi") and managed_identity(b) != doc["id"]
    ):
        raise _invalid("it has been revoked")
    return rbac.caller(doc)


def _verified(rbac: Rbac, token: str) -> tuple[dict[str, Any], dict[str, Any], float | None]:
    """(claims, principal, end of the credential or None) of a well-signed token for this
    server's audience whose principal and credential exist."""
    claims = _decode(rbac.b, token)
    aud = str(claims["aud"])
    if not audience_ok(aud):
        allowed = ",".join(f"'{a}','{a.rstrip('/')}'" for a in AUDIENCES)
        raise InvalidAuthenticationTokenAudience(
            f"The access token has been obtained for wrong audience or resource "
            f"'{aud[:200]}'. It should exactly match with one of the allowed audiences "
            f"{allowed}.",
        )
    pid = str(claims["oid"])
    doc = rbac.principal(pid)
    cid = claims.get("acrctl_cid")
    ends = _credential_end(rbac.b, pid, str(cid)) if cid is not None else None
    if doc is None or ends is False or (cid is None and not claims.get("acrctl_mi")):
        raise _invalid("it has been revoked")
    return claims, doc, ends if isinstance(ends, float) else None


def _decode(b: Backend, token: str) -> dict[str, Any]:
    import jwt

    try:
        claims = jwt.decode(
            token,
            signing_key(b),
            algorithms=[ALGORITHM],
            options={
                "verify_exp": False,
                "verify_nbf": False,
                "verify_iat": False,
                "verify_aud": False,
                "require": list(CLAIMS),
            },
        )
    except jwt.InvalidSignatureError:
        raise _invalid("its signature does not verify") from None
    except jwt.MissingRequiredClaimError as exc:
        raise _invalid(f"the claim '{exc.claim}' is missing") from None
    except jwt.PyJWTError:
        raise _invalid("it is not a well-formed token of this server") from None
    if not all(isinstance(claims.get(k), int | float) for k in ("exp", "iat")):
        raise _invalid("exp and iat must be numbers")
    return dict(claims)


def _credential_end(b: Backend, pid: str, cid: str) -> float | None | bool:
    """The end of principal `pid`'s credential `cid` (None: never), False when it is gone."""
    from acrctl.backend.credentials import credential_id

    for item in b.store.list(TOKEN, parent=pid):
        if credential_id(item.key, item.doc) == cid:
            end = item.doc.get("expiresOn")
            return float(end) if isinstance(end, int | float) else None
    return False


def managed_identity(b: Backend) -> str | None:
    """The id of the principal the managed-identity endpoint speaks for (the setting
    `managed_identity_principal`: an appId or a display name), None when unset or unknown."""
    ref = str(b.settings.managed_identity_principal or "").strip()
    if not ref:
        return None
    doc = b.rbac._cached(("jwtmi", ref), lambda: b.rbac.find_principal(ref))
    return str(doc["id"]) if doc else None


def _invalid(why: str) -> AuthenticationFailed:
    return InvalidAuthenticationToken(f"The access token is invalid: {why}.")
