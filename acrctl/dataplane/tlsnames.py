"""Does the server's TLS certificate name the login servers? With --tls-cert the front
serves every login server (`<name>.<domain>`) and regional endpoint
(`<name>.<region>.geo.<domain>`), and the data endpoints of registries with
dataEndpointEnabled (`<name>.<region>.data.<domain>`), with that one certificate, so
clients refuse any name it lacks; the start-up message says so at once rather than at the
user's first push or pull."""

from __future__ import annotations

SHOWN = 4  # names listed in the warning; the rest are counted


def dns_names(cert_file: str) -> list[str]:
    """The DNS names (subjectAltName) of the first certificate in a PEM file."""
    from cryptography import x509

    with open(cert_file, "rb") as fh:
        leaf = x509.load_pem_x509_certificates(fh.read())[0]
    try:
        san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return []
    return [str(n).lower() for n in san.value.get_values_for_type(x509.DNSName)]


def covered(pattern: str, host: str) -> bool:
    """RFC 6125: a wildcard stands for exactly one whole left-most label."""
    host, pattern = host.lower().rstrip("."), pattern.lower().rstrip(".")
    if not pattern.startswith("*."):
        return pattern == host
    label, _, rest = host.partition(".")
    return bool(label) and rest == pattern[2:]


def login_hosts(
    domain: str, regions: dict[str, set[str]], data: frozenset[str] = frozenset()
) -> list[str]:
    """Every login server, regional endpoint and data endpoint name (no port) of the
    registries in `regions` (region -> registry names; `data`: those with data endpoints
    enabled), or `*.<domain>` when there are none yet."""
    names = {n for regs in regions.values() for n in regs}
    if not names:
        return [f"*.{domain}"]
    regional = {f"{n}.{r}.geo.{domain}" for r, regs in regions.items() for n in regs}
    endpoints = {f"{n}.{r}.data.{domain}" for r, regs in regions.items() for n in regs & data}
    return sorted({f"{n}.{domain}" for n in names}) + sorted(regional) + sorted(endpoints)


def warning(
    cert_file: str, domain: str, regions: dict[str, set[str]], data: frozenset[str] = frozenset()
) -> str | None:
    """What to tell the operator when the certificate misses login-server names."""
    have = dns_names(cert_file)
    hosts = login_hosts(domain, regions, data)
    missing = [h for h in hosts if not any(covered(p, h) for p in have)]
    if not missing:
        return None
    shown = ", ".join(missing[:SHOWN])
    more = f" and {len(missing) - SHOWN} more" if len(missing) > SHOWN else ""
    wanted = ", ".join(
        [
            f"*.{domain}",
            *(f"*.{r}.geo.{domain}" for r in sorted(regions)),
            *(f"*.{r}.data.{domain}" for r in sorted(regions) if regions[r] & data),
        ]
    )
    return (
        f"the TLS certificate does not name {shown}{more}; clients will refuse those "
        f"login servers. Issue it for {wanted} (or pick a --login-domain it names)."
    )
