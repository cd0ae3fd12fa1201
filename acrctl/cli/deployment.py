"""az deployment group: create, what-if, show, list, delete (ARM template deployments at a
resource group; the engine is acrctl.backend.deployments)."""

from __future__ import annotations

import os
import sys
from typing import Any

import click

from acrctl.cli.base import AzCommand, AzGroup, color_enabled
from acrctl.cli.config import get as config_get
from acrctl.cli.env import Env
from acrctl.cli.options import GreedyOption

CHANGE_TYPES = ("Create", "Delete", "Deploy", "Ignore", "Modify", "NoChange", "Unsupported")
SYMBOLS = {
    "Create": "+",
    "Delete": "-",
    "Modify": "~",
    "NoChange": "=",
    "Ignore": "*",
    "Deploy": "!",
    "Unsupported": "x",
    "Array": "~",
}
COLORS = {
    "Create": "32",
    "Delete": "31",
    "Modify": "35",
    "Deploy": "34",
    "Ignore": "90",
    "NoChange": "90",
    "Unsupported": "90",
    "Array": "35",
}
SUMMARY = {
    "Create": "to create",
    "Delete": "to delete",
    "Modify": "to modify",
    "Deploy": "to deploy",
    "NoChange": "no change",
    "Ignore": "to ignore",
    "Unsupported": "unsupported",
}


class Greedy(GreedyOption):
    """GreedyOption for an option with a short and a long name (-p/--parameters). Both
    names share one parser option, which GreedyOption.add_to_parser wraps once per name;
    the second wrap then swallows the values. This wraps it once."""

    def add_to_parser(self, parser: Any, ctx: click.Context) -> None:
        click.Option.add_to_parser(self, parser, ctx)
        name = self.opts[-1]
        opt = parser._long_opt.get(name) or parser._short_opt.get(name)
        original = opt.process

        def process(value: Any, state: Any) -> None:
            values = [value] if isinstance(value, str) and value != "\0" else []
            while state.rargs and not (state.rargs[0].startswith("-") and len(state.rargs[0]) > 1):
                values.append(state.rargs.pop(0))
            original(tuple(values), state)

        opt.process = process


def _env() -> Env:
    return click.get_current_context().obj  # type: ignore[no-any-return]


# -- output: az prints Microsoft.Resources objects with `properties` nested -------------------
def arm_shape(result: Any) -> Any:
    """az's shape of a deployment: the ARM document with `resourceGroup` added (az flattens
    only the container-registry models; `--query properties.outputs` must keep working)."""
    if isinstance(result, list):
        return [arm_shape(r) for r in result]
    if isinstance(result, dict) and isinstance(result.get("id"), str):
        from acrctl.client.views import resource_group_of

        rg = resource_group_of(result["id"])
        return {**result, "resourceGroup": rg} if rg else dict(result)
    return result


class ArmCommand(AzCommand):
    """An AzCommand whose result keeps ARM's nesting (see arm_shape)."""

    shape = staticmethod(arm_shape)


class ArmGroup(AzGroup):
    command_class = ArmCommand


def deployment_table(data: Any) -> list[dict[str, Any]]:
    rows = data if isinstance(data, list) else [data]
    return [
        {
            "Name": r.get("name"),
            "ResourceGroup": r.get("resourceGroup"),
            "State": (r.get("properties") or {}).get("provisioningState"),
            "Timestamp": (r.get("properties") or {}).get("timestamp"),
            "Mode": (r.get("properties") or {}).get("mode"),
        }
        for r in rows
    ]


# -- reading templates and parameters like az ----------------------------------------------------
def strip_json_comments(text: str) -> str:
    """ARM templates may carry // and /* */ comments (az accepts them); strings are kept."""
    out: list[str] = []
    i, n, in_string = 0, len(text), False
    while i < n:
        ch = text[i]
        if in_string:
            out.append(ch)
            if ch == "\\" and i + 1 < n:
                out.append(text[i + 1])
                i += 2
                continue
            in_string = ch != '"'
            i += 1
        elif ch == '"':
            in_string = True
            out.append(ch)
            i += 1
        elif text.startswith("//", i):
            end = text.find("\n", i)
            i = n if end < 0 else end
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            i = n if end < 0 else end + 2
            out.append(" ")
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def read_json(path: str, what: str) -> Any:
    import json

    from acrctl.client.errors import AcrctlError

    if path.lower().endswith((".bicep", ".bicepparam")):
        raise AcrctlError(
            f"Bicep files are not supported: build the JSON template with "
            f"'az bicep build --file {path}' (or 'bicep build') and pass that."
        )
    try:
        with open(path, encoding="utf-8-sig") as f:
            text = f.read()
    except OSError as exc:
        raise AcrctlError(f"Cannot read the {what} '{path}': {exc.strerror}.") from None
    try:
        return json.loads(strip_json_comments(text))
    except ValueError as exc:
        raise AcrctlError(f"Failed to parse the {what} '{path}': {exc}.") from None


def _definitions(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    defs = template.get("parameters") or {}
    return (
        {k.lower(): v for k, v in defs.items() if isinstance(v, dict)}
        if isinstance(defs, dict)
        else {}
    )


def typed_value(name: str, value: str, definition: dict[str, Any]) -> Any:
    """az's `key=value`: the value converted by the template parameter's type."""
    import json

    from acrctl.client.errors import AcrctlError

    kind = str(definition.get("type", "")).lower()
    try:
        if kind in ("object", "array", "secureobject"):
            return json.loads(value)
        if kind == "bool":
            return value.lower() == "true"
        if kind == "int":
            return int(value)
    except ValueError:
        raise AcrctlError(
            f"The value '{value}' of parameter '{name}' is not a valid {kind}."
        ) from None
    return value


def parameter_values(
    items: tuple[tuple[str, ...], ...] | None, template: dict[str, Any]
) -> dict[str, Any]:
    """az's --parameters: each item `@file.json` (a parameters file or a plain object),
    a file path, a JSON object, or `name=value`; later items win."""
    import json

    from acrctl.client.errors import AcrctlError

    defs = _definitions(template)
    out: dict[str, Any] = {}
    for item in (i for group in (items or ()) for i in group if isinstance(i, str)):
        data: Any = None
        if item.startswith("@") or (os.path.isfile(item) and "=" not in item):
            data = read_json(item.lstrip("@"), "parameters file")
        elif item.lstrip().startswith("{"):
            try:
                data = json.loads(item)
            except ValueError as exc:
                raise AcrctlError(f"Unable to parse parameter: {item} ({exc}).") from None
        elif "=" in item:
            key, _, value = item.partition("=")
            d = defs.get(key.lower())
            if d is None:
                allowed = ", ".join(sorted(template.get("parameters") or {}))
                raise AcrctlError(
                    f"unrecognized template parameter '{key}'. Allowed parameters: {allowed}"
                )
            out[key] = {"value": typed_value(key, value, d)}
            continue
        else:
            raise AcrctlError(f"Unable to parse parameter: {item}")
        if (
            isinstance(data, dict)
            and isinstance(data.get("parameters"), dict)
            and ("$schema" in data or "contentVersion" in data)
        ):
            data = data["parameters"]
        if not isinstance(data, dict):
            raise AcrctlError(
                f"Unable to parse parameter: {item} (expected an object of "
                '{"name": {"value": ...}}).'
            )
        out.update(data)
    return out


def prompt_missing(template: dict[str, Any], values: dict[str, Any]) -> None:
    """az's prompt for required parameters without a value (only on a terminal)."""
    given = {k.lower() for k in values}
    for name, d in (template.get("parameters") or {}).items():
        if not isinstance(d, dict) or name.lower() in given or "defaultValue" in d:
            continue
        kind = str(d.get("type", "string")).lower()
        raw = click.prompt(
            f"Please provide {kind} value for '{name}'",
            err=True,
            hide_input=kind.startswith("secure"),
        )
        values[name] = {"value": typed_value(name, raw, d)}


def _request(
    template_file: str, parameters: Any, mode: str, name: str | None, no_prompt: bool
) -> tuple[str, dict[str, Any]]:
    from acrctl.client.errors import AcrctlError

    template = read_json(template_file, "template file")
    if not isinstance(template, dict):
        raise AcrctlError(f"The template file '{template_file}' must hold a JSON object.")
    values = parameter_values(parameters, template)
    if not no_prompt and sys.stdin.isatty():
        prompt_missing(template, values)
    name = name or os.path.splitext(os.path.basename(template_file))[0]
    return name, {
        "properties": {"template": template, "parameters": values, "mode": mode.capitalize()}
    }


# -- what-if, pretty printed like az --------------------------------------------------------
def _fmt(value: Any) -> str:
    import json

    return json.dumps(value, sort_keys=True)


def what_if_text(result: dict[str, Any], scope: str, color: bool = False) -> str:
    """az's what-if report: a legend, then each resource with its symbol and, for a
    Modify, the property changes; then the summary."""
    changes = (result.get("properties") or {}).get("changes") or []

    def paint(kind: str, s: str) -> str:
        return f"\x1b[{COLORS[kind]}m{s}\x1b[0m" if color and kind in COLORS else s

    present = [
        k
        for k in ("Delete", "Create", "Modify", "Deploy", "NoChange", "Ignore", "Unsupported")
        if any(c["changeType"] == k for c in changes)
    ]
    lines = [
        "Note: The result may contain false positive predictions (noise).",
        "",
        "Resource and property changes are indicated with these symbols:",
    ]
    lines += [f"  {paint(k, SYMBOLS[k])} {k}" for k in present]
    lines += ["", "The deployment will update the following scope:", "", f"Scope: {scope}", ""]
    for c in changes:
        kind, rid = c["changeType"], str(c["resourceId"])
        rel = rid.split("/providers/", 1)[1] if "/providers/" in rid else rid
        lines.append(f"  {paint(kind, SYMBOLS.get(kind, '?') + ' ' + rel)}")
        for d in c.get("delta") or []:
            pk = d["propertyChangeType"]
            if pk == "Create":
                change = _fmt(d["after"])
            elif pk == "Delete":
                change = _fmt(d["before"])
            else:
                change = f"{_fmt(d['before'])} => {_fmt(d['after'])}"
            lines.append(f"    {paint(pk, SYMBOLS.get(pk, '~'))} {d['path']}: {change}")
        if c.get("delta"):
            lines.append("")
    if changes and lines[-1] != "":
        lines.append("")
    counts = [
        f"{sum(c['changeType'] == k for c in changes)} {SUMMARY[k]}"
        for k in ("Create", "Delete", "Deploy", "Modify", "NoChange", "Ignore", "Unsupported")
        if any(c["changeType"] == k for c in changes)
    ]
    lines.append(f"Resource changes: {', '.join(counts) or 'no change'}.")
    return "\n".join(lines) + "\n"


def _exclude(result: dict[str, Any], excluded: tuple[str, ...] | None) -> dict[str, Any]:
    drop = {e.lower() for e in (excluded or ()) if isinstance(e, str)}
    unknown = drop - {t.lower() for t in CHANGE_TYPES}
    if unknown:
        from acrctl.client.errors import UsageError

        raise UsageError(
            f"'{sorted(unknown)[0]}' is not a valid change type. Allowed values: "
            f"{', '.join(CHANGE_TYPES)}."
        )
    if not drop:
        return result
    props = dict(result.get("properties") or {})
    props["changes"] = [
        c for c in props.get("changes") or [] if str(c["changeType"]).lower() not in drop
    ]
    return {**result, "properties": props}


def _scope(env: Env, rg: str) -> str:
    return f"/subscriptions/{env.client().subscription}/resourceGroups/{rg}"


# -- the commands ---------------------------------------------------------------------------------
def _default_group() -> str | None:
    return config_get("defaults.group")


def _require_group(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    if value is None and not ctx.resilient_parsing:
        raise click.MissingParameter(ctx=ctx, param=param)
    return value


def rg_option(f: Any) -> Any:
    return click.option(
        "-g",
        "--resource-group",
        "resource_group",
        default=_default_group,
        callback=_require_group,
        help="Name of resource group. Default: config defaults.group.",
    )(f)


def template_options(f: Any) -> Any:
    for decorator in reversed(
        (
            rg_option,
            click.option(
                "-f",
                "--template-file",
                "template_file",
                required=True,
                metavar="PATH",
                help="A JSON ARM template (comments allowed).",
            ),
            click.option(
                "-p",
                "--parameters",
                cls=Greedy,
                multiple=True,
                default=None,
                help="Parameters: @file.json (a parameters file), a JSON object, or "
                "name=value pairs; may be given several times, later values win.",
            ),
            click.option(
                "--mode",
                type=click.Choice(["Incremental", "Complete"], case_sensitive=False),
                default="Incremental",
                show_default=True,
                metavar="[Incremental|Complete]",
                help="Complete also deletes the group's registries, and replications "
                "and webhooks of listed registries, that the template does not list "
                "(never a home replica).",
            ),
            click.option(
                "-n",
                "--name",
                "name",
                default=None,
                help="The deployment name. Default: the template file's name without "
                "its extension.",
            ),
            click.option(
                "--no-prompt",
                is_flag=True,
                default=False,
                help="Do not prompt for missing parameter values (there is never a "
                "prompt without a terminal).",
            ),
            click.option(
                "-x",
                "--what-if-exclude-change-types",
                "exclude",
                cls=Greedy,
                default=None,
                help="Space-separated change types to leave out of the "
                f"what-if result: {', '.join(CHANGE_TYPES)}.",
            ),
        )
    ):
        f = decorator(f)
    return f


@click.group("deployment", cls=AzGroup)
def group() -> None:
    """Manage Azure Resource Manager template deployments."""


@group.group("group", cls=ArmGroup)
def deployment_group() -> None:
    """Manage ARM template deployments at a resource group."""


@deployment_group.command("create", table=deployment_table)
@template_options
@click.option(
    "-w",
    "--what-if",
    "what_if",
    is_flag=True,
    default=False,
    help="Show the changes the deployment would make (what-if) and make none.",
)
@click.option(
    "-c",
    "--confirm-with-what-if",
    "confirm",
    is_flag=True,
    default=False,
    help="Show the what-if result and ask before deploying.",
)
@click.option(
    "--no-wait",
    is_flag=True,
    default=False,
    help="Do not wait for the long-running operation to finish.",
)
def create(
    resource_group: str,
    template_file: str,
    parameters: Any,
    mode: str,
    name: str | None,
    no_prompt: bool,
    exclude: tuple[str, ...] | None,
    what_if: bool,
    confirm: bool,
    no_wait: bool,
) -> Any:
    """Deploy an ARM template to a resource group.

    Deploys Microsoft.ContainerRegistry registries, registries/replications and
    registries/webhooks in dependsOn order, each checked against your permissions as if
    created directly. A failed deployment exits 1 with the failing step's error.

    \b
    Examples:
      Deploy a geo-replicated registry (Azure's quick-start shape):
        acrctl deployment group create -g MyResourceGroup \\
          --template-file azuredeploy.json --parameters acrReplicaLocation=eastus
      Use a parameters file and look at the changes first:
        acrctl deployment group create -g MyResourceGroup -f azuredeploy.json \\
          -p @azuredeploy.parameters.json --what-if
      Make the group match the template exactly (deletes what it does not list):
        acrctl deployment group create -g MyResourceGroup -f layout.json --mode Complete
    """
    env = _env()
    name, body = _request(template_file, parameters, mode, name, no_prompt)
    client = env.client()
    if what_if or confirm:
        result = _exclude(client.what_if_deployment(resource_group, name, body), exclude)
        click.echo(
            what_if_text(result, _scope(env, resource_group), color_enabled(sys.stdout)), nl=False
        )
        if what_if:
            return None
        _confirm("Are you sure you want to execute the deployment?")
    deployed = client.create_deployment(resource_group, name, body, wait=not no_wait)
    return None if no_wait else deployed


def _confirm(question: str) -> None:
    from acrctl.client.errors import AcrctlError

    if not sys.stdin.isatty():
        raise AcrctlError(
            "Unable to prompt for confirmation as no tty available. Drop "
            "--confirm-with-what-if to deploy without confirmation."
        )
    if not click.confirm(question, default=False, err=True):
        raise AcrctlError("Deployment cancelled.")


@deployment_group.command("what-if")
@template_options
@click.option(
    "--no-pretty-print",
    is_flag=True,
    default=False,
    help="Print the what-if result as data (JSON, or --output) instead of the report.",
)
def what_if_(
    resource_group: str,
    template_file: str,
    parameters: Any,
    mode: str,
    name: str | None,
    no_prompt: bool,
    exclude: tuple[str, ...] | None,
    no_pretty_print: bool,
) -> Any:
    """Show the changes a deployment would make, without making them.

    Each resource is Create, Modify (with the changed properties), Delete (Complete mode),
    NoChange or Ignore (exists, not in the template). A step the deployment could not make
    (a permission, a rule of the service) is an error here already.

    \b
    Examples:
      acrctl deployment group what-if -g MyResourceGroup -f azuredeploy.json \\
        -p acrReplicaLocation=westeurope
      Only the changes, as JSON:
        acrctl deployment group what-if -g MyResourceGroup -f azuredeploy.json \\
          -x NoChange Ignore --no-pretty-print
    """
    env = _env()
    name, body = _request(template_file, parameters, mode, name, no_prompt)
    result = _exclude(env.client().what_if_deployment(resource_group, name, body), exclude)
    if no_pretty_print:
        return result
    click.echo(
        what_if_text(result, _scope(env, resource_group), color_enabled(sys.stdout)), nl=False
    )
    return None


@deployment_group.command("show", table=deployment_table)
@rg_option
@click.option("-n", "--name", "name", required=True, help="The deployment name.")
def show(resource_group: str, name: str) -> Any:
    """Get a deployment: its state, parameters, outputs and error.

    \b
    Examples:
      acrctl deployment group show -g MyResourceGroup -n azuredeploy
      The login server the template put out:
        acrctl deployment group show -g MyResourceGroup -n azuredeploy \\
          --query properties.outputs.acrLoginServer.value -o tsv
    """
    return _env().client().get_deployment(resource_group, name)


@deployment_group.command("list", table=deployment_table)
@rg_option
def list_(resource_group: str) -> Any:
    """List the deployments of a resource group.

    \b
    Examples:
      acrctl deployment group list -g MyResourceGroup -o table
    """
    return _env().client().list_deployments(resource_group)


@deployment_group.command("delete")
@rg_option
@click.option("-n", "--name", "name", required=True, help="The deployment name.")
@click.option(
    "--no-wait",
    is_flag=True,
    default=False,
    help="Do not wait for the long-running operation to finish.",
)
def delete(resource_group: str, name: str, no_wait: bool) -> None:
    """Delete a deployment from the group's history (its resources stay).

    \b
    Examples:
      acrctl deployment group delete -g MyResourceGroup -n azuredeploy
    """
    _env().client().delete_deployment(resource_group, name, wait=not no_wait)
