"""The template functions acrctl supports (FUNCTIONS, by lower-cased name): each takes the
template, the name as written, the evaluated arguments and the template path."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from acrctl.backend import ids
from acrctl.backend.errors import ArmError
from acrctl.backend.templates.model import (
    TemplateError,
    unique_string,
)
from acrctl.backend.templates.parser import (
    int64,
    text,
    type_name,
)

if TYPE_CHECKING:
    from acrctl.backend.templates.template import Template


# == the functions ================================================================================
Function = Callable[["Template", str, list[Any], str], Any]


def _arity(name: str, args: Any, lo: int, hi: int | None, path: str) -> None:
    n = len(args)
    if n < lo or (hi is not None and n > hi):
        want = f"{lo}" if lo == hi else f"at least {lo}" if hi is None else f"{lo} to {hi}"
        raise TemplateError(
            path,
            f"Unable to evaluate template language function '{name}': "
            f"function requires {want} argument(s) while {n} were provided.",
        )


def _unsupported(name: str, path: str) -> TemplateError:
    return TemplateError(
        path,
        f"The template function '{name}' is not supported by acrctl. "
        f"Supported functions: {', '.join(sorted(FUNCTION_NAMES))}.",
    )


def _arg_error(name: str, path: str, detail: str) -> TemplateError:
    return TemplateError(path, f"Unable to evaluate template language function '{name}': {detail}.")


def _strings(name: str, args: list[Any], path: str) -> list[str]:
    for i, a in enumerate(args):
        if not isinstance(a, str):
            raise _arg_error(
                name,
                path,
                f"argument {i + 1} must be a string, not a value of type '{type_name(a)}'",
            )
    return args


def fn(lo: int, hi: int | None) -> Callable[[Function], Function]:
    def wrap(f: Function) -> Function:
        def checked(t: Template, name: str, args: list[Any], path: str) -> Any:
            _arity(name, args, lo, hi, path)
            return f(t, name, args, path)

        return checked

    return wrap


@fn(1, 1)
def _parameters(t: Template, name: str, args: list[Any], path: str) -> Any:
    return t.parameter(_strings(name, args, path)[0], path)


@fn(1, 1)
def _variables(t: Template, name: str, args: list[Any], path: str) -> Any:
    return t.variable(_strings(name, args, path)[0], path)


@fn(0, 0)
def _resource_group(t: Template, name: str, args: list[Any], path: str) -> Any:
    g = t.scope.resource_group
    return {
        "id": g["id"],
        "name": g["name"],
        "type": g.get("type"),
        "location": g["location"],
        "managedBy": g.get("managedBy"),
        "tags": g.get("tags") or {},
        "properties": g.get("properties") or {},
    }


@fn(0, 0)
def _subscription(t: Template, name: str, args: list[Any], path: str) -> Any:
    sub = t.scope.subscription
    return {
        "id": ids.subscription_id(sub),
        "subscriptionId": sub,
        "tenantId": t.scope.tenant or sub,
        "displayName": sub,
    }


@fn(0, 0)
def _deployment(t: Template, name: str, args: list[Any], path: str) -> Any:
    return {
        "name": t.scope.deployment,
        "properties": {"template": {"contentVersion": t.raw.get("contentVersion")}},
    }


def _would(name: str) -> str:
    return f"The function '{name}' would return"


def _text(t: Template, name: str, value: Any) -> str:
    """text(), an array or object measured before it is serialized."""
    if isinstance(value, list | dict):
        t.budget.string(t.budget.size(value), _would(name))
    return text(value)


@fn(1, None)
def _concat(t: Template, name: str, args: list[Any], path: str) -> Any:
    if all(isinstance(a, list) for a in args):
        t.budget.collection(sum(t.budget.size(a) for a in args), _would(name))
        return [x for a in args for x in a]
    if any(isinstance(a, list | dict) for a in args):
        raise _arg_error(name, path, "the arguments must all be arrays or all be strings")
    parts = [text(a) for a in args]
    t.budget.string(sum(len(p) for p in parts), _would(name))
    return "".join(parts)


# {index[,alignment][:format]}; more digits than an argument list can have are not an index
_FORMAT = re.compile(r"\{\{|\}\}|\{(\d{1,6})(?:,-?\d+)?(:[^}]*)?\}|[{}]")


@fn(1, None)
def _format(t: Template, name: str, args: list[Any], path: str) -> Any:
    fmt = args[0]
    if not isinstance(fmt, str):
        raise _arg_error(name, path, "the format must be a string")
    texts: dict[int, str] = {}  # each argument turned into text once
    parts: list[str] = []  # the result's pieces: measured, then joined
    pos = 0
    for m in _FORMAT.finditer(fmt):
        parts.append(fmt[pos : m.start()])
        token = m.group(0)
        pos = m.end()
        if token in ("{{", "}}"):
            parts.append(token[0])
            continue
        if m.group(1) is None:
            raise _arg_error(name, path, f"the format string '{fmt}' is not valid")
        if m.group(2):
            raise _arg_error(
                name, path, f"format specifiers ('{token}') are not supported by acrctl"
            )
        i = int(m.group(1))
        if i + 1 >= len(args):
            raise _arg_error(name, path, f"the format item '{token}' has no argument")
        if i not in texts:
            texts[i] = _text(t, name, args[i + 1])
        parts.append(texts[i])
    parts.append(fmt[pos:])
    t.budget.string(sum(len(p) for p in parts), _would(name))
    return "".join(parts)


@fn(1, 1)
def _to_lower(t: Template, name: str, args: list[Any], path: str) -> Any:
    return _strings(name, args, path)[0].lower()


@fn(1, 1)
def _to_upper(t: Template, name: str, args: list[Any], path: str) -> Any:
    return _strings(name, args, path)[0].upper()


@fn(1, None)
def _unique_string(t: Template, name: str, args: list[Any], path: str) -> Any:
    values = _strings(name, args, path)
    t.budget.string(sum(len(v) + 1 for v in values), f"The function '{name}' would hash")
    return unique_string(*values)


@fn(2, None)
def _resource_id(t: Template, name: str, args: list[Any], path: str) -> Any:
    args = _strings(name, args, path)
    t.budget.string(sum(len(a) + 1 for a in args), _would(name))
    at = next(
        (
            i
            for i, a in enumerate(args)
            if "/" in a.strip("/") and "." in a.strip("/").split("/")[0]
        ),
        None,
    )
    if at is None or at > 2:
        raise _arg_error(
            name,
            path,
            "a resource type such as "
            "'Microsoft.ContainerRegistry/registries' is required, after at most "
            "a subscription id and a resource group name",
        )
    sub, rg = t.scope.subscription, t.scope.group_name
    if at == 1:
        rg = args[0]
    elif at == 2:
        sub, rg = args[0], args[1]
    segments = [s for s in args[at].split("/") if s]
    names = [n for a in args[at + 1 :] for n in a.strip("/").split("/")]
    if len(names) != len(segments) - 1:
        raise _arg_error(
            name,
            path,
            f"the type '{args[at]}' requires {len(segments) - 1} "
            f"resource name argument(s), {len(names)} were given",
        )
    out = f"/subscriptions/{sub}/resourceGroups/{rg}/providers/{segments[0]}"
    for seg, n in zip(segments[1:], names, strict=True):
        out += f"/{seg}/{n}"
    return out


@fn(1, 3)
def _reference(t: Template, name: str, args: list[Any], path: str) -> Any:
    if t.reference is None:
        raise TemplateError(
            path,
            "The template function 'reference' is not expected at this "
            "location: it reads deployed resources, so it may be used in "
            "resource properties and outputs only.",
        )
    ref = _strings(name, args[:1], path)[0]
    rid = ref if ref.startswith("/") else (t.find(ref) or ref)
    full = len(args) == 3 and isinstance(args[2], str) and args[2].lower() == "full"
    try:
        return t.reference(rid, full)
    except ArmError as exc:
        raise _arg_error(name, path, f"({exc.code}) {exc.message}") from None


@fn(2, 2)
def _equals(t: Template, name: str, args: list[Any], path: str) -> Any:
    a, b = args
    return bool(a == b and type_name(a) == type_name(b))


@fn(1, 1)
def _not(t: Template, name: str, args: list[Any], path: str) -> Any:
    return not _bools(name, args, path)[0]


@fn(2, None)
def _and(t: Template, name: str, args: list[Any], path: str) -> Any:
    return all(_bools(name, args, path))


@fn(2, None)
def _or(t: Template, name: str, args: list[Any], path: str) -> Any:
    return any(_bools(name, args, path))


def _bools(name: str, args: list[Any], path: str) -> list[bool]:
    for i, a in enumerate(args):
        if not isinstance(a, bool):
            raise _arg_error(
                name,
                path,
                f"argument {i + 1} must be a boolean, not a value of type '{type_name(a)}'",
            )
    return args


@fn(1, 1)
def _length(t: Template, name: str, args: list[Any], path: str) -> Any:
    if not isinstance(args[0], str | list | dict):
        raise _arg_error(name, path, "the argument must be a string, an array or an object")
    return len(args[0])


@fn(1, 1)
def _empty(t: Template, name: str, args: list[Any], path: str) -> Any:
    if args[0] is not None and not isinstance(args[0], str | list | dict):
        raise _arg_error(name, path, "the argument must be a string, an array or an object")
    return not args[0]


@fn(1, 1)
def _string(t: Template, name: str, args: list[Any], path: str) -> Any:
    return _text(t, name, args[0])


@fn(1, 1)
def _int(t: Template, name: str, args: list[Any], path: str) -> Any:
    v = args[0]
    if isinstance(v, int) and not isinstance(v, bool):
        return v
    if isinstance(v, str) and re.fullmatch(r"\s*-?\d+\s*", v):
        value = int64(v)
        if value is None:
            raise _arg_error(name, path, f"'{_brief(v)}' is out of range for an integer (64-bit)")
        return value
    raise _arg_error(name, path, f"'{_brief(v)}' cannot be converted to an integer")


@fn(1, 1)
def _bool(t: Template, name: str, args: list[Any], path: str) -> Any:
    v = args[0]
    if isinstance(v, bool):
        return v
    if isinstance(v, int):
        return v != 0
    if isinstance(v, str) and v.lower() in ("true", "false"):
        return v.lower() == "true"
    raise _arg_error(name, path, f"'{_brief(v)}' cannot be converted to a boolean")


def _brief(value: Any) -> str:
    """A value for an error message: short text, or the type of an array or object."""
    if isinstance(value, list | dict):
        return f"(a value of type {type_name(value)})"
    shown = text(value)
    return shown if len(shown) <= 100 else f"{shown[:100]}... ({len(shown)} characters)"


@fn(3, 3)
def _replace(t: Template, name: str, args: list[Any], path: str) -> Any:
    s, old, new = _strings(name, args, path)
    if len(new) > len(old):  # str.count('') is len(s) + 1, as many as replace() inserts
        t.budget.string(len(s) + s.count(old) * (len(new) - len(old)), _would(name))
    return s.replace(old, new)


@fn(0, 0)
def _true(t: Template, name: str, args: list[Any], path: str) -> Any:
    return True


@fn(0, 0)
def _false(t: Template, name: str, args: list[Any], path: str) -> Any:
    return False


@fn(0, 0)
def _null(t: Template, name: str, args: list[Any], path: str) -> Any:
    return None


def _if_placeholder(t: Template, name: str, args: list[Any], path: str) -> Any:
    raise AssertionError("if() is evaluated lazily by Template.evaluate")  # pragma: no cover


# functions that return a value that exists already (not counted as built)
PASS_THROUGH = {"parameters", "variables", "reference"}
FUNCTION_NAMES = (
    "and",
    "bool",
    "concat",
    "deployment",
    "empty",
    "equals",
    "false",
    "format",
    "if",
    "int",
    "length",
    "not",
    "null",
    "or",
    "parameters",
    "reference",
    "replace",
    "resourceGroup",
    "resourceId",
    "string",
    "subscription",
    "toLower",
    "toUpper",
    "true",
    "uniqueString",
    "variables",
)
FUNCTIONS: dict[str, Function] = {
    "and": _and,
    "bool": _bool,
    "concat": _concat,
    "deployment": _deployment,
    "empty": _empty,
    "equals": _equals,
    "false": _false,
    "format": _format,
    "if": _if_placeholder,
    "int": _int,
    "length": _length,
    "not": _not,
    "null": _null,
    "or": _or,
    "parameters": _parameters,
    "reference": _reference,
    "replace": _replace,
    "resourcegroup": _resource_group,
    "resourceid": _resource_id,
    "string": _string,
    "subscription": _subscription,
    "tolower": _to_lower,
    "toupper": _to_upper,
    "true": _true,
    "uniquestring": _unique_string,
    "variables": _variables,
}
assert {n.lower() for n in FUNCTION_NAMES} == set(FUNCTIONS)
