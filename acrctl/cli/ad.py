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
    "more information, see https://aka.ms/azadsp-cli"
)


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
@click.option(
    "-n",
    "--name",
    "--display-name",
    "name",
    default=None,
    help="Display name of the service principal. Default: acrctl-YYYY-MM-DD-HH-MM-SS.",
)
@click.option("--role", default=None, help="Role (name or id) to grant at every --scopes.")
@click.option(
    "--scopes",
    cls=GreedyOption,
    default=None,
    help="Space-separated scopes the role is granted at.",
)
@click.option(
    "--years",
    type=click.IntRange(min=1),
    default=None,
    help="Number of years for which the credentials will be valid. Default: the "
    "server's token lifetime (1 year unless its operator changed it).",
)
def create_for_rbac(
    name: str | None, role: str | None, scopes: tuple[str, ...] | None, years: int | None
) -> Any:
    """Create a service principal and optionally grant it a role.

    Its token is printed once, as `password`: store it now. It expires after --years
    (default: the server's token lifetime, 1 year); renew it with `acrctl ad sp credential
    reset`.

    \b
    Examples:
      Create a principal that can read everything in the subscription:
        acrctl ad sp create-for-rbac --name ci --role Reader --scopes /subscriptions/<sub>
      Create a principal that can push to one registry, valid for two years:
        acrctl ad sp create-for-rbac --name pusher --role AcrPush --years 2 \\
          --scopes $(acrctl show -n myregistry --query id -o tsv)
    """
    if bool(role) != bool(scopes):
        raise click.UsageError("To create role assignments, specify both --role and --scopes.")
    end_date = _years_from_now(years) if years else None
    env = _env()
    client = env.client()
    name = name or time.strftime("acrctl-%Y-%m-%d-%H-%M-%S", time.gmtime())
    role_id = None
    if role and scopes:
        from acrctl.cli.role import resolve_role

        role_id = resolve_role(client, role, scopes[0])
    principal = client.create_principal(name, end_date=end_date)
    for scope in scopes or ():
        env.warn(f"Creating '{role}' role assignment under scope '{scope}'")
        client.create_role_assignment(scope, str(uuid.uuid4()), str(role_id), principal.id)
    env.warn(CREDENTIALS_WARNING)
    return {
        "appId": principal.id,
        "displayName": principal.display_name,
        "password": principal.token,
        "tenant": client.subscription,
    }


@sp.command("list", table=sp_table)
@click.option(
    "--display-name", default=None, help="Only principals whose display name starts with this."
)
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


@sp.command("delete")
@click.option(
    "--id",
    "id_",
    required=True,
    metavar="ID",
    help="The service principal's appId, or its display name.",
)
def delete(id_: str) -> Any:
    """Delete a service principal, its credentials and its role assignments.

    Its tokens stop working at once. The last Owner of the subscription (at first the
    server's bootstrap admin) cannot be deleted: make another principal Owner first.

    \b
    Examples:
      acrctl ad sp delete --id ci
      acrctl ad sp delete --id 00000000-0000-0000-0000-000000000000
    """
    client = _env().client()
    client.delete_principal(_resolve(client, id_))
    return None


@sp.group("credential", cls=AzGroup)
def credential() -> None:
    """Manage a service principal's credentials."""


@credential.command("reset")
@click.option(
    "--id",
    "id_",
    required=True,
    metavar="ID",
    help="The service principal's appId, or its display name.",
)
@click.option(
    "--append",
    is_flag=True,
    default=False,
    help="Append the new credential instead of overwriting: the old ones stay valid.",
)
@click.option(
    "--years",
    type=click.IntRange(min=1),
    default=None,
    help="Number of years for which the credential will be valid. Default: the "
    "server's token lifetime (1 year unless its operator changed it).",
)
@click.option(
    "--end-date",
    default=None,
    metavar="DATE",
    help="Finer grain of expiry time if '--years' is insufficient (wins over it), "
    "e.g. '2027-12-31T11:59:59+00:00' or '2027-12-31' (UTC).",
)
def credential_reset(id_: str, append: bool, years: int | None, end_date: str | None) -> Any:
    """Reset a service principal's credential: a new token, printed once as `password`.

    Without --append every earlier token of the principal stops working at once (revoke
    a leaked token this way); with it they stay valid until they expire. The server's
    admin (`--id admin`) can rotate its own token the same way.

    \b
    Examples:
      Rotate the token of the principal named ci:
        acrctl ad sp credential reset --id ci
      Add a second token valid until the end of 2027, keeping the current one:
        acrctl ad sp credential reset --id ci --append --end-date 2027-12-31
    """
    env = _env()
    client = env.client()
    if end_date is None and years:
        end_date = _years_from_now(years)
    doc = client.reset_principal_credential(_resolve(client, id_), append, end_date)
    env.warn(CREDENTIALS_WARNING)
    return {"appId": doc["id"], "password": doc["token"], "tenant": client.subscription}


def _resolve(client: Any, identifier: str) -> str:
    """A principal's id from its id or its (unique) display name, as az resolves --id."""
    from acrctl.client.errors import AcrctlError, NotFoundError

    found = client.list_principals()
    for p in found:
        if p.id.lower() == identifier.lower():
            return str(p.id)
    named = [p for p in found if p.display_name.lower() == identifier.lower()]
    if len(named) > 1:
        raise AcrctlError(
            f"More than one service principal is named '{identifier}'; use "
            "its appId (acrctl ad sp list --display-name "
            f"'{identifier}' -o table)."
        )
    if not named:
        raise NotFoundError(f"Service principal '{identifier}' doesn't exist.")
    return str(named[0].id)


def _years_from_now(years: int) -> str:
    """The UTC time `years` calendar years from now (29 February becomes the 28th)."""
    import datetime as dt

    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    if now.year + years > 9999:
        raise click.BadParameter("the end date would be after 9999-12-31.", param_hint="'--years'")
    day = 28 if (now.month, now.day) == (2, 29) else now.day
    return now.replace(year=now.year + years, day=day).strftime("%Y-%m-%dT%H:%M:%SZ")
