"""az account: login/logout (server mode), show, list-locations."""

from __future__ import annotations

import getpass
import os
import sys
from typing import TYPE_CHECKING, Any

import click

from acrctl.cli import config
from acrctl.cli.base import AzGroup
from acrctl.cli.env import EMBEDDED, Env

if TYPE_CHECKING:
    from acrctl.client.acr import AcrClient

STORES = click.Choice(["keyring", "file"], case_sensitive=False)
USER_TYPES = {"User": "user", "Application": "servicePrincipal"}


def location_table(data: Any) -> list[dict[str, Any]]:
    rows = data if isinstance(data, list) else [data]
    return [
        {
            "DisplayName": r.get("displayName"),
            "Name": r.get("name"),
            "RegionalDisplayName": r.get("regionalDisplayName"),
        }
        for r in rows
    ]


def _env() -> Env:
    return click.get_current_context().obj  # type: ignore[no-any-return]


@click.group("account", cls=AzGroup)
def group() -> None:
    """Manage the endpoint, login and subscription."""


@group.command("login")
@click.option(
    "--store",
    type=STORES,
    default=None,
    help="Where to keep the token: the OS keyring (default: config "
    "core.token_store, else keyring) or an opt-in 0600 file.",
)
@click.option(
    "--ca-bundle",
    type=click.Path(exists=True, dir_okay=False, resolve_path=True),
    default=None,
    help="CA certificate(s) (PEM) to verify the server's TLS certificate with, "
    "e.g. a private CA's; remembered for this endpoint.",
)
def login(store: str | None, ca_bundle: str | None) -> Any:
    """Log in to an acrctl server with a bearer token.

    The token is read from a hidden prompt in a terminal, else from the first line of stdin;
    never from the command line. It is checked against the server, stored in the OS keyring
    (or a 0600 file with --store file), and the endpoint becomes the default.

    \b
    Examples:
      Log in interactively:
        acrctl account login --endpoint https://acr.example.com:8443
      Log in from a secret in CI, keeping the token in a 0600 file:
        printf '%s\\n' "$ACR_TOKEN" | acrctl account login --endpoint https://acr:8443 \\
          --store file
      Log in to a server whose certificate comes from a private CA:
        acrctl account login --endpoint https://acr.internal:8443 --ca-bundle ca.pem
    """
    env = _env()
    if env.mode == EMBEDDED:
        raise click.UsageError("the following arguments are required: --endpoint")
    endpoint = str(env.endpoint).rstrip("/")
    use_file = _use_file(store)
    if not use_file:  # before the prompt, not after the token was typed
        from acrctl.cli.credentials import usable_keyring

        usable_keyring()
    token = _read_token()
    client = _client(env, endpoint, token, ca_bundle)
    try:
        who = client.whoami()
        subs = client.subscriptions()
    finally:
        client.close()
    from acrctl.cli.credentials import store_token

    where = store_token(endpoint, token, use_file=use_file)
    env.info(f"Token stored in {where}.")
    if ca_bundle:
        config.remember(endpoint, ca_bundle=ca_bundle)
    config.set_value("core.endpoint", endpoint)
    if subs:
        config.set_value("core.subscription", subs[0].subscription_id)
    else:
        config.unset("core.subscription")
        env.warn(
            "No subscription is visible to this principal. Ask the server's "
            "administrator for a role assignment."
        )
    return who


def _use_file(store: str | None) -> bool:
    choice = (store or config.get("core.token_store") or "keyring").lower()
    if choice not in ("keyring", "file"):
        raise click.UsageError(f"core.token_store must be keyring or file, not '{choice}'.")
    return choice == "file"


def _read_token() -> str:
    stdin = sys.stdin
    tty = stdin.isatty()
    token = str(click.prompt("Token", hide_input=True, err=True) if tty else stdin.readline())
    token = token.strip()
    if not token:
        raise click.UsageError("No token was given: type it at the prompt or pipe it on stdin.")
    return token


def _client(env: Env, endpoint: str, token: str, ca_bundle: str | None) -> AcrClient:
    """A client for `endpoint` with the token being logged in (not the stored one)."""
    from acrctl.cli.env import tls_verify
    from acrctl.client.acr import AcrClient

    return AcrClient(
        endpoint, token=token, verify=tls_verify(endpoint, ca_bundle), on_retry=env.warn
    )


@group.command("logout")
def logout() -> None:
    """Forget the stored token of the current endpoint and go back to the embedded backend.

    \b
    Examples:
      acrctl account logout
    """
    env = _env()
    if env.mode == EMBEDDED:
        from acrctl.client.errors import AcrctlError

        raise AcrctlError("There is no login to log out of: no endpoint is configured.")
    from acrctl.cli.credentials import forget_token

    for endpoint in {str(env.endpoint), str(env.endpoint).rstrip("/")}:
        forget_token(endpoint)
    config.unset("core.endpoint")
    config.unset("core.subscription")
    if os.environ.get("ACRCTL_ENDPOINT"):
        env.warn("ACRCTL_ENDPOINT is still set in the environment.")


@group.command("show")
def show() -> Any:
    """Show the subscription and identity in use, in az's shape, plus the endpoint.

    `id` is the subscription id; `user` the principal; in embedded mode `stateFile` is the
    local state file.

    \b
    Examples:
      Show the subscription and the principal:
        acrctl account show
      Print the subscription id:
        acrctl account show --query id -o tsv
    """
    from acrctl.client import paths
    from acrctl.client.arm import RESOURCES_API_VERSION

    env = _env()
    client = env.client()
    sub = client.call("GET", paths.sub(client.subscription), api_version=RESOURCES_API_VERSION)
    if env.mode == EMBEDDED:
        user: dict[str, Any] = {"name": getpass.getuser(), "type": "user"}
    else:
        who = client.whoami()
        user = {
            "name": who.get("displayName"),
            "type": USER_TYPES.get(str(who.get("type")), "servicePrincipal"),
        }
    out = {
        "environmentName": "AzureCloud",
        "homeTenantId": sub.get("tenantId"),
        "id": sub.get("subscriptionId"),
        "isDefault": True,
        "managedByTenants": [],
        "name": sub.get("displayName"),
        "state": sub.get("state"),
        "tenantId": sub.get("tenantId"),
        "user": user,
        # acrctl's own: where the commands go
        "endpoint": env.endpoint if env.mode != EMBEDDED else EMBEDDED,
        "mode": env.mode,
        "subscription": client.subscription,
    }
    if env.mode == EMBEDDED:
        from acrctl.embedded import state_path

        out["stateFile"] = os.path.abspath(state_path())
    return out


@group.command("list-locations", table=location_table)
def list_locations() -> Any:
    """List the regions available to the subscription.

    \b
    Examples:
      acrctl account list-locations -o table
      acrctl account list-locations --query "[?metadata.geography=='Europe'].name" -o tsv
    """
    return _env().client().locations()
