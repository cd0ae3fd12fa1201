"""az ad sp: service principals (acrctl's own principal directory)."""

from __future__ import annotations

import time
import uuid
from typing import Any

import click

from acrctl.cli.base import AzGroup
from acrctl.cli.env import Env
from acrctl.cli.options import GreedyOption

CREDENTIALS_WARNING = (
    "The output includes credentials that you must protect. Be sure that you do not include "
    "these credentials in your code or check the credentials into your source control. For "
    "more information, see https://aka.ms/azadsp-cli")


def sp_table(data: Any) -> list[dict[str, Any]]:
    return [{"DisplayName": r.get("displayName"), "AppId": r.get("appId")} for r in data]


def _env() -> Env:
    return click.get_current_context().obj  # type: ignore[no-any-return]


@click.group("ad", cls=AzGroup)
def group() -> None:
    """Manage service principals."""


@group.group("sp", cls=AzGroup)
def sp() -> None:
    """Manage service principals."""


@sp.command("create-for-rbac")
@click.option("-n", "--name", "--display-name", "name", default=None,
              help="Display name of the service principal. Default: "
                   "acrctl-YYYY-MM-DD-HH-MM-SS.")
@click.option("--role", default=None, help="Role (name or id) to grant at every --scopes.")
@click.option("--scopes", cls=GreedyOption, default=None,
              help="Space-separated scopes the role is granted at.")
def create_for_rbac(name: str | None, role: str | None,
                    scopes: tuple[str, ...] | None) -> Any:
    """Create a service principal and optionally grant it a role.

    Its token is printed once, as `password`: store it now.

    \b
    Examples:
      Create a principal that can read everything in the subscription:
        acrctl ad sp create-for-rbac --name ci --role Reader --scopes /subscriptions/<sub>
      Create a principal that can push to one registry:
        acrctl ad sp create-for-rbac --name pusher --role AcrPush \\
          --scopes $(acrctl show -n myregistry --query id -o tsv)
    """
    if bool(role) != bool(scopes):
        raise click.UsageError("To create role assignments, specify both --role and --scopes.")
    env = _env()
    client = env.client()
    name = name or time.strftime("acrctl-%Y-%m-%d-%H-%M-%S", time.gmtime())
    role_id = None
    if role and scopes:
        from acrctl.cli.role import resolve_role

        role_id = resolve_role(client, role, scopes[0])
    principal = client.create_principal(name)
    for scope in scopes or ():
        env.warn(f"Creating '{role}' role assignment under scope '{scope}'")
        client.create_role_assignment(scope, str(uuid.uuid4()), str(role_id), principal.id)
    env.warn(CREDENTIALS_WARNING)
    return {"appId": principal.id, "displayName": principal.display_name,
            "password": principal.token, "tenant": client.subscription}


@sp.command("list", table=sp_table)
@click.option("--display-name", default=None,
              help="Only principals whose display name starts with this.")
def list_(display_name: str | None) -> Any:
    """List service principals.

    \b
    Examples:
      acrctl ad sp list -o table
      acrctl ad sp list --display-name ci --query "[].appId" -o tsv
    """
    found = [p for p in _env().client().list_principals() if p.type == "Application"]
    if display_name:
        found = [p for p in found if p.display_name.lower().startswith(display_name.lower())]
    return [{"appId": p.id, "displayName": p.display_name, "id": p.id} for p in found]
