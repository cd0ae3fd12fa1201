"""The expression language: `[concat('a', parameters('b')).c[0]]` parsed to a tree of
literals, calls, property and index reads (with a small cache shared by every request), and
the helpers that walk a template's values and name their types."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Union

from acrctl.backend.template_limits import LimitExceeded, Limits


# == the expression language ====================================================================
@dataclass(frozen=True)
class Lit:
    value: Any


@dataclass(frozen=True)
class Call:
    name: str
    args: tuple[Node, ...]


@dataclass(frozen=True)
class Prop:
    target: Node
    name: str


@dataclass(frozen=True)
class Index:
    target: Node
    key: Node


Node = Union[Lit, Call, Prop, Index]  # noqa: UP007 - a runtime alias of dataclasses

_TOKEN = re.compile(
    r"""\s*(?:
    (?P<str>'(?:[^']|'')*')
  | (?P<num>-?\d+(?:\.\d+)?)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<punct>[().,\[\]])
)""",
    re.X,
)


class ExpressionSyntaxError(ValueError):
    pass


INT64 = (-(2**63), 2**63 - 1)  # ARM's integers are 64-bit


def int64(digits: str) -> int | None:
    """The integer a decimal text spells, or None outside ARM's 64-bit range (checked on
    the text first: Python refuses to convert more than 4,300 digits at all)."""
    text = digits.strip()
    sign, text = ("-", text[1:]) if text.startswith("-") else ("", text)
    text = text.lstrip("0") or "0"
    if len(text) > 19:
        return None
    value = int(sign + text)
    return value if INT64[0] <= value <= INT64[1] else None


def _tokens(text: str) -> list[tuple[str, str, int]]:
    """(kind, text, 1-based position) of each token; one regex scan over the text."""
    out: list[tuple[str, str, int]] = []
    pos = 0
    for m in _TOKEN.finditer(text):
        if m.start() != pos:  # the scan stepped over something that is not a token
            break
        kind = m.lastgroup or ""
        out.append((kind, m.group(kind), m.start(kind) + 1))
        pos = m.end()
    while pos < len(text) and text[pos].isspace():
        pos += 1
    if pos < len(text):
        what = (
            "an unterminated string literal"
            if text[pos] == "'"
            else f"the unexpected character '{text[pos]}'"
        )
        raise ExpressionSyntaxError(f"{what} at position {pos + 1}")
    return out


class _Parser:
    def __init__(self, text: str, max_depth: int) -> None:
        self.toks = _tokens(text)
        self.i = 0
        self.max_depth = max_depth
        self.depth = -1  # the outermost expression is at depth 0
        self.deepest = 0

    def peek(self) -> tuple[str, str, int] | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self, punct: str | None = None) -> tuple[str, str, int]:
        tok = self.peek()
        if tok is None:
            raise ExpressionSyntaxError(
                f"expected '{punct}' but the expression ended"
                if punct
                else "the expression ended early"
            )
        if punct is not None and (tok[0] != "punct" or tok[1] != punct):
            raise ExpressionSyntaxError(
                f"expected '{punct}' at position {tok[2]}, found '{tok[1]}'"
            )
        self.i += 1
        return tok

    def parse(self) -> Node:
        node = self.expr()
        tok = self.peek()
        if tok is not None:
            raise ExpressionSyntaxError(f"unexpected '{tok[1]}' at position {tok[2]}")
        return node

    def expr(self) -> Node:
        """An expression nested in the one being parsed (a call argument, an index)."""
        self.depth += 1
        self.deepest = max(self.deepest, self.depth)
        if self.depth > self.max_depth:
            raise LimitExceeded(
                "max_depth",
                self.max_depth,
                f"The expression is nested too deeply (more than {self.max_depth} levels)",
            )
        try:
            return self._expr()
        finally:
            self.depth -= 1

    def _expr(self) -> Node:
        node = self.primary()
        while True:
            tok = self.peek()
            if tok is None or tok[0] != "punct" or tok[1] not in ".[":
                return node
            self.take()
            if tok[1] == ".":
                name = self.take()
                if name[0] != "ident":
                    raise ExpressionSyntaxError(
                        f"expected a property name at position {name[2]}, found '{name[1]}'"
                    )
                node = Prop(node, name[1])
            else:
                node = Index(node, self.expr())
                self.take("]")

    def primary(self) -> Node:
        kind, text, pos = self.take()
        if kind == "str":
            return Lit(text[1:-1].replace("''", "'"))
        if kind == "num":
            if "." in text:
                raise ExpressionSyntaxError(
                    f"floating point numbers are not supported ('{text[:40]}' at position {pos})"
                )
            value = int64(text)
            if value is None:
                raise ExpressionSyntaxError(
                    f"the integer '{text[:40]}' at position {pos} is out of range (64-bit)"
                )
            return Lit(value)
        if kind == "ident":
            nxt = self.peek()
            if nxt is None or nxt[1] != "(":
                raise ExpressionSyntaxError(
                    f"'{text}' at position {pos} must be a function call, e.g. parameters('name')"
                )
            self.take("(")
            args: list[Node] = []
            if (self.peek() or ("", "", 0))[1] != ")":
                args.append(self.expr())
                while (self.peek() or ("", "", 0))[1] == ",":
                    self.take(",")
                    args.append(self.expr())
            self.take(")")
            return Call(text, tuple(args))
        raise ExpressionSyntaxError(f"unexpected '{text}' at position {pos}")


# expression -> (syntax tree, nesting depth); only short expressions are kept, so the cache
# (shared by every request) stays small whatever templates it is sent
_PARSED: dict[str, tuple[Node, int]] = {}
PARSED_ENTRIES, PARSED_LENGTH = 4096, 512


def parse(expression: str, max_depth: int = Limits.max_depth) -> Node:
    """The syntax tree of an expression (the text between the outer brackets). Raises
    ExpressionSyntaxError, or LimitExceeded when it nests deeper than `max_depth`."""
    hit = _PARSED.get(expression)
    if hit is None:
        if not expression.strip():
            raise ExpressionSyntaxError("the expression is empty")
        parser = _Parser(expression, max_depth)
        try:
            hit = (parser.parse(), parser.deepest)
        except RecursionError:
            raise ExpressionSyntaxError("it is nested too deeply") from None
        if len(expression) <= PARSED_LENGTH and len(_PARSED) < PARSED_ENTRIES:
            _PARSED[expression] = hit
    if hit[1] > max_depth:
        raise LimitExceeded(
            "max_depth",
            max_depth,
            f"The expression is nested too deeply (more than {max_depth} levels)",
        )
    return hit[0]


def is_expression(value: Any) -> bool:
    return (
        isinstance(value, str)
        and len(value) >= 2
        and value[0] == "["
        and value[-1] == "]"
        and not value.startswith("[[")
    )


def calls(node: Node) -> Iterator[str]:
    """The names (as written) of every function an expression calls."""
    if isinstance(node, Call):
        yield node.name
        for a in node.args:
            yield from calls(a)
    elif isinstance(node, Prop):
        yield from calls(node.target)
    elif isinstance(node, Index):
        yield from calls(node.target)
        yield from calls(node.key)


def walk(value: Any, path: str, skip: tuple[str, ...] = ()) -> Iterator[tuple[str, str]]:
    """Every (path, string) in a JSON value, leaving out the values of keys in `skip`."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for k, v in value.items():
            if k not in skip:
                yield from walk(v, f"{path}.{k}" if path else str(k), skip)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from walk(v, f"{path}[{i}]", skip)


def type_name(value: Any) -> str:
    if value is None:
        return "Null"
    if isinstance(value, bool):
        return "Boolean"
    if isinstance(value, int):
        return "Integer"
    if isinstance(value, str):
        return "String"
    if isinstance(value, list):
        return "Array"
    if isinstance(value, dict):
        return "Object"
    return type(value).__name__


def text(value: Any) -> str:
    """A value as ARM turns it into text (format, concat, string): .NET's True/False,
    compact JSON for objects and arrays."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "True" if value else "False"
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"))
    return str(value)
