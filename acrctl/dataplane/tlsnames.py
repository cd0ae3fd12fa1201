"""Does the server's TLS certificate name the login servers? With --tls-cert the front
serves every login server (`<name>.<domain>`) and regional endpoint
(`<name>.<region>.geo.<domain>`) with that one certificate, so clients refuse any name it
lacks; the start-up message says so at once rather than at the user's first push."""

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


def login_hosts(domain: str, regions: dict[str, set[str]]) -> list[str]:
    """Every login server and regional endpoint name (no port) of the registries in
    `regions` (region -> registry names), or `*.<domain>` when there are none yet."""
    names = {n for regs in regions.values() for n in regs}
    if not names:
        return [f"*.{domain}"]
    regional = {f"{n}.{r}.geo.{domain}" for r, regs in regions.items() for n in regs}
    return sorted({f"{n}.{domain}" for n in names}) + sorted(regional)


def warning(cert_file: str, domain: str, regions: dict[str, set[str]]) -> str | None:
    """What to tell the operator when the certificate misses login-server names."""
    have = dns_names(cert_file)
    missing = [h for h in login_hosts(domain, regions) if not any(covered(p, h) for p in have)]
    if not missing:
        return None
    shown = ", ".join(missing[:SHOWN])
    more = f" and {len(missing) - SHOWN} more" if len(missing) > SHOWN else ""
    wanted = ", ".join([f"*.{domain}", *(f"*.{r}.geo.{domain}" for r in sorted(regions))])
    return (
        f"the TLS certificate does not name {shown}{more}; clients will refuse those "
        f"login servers. Issue it for {wanted} (or pick a --login-domain it names)."
    )
