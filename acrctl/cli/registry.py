"""az acr's top level: create, show, list, update, delete, show-usage, check-name."""

from __future__ import annotations

import re
import sys
from typing import Any

import click

from acrctl.cli.az_models import az_cell, az_result, az_table_datetime
from acrctl.cli.base import AzCommand
from acrctl.cli.env import Env, group_for
from acrctl.cli.generic_update import apply_generic, generic_update_options, policy_options
from acrctl.cli.options import (
    AzChoice,
    bool_option,
    group_option,
    location_option,
    name_option,
    no_wait_option,
    normalize_registry,
    parse_pairs,
    registry_name_option,
    tags_option,
    three_state,
)

SKU = AzChoice(("Basic", "Standard", "Premium"))  # az's order
REGISTRY = "Registry"  # the SDK model az prints (acrctl.cli.az_models)


def registry_table(data: Any) -> list[dict[str, Any]]:
    rows = data if isinstance(data, list) else [data]
    return [
        {
            "NAME": az_cell(r, "name"),
            "RESOURCE GROUP": az_cell(r, "resourceGroup"),
            "LOCATION": az_cell(r, "location"),
            "SKU": az_cell(r, "sku", "name"),
            "LOGIN SERVER": az_cell(r, "loginServer"),
            "CREATION DATE": az_table_datetime(az_cell(r, "creationDate")),
            "ADMIN ENABLED": az_cell(r, "adminUserEnabled"),
        }
        for r in rows
    ]


def usage_table(data: Any) -> list[dict[str, Any]]:
    return [
        {
            "NAME": az_cell(u, "name"),
            "LIMIT": az_cell(u, "limit"),
            "CURRENT VALUE": az_cell(u, "currentValue"),
            "UNIT": az_cell(u, "unit"),
        }
        for u in data.get("value", [])
    ]


def _env() -> Env:
    return click.get_current_context().obj  # type: ignore[no-any-return]


@click.command("create", cls=AzCommand, table=registry_table)
@name_option("The name of the container registry. It must be 5-50 alphanumeric characters.")
@group_option(required=True)
@click.option("--sku", type=SKU, required=True, help="The SKU of the container registry.")
@location_option("Location. Default: config defaults.location, else the resource group's.")
@bool_option("--admin-enabled", help="Enable the admin user. Default: false.")
@tags_option()
@click.option(
    "--zone-redundancy",
    type=AzChoice(("Disabled", "Enabled")),
    default=None,
    help="Zone redundancy (Premium only).",
)
@no_wait_option()
@policy_options
def create(
    name: str,
    resource_group: str,
    sku: str,
    location: str | None,
    admin_enabled: str | None,
    tags: tuple[str, ...] | None,
    zone_redundancy: str | None,
    no_wait: bool,
) -> Any:
    """Create an Azure Container Registry.

    \b
    Examples:
      Create a Premium registry:
        acrctl create -n myregistry -g MyResourceGroup --sku Premium
      Create a Standard registry with the admin user enabled:
        acrctl create -n myregistry -g MyResourceGroup --sku Standard --admin-enabled true
    """
    env = _env()
    _check_new_name(name)
    client = env.client()
    location = location or client.get_group(resource_group).location
    sku = sku.capitalize()
    body: dict[str, Any] = {
        "location": location,
        "sku": {"name": sku},
        "properties": {"adminUserEnabled": bool(three_state(admin_enabled))},
    }
    if tags is not None:
        body["tags"] = parse_pairs(tags)
    if zone_redundancy:
        env.warn(
            "Argument '--zone-redundancy' is in preview and under development. "
            "Reference and support levels: https://aka.ms/CLI_refstatus"
        )
        body["properties"]["zoneRedundancy"] = zone_redundancy.capitalize()
    result = client.create_registry(resource_group, name, body, wait=not no_wait)
    return None if no_wait else az_result(REGISTRY, result)


def _check_new_name(name: str) -> None:
    """az's two name checks of `acr create` (a runtime error, exit 1, as in az); the service
    checks the rest."""
    from acrctl.client.errors import AcrctlError

    if re.match(r"\w*[A-Z]\w*", name):
        raise AcrctlError("argument error: Registry name must use only lowercase.")
    if re.match(r"\w*[-]\w*", name):
        raise AcrctlError("argument error: Registry name cannot contain dashes.")


@click.command("show", cls=AzCommand, table=registry_table)
@registry_name_option()
@group_option()
def show(name: str, resource_group: str | None) -> Any:
    """Get the details of an Azure Container Registry.

    \b
    Examples:
      Get the login server of a registry:
        acrctl show -n myregistry --query loginServer
    """
    env = _env()
    name = normalize_registry(name) or name
    return az_result(
        REGISTRY, env.client().get_registry(group_for(env, name, resource_group), name)
    )


@click.command("list", cls=AzCommand, table=registry_table)
@group_option()
def list_(resource_group: str | None) -> Any:
    """List container registries.

    \b
    Examples:
      List registries in a resource group as a table:
        acrctl list -g MyResourceGroup -o table
      List every registry in the subscription:
        acrctl list
    """
    return az_result(REGISTRY, _env().client().list_registries(resource_group))


@click.command("update", cls=AzCommand, table=registry_table)
@registry_name_option()
@group_option()
@click.option("--sku", type=SKU, default=None, help="The SKU to move to (upgrade or downgrade).")
@bool_option("--admin-enabled", help="Enable or disable the admin user.")
@bool_option("--anonymous-pull-enabled", help="Allow anonymous (unauthenticated) pulls.")
@bool_option("--data-endpoint-enabled", help="Enable dedicated data endpoints (Premium).")
@click.option(
    "--public-network-enabled",
    is_flag=False,
    flag_value="true",
    default=None,
    metavar="[true|false]",
    help="Allow public network access.",
)
@click.option(
    "--default-action",
    type=AzChoice(("Allow", "Deny")),
    default=None,
    help="Default network rule action (Premium only).",
)
@tags_option()
@no_wait_option()
@generic_update_options
@policy_options
def update(
    name: str,
    resource_group: str | None,
    sku: str | None,
    admin_enabled: str | None,
    anonymous_pull_enabled: str | None,
    data_endpoint_enabled: str | None,
    public_network_enabled: str | None,
    default_action: str | None,
    tags: tuple[str, ...] | None,
    no_wait: bool,
    set_: tuple[tuple[str, ...], ...],
    add: tuple[tuple[str, ...], ...],
    remove: tuple[tuple[str, ...], ...],
    force_string: bool,
) -> Any:
    """Update an Azure Container Registry (tier, admin user, network access, tags).

    --set/--add/--remove edit the PATCH body, which starts empty; a property name such as
    adminUserEnabled lands under properties. They apply after the other flags.

    \b
    Examples:
      Upgrade a registry to Premium:
        acrctl update -n myregistry --sku Premium
      Turn on the admin user and set tags:
        acrctl update -n myregistry --admin-enabled true --tags team=infra env=prod
      The same with generic update arguments:
        acrctl update -n myregistry --set adminUserEnabled=true tags.team=infra
      Allow an IP address (Premium), then remove the first IP rule:
        acrctl update -n myregistry --add networkRuleSet.ipRules value=1.2.3.4
        acrctl update -n myregistry --remove networkRuleSet.ipRules 0
    """
    env = _env()
    name = normalize_registry(name) or name
    rg = group_for(env, name, resource_group)
    patch: dict[str, Any] = {}
    props: dict[str, Any] = {}
    if sku:
        patch["sku"] = {"name": sku.capitalize()}
    for key, raw in (
        ("adminUserEnabled", admin_enabled),
        ("anonymousPullEnabled", anonymous_pull_enabled),
        ("dataEndpointEnabled", data_endpoint_enabled),
    ):
        if raw is not None:
            props[key] = three_state(raw)
    if public_network_enabled is not None:
        enabled = three_state(public_network_enabled)
        props["publicNetworkAccess"] = "Enabled" if enabled else "Disabled"
        if not enabled:
            env.warn("Disabling the public endpoint overrides all firewall configurations.")
    if default_action:
        props["networkRuleSet"] = {"defaultAction": default_action.capitalize()}
    if props:
        patch["properties"] = props
    if tags is not None:
        patch["tags"] = parse_pairs(tags)
    client = env.client()
    apply_generic(
        patch,
        set_,
        add,
        remove,
        force_string,
        current=lambda: client.get_registry(rg, name).to_arm(),
    )
    if "sku" in patch:
        patch["sku"] = _checked_sku(patch["sku"])
    result = client.update_registry(rg, name, patch, wait=not no_wait)
    return None if no_wait else az_result(REGISTRY, result)


def _checked_sku(sku: Any) -> Any:
    """az's setter check of a SKU given through --set (any case accepted here)."""
    allowed = ["Basic", "Standard", "Premium"]
    name = sku.get("name") if isinstance(sku, dict) else None
    for choice in allowed:
        if isinstance(name, str) and name.lower() == choice.lower():
            return {**sku, "name": choice}
    from acrctl.client.errors import AcrctlError

    raise AcrctlError(
        f"Please specify SKU by '--sku SKU' or '--set sku.name=SKU'. Allowed SKUs: {allowed}"
    )


@click.command("delete", cls=AzCommand)
@registry_name_option()
@group_option()
@click.option("-y", "--yes", is_flag=True, default=False, help="Do not prompt for confirmation.")
@no_wait_option()
@policy_options
def delete(name: str, resource_group: str | None, yes: bool, no_wait: bool) -> None:
    """Delete an Azure Container Registry.

    \b
    Examples:
      Delete a registry without a prompt:
        acrctl delete -n myregistry --yes
    """
    env = _env()
    name = normalize_registry(name) or name
    if not yes:
        confirm(f"Are you sure you want to delete the registry '{name}'?")
    env.client().delete_registry(group_for(env, name, resource_group), name, wait=not no_wait)


def confirm(question: str) -> None:
    """az's y/n prompt; without a TTY it fails at once instead of hanging."""
    from acrctl.client.errors import AcrctlError

    if not sys.stdin.isatty():
        raise AcrctlError("Unable to prompt for confirmation as no tty available. Use --yes.")
    while True:
        try:
            answer = (
                click.prompt(f"{question} (y/n)", default="", show_default=False, err=True)
                .strip()
                .lower()
            )
        except click.Abort:  # Ctrl-C or end of input: the error goes on a line of its own
            click.echo(err=True)
            raise
        if answer in ("y", "n"):
            break
    if answer == "n":
        raise AcrctlError("Operation cancelled.")


@click.command("show-usage", cls=AzCommand, table=usage_table)
@registry_name_option()
@group_option()
def show_usage(name: str, resource_group: str | None) -> Any:
    """Get the storage, webhook and geo-replication usage of a registry.

    \b
    Examples:
      Show usages as a table:
        acrctl show-usage -n myregistry -o table
      Show only the webhook count:
        acrctl show-usage -n myregistry --query "value[?name=='Webhooks'] | [0]"
    """
    env = _env()
    name = normalize_registry(name) or name
    usages = env.client().registry_usages(group_for(env, name, resource_group), name)
    return az_result("RegistryUsageListResult", {"value": [u.to_arm() for u in usages]})


@click.command("check-name", cls=AzCommand)
@name_option("The name of the container registry.")
def check_name(name: str) -> Any:
    """Check whether a registry name is valid and available.

    \b
    Examples:
      Check a name:
        acrctl check-name -n doesthisnameexist
    """
    return az_result("RegistryNameStatus", _env().client().check_name(name))
