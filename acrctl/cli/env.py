"""Env: one command invocation's settings (global options resolved against the
environment and config), its client, and its stderr channels (warnings, debug, spinner)."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

from acrctl.cli import config

if TYPE_CHECKING:
    from acrctl.client.acr import AcrClient

EMBEDDED = "embedded"


class Env:
    def __init__(
        self,
        output: str | None = None,
        query: str | None = None,
        debug: bool = False,
        verbose: bool = False,
        only_show_errors: bool = False,
        subscription: str | None = None,
        endpoint: str | None = None,
    ) -> None:
        if only_show_errors and (debug or verbose):
            from acrctl.client.errors import UsageError

            raise UsageError("--only-show-errors can't be used together with --debug or --verbose")
        self.output = (output or config.get("core.output") or "json").lower()
        self.query = query
        self.debug = debug
        self.verbose = verbose
        self.only_show_errors = only_show_errors
        self.subscription = subscription or config.get("core.subscription")
        self.endpoint = endpoint or config.get("core.endpoint")
        self._client: AcrClient | None = None
        self._spin = 0

    # -- stderr --------------------------------------------------------------------------
    def warn(self, message: str) -> None:
        if not self.only_show_errors:
            click.echo(f"WARNING: {message}", err=True)

    def info(self, message: str) -> None:
        if self.verbose or self.debug:
            click.echo(f"INFO: {message}", err=True)

    def _debug(self, message: str) -> None:
        click.echo(f"DEBUG: acrctl.client: {message}", err=True)

    def _spinner(self) -> Callable[[str], None] | None:
        if self.only_show_errors or not sys.stderr.isatty():
            return None

        def tick(status: str) -> None:
            self._spin += 1
            glyph = "-\\|/"[self._spin % 4]
            sys.stderr.write(f"\x1b[K {glyph} Running ..\r")  # az's label
            sys.stderr.flush()

        return tick

    # -- the client ------------------------------------------------------------------------
    @property
    def mode(self) -> str:
        return "server" if self.endpoint and self.endpoint != EMBEDDED else EMBEDDED

    def client(self) -> AcrClient:
        if self._client is None:
            self._client = self._make_client()
        return self._client

    def _make_client(self) -> AcrClient:
        from acrctl.client.acr import AcrClient

        kw: dict[str, Any] = {
            "typed": False,  # ArmView results: no pydantic import (start-up time)
            "debug": self._debug if self.debug else None,
            "on_retry": self.warn,
            "on_poll": self._spinner(),
        }
        if self.mode == EMBEDDED:
            from acrctl import embedded

            transport, sub = embedded.transport()
            self.info(f"Using the embedded backend at {embedded.state_path()}")
            return AcrClient(
                "https://embedded.acrctl",
                subscription=self.subscription or sub,
                transport=transport,
                **kw,
            )
        from acrctl.cli.credentials import load_token

        token = load_token(str(self.endpoint))
        if token is None:
            from acrctl.client.errors import AcrctlError

            raise AcrctlError(
                f"No token is stored for {self.endpoint}. Log in with 'acrctl "
                f"account login --endpoint {self.endpoint}', or set ACRCTL_TOKEN."
            )
        verify = tls_verify(str(self.endpoint))
        from acrctl.client.stdlib_transport import StdlibTransport, proxies_configured

        if not proxies_configured():  # http.client, not httpcore: ~25 ms less start-up
            kw["transport"] = StdlibTransport(verify)
        return AcrClient(
            str(self.endpoint), subscription=self.subscription, token=token, verify=verify, **kw
        )

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
        if self._spin:
            sys.stderr.write("\x1b[K")
            sys.stderr.flush()

    # -- output -----------------------------------------------------------------------------
    def emit(
        self,
        result: Any,
        table: Callable[[Any], list[dict[str, Any]]] | None,
        shape: Callable[[Any], Any] | None = None,
    ) -> None:
        from acrctl.cli.base import color_enabled
        from acrctl.cli.output import render

        text = render(
            (shape or az_shape)(result),
            self.output,
            self.query,
            table,
            color=color_enabled(sys.stdout),
        )
        if text:
            click.echo(text, nl=False)


def tls_verify(endpoint: str, ca_bundle: str | None = None) -> bool | str:
    """How to verify the server's TLS certificate: False (ACRCTL_INSECURE) or the CA bundle
    of, in this order, the --ca-bundle flag, ACRCTL_CA_BUNDLE, the bundle remembered for
    this endpoint at login, REQUESTS_CA_BUNDLE; else True (SSL_CERT_FILE or SSL_CERT_DIR
    when set, else certifi's bundle)."""
    if ca_bundle is None and os.environ.get("ACRCTL_INSECURE", "").lower() in ("1", "true", "yes"):
        return False
    sources = [
        ("--ca-bundle", ca_bundle),
        ("ACRCTL_CA_BUNDLE", os.environ.get("ACRCTL_CA_BUNDLE")),
        (
            f"remembered for {endpoint.rstrip('/')} at login",
            config.endpoint_settings(endpoint).get("ca_bundle"),
        ),
        ("REQUESTS_CA_BUNDLE", os.environ.get("REQUESTS_CA_BUNDLE")),
    ]
    for source, path in sources:
        if path:
            if not os.path.exists(path):
                from acrctl.client.errors import AcrctlError

                raise AcrctlError(f"The CA bundle '{path}' ({source}) does not exist.")
            return path
    return True


def flatten(doc: dict[str, Any]) -> dict[str, Any]:
    """az's shape of a resource: `properties` lifted to the top, `resourceGroup` added."""
    out = {k: v for k, v in doc.items() if k != "properties"}
    props = doc.get("properties")
    if isinstance(props, dict):
        out.update({k: v for k, v in props.items() if k not in out})
    rid = doc.get("id")
    if isinstance(rid, str) and "/resourcegroups/" in rid.lower():
        parts = rid.split("/")
        low = [p.lower() for p in parts]
        out["resourceGroup"] = parts[low.index("resourcegroups") + 1]
    return out


def az_shape(result: Any) -> Any:
    if result is None:
        return None
    if hasattr(result, "to_arm"):
        result = result.to_arm()
    if isinstance(result, list):
        return [az_shape(r) for r in result]
    if isinstance(result, dict) and "id" in result and "properties" in result:
        return flatten(result)
    return result


def group_for(env: Env, registry: str, resource_group: str | None) -> str:
    """-g if given, else az's auto-discovery of the registry's resource group."""
    return resource_group or env.client().registry_group(registry)
