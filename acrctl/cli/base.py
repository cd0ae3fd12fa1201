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
        click.Option(
            ["-o", "--output"],
            type=click.Choice(OUTPUTS, case_sensitive=False),
            default=None,
            help="Output format. Default: json (config core.output).",
        ),
        click.Option(
            ["--query"],
            default=None,
            metavar="JMESPATH",
            help="JMESPath query applied to the result before formatting.",
        ),
        click.Option(
            ["--debug"],
            is_flag=True,
            default=False,
            help="Log HTTP traffic on stderr (secrets redacted).",
        ),
        click.Option(
            ["--verbose"], is_flag=True, default=False, help="More progress information on stderr."
        ),
        click.Option(
            ["--only-show-errors"],
            is_flag=True,
            default=False,
            help="Only show errors, suppressing warnings and progress.",
        ),
        click.Option(
            ["--subscription"],
            default=None,
            help="Subscription id (default: the configured or first visible one).",
        ),
        click.Option(
            ["--endpoint"],
            default=None,
            metavar="URL",
            help="Management endpoint (default: ACRCTL_ENDPOINT, the login, or "
            "the embedded backend).",
        ),
    ]


GLOBAL_NAMES = (
    "output",
    "query",
    "debug",
    "verbose",
    "only_show_errors",
    "subscription",
    "endpoint",
)
# Global options given before the subcommand (`acrctl --debug webhook create ...`, as az
# accepts them): each group sets them aside in Context.meta (shared by the whole invocation)
# and the leaf command parses them ahead of its own arguments.
MOVED = "acrctl.global_args"
_FLAGS = frozenset({"--debug", "--verbose", "--only-show-errors"})
_VALUED = frozenset({"-o", "--output", "--query", "--subscription", "--endpoint"})


def take_globals(args: list[str]) -> tuple[list[str], list[str]]:
    """Split the global options (with their values) off the options in front of the
    subcommand's name: (global options, the rest of `args`)."""
    taken: list[str] = []
    rest: list[str] = []
    i = 0
    while i < len(args) and args[i].startswith("-") and args[i] not in ("-", "--"):
        arg = args[i]
        name = arg.split("=", 1)[0] if arg.startswith("--") else arg[:2]
        if arg in _FLAGS:
            taken.append(arg)
        elif arg in _VALUED and i + 1 < len(args):  # -o json
            taken += args[i : i + 2]
            i += 1
        elif name in _VALUED:  # --output=json, -ojson, or a value missing (the leaf says so)
            taken.append(arg)
        else:  # the group's own (--help, --version)
            rest.append(arg)
        i += 1
    return taken, rest + args[i:]


class AzCommand(click.Command):
    # how a result is shaped before output: az's flattening by default
    shape: Callable[[Any], Any] | None = None

    def __init__(
        self, *args: Any, table: Callable[[Any], list[dict[str, Any]]] | None = None, **kwargs: Any
    ) -> None:
        kwargs.setdefault("context_settings", {"help_option_names": ["-h", "--help"]})
        super().__init__(*args, **kwargs)
        self.table = table
        self.params.extend(_global_params())

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        return super().parse_args(ctx, [*ctx.meta.pop(MOVED, []), *args])

    def invoke(self, ctx: click.Context) -> Any:
        opts = {k: ctx.params.pop(k) for k in GLOBAL_NAMES}
        env = Env(**opts)
        ctx.obj = env
        ctx.meta["acrctl.env"] = env
        try:
            result = super().invoke(ctx)
        except Exception as exc:
            if getattr(exc, "request_id", None) and env.mode != "server":
                exc.request_id = None  # type: ignore[attr-defined]  # no server log to look in
            raise
        finally:
            env.close()
        env.emit(result, self.table, type(self).shape)
        return None


class AzGroup(click.Group):
    """A group whose subcommands live in modules named by `lazy`:
    {name: ("module:attribute", "short help")}."""

    command_class = AzCommand

    def __init__(
        self, *args: Any, lazy: dict[str, tuple[str, str]] | None = None, **kwargs: Any
    ) -> None:
        kwargs.setdefault("context_settings", {"help_option_names": ["-h", "--help"]})
        super().__init__(*args, **kwargs)
        self.lazy = lazy or {}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(self.lazy))

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        moved, args = take_globals(args)
        if moved:
            ctx.meta.setdefault(MOVED, []).extend(moved)
        return super().parse_args(ctx, args)

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        if (
            args
            and not args[0].startswith("-")
            and not ctx.resilient_parsing
            and self.get_command(ctx, args[0]) is None
        ):
            raise UnknownCommand(args[0], self.list_commands(ctx), ctx)
        name, cmd, rest = super().resolve_command(ctx, args)
        if cmd is not None and not isinstance(cmd, AzCommand | AzGroup) and MOVED in ctx.meta:
            rest = [*ctx.meta.pop(MOVED), *rest]  # a plain command judges them itself
        return name, cmd, rest

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


class UnknownCommand(click.UsageError):
    """az's words for a mistyped command, with its "Did you mean" for a close one."""

    def __init__(self, name: str, known: list[str], ctx: click.Context) -> None:
        import difflib

        close = difflib.get_close_matches(name, known, n=1)
        hint = f"\nDid you mean '{close[0]}' ?" if close else ""
        super().__init__(f"'{name}' is misspelled or not recognized by the system.{hint}", ctx)


class RootGroup(AzGroup):
    """The root command: the one place errors become messages and exit codes."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        from acrctl.cli.errors import exit_code_for

        if color_forced():  # click.echo keeps colour codes on a pipe only when told to
            extra.setdefault("color", True)
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


def color_forced() -> bool:
    """FORCE_COLOR set (to anything) and NO_COLOR not: colour even on a pipe."""
    return bool(os.environ.get("FORCE_COLOR")) and not os.environ.get("NO_COLOR")


def color_enabled(stream: Any) -> bool:
    if os.environ.get("NO_COLOR"):
        return False
    if color_forced():
        return True
    return bool(getattr(stream, "isatty", lambda: False)())
