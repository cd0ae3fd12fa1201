"""Errors to messages and exit codes, in one place (az's codes: 0 ok, 1 runtime error,
2 usage error, 3 not found)."""

from __future__ import annotations

import re
import sys

import click

from acrctl.client.errors import AcrctlError, NotFoundError, ServiceError


def _say(message: str) -> None:
    from acrctl.cli.base import color_enabled

    stream = sys.stderr
    text = f"ERROR: {message}"
    color = color_enabled(stream)
    if color:
        text = f"\x1b[91m{text}\x1b[0m"
    click.echo(text, err=True, color=color or None)


def exit_code_for(exc: BaseException) -> int:
    from acrctl.cli.output import QueryError, TableError

    if isinstance(exc, AcrctlError):
        _say(error_text(exc))
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
        _say(interrupted_message(exc))
        return 1
    if isinstance(exc, SystemExit):
        return int(exc.code or 0) if not isinstance(exc.code, str) else 1
    _say(f"The command failed with an unexpected error: {type(exc).__name__}: {exc}")
    return 1


# the code the client makes up for an error answer without an ARM error body
_NO_ARM_CODE = re.compile(r"HTTP\d{3}")


def error_text(exc: AcrctlError) -> str:
    """An error as az prints it. The service's ARM error reads as azure-core words it:
    `(Code) Message`, then a `Code:` and a `Message:` line."""
    if (
        isinstance(exc, ServiceError | NotFoundError)
        and exc.code
        and exc.status
        and not _NO_ARM_CODE.fullmatch(exc.code)
    ):
        return f"({exc.code}) {exc.message}\nCode: {exc.code}\nMessage: {exc.message}"
    return str(exc)


def usage_message(exc: click.UsageError) -> str:
    if isinstance(exc, click.MissingParameter) and exc.param is not None:
        opts = sorted(getattr(exc.param, "opts", []), key=len, reverse=True)
        return f"the following arguments are required: {'/'.join(opts) or exc.param.name}"
    if isinstance(exc, click.NoSuchOption):
        close = exc.possibilities or []
        return f"unrecognized arguments: {exc.option_name}" + (
            f"\nDid you mean '{close[0]}' ?" if close else ""
        )
    return exc.format_message()


# where a Ctrl-C lands while acrctl waits for a long-running operation
_WAITS = {
    ("acrctl.client.arm", "wait_status"),
    ("acrctl.client.arm", "_wait_delete"),
    ("acrctl.cli.replication", "wait_for"),
    ("acrctl.cli.replication_wait", "wait_image"),
    ("acrctl.cli.importcmd", "follow"),
}


def interrupted_message(exc: BaseException) -> str:
    """Ctrl-C (or end of input) at a prompt cancels the command; during a wait for a
    long-running operation it stops the wait, not the operation (az's wording)."""
    cause = exc.__cause__ if isinstance(exc, click.Abort) else exc
    if cause is None:  # click.prompt/confirm: raised `from None`
        return "Operation cancelled."
    tb = cause.__traceback__
    while tb is not None:
        code = tb.tb_frame.f_code
        if (tb.tb_frame.f_globals.get("__name__"), code.co_name) in _WAITS:
            return (
                "Long-running operation wait cancelled. The operation goes on: check it "
                "with 'show' or 'wait'."
            )
        tb = tb.tb_next
    return "Keyboard interrupt is captured."
