"""The command classes every acrctl command uses.

AzCommand adds az's global options (-o, --query, --debug, --verbose, --only-show-errors,
--subscription, --endpoint) to each leaf command, builds the Env, and hands whatever the
command returns to the one output layer. AzGroup loads subcommands lazily, so `--help` and
every command import only what they need. RootGroup maps errors to exit codes in one place."""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

import click

from acrctl.cli.env import Env

OUTPUTS = ("json", "jsonc", "yaml", "yamlc", "table", "tsv", "none")


def _global_params() -> list[click.Parameter]:
    return [
        click.Option(["-o", "--output"], type=click.Choice(OUTPUTS, case_sensitive=False),
                     default=None, help="Output format. Default: json (config core.output)."),
        click.Option(["--query"], default=None, metavar="JMESPATH",
                     help="JMESPath query applied to the result before formatting."),
        click.Option(["--debug"], is_flag=True, default=False,
                     help="Log HTTP traffic on stderr (secrets redacted)."),
        click.Option(["--verbose"], is_flag=True, default=False,
                     help="More progress information on stderr."),
        click.Option(["--only-show-errors"], is_flag=True, default=False,
                     help="Only show errors, suppressing warnings and progress."),
        click.Option(["--subscription"], default=None,
                     help="Subscription id (default: the configured or first visible one)."),
        click.Option(["--endpoint"], default=None, metavar="URL",
                     help="Management endpoint (default: ACRCTL_ENDPOINT, the login, or "
                          "the embedded backend)."),
    ]


GLOBAL_NAMES = ("output", "query", "debug", "verbose", "only_show_errors", "subscription",
                "endpoint")


class AzCommand(click.Command):
    # how a result is shaped before output: az's flattening by default
    shape: Callable[[Any], Any] | None = None

    def __init__(self, *args: Any, table: Callable[[Any], list[dict[str, Any]]] | None = None,
                 **kwargs: Any) -> None:
        kwargs.setdefault("context_settings", {"help_option_names": ["-h", "--help"]})
        super().__init__(*args, **kwargs)
        self.table = table
        self.params.extend(_global_params())

    def invoke(self, ctx: click.Context) -> Any:
        opts = {k: ctx.params.pop(k) for k in GLOBAL_NAMES}
        env = Env(**opts)
        ctx.obj = env
        ctx.meta["acrctl.env"] = env
        try:
            result = super().invoke(ctx)
        finally:
            env.close()
        env.emit(result, self.table, type(self).shape)
        return None


class AzGroup(click.Group):
    """A group whose subcommands live in modules named by `lazy`:
    {name: ("module:attribute", "short help")}."""

    command_class = AzCommand

    def __init__(self, *args: Any, lazy: dict[str, tuple[str, str]] | None = None,
                 **kwargs: Any) -> None:
        kwargs.setdefault("context_settings", {"help_option_names": ["-h", "--help"]})
        super().__init__(*args, **kwargs)
        self.lazy = lazy or {}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(self.lazy))

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.lazy and name not in self.commands:
            module, _, attr = self.lazy[name][0].partition(":")
            cmd = getattr(importlib.import_module(module), attr)
            self.add_command(cmd, name)
        return super().get_command(ctx, name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = []
        for name in self.list_commands(ctx):
            if name in self.lazy:  # same text whether or not the module is loaded
                rows.append((name, self.lazy[name][1]))
                continue
            cmd = self.get_command(ctx, name)
            if cmd is not None and not cmd.hidden:
                rows.append((name, cmd.get_short_help_str(80)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


class RootGroup(AzGroup):
    """The root command: the one place errors become messages and exit codes."""

    def main(self, args: Sequence[str] | None = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True,
             **extra: Any) -> Any:
        from acrctl.cli.errors import exit_code_for

        try:
            super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
            code = 0
        except click.exceptions.Exit as exc:
            code = exc.exit_code
        except BaseException as exc:  # noqa: BLE001 - this IS the single error handler
            code = exit_code_for(exc)
        if standalone_mode:
            sys.exit(code)
        return code


def color_enabled(stream: Any) -> bool:
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return bool(getattr(stream, "isatty", lambda: False)())
