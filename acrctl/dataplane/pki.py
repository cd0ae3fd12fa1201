"""Signing keys of the data plane: a root CA (the only certificate in every region's
`rootcertbundle`) and a leaf signing certificate issued by it. Access tokens are RS256 JWTs
whose header carries `x5c: [leaf]`, which distribution 2.8 and 3.x both verify against the
bundle; the leaf can be replaced without touching the regions.

Kept under `<dir>/` (mode 0600 keys): root.key, root.pem, leaf.key, leaf.pem, and the
`http.secret` every region shares (upload state is HMAC-signed with it)."""

from __future__ import annotations

import base64
import datetime as dt
import os
import secrets
from dataclasses import dataclass
from typing import Any

ROOT_DAYS = 3650
LEAF_DAYS = 90
LEAF_RENEW_DAYS = 30  # a leaf closer than this to its end is replaced on start


def _write(path: str, data: bytes, private: bool = False) -> None:
    tmp = f"{path}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)


def _name(common: str) -> Any:
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _cert(subject: str, key: Any, issuer: Any, issuer_key: Any, days: int, ca: bool) -> Any:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    now = dt.datetime.now(dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer or _name(subject))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    return builder.sign(issuer_key, hashes.SHA256())


def _new_key() -> Any:
    from cryptography.hazmat.primitives.asymmetric import rsa

    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _key_pem(key: Any) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


def _cert_pem(cert: Any) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return bytes(cert.public_bytes(serialization.Encoding.PEM))


@dataclass
class Keys:
    """The loaded keys: sign() makes a JWT the regions accept, verify() checks one."""

    directory: str
    root_cert: Any
    leaf_key: Any
    leaf_cert: Any
    http_secret: str

    @property
    def bundle(self) -> str:
        """The file to name as distribution's `auth.token.rootcertbundle`."""
        return os.path.join(self.directory, "root.pem")

    def sign(self, claims: dict[str, Any]) -> str:
        import jwt
        from cryptography.hazmat.primitives import serialization

        der = self.leaf_cert.public_bytes(serialization.Encoding.DER)
        return jwt.encode(
            claims,
            self.leaf_key,
            algorithm="RS256",
            headers={"x5c": [base64.b64encode(der).decode()]},
        )

    def verify(self, token: str, audience: str) -> dict[str, Any]:
        """The claims of a token this server signed for `audience`; jwt.InvalidTokenError
        (or ValueError) otherwise. exp is required; 5 s of leeway."""
        import jwt

        claims: dict[str, Any] = jwt.decode(
            token,
            self.leaf_cert.public_key(),
            algorithms=["RS256"],
            audience=audience,
            leeway=5,
            options={"require": ["exp", "aud", "iss"]},
        )
        return claims


def load_or_create(directory: str) -> Keys:
    """Read the keys from `directory`, creating what is missing (and a new leaf when the
    old one ends within LEAF_RENEW_DAYS)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    os.makedirs(directory, mode=0o700, exist_ok=True)
    path = {
        n: os.path.join(directory, n)
        for n in ("root.key", "root.pem", "leaf.key", "leaf.pem", "http.secret")
    }
    if not (os.path.exists(path["root.key"]) and os.path.exists(path["root.pem"])):
        root_key = _new_key()
        root = _cert("acrctl data-plane root", root_key, None, root_key, ROOT_DAYS, True)
        _write(path["root.key"], _key_pem(root_key), private=True)
        _write(path["root.pem"], _cert_pem(root))
        for name in ("leaf.key", "leaf.pem"):
            if os.path.exists(path[name]):
                os.unlink(path[name])
    with open(path["root.key"], "rb") as fh:
        root_key = serialization.load_pem_private_key(fh.read(), None)
    with open(path["root.pem"], "rb") as fh:
        root = x509.load_pem_x509_certificate(fh.read())
    leaf = leaf_key = None
    if os.path.exists(path["leaf.key"]) and os.path.exists(path["leaf.pem"]):
        with open(path["leaf.pem"], "rb") as fh:
            leaf = x509.load_pem_x509_certificate(fh.read())
        with open(path["leaf.key"], "rb") as fh:
            leaf_key = serialization.load_pem_private_key(fh.read(), None)
        renew_at = dt.datetime.now(dt.UTC) + dt.timedelta(days=LEAF_RENEW_DAYS)
        if leaf.not_valid_after_utc < renew_at:
            leaf = None
    if leaf is None:
        leaf_key = _new_key()
        leaf = _cert(
            "acrctl data-plane token signer", leaf_key, root.subject, root_key, LEAF_DAYS, False
        )
        _write(path["leaf.key"], _key_pem(leaf_key), private=True)
        _write(path["leaf.pem"], _cert_pem(leaf))
    if not os.path.exists(path["http.secret"]):
        _write(path["http.secret"], secrets.token_urlsafe(32).encode(), private=True)
    with open(path["http.secret"]) as fh:
        secret = fh.read().strip()
    return Keys(directory, root, leaf_key, leaf, secret)
