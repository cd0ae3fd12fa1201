"""az acr webhook: create, list, show, update, delete, ping, list-events, get-config, plus
acrctl's wait.

The service URI and custom header values are secrets: only get-config prints them, and
--debug traces redact them (acrctl.client.arm.redact)."""

from __future__ import annotations

from typing import Any

import click

from acrctl.cli.az_models import az_result
from acrctl.cli.base import AzGroup
from acrctl.cli.child_options import greedy_items, resolve_location, target
from acrctl.cli.generic_update import apply_generic, generic_update_options, policy_options
from acrctl.cli.options import (
    group_option,
    name_option,
    no_wait_option,
    parse_pairs,
    registry_option,
)
from acrctl.cli.replication import wait_for, wait_options
from acrctl.cli.webhook_options import (  # noqa: F401
    ACTIONS,
    MANAGED,
    STATUSES,
    WEBHOOK,
    _actions,
    _check_location,
    _props,
    _webhook_options,
    config_table,
    webhook_table,
)
from acrctl.client.errors import AcrctlError


@click.group(
    "webhook",
    cls=AzGroup,
    lazy={
        "list-events": (
            "acrctl.cli.webhook_events:list_events",
            "List the recent events of a webhook, newest first.",
        ),
        "ping": ("acrctl.cli.webhook_events:ping", "Trigger a ping event for a webhook."),
        "redeliver": ("acrctl.cli.webhook_redeliver:redeliver", "Send a past webhook event again."),
    },
)
def group() -> None:
    """Manage webhooks for Azure Container Registries."""


@group.command("create", table=webhook_table)
@name_option("The name of the webhook (5-50 alphanumeric characters).")
@registry_option()
@group_option()
@click.option(
    "-l",
    "--location",
    default=None,
    help="Location: the registry's home or a replica region. Default: the registry's location.",
)
@_webhook_options(create=True)
@policy_options
def create(
    name: str,
    registry: str,
    resource_group: str | None,
    location: str | None,
    uri: str,
    actions: tuple[str, ...],
    headers: tuple[str, ...] | None,
    scope: str | None,
    status: str,
    signing_secret: str | None,
    tags: tuple[str, ...] | None,
    no_wait: bool,
) -> Any:
    """Create a webhook for a registry.

    \b
    Examples:
      Create a webhook that POSTs push and delete events to a service:
        acrctl webhook create -n myhook -r myregistry --uri http://myservice.com \\
          --actions push delete
      Create a webhook with a basic-auth header and a scope:
        acrctl webhook create -n myhook -r myregistry --uri https://myservice.com \\
          --actions push --headers "Authorization=Basic 000000" --scope hello-world
    """
    acts = _actions(actions)
    env, rg, registry = target(registry, resource_group)
    reg = env.client().get_registry(rg, registry)
    if reg.sku.name not in MANAGED:
        raise AcrctlError("Webhooks are only supported for managed registries.")
    where = (
        _check_location(env, rg, registry, reg, resolve_location(location))
        if location
        else reg.location
    )
    body: dict[str, Any] = {
        "location": where,
        "properties": _props(uri, acts, headers, scope, status, signing_secret or None),
    }
    if tags is not None:
        body["tags"] = parse_pairs(greedy_items(tags))
    result = env.client().create_webhook(rg, registry, name, body, wait=not no_wait)
    return None if no_wait else az_result(WEBHOOK, result)


@group.command("list", table=webhook_table)
@registry_option()
@group_option()
def list_(registry: str, resource_group: str | None) -> Any:
    """List the webhooks of a registry.

    \b
    Examples:
      acrctl webhook list -r myregistry -o table
    """
    env, rg, registry = target(registry, resource_group)
    return az_result(WEBHOOK, env.client().list_webhooks(rg, registry))


@group.command("show", table=webhook_table)
@name_option("The name of the webhook.", "webhook")
@registry_option()
@group_option()
def show(name: str, registry: str, resource_group: str | None) -> Any:
    """Get the details of a webhook.

    The service URI and custom headers are secrets and not shown: see get-config.

    \b
    Examples:
      acrctl webhook show -n myhook -r myregistry
    """
    env, rg, registry = target(registry, resource_group)
    return az_result(WEBHOOK, env.client().get_webhook(rg, registry, name))


@group.command("update", table=webhook_table)
@name_option("The name of the webhook.", "webhook")
@registry_option()
@group_option()
@_webhook_options(create=False)
@generic_update_options
@policy_options
def update(
    name: str,
    registry: str,
    resource_group: str | None,
    uri: str | None,
    actions: tuple[str, ...] | None,
    headers: tuple[str, ...] | None,
    scope: str | None,
    status: str | None,
    signing_secret: str | None,
    tags: tuple[str, ...] | None,
    no_wait: bool,
    set_: tuple[tuple[str, ...], ...],
    add: tuple[tuple[str, ...], ...],
    remove: tuple[tuple[str, ...], ...],
    force_string: bool,
) -> Any:
    """Update a webhook: only the given settings change.

    --set/--add/--remove edit the PATCH body, which starts empty; a property name such as
    scope lands under properties. They apply after the other flags.

    \b
    Examples:
      Point a webhook at a new service and clear its headers:
        acrctl webhook update -n myhook -r myregistry --uri http://new.example --headers ''
      Disable a webhook:
        acrctl webhook update -n myhook -r myregistry --status disabled
      Limit a webhook to one repository with a generic update argument:
        acrctl webhook update -n myhook -r myregistry --set "scope=hello-world:*"
    """
    acts = _actions(actions)
    env, rg, registry = target(registry, resource_group)
    patch: dict[str, Any] = {}
    props = _props(uri, acts, headers, scope, status, signing_secret)
    if props:
        patch["properties"] = props
    if tags is not None:
        patch["tags"] = parse_pairs(greedy_items(tags))
    client = env.client()
    apply_generic(
        patch,
        set_,
        add,
        remove,
        force_string,
        current=lambda: client.get_webhook(rg, registry, name).to_arm(),
    )
    result = client.update_webhook(rg, registry, name, patch, wait=not no_wait)
    return None if no_wait else az_result(WEBHOOK, result)


@group.command("delete")
@name_option("The name of the webhook.", "webhook")
@registry_option()
@group_option()
@no_wait_option()
@policy_options
def delete(name: str, registry: str, resource_group: str | None, no_wait: bool) -> None:
    """Delete a webhook. Prints nothing.

    \b
    Examples:
      acrctl webhook delete -n myhook -r myregistry
    """
    env, rg, registry = target(registry, resource_group)
    env.client().delete_webhook(rg, registry, name, wait=not no_wait)


@group.command("get-config", table=config_table)
@name_option("The name of the webhook.", "webhook")
@registry_option()
@group_option()
def get_config(name: str, registry: str, resource_group: str | None) -> Any:
    """Get the service URI and custom headers of a webhook.

    This is the only command that shows them: show, list and --debug traces never do.

    \b
    Examples:
      acrctl webhook get-config -n myhook -r myregistry
    """
    env, rg, registry = target(registry, resource_group)
    return az_result("CallbackConfig", env.client().webhook_config(rg, registry, name))


@group.command("wait")
@name_option("The name of the webhook.", "webhook")
@registry_option()
@group_option()
@wait_options
def wait(
    name: str,
    registry: str,
    resource_group: str | None,
    condition: str | None,
    timeout: float,
    interval: float,
) -> None:
    """Wait until a webhook is created, updated or deleted. Prints nothing.

    \b
    Examples:
      acrctl webhook wait -n myhook -r myregistry --created
      acrctl webhook wait -n myhook -r myregistry --deleted --timeout 60
    """
    env, rg, registry = target(registry, resource_group)
    client = env.client()
    wait_for(
        lambda: client.get_webhook(rg, registry, name),
        condition,
        timeout,
        interval,
        f"webhook '{name}'",
        env._spinner(),
    )
