"""acrctl.dataplane.tlsnames: the start-up warning when the server's TLS certificate does not
name the login servers or regional endpoints (certificates from trustme)."""

from __future__ import annotations

from pathlib import Path

import pytest
import trustme

from acrctl.dataplane import tlsnames

DOMAIN = "acrctl.test"


def cert_file(tmp_path: Path, *names: str) -> str:
    path = tmp_path / "chain.pem"
    cert = trustme.CA().issue_cert(*names)
    for i, blob in enumerate(cert.cert_chain_pems):
        blob.write_to_path(str(path), append=i > 0)
    return str(path)


@pytest.mark.parametrize(
    ("pattern", "host", "expected"),
    [
        ("*.acrctl.test", "contoso.acrctl.test", True),
        ("*.acrctl.test", "contoso.westus.geo.acrctl.test", False),  # one label only
        ("*.acrctl.test", "acrctl.test", False),
        ("Contoso.ACRCTL.test", "contoso.acrctl.test", True),
        ("contoso.acrctl.test", "fabrikam.acrctl.test", False),
    ],
)
def test_covered_follows_rfc_6125_wildcards(pattern: str, host: str, expected: bool) -> None:
    assert tlsnames.covered(pattern, host) is expected


def test_a_certificate_for_the_domain_and_regions_gets_no_warning(tmp_path: Path) -> None:
    path = cert_file(tmp_path, "127.0.0.1", f"*.{DOMAIN}", f"*.westus.geo.{DOMAIN}")
    assert tlsnames.warning(path, DOMAIN, {"westus": {"contoso"}}) is None


def test_missing_regional_endpoints_are_named(tmp_path: Path) -> None:
    path = cert_file(tmp_path, f"*.{DOMAIN}", f"*.eastus.geo.{DOMAIN}")
    regions = {"eastus": {"contoso"}, "westus": {"contoso", "fabrikam"}}
    assert tlsnames.warning(path, DOMAIN, regions) == (
        "the TLS certificate does not name contoso.westus.geo.acrctl.test, "
        "fabrikam.westus.geo.acrctl.test; clients will refuse those login servers. Issue "
        "it for *.acrctl.test, *.eastus.geo.acrctl.test, *.westus.geo.acrctl.test (or pick "
        "a --login-domain it names)."
    )


def test_a_certificate_for_another_host_names_no_login_server(tmp_path: Path) -> None:
    path = cert_file(tmp_path, "acr.example.com")
    regions = {"eastus": {"a", "b", "c"}}
    assert tlsnames.warning(path, DOMAIN, regions) == (
        "the TLS certificate does not name a.acrctl.test, b.acrctl.test, c.acrctl.test, "
        "a.eastus.geo.acrctl.test and 2 more; clients will refuse those login servers. "
        "Issue it for *.acrctl.test, *.eastus.geo.acrctl.test (or pick a --login-domain "
        "it names)."
    )


def test_without_registries_the_wildcard_is_checked(tmp_path: Path) -> None:
    assert tlsnames.warning(cert_file(tmp_path, f"*.{DOMAIN}"), DOMAIN, {}) is None
    assert tlsnames.warning(cert_file(tmp_path, "contoso.acrctl.test"), DOMAIN, {}) == (
        "the TLS certificate does not name *.acrctl.test; clients will refuse those login "
        "servers. Issue it for *.acrctl.test (or pick a --login-domain it names)."
    )


def test_missing_data_endpoints_are_named(tmp_path: Path) -> None:
    path = cert_file(tmp_path, f"*.{DOMAIN}", f"*.westus.geo.{DOMAIN}")
    regions = {"westus": {"contoso", "fabrikam"}}
    assert tlsnames.warning(path, DOMAIN, regions, frozenset({"contoso"})) == (
        "the TLS certificate does not name contoso.westus.data.acrctl.test; clients will "
        "refuse those login servers. Issue it for *.acrctl.test, *.westus.geo.acrctl.test, "
        "*.westus.data.acrctl.test (or pick a --login-domain it names)."
    )


def test_a_certificate_naming_the_data_endpoints_gets_no_warning(tmp_path: Path) -> None:
    names = (f"*.{DOMAIN}", f"*.westus.geo.{DOMAIN}", f"*.westus.data.{DOMAIN}")
    path = cert_file(tmp_path, *names)
    assert tlsnames.warning(path, DOMAIN, {"westus": {"contoso"}}, frozenset({"contoso"})) is None
