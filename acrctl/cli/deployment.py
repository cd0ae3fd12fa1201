"""az deployment group: create, what-if, show, list, delete (ARM template deployments at a
resource group; the engine is acrctl.backend.deployments)."""

from __future__ import annotations

import sys
from typing import Any

import click

from acrctl.cli.base import AzCommand, AzGroup, color_enabled
from acrctl.cli.config import get as config_get
from acrctl.cli.deployment_template import request_body, strip_json_comments
from acrctl.cli.deployment_whatif import CHANGE_TYPES, exclude_changes, what_if_text
from acrctl.cli.env import Env
from acrctl.cli.options import GreedyOption

__all__ = ["group", "strip_json_comments", "what_if_text"]


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
    name, body = request_body(template_file, parameters, mode, name, no_prompt)
    client = env.client()
    if what_if or confirm:
        result = exclude_changes(client.what_if_deployment(resource_group, name, body), exclude)
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
    name, body = request_body(template_file, parameters, mode, name, no_prompt)
    result = exclude_changes(env.client().what_if_deployment(resource_group, name, body), exclude)
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
