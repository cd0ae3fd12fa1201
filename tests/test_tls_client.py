"""The CLI against an HTTPS server whose certificate comes from a private CA (trustme): a
certificate that fails verification is reported once, with the fix, never retried; the CA
bundle comes from `account login --ca-bundle` (remembered for the endpoint),
ACRCTL_CA_BUNDLE, REQUESTS_CA_BUNDLE or SSL_CERT_FILE."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme
from click.testing import CliRunner

from acrctl.cli import config
from acrctl.cli.main import cli
from acrctl.server.serve import ServerConfig, ThreadedServer

TOKEN = "acr_tls_client_token_9b2f4e71"


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ThreadedServer, str]]:
    """A TLS server for 127.0.0.1 and the path of its CA's certificate."""
    tmp: Path = tmp_path_factory.mktemp("tls-client")
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    ca_pem, chain, key = tmp / "ca.pem", tmp / "server.pem", tmp / "server.key"
    ca.cert_pem.write_to_path(str(ca_pem))
    for i, blob in enumerate(cert.cert_chain_pems):
        blob.write_to_path(str(chain), append=i > 0)
    cert.private_key_pem.write_to_path(str(key))
    server = ThreadedServer(
        ServerConfig(
            tls_cert=str(chain), tls_key=str(key), admin_token=TOKEN, database=str(tmp / "state.db")
        ),
        deliver=False,
    )
    server.start()
    yield server, str(ca_pem)
    server.server.force_exit = True
    server.stop()


@pytest.fixture(autouse=True)
def no_tls_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in (
        "ACRCTL_CA_BUNDLE",
        "ACRCTL_INSECURE",
        "REQUESTS_CA_BUNDLE",
        "SSL_CERT_FILE",
        "SSL_CERT_DIR",
        "http_proxy",
        "https_proxy",
        "all_proxy",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
    ):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def handshakes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every TLS connection the client starts (the server side uses wrap_bio)."""
    seen: list[str] = []
    wrap = ssl.SSLContext.wrap_socket

    def counting(self: ssl.SSLContext, *args: Any, **kw: Any) -> ssl.SSLSocket:
        seen.append(str(kw.get("server_hostname")))
        return wrap(self, *args, **kw)

    monkeypatch.setattr(ssl.SSLContext, "wrap_socket", counting)
    return seen


def run(*args: str, input: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), input=input)
    return result.exit_code, result.stdout, result.stderr


def login(url: str, *extra: str) -> tuple[int, str, str]:
    return run("account", "login", "--endpoint", url, "--store", "file", *extra, input=f"{TOKEN}\n")


def untrusted(url: str) -> str:
    return (
        f"ERROR: The TLS certificate of {url} could not be verified: unable to get "
        "local issuer certificate. If the server uses a private CA, give its CA "
        f"certificate (PEM): 'acrctl account login --endpoint {url} --ca-bundle FILE' "
        "remembers it for this endpoint, or set ACRCTL_CA_BUNDLE=FILE. SSL_CERT_FILE "
        "and REQUESTS_CA_BUNDLE are honoured too.\n"
    )


def test_login_to_an_untrusted_certificate_fails_once_and_says_how_to_fix_it(
    tls: tuple[ThreadedServer, str], handshakes: list[str]
) -> None:
    server, _ = tls
    assert login(server.url) == (1, "", untrusted(server.url))
    assert handshakes == ["127.0.0.1"]  # one attempt, no retry
    assert config.get("core.endpoint") is None


def test_a_command_to_an_untrusted_certificate_fails_once_too(
    tls: tuple[ThreadedServer, str], handshakes: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    server, _ = tls
    monkeypatch.setenv("ACRCTL_TOKEN", TOKEN)
    assert run("list", "--endpoint", server.url) == (1, "", untrusted(server.url))
    assert handshakes == ["127.0.0.1"]


def test_login_ca_bundle_is_remembered_for_later_commands(tls: tuple[ThreadedServer, str]) -> None:
    server, ca_pem = tls
    code, _, err = login(server.url, "--ca-bundle", ca_pem)
    assert (code, err) == (0, "")
    assert config.endpoint_settings(server.url)["ca_bundle"] == ca_pem
    assert run("list") == (0, "[]\n", "")  # no variable names the bundle


@pytest.mark.parametrize("var", ["ACRCTL_CA_BUNDLE", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE"])
def test_the_ca_bundle_variables_are_honoured(
    tls: tuple[ThreadedServer, str], monkeypatch: pytest.MonkeyPatch, var: str
) -> None:
    server, ca_pem = tls
    monkeypatch.setenv(var, ca_pem)
    monkeypatch.setenv("ACRCTL_TOKEN", TOKEN)
    assert run("list", "--endpoint", server.url) == (0, "[]\n", "")


def test_a_missing_ca_bundle_is_named(
    tls: tuple[ThreadedServer, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    server, _ = tls
    missing = str(tmp_path / "gone.pem")
    monkeypatch.setenv("ACRCTL_CA_BUNDLE", missing)
    monkeypatch.setenv("ACRCTL_TOKEN", TOKEN)
    assert run("list", "--endpoint", server.url) == (
        1,
        "",
        f"ERROR: The CA bundle '{missing}' (ACRCTL_CA_BUNDLE) does not exist.\n",
    )


def test_a_host_name_the_certificate_does_not_name(
    tls: tuple[ThreadedServer, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    server, ca_pem = tls
    url = server.url.replace("127.0.0.1", "localhost")
    monkeypatch.setenv("ACRCTL_CA_BUNDLE", ca_pem)
    monkeypatch.setenv("ACRCTL_TOKEN", TOKEN)
    assert run("list", "--endpoint", url) == (
        1,
        "",
        f"ERROR: The TLS certificate of {url} could not be verified: Hostname "
        "mismatch, certificate is not valid for 'localhost'. Use the host name (or "
        "address) the server's certificate was issued for in the endpoint URL.\n",
    )
