"""Webhook signatures (docs/webhooks.md): the sender adds X-Acrctl-Timestamp and
X-Acrctl-Signature = `sha256=` + hex HMAC-SHA256(secret, timestamp + "." + body); `verify` is
the receiver's check. Re-exported by acrctl.delivery."""

from __future__ import annotations

import hashlib
import hmac
import time

TIMESTAMP_HEADER = "X-Acrctl-Timestamp"
SIGNATURE_HEADER = "X-Acrctl-Signature"


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """`sha256=` + hex HMAC-SHA256(secret, timestamp + "." + body)."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(
    secret: str,
    timestamp: str,
    body: bytes,
    signature: str,
    tolerance: float = 300.0,
    now: float | None = None,
) -> bool:
    """The receiver's check (docs/webhooks.md): the signature matches and the timestamp is
    within `tolerance` seconds of now."""
    try:
        age = abs((time.time() if now is None else now) - int(timestamp))
    except ValueError:
        return False
    return age <= tolerance and hmac.compare_digest(sign(secret, timestamp, body), signature)
