"""An httpx transport whose every connection goes to an address the destination policy has
just checked (acrctl.delivery_policy): the import of an external image, its token service
and its redirects.

A check of a URL before its request and the connection's own DNS lookup would be two
answers: a name can resolve to an allowed address for the check and to a
refused one (cloud metadata, loopback) a moment later for the connection, DNS rebinding.
Here the network backend resolves the name once per connection, checks every address it
got and connects to those addresses only; TLS still verifies the certificate against the
name, and the connection pool is still keyed by it. The server's own regions (loopback
registries it supervises) are exempt, as they are from the check."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

import httpcore
import httpx

from acrctl.delivery_policy import Policy, Refused

SocketOption = Any  # httpcore's socket option tuples


class CheckedBackend(httpcore.SyncBackend):
    """Connects only to addresses the policy allows, resolved once per connection."""

    def __init__(
        self,
        policy: Policy,
        exempt: Iterable[tuple[str, int]],
        refuse: Callable[[Refused], Exception],
    ) -> None:
        self.policy, self.exempt, self.refuse = policy, set(exempt), refuse

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[SocketOption] | None = None,
    ) -> httpcore.NetworkStream:
        if (host, port) in self.exempt:
            return super().connect_tcp(host, port, timeout, local_address, socket_options)
        literal = f"[{host}]" if ":" in host else host
        deadline = time.monotonic() + timeout if timeout else None  # a slow DNS server
        try:
            target = self.policy.resolve(f"http://{literal}:{port}/", deadline)
        except Refused as exc:
            raise self.refuse(exc) from None
        error: Exception = httpcore.ConnectError(f"{host} has no address")
        for ip in target.addresses:
            try:
                return super().connect_tcp(str(ip), port, timeout, local_address, socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
        raise error


def checked_transport(
    policy: Policy,
    exempt: Iterable[tuple[str, int]],
    refuse: Callable[[Refused], Exception],
) -> httpx.HTTPTransport:
    """httpx's transport with the CheckedBackend under its connection pool (httpx 0.28
    builds the pool in its constructor; the pool is made again here with the same TLS
    defaults and this backend)."""
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=20)  # httpx's own
    transport = httpx.HTTPTransport(limits=limits)
    transport._pool = httpcore.ConnectionPool(  # noqa: SLF001 - see the docstring
        ssl_context=httpx.create_ssl_context(),
        max_connections=limits.max_connections,
        max_keepalive_connections=limits.max_keepalive_connections,
        keepalive_expiry=limits.keepalive_expiry,
        network_backend=CheckedBackend(policy, exempt, refuse),
    )
    return transport
