"""The template functions' machinery (the Function type, arity and argument errors, the fn
decorator) and the functions of scope, text and resource ids: parameters() to reference().
acrctl.backend.templates.functions holds the rest and the FUNCTIONS table."""

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
