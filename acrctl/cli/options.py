"""Shared options, written once so every command spells them the same way (az's -r/-n/-g),
and the value parsers az uses: space-separated lists, key[=value] items, three-state flags."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from acrctl.cli import config

F = Callable[..., Any]
LOGIN_SUFFIX = ".azurecr.io"


class GreedyOption(click.Option):
    """An option that takes every following argument up to the next option, like az's
    `--tags a=b c=d` and `--actions push delete`. Given alone it yields an empty tuple."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("type", click.UNPROCESSED)
        kwargs.setdefault("is_flag", False)
        kwargs.setdefault("flag_value", "\0")
        super().__init__(*args, **kwargs)

    def add_to_parser(self, parser: Any, ctx: click.Context) -> None:
        super().add_to_parser(parser, ctx)
        wrapped: set[int] = set()
        for name in self.opts:
            opt = parser._long_opt.get(name) or parser._short_opt.get(name)
            if opt is None or id(opt) in wrapped:
                continue
            wrapped.add(id(opt))
            original = opt.process

            def process(value: Any, state: Any, _orig: Callable[..., Any] = original) -> None:
                values = [value] if isinstance(value, str) and value != "\0" else []
                while state.rargs and not (
                    state.rargs[0].startswith("-") and len(state.rargs[0]) > 1
                ):
                    values.append(state.rargs.pop(0))
                _orig(tuple(values), state)

            opt.process = process


def parse_pairs(values: tuple[str, ...] | None) -> dict[str, str] | None:
    """`key[=value]` items to a dict (az --tags/--headers); '' or no items clears."""
    if values is None:
        return None
    out: dict[str, str] = {}
    for item in values:
        if item == "":
            continue
        key, _, value = item.partition("=")
        out[key] = value
    return out


class AzChoice(click.Choice):
    """az's enum: any case in, the canonical spelling out; help lists the choices as given
    (`[Basic|Standard|Premium]`) and a bad value gets az's message, exit 2."""

    def __init__(self, choices: tuple[str, ...]) -> None:
        super().__init__(choices, case_sensitive=False)

    def get_metavar(self, param: click.Parameter, ctx: click.Context | None = None) -> str:
        return "[" + "|".join(str(c) for c in self.choices) + "]"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        for choice in self.choices:
            if str(choice).lower() == str(value).lower():
                return choice
        import difflib

        from acrctl.client.errors import UsageError

        flag = max(getattr(param, "opts", None) or ["value"], key=len)
        known = {str(c).lower(): str(c) for c in self.choices}
        close = difflib.get_close_matches(str(value).lower(), list(known), n=1)
        raise UsageError(
            f"'{value}' is not a valid value for '{flag}'. Allowed values: "
            f"{', '.join(known.values())}."
            + (f"\nDid you mean '{known[close[0]]}' ?" if close else "")
        )


def three_state(value: str | None) -> bool | None:
    if value is None:
        return None
    low = value.lower()
    if low in ("true", "yes", "1", "on"):
        return True
    if low in ("false", "no", "0", "off"):
        return False
    raise click.BadParameter(f"'{value}' is not a valid value. Allowed values: false, true.")


def bool_option(*decls: str, help: str) -> F:
    """az's three-state flag: `--flag` (true), `--flag true|false`, or omitted (no change)."""
    return click.option(
        *decls, is_flag=False, flag_value="true", default=None, metavar="[true|false]", help=help
    )


def normalize_registry(value: str | None) -> str | None:
    """az's registry-name validator: strip the login-server suffix with a warning."""
    if not value:
        return value
    if "." in value:
        name, _, suffix = value.partition(".")
        if "." + suffix.lower() != LOGIN_SUFFIX:
            from acrctl.client.errors import AcrctlError

            raise AcrctlError(
                "The login server suffix is not valid for the current cloud. "
                "Please try again using '.azurecr.io'."
            )
        click.echo(
            f"WARNING: Registry name is '{name}'. The following suffix "
            f"'{LOGIN_SUFFIX}' is automatically omitted.",
            err=True,
        )
        value = name
    import re

    if not re.match(r"^[a-zA-Z0-9-]{5,50}$", value):
        from acrctl.client.errors import AcrctlError

        raise AcrctlError(
            "Registry names may contain only alpha numeric characters and must "
            "be between 5 and 50 characters"
        )
    return value


def default_registry() -> str | None:
    """The configured default registry: defaults.registry, else az's name for it,
    `acr` in the [defaults] section (what `az configure --defaults acr=NAME` writes)."""
    return config.get("defaults.registry") or config.get("defaults.acr", use_env=False)


def _default(key: str) -> Callable[[], str | None]:
    if key == "defaults.registry":
        return default_registry
    return lambda: config.get(key)


def _require(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    """`required` for options whose default comes from config (Click treats a callable
    default as present even when it yields nothing)."""
    if value is None and not ctx.resilient_parsing:
        raise click.MissingParameter(ctx=ctx, param=param)
    return value


def registry_option(required: bool = True) -> F:
    return click.option(
        "-r",
        "--registry",
        "registry",
        default=_default("defaults.registry"),
        callback=_require if required else None,
        help="The name of the container registry. Default: config defaults.registry.",
        shell_complete=_complete("registry"),
    )


def registry_name_option() -> F:
    """-n/--name of the top-level registry commands (show, update, delete, show-usage),
    defaulting like -r to the configured registry (az: `az configure --defaults acr=`)."""
    return click.option(
        "-n",
        "--name",
        "name",
        default=_default("defaults.registry"),
        callback=_require,
        help="The name of the container registry. Default: config defaults.registry.",
        shell_complete=_complete("registry"),
    )


def name_option(help: str, what: str | None = None, required: bool = True) -> F:
    return click.option(
        "-n",
        "--name",
        "name",
        required=required,
        help=help,
        shell_complete=_complete(what) if what else None,
    )


def group_option(required: bool = False) -> F:
    return click.option(
        "-g",
        "--resource-group",
        "resource_group",
        default=_default("defaults.group"),
        callback=_require if required else None,
        help="Name of resource group. Default: config defaults.group, else "
        "found from the registry.",
        shell_complete=_complete("group"),
    )


def location_option(help: str, required: bool = False) -> F:
    return click.option(
        "-l",
        "--location",
        "location",
        default=_default("defaults.location"),
        callback=_require if required else None,
        help=help,
        shell_complete=_complete("location"),
    )


def tags_option(
    help: str = "Space-separated tags: key[=value] [key[=value] ...]. Use '' "
    "to clear existing tags.",
) -> F:
    return click.option("--tags", cls=GreedyOption, default=None, help=help)


def no_wait_option() -> F:
    return click.option(
        "--no-wait",
        is_flag=True,
        default=False,
        help="Do not wait for the long-running operation to finish.",
    )


def _complete(what: str | None) -> Any:
    def complete(ctx: click.Context, param: click.Parameter, incomplete: str) -> list[Any]:
        from acrctl.cli.completion_values import values

        return values(what or "", ctx, incomplete)

    return complete
