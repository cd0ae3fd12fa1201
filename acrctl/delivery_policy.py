"""The webhook destination policy (docs/webhooks.md): only http/https; the host is resolved
once (by a deadline) and the request goes to the resolved address; it is refused if ANY resolved
address is link-local / cloud metadata (always), in a denied network, or local (loopback,
private, CGNAT, ULA) while the policy does not allow local destinations. An IPv6 address
carrying an IPv4 one (mapped, compatible, translated, 6to4, NAT64, Teredo) is checked as the
IPv4 address it carries. Used by the sender (acrctl.delivery), which re-exports its names."""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from acrctl.embedded_ipv4 import embedded_ipv4

if TYPE_CHECKING:
    from acrctl.backend.core import Settings

IP = ipaddress.IPv4Address | ipaddress.IPv6Address
Net = ipaddress.IPv4Network | ipaddress.IPv6Network
THREAD_PREFIX = "acrctl-webhook"


# Never a destination, whatever the policy says: link-local (169.254.169.254 is the cloud
# metadata service of AWS, Azure, GCP, OCI...), other metadata endpoints, "this host",
# multicast and broadcast.
ALWAYS_DENIED: list[tuple[Net, str]] = [
    (ipaddress.ip_network("169.254.0.0/16"), "link-local (cloud metadata range)"),
    (ipaddress.ip_network("fe80::/10"), "IPv6 link-local"),
    (ipaddress.ip_network("100.100.100.200/32"), "a cloud metadata address"),
    (ipaddress.ip_network("fd00:ec2::254/128"), "a cloud metadata address"),
    (ipaddress.ip_network("0.0.0.0/8"), "an unspecified address"),
    (ipaddress.ip_network("::/128"), "an unspecified address"),
    (ipaddress.ip_network("224.0.0.0/4"), "multicast"),
    (ipaddress.ip_network("ff00::/8"), "multicast"),
    (ipaddress.ip_network("255.255.255.255/32"), "broadcast"),
]


class Refused(Exception):
    """The destination may not be contacted (or could not be resolved)."""

    def __init__(self, reason: str, permanent: bool = True) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent


@dataclass
class Target:
    scheme: str
    host: str  # as written in the URI (a name or an address literal)
    port: int
    addresses: list[IP]


def _networks(items: list[str], key: str) -> list[Net]:
    out = []
    for item in items:
        try:
            out.append(ipaddress.ip_network(str(item).strip(), strict=False))
        except ValueError:
            raise ValueError(
                f"the server setting {key} has an invalid network "
                f"'{item}' (expected a CIDR such as 10.0.0.0/8)"
            ) from None
    return out


def _checked_forms(ip: IP) -> list[IP]:
    """What the policy checks for an address: the IPv4 addresses it carries, else itself
    (without an IPv6 zone)."""
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.scope_id:
            ip = ipaddress.IPv6Address(str(ip).split("%", 1)[0])
        return list(embedded_ipv4(ip)) or [ip]
    return [ip]


def _local_kind(ip: IP) -> str:
    if ip.is_loopback:
        return "loopback"
    if isinstance(ip, ipaddress.IPv4Address) and ip in ipaddress.ip_network("100.64.0.0/10"):
        return "carrier-grade NAT"
    if ip.is_private:
        return "private"
    return "non-public"


@dataclass
class Policy:
    """Where deliveries may go. Order: always-denied > `deny` > `allow` > the defaults
    (public addresses allowed unless allow_public is off; local ones only if allow_local)."""

    allow: list[Net] = field(default_factory=list)
    deny: list[Net] = field(default_factory=list)
    allow_local: bool = False
    allow_public: bool = True
    resolver: Callable[..., Any] = socket.getaddrinfo

    @classmethod
    def from_settings(cls, settings: Settings, local_default: bool = False) -> Policy:
        """Settings: webhook_allow / webhook_deny (CIDRs), webhook_allow_local (None: the
        mode's default, False on a server, True embedded), webhook_allow_public."""
        local = settings.webhook_allow_local
        return cls(
            allow=_networks(settings.webhook_allow, "webhook_allow"),
            deny=_networks(settings.webhook_deny, "webhook_deny"),
            allow_local=local_default if local is None else local,
            allow_public=settings.webhook_allow_public,
        )

    def check(self, address: IP) -> str | None:
        """None if the address may be contacted, else why not. An address carrying IPv4
        addresses is allowed only if every one of them is."""
        for ip in _checked_forms(address):
            reason = self._check_one(ip)
            if reason:
                return reason
        return None

    def _check_one(self, ip: IP) -> str | None:
        for net, what in ALWAYS_DENIED:
            if ip in net:
                return f"{ip} is {what} and never allowed"
        for net in self.deny:
            if ip in net:
                return f"{ip} is in the denied network {net} (webhook_deny)"
        if any(ip in net for net in self.allow):
            return None
        if ip.is_global:
            return (
                None
                if self.allow_public
                else (f"{ip} is not in an allowed network (webhook_allow)")
            )
        if self.allow_local:
            return None
        return (
            f"{ip} is a {_local_kind(ip)} address; an operator can allow it with the "
            "server setting webhook_allow or webhook_allow_local"
        )

    def _lookup(self, host: str, port: int, deadline: float | None) -> Any:
        """self.resolver(host, port), given up at `deadline` (time.monotonic()): a slow DNS
        server must not hold a delivery past its attempt's deadline (the lookup thread is
        left to finish on its own)."""
        if deadline is None:
            return self.resolver(host, port, type=socket.SOCK_STREAM)
        box: dict[str, Any] = {}
        done = threading.Event()

        def lookup() -> None:
            try:
                box["infos"] = self.resolver(host, port, type=socket.SOCK_STREAM)
            except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread
                box["error"] = exc
            finally:
                done.set()

        threading.Thread(target=lookup, name=f"{THREAD_PREFIX}-dns", daemon=True).start()
        if not done.wait(max(0.0, deadline - time.monotonic())):
            raise Refused(f"could not resolve the host {host} in time", permanent=False)
        if "error" in box:
            raise box["error"]
        return box["infos"]

    def _addresses(self, host: str, port: int, deadline: float | None = None) -> list[IP]:
        """The host's addresses: itself if it is an address literal, else ONE lookup (the
        request then goes to these addresses, so DNS cannot change its answer between the
        check and the connection)."""
        try:
            return [ipaddress.ip_address(host)]
        except ValueError:
            pass
        try:
            infos = self._lookup(host, port, deadline)
        except (OSError, UnicodeError):
            raise Refused(f"could not resolve the host {host}", permanent=False) from None
        out: list[IP] = []
        for info in infos:
            ip = ipaddress.ip_address(info[4][0])
            if ip not in out:
                out.append(ip)
        if not out:
            raise Refused(f"could not resolve the host {host}", permanent=False)
        return out

    def resolve(self, uri: str, deadline: float | None = None) -> Target:
        """Parse, resolve (by `deadline`, a time.monotonic() value) and check a destination.
        Raises Refused (without the URI)."""
        try:
            p = urlsplit(uri)
            port = p.port
        except ValueError:
            raise Refused("the destination URI is invalid") from None
        if p.scheme not in ("http", "https") or not p.hostname:
            raise Refused("only http and https destinations are allowed")
        host = p.hostname
        port = port or (443 if p.scheme == "https" else 80)
        addresses = self._addresses(host, port, deadline)
        for ip in addresses:
            reason = self.check(ip)
            if reason:
                prefix = "" if reason.startswith(f"{host} ") else f"{host} resolves to "
                raise Refused(f"destination refused: {prefix}{reason}")
        return Target(p.scheme, host, port, addresses)
