"""`acrctl completion bash|zsh|fish`: print the shell completion script.

The scripts are Click's own (the same text `_ACRCTL_COMPLETE=bash_source acrctl` prints);
pre-generated copies ship in completions/ (`python -m acrctl.cli.docs --write`)."""

from __future__ import annotations

import click

PROG = "acrctl"
COMPLETE_VAR = "_ACRCTL_COMPLETE"
SHELLS = ("bash", "zsh", "fish")


def script(shell: str) -> str:
    """The completion script for `shell`, as Click generates it for the root command."""
    from click.shell_completion import get_completion_class

    from acrctl.cli.main import cli

    cls = get_completion_class(shell)
    if cls is None or shell not in SHELLS:
        raise click.BadParameter(f"unsupported shell '{shell}'", param_hint="SHELL")
    return cls(cli, {}, PROG, COMPLETE_VAR).source()


@click.command("completion", context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("shell", type=click.Choice(SHELLS), metavar="SHELL")
def completion(shell: str) -> None:
    """Print a shell completion script.

    Prints the script for SHELL (bash, zsh or fish). It completes commands, options and
    choices, plus live registry, replication, webhook, resource group and location names
    from the configured backend. Bash needs 4.4 or newer. Loading a pre-generated file
    starts faster than running this in every new shell.

    \b
    Examples:
      Enable completion in the current bash session:
        source <(acrctl completion bash)
      Install for bash:
        acrctl completion bash > ~/.local/share/bash-completion/completions/acrctl
      Install for zsh (a directory on $fpath):
        acrctl completion zsh > "${fpath[1]}/_acrctl"
      Install for fish:
        acrctl completion fish > ~/.config/fish/completions/acrctl.fish
    """
    click.echo(script(shell), nl=False)
