"""The template functions acrctl supports (FUNCTIONS, by lower-cased name): each takes the
template, the name as written, the evaluated arguments and the template path. Here: the
logical, comparison and conversion functions and the table; the machinery and the functions
of scope, text and ids are in .functions_scope (re-exported)."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from acrctl.backend.templates.functions_scope import (  # noqa: F401
    _FORMAT,
    Function,
    _arg_error,
    _arity,
    _concat,
    _deployment,
    _format,
    _parameters,
    _reference,
    _resource_group,
    _resource_id,
    _strings,
    _subscription,
    _text,
    _to_lower,
    _to_upper,
    _unique_string,
    _variables,
    _would,
    fn,
)
from acrctl.backend.templates.model import (
    TemplateError,
)
from acrctl.backend.templates.parser import (
    int64,
    text,
    type_name,
)

if TYPE_CHECKING:
    from acrctl.backend.templates.template import Template


def _unsupported(name: str, path: str) -> TemplateError:
    return TemplateError(
        path,
        f"The template function '{name}' is not supported by acrctl. "
        f"Supported functions: {', '.join(sorted(FUNCTION_NAMES))}.",
    )


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
