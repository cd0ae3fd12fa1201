"""TLS for the client: the SSL context a `verify` value stands for, and a server certificate
that failed verification told apart from other connection errors (a retry cannot fix it,
the right CA certificates can).

`verify`: True = the default trust store (SSL_CERT_FILE or SSL_CERT_DIR when set, as httpx
reads them; else certifi's bundle), False = no verification, a path = the CA certificates in
that PEM file (or directory of hashed certificates) and nothing else."""

from __future__ import annotations

import os
import ssl
from typing import Any

from acrctl.client.errors import AcrctlError


def ssl_context(verify: bool | str) -> ssl.SSLContext:
    import httpx

    try:
        if isinstance(verify, bool):
            return httpx.create_ssl_context(verify=verify)
        if os.path.isdir(verify):
            return ssl.create_default_context(capath=verify)
        return ssl.create_default_context(cafile=verify)
    except (OSError, ssl.SSLError) as exc:
        where = (
            verify
            if isinstance(verify, str)
            else (os.environ.get("SSL_CERT_FILE") or os.environ.get("SSL_CERT_DIR") or "certifi")
        )
        reason = getattr(exc, "strerror", None) or str(exc)
        raise AcrctlError(f"Cannot load the CA certificates from '{where}': {reason}.") from None


def verify_failure(exc: BaseException | None) -> ssl.SSLCertVerificationError | None:
    """The certificate verification error behind a connection error, if that is what it is
    (httpx and httpcore chain the ssl error as the cause)."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, ssl.SSLCertVerificationError):
            return exc
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return None


def verify_failed_message(endpoint: str, err: ssl.SSLCertVerificationError) -> str:
    reason = str(err.verify_message or err.reason or err).rstrip(".")
    what = f"The TLS certificate of {endpoint} could not be verified: {reason}."
    if "hostname mismatch" in reason.lower() or "ip address mismatch" in reason.lower():
        return what + (
            " Use the host name (or address) the server's certificate was issued "
            "for in the endpoint URL."
        )
    return what + (
        " If the server uses a private CA, give its CA certificate (PEM): "
        f"'acrctl account login --endpoint {endpoint} --ca-bundle FILE' remembers "
        "it for this endpoint, or set ACRCTL_CA_BUNDLE=FILE. SSL_CERT_FILE and "
        "REQUESTS_CA_BUNDLE are honoured too."
    )


class DeferredTLS:
    """Stands in for the ssl.SSLContext httpx builds from `verify`, and builds it (with
    acrctl.client.tls.ssl_context, httpx's own context for True) on first use. Building it
    reads certifi's CA bundle, ~30 ms of a command's start-up; a client of an http://
    endpoint needs TLS only if the server hands it an https URL (a nextLink or a polling
    URL), so it usually never pays. A CA bundle path becomes a context here too (httpx
    0.28 deprecates `verify=<str>`), and one that cannot be read is a clear error."""

    def __init__(self, verify: bool | str) -> None:
        self._verify = verify
        self._context: Any = None

    def __getattr__(self, name: str) -> Any:  # set_alpn_protocols, wrap_socket, wrap_bio...
        if name.startswith("_"):
            raise AttributeError(name)
        if self._context is None:
            self._context = ssl_context(self._verify)
        return getattr(self._context, name)


def httpx_verify(verify: bool | str) -> Any:
    """What to hand httpx as `verify`: deferred (httpx >= 0.28 takes any context-like
    object), as given otherwise."""
    if verify is False:
        return verify
    import httpx

    major, minor = (int(x) for x in httpx.__version__.split(".")[:2])
    return DeferredTLS(verify) if (major, minor) >= (0, 28) else verify
