"""The IPv4 addresses an IPv6 address carries. A packet to such an address may reach the
IPv4 address inside it (through a dual-stack host, a 6to4 relay, a NAT64 gateway, a Teredo
relay), so the webhook destination policy checks that IPv4 address (acrctl.delivery)."""

from __future__ import annotations

import ipaddress

__all__ = ["embedded_ipv4"]

NAT64 = ipaddress.ip_network("64:ff9b::/96")  # RFC 6052 well-known prefix
NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")  # RFC 8215 local-use prefix
TRANSLATED = ipaddress.ip_network("::ffff:0:0:0/96")  # RFC 2765 IPv4-translated
COMPATIBLE = ipaddress.ip_network("::/96")  # RFC 4291 IPv4-compatible (deprecated)


def _rfc6052(ip: ipaddress.IPv6Address, prefix: int) -> ipaddress.IPv4Address | None:
    """The IPv4 address after a NAT64 prefix of `prefix` bits (RFC 6052 2.2: bits 64-71,
    the "u" octet, are skipped), or None when the address cannot be of that format (a
    non-zero u octet or suffix) or would carry 0.0.0.0/8 (zero padding, not an address)."""
    n = int(ip)
    if prefix == 96:
        v4 = n & 0xFFFFFFFF
    else:
        squeezed = (n >> 64) << 56 | (n & ((1 << 56) - 1))  # 120 bits, without the u octet
        suffix = 120 - prefix - 32
        if (n >> 56) & 0xFF or squeezed & ((1 << suffix) - 1):
            return None
        v4 = (squeezed >> suffix) & 0xFFFFFFFF
    return ipaddress.IPv4Address(v4) if v4 >> 24 else None


def embedded_ipv4(ip: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries (a packet to it may reach them): mapped
    ::ffff:a.b.c.d, translated ::ffff:0:a.b.c.d, NAT64 64:ff9b::/96 and every RFC 6052
    format that fits inside 64:ff9b:1::/48, 6to4 2002::/16, Teredo 2001::/32 (the client,
    stored inverted, and the server) and IPv4-compatible ::a.b.c.d. [] if it carries none."""
    if ip.ipv4_mapped is not None:
        return [ip.ipv4_mapped]
    if ip in TRANSLATED or ip in NAT64:
        return [ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)]
    if ip in NAT64_LOCAL:  # the operator's prefix length is unknown: every format that fits
        return list(
            dict.fromkeys(v4 for n in (48, 56, 64, 96) if (v4 := _rfc6052(ip, n)) is not None)
        )
    if ip.sixtofour is not None:
        return [ip.sixtofour]
    if ip.teredo is not None:
        server, client = ip.teredo
        return [client, server]
    if ip in COMPATIBLE and int(ip) > 1:  # not :: and ::1, which have rules of their own
        return [ipaddress.IPv4Address(int(ip))]
    return []
