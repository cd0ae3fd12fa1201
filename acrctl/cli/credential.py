"""`acrctl credential show|renew`: the registry admin user (az acr credential)."""

from __future__ import annotations

from typing import Any

import click

from acrctl.cli.base import AzGroup
from acrctl.cli.env import Env, group_for
from acrctl.cli.options import AzChoice, group_option, normalize_registry, registry_name_option

DISABLED = "UnAuthorizedForCredentialOperations"


def credential_table(data: Any) -> list[dict[str, Any]]:
    rows = data if isinstance(data, list) else [data]
    out = []
    for r in rows:
        pw = {p.get("name"): p.get("value") for p in r.get("passwords") or []}
        out.append(
            {
                "USERNAME": r.get("username"),
                "PASSWORD": pw.get("password"),
                "PASSWORD2": pw.get("password2"),
            }
        )
    return out


def _env() -> Env:
    return click.get_current_context().obj  # type: ignore[no-any-return]


def _call(name: str, resource_group: str | None, password_name: str | None) -> Any:
    from acrctl.client.errors import AcrctlError, ServiceError

    env = _env()
    name = normalize_registry(name) or name
    rg = group_for(env, name, resource_group)
    try:
        if password_name is None:
            return env.client().list_credentials(rg, name)
        return env.client().regenerate_credential(rg, name, password_name)
    except ServiceError as exc:
        if exc.code != DISABLED:
            raise
        raise AcrctlError(
            f"Run 'acrctl update -n {name} --admin-enabled true' to enable admin first."
        ) from None


@click.group("credential", cls=AzGroup)
def group() -> None:
    """Manage login credentials for Azure Container Registries (the admin user).

    \b
    Examples:
      acrctl update -n myregistry --admin-enabled true
      acrctl credential show -n myregistry
    """


@group.command("show", table=credential_table)
@registry_name_option()
@group_option()
def show(name: str, resource_group: str | None) -> Any:
    """Get the login credentials of the registry's admin user.

    The admin user must be enabled (`acrctl update -n NAME --admin-enabled true`).

    \b
    Examples:
      Get the login credentials:
        acrctl credential show -n myregistry
      Get the username only:
        acrctl credential show -n myregistry --query username
      Get a password:
        acrctl credential show -n myregistry --query "passwords[0].value"
    """
    return _call(name, resource_group, None)


@group.command("renew", table=credential_table)
@registry_name_option()
@click.option(
    "--password-name",
    required=True,
    type=AzChoice(("password", "password2")),
    help="The name of password to regenerate.",
)
@group_option()
def renew(name: str, password_name: str, resource_group: str | None) -> Any:
    """Regenerate a login password of the registry's admin user.

    The other password keeps working, so clients can move over without downtime.

    \b
    Examples:
      Renew the second password:
        acrctl credential renew -n myregistry --password-name password2
    """
    return _call(name, resource_group, password_name)
