"""az's generic update arguments (--set/--add/--remove/--force-string) for the three
`update` commands, and the global policy arguments (--acquire-policy-token,
--change-reference) of every write command.

As in az, --set starts from an EMPTY update body (az's getter returns empty
UpdateParameters), so the PATCH carries only what was given: `--set sku.name=Premium`
sends {"sku": {"name": "Premium"}}. Paths are the REST API's camelCase names (az's
snake_case names are converted); a first segment other than sku, tags, identity, location
or properties lands under `properties` (az's flattened models: `--set adminUserEnabled=true`).

--add and --remove edit a list (or, for --remove, an object) as a whole, and a PATCH
replaces a list wholesale: so when the body does not hold the target yet, it is first
copied from the resource's current state (one GET), and the edit keeps the other items.
Operations run in the order --set, --add, --remove. Every path or index error is a usage
error (exit 2)."""

from __future__ import annotations

import copy
import functools
import json
import re
from collections.abc import Callable, Sequence
from typing import Any

import click

from acrctl.cli.options import GreedyOption
from acrctl.client.errors import UsageError

F = Callable[..., Any]
Path = list[str | int]

TOP_LEVEL = frozenset({"identity", "location", "properties", "sku", "tags"})
USER_KEYS = frozenset({"tags", "customHeaders"})  # their keys are data, never camelCased
POLICY_NOTE = "Accepted for az compatibility; acrctl has no Azure Policy."
_SEGMENT = re.compile(r"([^.\[\]]+)((?:\[-?\d+\])*)")
_MISSING: Any = object()


def generic_update_options(f: F) -> F:
    """--set, --add, --remove (each repeatable, each taking the following words) and
    --force-string; the command receives set_, add and remove as tuples of tuples."""
    for decorator in reversed(
        (
            click.option(
                "--set",
                "set_",
                cls=GreedyOption,
                multiple=True,
                metavar="KEY=VALUE [KEY=VALUE ...]",
                help="Generic Update: set a property of the update body by path, e.g. "
                "--set sku.name=Premium tags.team=infra. VALUE is JSON when it parses "
                "(true, 5, {...}), else a string.",
            ),
            click.option(
                "--add",
                cls=GreedyOption,
                multiple=True,
                metavar="LIST KEY=VALUE|VALUE [...]",
                help="Generic Update: append to a list, e.g. --add "
                "networkRuleSet.ipRules value=1.2.3.4 (KEY=VALUE items make one object; "
                "each bare VALUE is one item). Starts from the current list.",
            ),
            click.option(
                "--remove",
                cls=GreedyOption,
                multiple=True,
                metavar="LIST INDEX",
                help="Generic Update: remove an item from a list by index, or a key "
                "from an object, e.g. --remove networkRuleSet.ipRules 0.",
            ),
            click.option(
                "--force-string",
                is_flag=True,
                default=False,
                help="Generic Update: keep --set/--add values as strings (no JSON parsing).",
            ),
        )
    ):
        f = decorator(f)
    return f


def policy_options(f: F) -> F:
    """--acquire-policy-token and --change-reference: accepted and ignored."""

    @functools.wraps(f)
    def command(*args: Any, **kwargs: Any) -> Any:
        kwargs.pop("acquire_policy_token", None)
        kwargs.pop("change_reference", None)
        return f(*args, **kwargs)

    command = click.option(
        "--change-reference",
        default=None,
        metavar="ID",
        help=f"Global Policy: the change reference id. {POLICY_NOTE}",
    )(command)
    return click.option(
        "--acquire-policy-token",
        is_flag=True,
        default=False,
        help=f"Global Policy: acquire an Azure Policy token. {POLICY_NOTE}",
    )(command)


def apply_generic(
    body: dict[str, Any],
    set_: Sequence[Sequence[Any]],
    add: Sequence[Sequence[Any]],
    remove: Sequence[Sequence[Any]],
    force_string: bool,
    current: Callable[[], dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Apply --set, then --add, then --remove to `body` (edited in place and returned).
    `current` yields the resource's ARM JSON; it is called at most once, and only when
    --add/--remove need a list or object the body does not hold yet."""
    fetch = functools.cache(current) if current else None
    for occurrence in set_:
        items = _items(occurrence)
        if not items:
            raise UsageError("usage error: --set KEY=VALUE [KEY=VALUE ...]")
        for item in items:
            key, sep, raw = item.partition("=")
            if not sep or not key:
                raise UsageError(f"--set: expected KEY=VALUE, got '{item}'.")
            _set(body, parse_path(key, "--set"), _value(raw, force_string), fetch)
    for occurrence in add:
        items = _items(occurrence)
        if len(items) < 2:
            raise UsageError("usage error: --add LIST KEY=VALUE|VALUE [...]")
        path = parse_path(items[0], "--add")
        target = _walk(body, path, "--add", fetch, seed_end=True, create_end=list)
        if not isinstance(target, list):
            raise UsageError(f"--add: '{_show(path)}' is not a list.")
        target.extend(_new_items(items[1:], force_string))
    for occurrence in remove:
        items = _items(occurrence)
        if len(items) != 2:
            raise UsageError("usage error: --remove LIST INDEX")
        path = parse_path(items[0], "--remove")
        target = _walk(body, path, "--remove", fetch, seed_end=True, create_end=None)
        _remove(target, path, items[1])
    return body


def parse_path(text: str, flag: str) -> Path:
    """`networkRuleSet.ip_rules[0].value` to ['properties', 'networkRuleSet', 'ipRules',
    0, 'value']."""
    path: Path = []
    for part in text.split("."):
        match = _SEGMENT.fullmatch(part)
        if match is None:
            raise UsageError(f"{flag}: invalid property path '{text}'.")
        key = match.group(1)
        path.append(key if path and path[-1] in USER_KEYS else _camel(key))
        path.extend(int(i) for i in re.findall(r"-?\d+", match.group(2)))
    if path[0] not in TOP_LEVEL:
        path.insert(0, "properties")
    return path


def _items(occurrence: Sequence[Any]) -> list[str]:
    # A GreedyOption given alone can hand Click's flag sentinel through: not an item.
    return [v for v in occurrence if isinstance(v, str)]


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


def _value(raw: str, force_string: bool) -> Any:
    if force_string:
        return raw
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def _new_items(items: Sequence[str], force_string: bool) -> list[Any]:
    """az's --add: each bare VALUE is one item; all KEY=VALUE items together are one object,
    appended last."""
    out: list[Any] = []
    obj: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if sep and key:
            obj[_camel(key)] = _value(raw, force_string)
        else:
            out.append(_value(item, force_string))
    if obj:
        out.append(obj)
    return out


def _show(path: Path) -> str:
    text = ""
    for seg in path:
        text += f"[{seg}]" if isinstance(seg, int) else ("." if text else "") + seg
    return text


def _lookup(doc: Any, path: Path) -> Any:
    for seg in path:
        if isinstance(seg, int):
            if not (isinstance(doc, list) and -len(doc) <= seg < len(doc)):
                return _MISSING
        elif not (isinstance(doc, dict) and seg in doc):
            return _MISSING
        doc = doc[seg]
    return doc


def _walk(
    body: dict[str, Any],
    path: Path,
    flag: str,
    fetch: Callable[[], dict[str, Any]] | None,
    seed_end: bool,
    create_end: Callable[[], Any] | None,
) -> Any:
    """The value at `path` in the body. A missing object on the way is created empty (a
    merge-patch merges objects); a missing list, or the missing end when `seed_end`, is
    copied from the current resource, else made by `create_end`, else an error."""
    node: Any = body
    for i, seg in enumerate(path):
        if isinstance(seg, int):
            if not isinstance(node, list):
                raise UsageError(f"{flag}: '{_show(path[:i])}' is not a list.")
            if not -len(node) <= seg < len(node):
                raise UsageError(
                    f"{flag}: index {seg} is out of range for "
                    f"'{_show(path[:i])}' ({len(node)} items)."
                )
            node = node[seg]
            continue
        if not isinstance(node, dict):
            raise UsageError(f"{flag}: '{_show(path[:i])}' is not an object.")
        if seg not in node:
            end = i == len(path) - 1
            needed = seed_end if end else isinstance(path[i + 1], int)
            found = _lookup(fetch(), path[: i + 1]) if needed and fetch else _MISSING
            if found is not _MISSING:
                node[seg] = copy.deepcopy(found)
            elif not needed:
                node[seg] = {}
            elif end and create_end is not None:
                node[seg] = create_end()
            else:
                raise UsageError(f"{flag}: '{_show(path[: i + 1])}' does not exist.")
        node = node[seg]
    return node


def _set(
    body: dict[str, Any], path: Path, value: Any, fetch: Callable[[], dict[str, Any]] | None
) -> None:
    last = path[-1]
    parent = _walk(body, path[:-1], "--set", fetch, seed_end=isinstance(last, int), create_end=None)
    if isinstance(last, int):
        if not isinstance(parent, list):
            raise UsageError(f"--set: '{_show(path[:-1])}' is not a list.")
        if not -len(parent) <= last < len(parent):
            raise UsageError(
                f"--set: index {last} is out of range for "
                f"'{_show(path[:-1])}' ({len(parent)} items)."
            )
    elif not isinstance(parent, dict):
        raise UsageError(f"--set: '{_show(path[:-1])}' is not an object.")
    parent[last] = value


def _remove(target: Any, path: Path, key: str) -> None:
    where = _show(path)
    if isinstance(target, list):
        try:
            index = int(key)
        except ValueError:
            raise UsageError(f"--remove: '{key}' is not an index of the list '{where}'.") from None
        if not -len(target) <= index < len(target):
            raise UsageError(
                f"--remove: index {index} is out of range for '{where}' ({len(target)} items)."
            )
        del target[index]
    elif isinstance(target, dict):
        name = key if key in target or path[-1] in USER_KEYS else _camel(key)
        if name not in target:
            raise UsageError(f"--remove: '{where}' has no key '{key}'.")
        del target[name]
    else:
        raise UsageError(f"--remove: '{where}' is not a list or an object.")
