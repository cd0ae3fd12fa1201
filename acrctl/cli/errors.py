"""Errors to messages and exit codes, in one place (az's codes: 0 ok, 1 runtime error,
2 usage error, 3 not found)."""

from __future__ import annotations

import sys

import click

from acrctl.client.errors import AcrctlError


def _say(message: str) -> None:
    from acrctl.cli.base import color_enabled

    stream = sys.stderr
    text = f"ERROR: {message}"
    if color_enabled(stream):
        text = f"\x1b[91m{text}\x1b[0m"
    click.echo(text, err=True)


def exit_code_for(exc: BaseException) -> int:
    from acrctl.cli.output import QueryError, TableError

    if isinstance(exc, AcrctlError):
        _say(str(exc))
        if exc.request_id:
            click.echo(f"Request id: {exc.request_id}", err=True)
        return exc.exit_code
    if isinstance(exc, click.UsageError):
        _say(usage_message(exc))
        if exc.ctx is not None:
            click.echo(f"Try '{exc.ctx.command_path} --help' for help.", err=True)
        return 2
    if isinstance(exc, QueryError):
        _say(str(exc))
        return 2
    if isinstance(exc, TableError):
        _say(str(exc))
        return 1
    if isinstance(exc, click.ClickException):
        _say(exc.format_message())
        return 1
    if isinstance(exc, click.Abort | KeyboardInterrupt):
        _say("Keyboard interrupt is captured. A long-running operation continues on the "
             "server; check it with 'show' or 'wait'.")
        return 1
    if isinstance(exc, SystemExit):
        return int(exc.code or 0) if not isinstance(exc.code, str) else 1
    _say(f"The command failed with an unexpected error: {type(exc).__name__}: {exc}")
    return 1


def usage_message(exc: click.UsageError) -> str:
    if isinstance(exc, click.MissingParameter) and exc.param is not None:
        opts = sorted(getattr(exc.param, "opts", []), key=len, reverse=True)
        return f"the following arguments are required: {'/'.join(opts) or exc.param.name}"
    if isinstance(exc, click.NoSuchOption):
        return f"unrecognized arguments: {exc.option_name}"
    return exc.format_message()
