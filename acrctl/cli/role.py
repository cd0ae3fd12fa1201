"""az role: role definitions and role assignments."""

from __future__ import annotations

import json
import os
import re
import unicodedata
import uuid
from typing import TYPE_CHECKING, Any

import click

from acrctl.cli.base import AzGroup
from acrctl.cli.env import Env, flatten
from acrctl.cli.options import GreedyOption
from acrctl.client.errors import AcrctlError

if TYPE_CHECKING:
    from acrctl.client.acr import AcrClient

GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)
ASSIGNMENTS = "/providers/microsoft.authorization/roleassignments/"


def definition_table(data: Any) -> list[dict[str, Any]]:
    return [
        {"Name": r.get("roleName"), "Type": r.get("roleType"), "Description": r.get("description")}
        for r in data
    ]


def assignment_table(data: Any) -> list[dict[str, Any]]:
    return [
        {
            "Principal": r.get("principalName"),
            "Role": r.get("roleDefinitionName"),
            "Scope": r.get("scope"),
        }
        for r in data
    ]


def _env() -> Env:
    return click.get_current_context().obj  # type: ignore[no-any-return]


def sub_scope(client: AcrClient) -> str:
    return f"/subscriptions/{client.subscription}"


def _guid(ref: str) -> str:
    return ref.rstrip("/").rsplit("/", 1)[-1].lower()


def _name_key(name: str) -> str:
    """Role names compare as the server compares them (acrctl.backend.roles.name_key): no
    case, white space trimmed and collapsed, Unicode compatibility forms folded."""
    return " ".join(unicodedata.normalize("NFKC", name).split()).casefold()


def resolve_role(client: AcrClient, role: str, scope: str) -> str:
    """A role name or id to the role definition id (az's error messages)."""
    if GUID.match(_guid(role)):
        return role
    # only exact matches: a filter the server read differently must not pick another role
    found = [
        d
        for d in client.list_role_definitions(scope, role)
        if _name_key(str(d.properties.get("roleName"))) == _name_key(role)
    ]
    if not found:
        raise AcrctlError(f"Role '{role}' doesn't exist.")
    if len(found) > 1:
        raise AcrctlError(
            f"More than one role matches the given name '{role}'. Please pick "
            f"an id from '{[d.id for d in found]}'"
        )
    return found[0].id


def resolve_assignee(client: AcrClient, assignee: str) -> str:
    """A principal id, or a display name looked up in the principal directory."""
    if GUID.match(assignee):
        return assignee
    found = [p.id for p in client.list_principals() if p.display_name.lower() == assignee.lower()]
    if not found:
        raise AcrctlError(
            f"Cannot find user or service principal in graph database for '{assignee}'."
        )
    if len(found) > 1:
        raise AcrctlError(
            f"More than one principal is named '{assignee}'. Use one of their "
            f"ids: {', '.join(found)}"
        )
    return found[0]


@click.group("role", cls=AzGroup)
def group() -> None:
    """Manage role definitions and role assignments."""


@group.group("definition", cls=AzGroup)
def definition() -> None:
    """Manage role definitions."""


@definition.command("list", table=definition_table)
@click.option("-n", "--name", default=None, help="A role's name or id.")
@click.option("--scope", default=None, help="Scope to list at. Default: the subscription.")
@click.option("--custom-role-only", is_flag=True, default=False, help="Only custom roles.")
def definition_list(name: str | None, scope: str | None, custom_role_only: bool) -> Any:
    """List role definitions (built-in and custom).

    \b
    Examples:
      acrctl role definition list --name Reader
      acrctl role definition list --custom-role-only -o table
    """
    client = _env().client()
    docs = [flatten(d.to_arm()) for d in client.list_role_definitions(scope or sub_scope(client))]
    if name:
        docs = [
            d
            for d in docs
            if _name_key(name) == _name_key(str(d.get("roleName")))
            or _guid(name) == str(d.get("name")).lower()
        ]
    if custom_role_only:
        docs = [d for d in docs if d.get("roleType") == "CustomRole"]
    return docs


@definition.command("create")
@click.option(
    "--role-definition",
    required=True,
    metavar="JSON|@FILE",
    help="The role as JSON, or @path to a JSON file: Name, Description, Actions, "
    "NotActions, AssignableScopes.",
)
def definition_create(role_definition: str) -> Any:
    """Create a custom role definition.

    \b
    Examples:
      acrctl role definition create --role-definition @registry-reader.json
      acrctl role definition create --role-definition '{"Name": "Registry Reader",
        "Actions": ["Microsoft.ContainerRegistry/registries/read"],
        "AssignableScopes": ["/subscriptions/00000000-0000-0000-0000-000000000000"]}'
    """
    spec = _camel(_load_json(role_definition))
    name = spec.get("name") or spec.get("roleName")
    if not name:
        raise AcrctlError("please provide role name")
    scopes = spec.get("assignableScopes")
    if not scopes:
        raise AcrctlError("please provide 'assignableScopes'")
    perms = {
        "actions": spec.get("actions") or [],
        "notActions": spec.get("notActions") or [],
        "dataActions": spec.get("dataActions") or [],
        "notDataActions": spec.get("notDataActions") or [],
    }
    body = {
        "properties": {
            "roleName": name,
            "description": spec.get("description", ""),
            "type": "CustomRole",
            "permissions": [perms],
            "assignableScopes": scopes,
        }
    }
    return _env().client().create_role_definition(scopes[0], str(uuid.uuid4()), body)


def _load_json(value: str) -> Any:
    if value.startswith("@") or os.path.isfile(value):
        path = value[1:] if value.startswith("@") else value
        try:
            with open(os.path.expanduser(path)) as fh:
                value = fh.read()
        except OSError as exc:
            raise AcrctlError(f"Cannot read '{path}': {exc.strerror}.") from None
    try:
        data = json.loads(value)
    except ValueError as exc:
        raise AcrctlError(
            f"Failed to parse string as JSON:\n{value}\nError detail: {exc}"
        ) from None
    if not isinstance(data, dict):
        raise AcrctlError("The role definition must be a JSON object.")
    return data


def _camel(spec: dict[str, Any]) -> dict[str, Any]:
    """az accepts `Name`, `Actions`, ...: lower the first letter of every key."""
    return {k[:1].lower() + k[1:]: v for k, v in spec.items()}


@group.group("assignment", cls=AzGroup)
def assignment() -> None:
    """Manage role assignments."""


@assignment.command("create")
@click.option("--assignee", required=True, help="The principal's id or display name.")
@click.option("--role", required=True, help="Role name or id.")
@click.option("--scope", default=None, help="Scope of the assignment. Default: the subscription.")
def assignment_create(assignee: str, role: str, scope: str | None) -> Any:
    """Grant a principal a role at a scope.

    \b
    Examples:
      Let the principal "ci" read everything in the subscription:
        acrctl role assignment create --assignee ci --role Reader
      Let it push to one registry:
        acrctl role assignment create --assignee ci --role AcrPush \\
          --scope $(acrctl show -n myregistry --query id -o tsv)
    """
    client = _env().client()
    scope = scope or sub_scope(client)
    role_id = resolve_role(client, role, scope)
    pid = resolve_assignee(client, assignee)
    return client.create_role_assignment(scope, str(uuid.uuid4()), role_id, pid)


@assignment.command("list", table=assignment_table)
@click.option("--assignee", default=None, help="Only this principal's (id or display name).")
@click.option("--scope", default=None, help="Scope to list at. Default: the subscription.")
@click.option(
    "--all",
    "all_",
    is_flag=True,
    default=False,
    help="Also show assignments above and below the scope.",
)
def assignment_list(assignee: str | None, scope: str | None, all_: bool) -> Any:
    """List role assignments, with role and principal names filled in.

    By default only assignments made exactly at the scope are shown; --all shows every
    assignment that applies at, above or below it.

    \b
    Examples:
      acrctl role assignment list --assignee ci -o table
      acrctl role assignment list --all
    """
    client = _env().client()
    found = _assignments(client, assignee, scope, all_)
    if not found:
        return []
    roles = {
        _guid(d.id): d.properties.get("roleName")
        for d in client.list_role_definitions(sub_scope(client))
    }
    names = {p.id: p.display_name for p in client.list_principals()}
    return [
        {
            **d,
            "roleDefinitionName": roles.get(_guid(str(d.get("roleDefinitionId")))),
            "principalName": names.get(str(d.get("principalId"))),
        }
        for d in found
    ]


def _assignments(
    client: AcrClient, assignee: str | None, scope: str | None, all_: bool
) -> list[dict[str, Any]]:
    target = (scope or sub_scope(client)).rstrip("/") or "/"
    pid = resolve_assignee(client, assignee) if assignee else None
    docs = [flatten(a.to_arm()) for a in client.list_role_assignments(target, pid)]
    if all_:
        return docs
    return [d for d in docs if str(d.get("scope")).lower() == target.lower()]


@assignment.command("delete")
@click.option("--assignee", default=None, help="The principal's id or display name.")
@click.option("--role", default=None, help="Only assignments of this role (name or id).")
@click.option("--scope", default=None, help="Scope of the assignments. Default: the subscription.")
@click.option("--ids", cls=GreedyOption, default=None, help="Space-separated assignment ids.")
def assignment_delete(
    assignee: str | None, role: str | None, scope: str | None, ids: tuple[str, ...] | None
) -> None:
    """Delete role assignments, by principal (and role, scope) or by id.

    \b
    Examples:
      acrctl role assignment delete --assignee ci --role Reader
      acrctl role assignment delete --ids <assignment-id>
    """
    if ids and (assignee or role or scope):
        raise click.UsageError(
            "When assignment ids are used, other parameter values are not required"
        )
    if not ids and not assignee:
        raise click.UsageError("Please provide either --ids or --assignee.")
    env = _env()
    client = env.client()
    targets = [_split_id(i) for i in ids] if ids else _matching(client, assignee, role, scope)
    if not targets:
        env.warn("No matched assignments were found to delete")
    for target_scope, guid in targets:
        client.delete_role_assignment(target_scope, guid)


def _matching(
    client: AcrClient, assignee: str | None, role: str | None, scope: str | None
) -> list[tuple[str, str]]:
    found = _assignments(client, assignee, scope, False)
    if role:
        wanted = _guid(resolve_role(client, role, scope or sub_scope(client)))
        found = [d for d in found if _guid(str(d.get("roleDefinitionId"))) == wanted]
    return [_split_id(str(d["id"])) for d in found]


def _split_id(rid: str) -> tuple[str, str]:
    at = rid.lower().find(ASSIGNMENTS)
    if at < 0 or not rid[at + len(ASSIGNMENTS) :].strip("/"):
        raise click.UsageError(f"'{rid}' is not a role assignment id.")
    return rid[:at] or "/", rid[at + len(ASSIGNMENTS) :].strip("/")
