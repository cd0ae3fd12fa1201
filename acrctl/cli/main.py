"""The `acrctl` root command: az acr's top level plus the neighbouring groups.
Subcommands load lazily, so start-up pays only for the command that runs."""

from __future__ import annotations

import sys

import click

from acrctl import __version__
from acrctl.cli.base import RootGroup

R = "acrctl.cli.registry"
COMMANDS: dict[str, tuple[str, str]] = {
    "create": (f"{R}:create", "Create an Azure Container Registry."),
    "show": (f"{R}:show", "Get the details of an Azure Container Registry."),
    "list": (f"{R}:list_", "List container registries."),
    "update": (
        f"{R}:update",
        "Update an Azure Container Registry (tier, admin user, network access, tags).",
    ),
    "delete": (f"{R}:delete", "Delete an Azure Container Registry."),
    "show-usage": (
        f"{R}:show_usage",
        "Get the storage, webhook and geo-replication usage of a registry.",
    ),
    "show-endpoints": (
        "acrctl.cli.endpoints:show_endpoints",
        "Display registry endpoints including data endpoints.",
    ),
    "check-name": (f"{R}:check_name", "Check whether a registry name is valid and available."),
    "replication": (
        "acrctl.cli.replication:group",
        "Manage geo-replicated regions of Azure Container Registries.",
    ),
    "webhook": ("acrctl.cli.webhook:group", "Manage webhooks for Azure Container Registries."),
    "import": (
        "acrctl.cli.importcmd:import_",
        "Import an image to a registry from another registry; it then replicates.",
    ),
    "credential": (
        "acrctl.cli.credential:group",
        "Manage login credentials for Azure Container Registries.",
    ),
    "login": (
        "acrctl.cli.login:login",
        "Log in to an Azure Container Registry through the Docker config.",
    ),
    "repository": (
        "acrctl.cli.repository:group",
        "Manage repositories (image names) in Azure Container Registries.",
    ),
    "manifest": (
        "acrctl.cli.manifest:group",
        "Manage artifact manifests in Azure Container Registries.",
    ),
    "deployment": ("acrctl.cli.deployment:group", "Manage ARM template deployments."),
    "group": ("acrctl.cli.group:group", "Manage resource groups."),
    "role": ("acrctl.cli.role:group", "Manage role definitions and role assignments."),
    "ad": ("acrctl.cli.ad:group", "Manage service principals."),
    "account": ("acrctl.cli.account:group", "Manage the endpoint, login and subscription."),
    "config": ("acrctl.cli.configcmd:group", "Manage acrctl's defaults."),
    "configure": (
        "acrctl.cli.configure:configure",
        "Set the defaults used when -r/-n, -g or -l is left out.",
    ),
    "server": ("acrctl.cli.server:server", "Run the acrctl management server."),
    "admin": ("acrctl.cli.admin:group", "Operator commands: failure drills."),
    "monitor": ("acrctl.cli.monitor:group", "Monitor the management activity log."),
    "completion": ("acrctl.cli.completion:completion", "Print a shell completion script."),
}


@click.group("acrctl", cls=RootGroup, lazy=COMMANDS)
@click.version_option(__version__, "--version", prog_name="acrctl")
def cli() -> None:
    """Manage geo-replicated container registries: a drop-in for `az acr`.

    With no endpoint configured, acrctl works on an embedded backend with a local state
    file. Point it at an `acrctl server` with --endpoint, ACRCTL_ENDPOINT or
    `acrctl account login`.

    \b
    Examples:
      acrctl group create -n MyResourceGroup -l westus
      acrctl create -n myregistry -g MyResourceGroup --sku Premium
      acrctl replication create -r myregistry -l eastus
      acrctl replication list -r myregistry -o table
    """


def main() -> None:
    # httpx imports its own command line (httpx._main: rich, pygments) whenever rich is
    # installed; acrctl never runs it, and not importing it saves ~50 ms of start-up. A None
    # entry makes httpx take its "CLI dependencies missing" branch. Only this process's
    # entry point does this: library users of acrctl.client get httpx untouched.
    sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
    cli(prog_name="acrctl")
