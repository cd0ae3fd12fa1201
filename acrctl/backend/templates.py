"""ARM templates: the expression language and the expansion of a template into the
resources a deployment puts, in dependsOn order.

Plain Python, no HTTP and no store: the deployment engine (acrctl.backend.deployments)
hands in the scope (subscription, resource group, deployment name) and, for `reference()`,
a callback that reads a deployed resource.

What is supported, and everything else is refused with a TemplateError naming the template
path (`resources[1].properties.location`), never silently ignored:

* expressions: `[...]` strings with nested function calls, string literals with `''`
  escaping, integers, property access (`.name`) and indexing (`[0]`, `['key']`); a string
  starting with `[[` is the literal text without the first bracket;
* functions: FUNCTIONS below (the ones templates for registries use);
* parameters with defaultValue (itself an expression), allowedValues, min/maxLength,
  min/maxValue and type checks; variables (lazily evaluated, cycles refused);
* resources of the types in RESOURCE_TYPES, with nested names (`myreg/eastus`), child
  resources nested in a parent's `resources` array (relative type and name), `condition`
  and `dependsOn` (resource ids, `type/name` or names); a child depends on its registry
  implicitly when the registry is in the same template;
* outputs (where `reference()` reads what was deployed).

Evaluation is bounded (acrctl.backend.template_limits: string and value sizes, the total
built, steps, depth, time, resources, expression length); past a bound a TemplateLimitError
names the place, the limit and its setting.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Union

from acrctl.backend import ids
from acrctl.backend.errors import ArmError
from acrctl.backend.template_limits import Budget, LimitExceeded, Limits

# lower-case full type -> (canonical type, kind)
RESOURCE_TYPES: dict[str, tuple[str, str]] = {
    ids.REGISTRY_TYPE.lower(): (ids.REGISTRY_TYPE, "registry"),
    ids.REPLICATION_TYPE.lower(): (ids.REPLICATION_TYPE, "replication"),
    ids.WEBHOOK_TYPE.lower(): (ids.WEBHOOK_TYPE, "webhook"),
}
# what a resource sends to its provider; other keys (apiVersion, comments, metadata, ...) are
# template bookkeeping
BODY_KEYS = ("location", "sku", "tags", "properties", "identity", "zones", "kind", "plan")
UNSUPPORTED_RESOURCE_KEYS = {
    "copy": "copy loops are not supported by acrctl; list each resource.",
    "scope": "extension resources ('scope') are not supported by acrctl.",
    "subscriptionId": "cross-subscription resources are not supported by acrctl.",
    "resourceGroup": "cross-resource-group resources are not supported by acrctl.",
}
PARAMETER_TYPES = {
    "string": "String",
    "securestring": "SecureString",
    "int": "Int",
    "bool": "Bool",
    "object": "Object",
    "secureobject": "SecureObject",
    "array": "Array",
}
SECURE = {"securestring", "secureobject"}
NOT_EVALUATED = ("metadata", "comments", "$schema", "contentVersion", "apiProfile")


class TemplateError(Exception):
    """A template the engine cannot deploy. `path` names the place: `resources[1].name`,
    `parameters.acrSku`, `outputs.loginServer.value` ('' for the template as a whole)."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path
        self.message = message


class TemplateLimitError(TemplateError):
    """A template past one of the evaluation limits (template_limits.Limits)."""


def _limit(path: str, exc: LimitExceeded) -> TemplateLimitError:
    return TemplateLimitError(path, str(exc))


# == uniqueString: ARM's 64-bit Murmur variant, base32 encoded ================================
M32 = 0xFFFFFFFF
M64 = 0xFFFFFFFFFFFFFFFF
BASE32 = "abcdefghijklmnopqrstuvwxyz234567"


def _rotl(x: int, r: int) -> int:
    return ((x << r) | (x >> (32 - r))) & M32


def _fmix(h: int) -> int:
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & M32
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & M32
    return h ^ (h >> 16)


def murmur64(data: bytes, seed: int = 0) -> int:
    """The 64-bit MurmurHash variant ARM's uniqueString() is built on."""
    c1, c2 = 0x239B961B, 0xAB0E9789
    n, h1, h2, i = len(data), seed, seed, 0
    while i + 7 < n:
        k1 = int.from_bytes(data[i : i + 4], "little")
        k2 = int.from_bytes(data[i + 4 : i + 8], "little")
        k1 = (_rotl((k1 * c1) & M32, 15) * c2) & M32
        h1 = ((_rotl(h1 ^ k1, 19) + h2) * 5 + 0x561CCD1B) & M32
        k2 = (_rotl((k2 * c2) & M32, 17) * c1) & M32
        h2 = ((_rotl(h2 ^ k2, 13) + h1) * 5 + 0x0BCAA747) & M32
        i += 8
    tail = n - i
    if tail > 0:
        k1 = int.from_bytes(data[i : i + min(tail, 4)], "little")
        h1 ^= (_rotl((k1 * c1) & M32, 15) * c2) & M32
        if tail > 4:
            k2 = int.from_bytes(data[i + 4 : n], "little")
            h2 ^= (_rotl((k2 * c2) & M32, 17) * c1) & M32
    h1 ^= n & M32
    h2 ^= n & M32
    h1 = (h1 + h2) & M32
    h2 = (h2 + h1) & M32
    h1, h2 = _fmix(h1), _fmix(h2)
    h1 = (h1 + h2) & M32
    h2 = (h2 + h1) & M32
    return (h2 << 32) | h1


def unique_string(*values: str) -> str:
    """ARM's uniqueString(): 13 characters of [a-z2-7], deterministic for the values."""
    h = murmur64("-".join(values).encode())
    out = []
    for _ in range(13):
        out.append(BASE32[h >> 59])
        h = (h << 5) & M64
    return "".join(out)


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


# == the template ============================================================================
@dataclass(frozen=True)
class Scope:
    """Where a deployment runs: what resourceGroup(), subscription() and deployment()
    return."""

    subscription: str
    resource_group: dict[str, Any]  # the group's ARM document
    deployment: str
    tenant: str = ""

    @property
    def group_name(self) -> str:
        return str(self.resource_group["name"])


@dataclass
class Resource:
    """One resource of an expanded template."""

    path: str  # resources[1], resources[0].resources[0]
    type: str  # canonical full type
    kind: str  # registry | replication | webhook
    name: str  # full name: myreg, myreg/eastus
    id: str
    raw: dict[str, Any]
    depends_on: list[str] = field(default_factory=list)  # ids of template resources
    uses_reference: bool = False  # the body calls reference(): evaluated at deploy time

    @property
    def names(self) -> list[str]:
        return self.name.split("/")

    @property
    def registry_id(self) -> str:
        return self.id if self.kind == "registry" else self.id.rsplit("/", 2)[0]


Reference = Callable[[str, bool], Any]  # (resource id, full) -> the resource or its properties


class Template:
    """A template bound to its parameter values and scope. Construction validates it
    (syntax, functions, parameters, resources, dependsOn) without evaluating resource
    bodies; `ordered()` gives the resources in deployment order, `body()` evaluates one,
    `outputs()` evaluates the outputs."""

    def __init__(
        self,
        template: Any,
        parameters: Any,
        scope: Scope,
        reference: Reference | None = None,
        limits: Limits | None = None,
    ) -> None:
        if not isinstance(template, dict):
            raise TemplateError("", "The template must be a JSON object.")
        self.raw = template
        self.scope = scope
        self.reference = reference
        self.budget = Budget(limits)
        self._parsed: dict[str, Node] = {}  # every expression of this template, parsed once
        self._check_expressions()
        self._param_defs = self._definitions()
        self._param_values: dict[str, Any] = {}
        self._variables: dict[str, Any] = {}
        self._variable_names: dict[str, str] | None = None  # lower-cased -> as written
        self._evaluating: list[str] = []
        self._resolve_parameters(parameters)
        self.resources: list[Resource] = []
        # (id, type, name) of resources whose condition is false
        self._skipped: list[tuple[str, str, str]] = []
        self._defined = 0  # resources defined so far, skipped ones included
        self._names: dict[str, str] | None = None  # find()'s index, built after _expand
        self._expand()
        self._resolve_dependencies()

    # -- validation of every expression, before anything is evaluated ----------------------
    def _check_expressions(self) -> None:
        self.budget.resume()  # the clock runs while expressions are parsed
        try:
            self._check_each_expression()
        finally:
            self.budget.pause()

    def _check_each_expression(self) -> None:
        for key in ("functions",):
            if self.raw.get(key):
                raise TemplateError(key, "user-defined functions are not supported by acrctl.")
        for path, value in walk(self.raw, "", skip=NOT_EVALUATED):
            if not is_expression(value):
                continue
            node = self._parse_at(value[1:-1], path)
            try:
                self.budget.expression(len(value) - 2)
            except LimitExceeded as exc:
                raise _limit(path, exc) from None
            for name in calls(node):
                if name.lower() not in FUNCTIONS:
                    raise _unsupported(name, path)

    # -- parameters and variables ------------------------------------------------------------
    def _definitions(self) -> dict[str, tuple[str, dict[str, Any]]]:
        defs = self.raw.get("parameters") or {}
        if not isinstance(defs, dict):
            raise TemplateError("parameters", "The template parameters must be an object.")
        out: dict[str, tuple[str, dict[str, Any]]] = {}
        for name, d in defs.items():
            path = f"parameters.{name}"
            if not isinstance(d, dict):
                raise TemplateError(path, "A template parameter must be an object with a 'type'.")
            kind = d.get("type")
            if not isinstance(kind, str) or kind.lower() not in PARAMETER_TYPES:
                raise TemplateError(
                    f"{path}.type",
                    f"The parameter type '{kind}' is not "
                    "valid. Allowed types: "
                    f"{', '.join(PARAMETER_TYPES.values())}.",
                )
            out[name.lower()] = (name, d)
        return out

    def _resolve_parameters(self, given: Any) -> None:
        given = given or {}
        if not isinstance(given, dict):
            raise TemplateError(
                "parameters",
                'The deployment parameters must be an object of {"name": {"value": ...}}.',
            )
        unknown = [k for k in given if k.lower() not in self._param_defs]
        if unknown:
            allowed = ", ".join(n for n, _ in self._param_defs.values()) or "(none)"
            raise TemplateError(
                f"parameters.{unknown[0]}",
                "The template parameters "
                f"'{', '.join(unknown)}' are not valid; they are not present "
                "in the original template and can therefore not be provided "
                "at deployment time. The only supported parameters for this "
                f"template are '{allowed}'.",
            )
        self._given = {k.lower(): v for k, v in given.items()}
        for key in self._param_defs:
            self._parameter(key)

    def _parameter(self, key: str) -> Any:
        if key in self._param_values:
            return self._param_values[key]
        name, d = self._param_defs[key]
        path = f"parameters.{name}"
        if path in self._evaluating:
            raise TemplateError(
                path,
                "The default values of parameters "
                f"{' -> '.join(self._evaluating + [path])} depend on each "
                "other in a cycle.",
            )
        if key in self._given:
            wrapper = self._given[key]
            if isinstance(wrapper, dict) and "reference" in wrapper:
                raise TemplateError(
                    path,
                    "Key Vault references in parameters are not "
                    "supported by acrctl; pass the value.",
                )
            if not isinstance(wrapper, dict) or "value" not in wrapper:
                raise TemplateError(
                    path, "A deployment parameter must be an object with a 'value'."
                )
            value = wrapper["value"]
        elif "defaultValue" in d:
            self._evaluating.append(path)
            try:
                value = self.produce(d["defaultValue"], f"{path}.defaultValue")
            finally:
                self._evaluating.pop()
        else:
            raise TemplateError(
                path,
                f"The value for the template parameter '{name}' is not "
                "provided. Please see https://aka.ms/arm-create-parameter-file "
                "for usage details.",
            )
        self._param_values[key] = self._check_parameter(name, d, value, path)
        return self._param_values[key]

    @staticmethod
    def _check_parameter(name: str, d: dict[str, Any], value: Any, path: str) -> Any:
        kind = str(d["type"]).lower()
        ok = {
            "string": isinstance(value, str),
            "securestring": isinstance(value, str),
            "int": isinstance(value, int) and not isinstance(value, bool),
            "bool": isinstance(value, bool),
            "object": isinstance(value, dict),
            "secureobject": isinstance(value, dict),
            "array": isinstance(value, list),
        }[kind]
        if not ok:
            raise TemplateError(
                path,
                f"Template parameter '{name}' was provided an invalid "
                f"value. Expected a value of type '{PARAMETER_TYPES[kind]}', "
                f"but received a value of type '{type_name(value)}'.",
            )
        allowed = d.get("allowedValues")
        if isinstance(allowed, list) and value not in allowed:
            shown = ", ".join(text(a) for a in allowed)
            raise TemplateError(
                path,
                f"The provided value for the template parameter "
                f"'{name}' is not valid. The value '{text(value)}' is not part "
                f"of the allowed value(s): '{shown}'.",
            )
        if isinstance(value, str | list):
            lo, hi = d.get("minLength"), d.get("maxLength")
            if isinstance(lo, int) and len(value) < lo:
                raise TemplateError(
                    path,
                    f"The provided value for the template parameter "
                    f"'{name}' is too short: the minimum length is {lo}.",
                )
            if isinstance(hi, int) and len(value) > hi:
                raise TemplateError(
                    path,
                    f"The provided value for the template parameter "
                    f"'{name}' is too long: the maximum length is {hi}.",
                )
        if kind == "int":
            lo, hi = d.get("minValue"), d.get("maxValue")
            if isinstance(lo, int) and value < lo:
                raise TemplateError(
                    path,
                    f"The provided value for the template parameter "
                    f"'{name}' is less than the minimum value {lo}.",
                )
            if isinstance(hi, int) and value > hi:
                raise TemplateError(
                    path,
                    f"The provided value for the template parameter "
                    f"'{name}' is greater than the maximum value {hi}.",
                )
        return value

    def parameter(self, name: str, path: str) -> Any:
        key = name.lower()
        if key not in self._param_defs:
            raise TemplateError(
                path,
                f"The template parameter '{name}' is not found. Please "
                "see https://aka.ms/arm-syntax-parameters for usage details.",
            )
        return self._parameter(key)

    def variable(self, name: str, path: str) -> Any:
        defs = self.raw.get("variables") or {}
        if not isinstance(defs, dict):
            raise TemplateError("variables", "The template variables must be an object.")
        if "copy" in defs:
            raise TemplateError(
                "variables.copy", "variable copy loops are not supported by acrctl."
            )
        if self._variable_names is None:
            self._variable_names = {}
            for k in defs:
                self._variable_names.setdefault(k.lower(), k)
        match = self._variable_names.get(name.lower())
        if match is None:
            raise TemplateError(
                path,
                f"The template variable '{name}' is not found. Please "
                "see https://aka.ms/arm-syntax-variables for usage details.",
            )
        if match in self._variables:
            return self._variables[match]
        vpath = f"variables.{match}"
        if vpath in self._evaluating:
            raise TemplateError(
                vpath,
                "The variables "
                f"{' -> '.join(self._evaluating + [vpath])} depend on each "
                "other in a cycle.",
            )
        self._evaluating.append(vpath)
        try:
            self._variables[match] = self.produce(defs[match], vpath)
        finally:
            self._evaluating.pop()
        return self._variables[match]

    def parameters_record(self) -> dict[str, Any]:
        """The parameters as ARM reports them on a deployment (secure values left out)."""
        out: dict[str, Any] = {}
        for key, (name, d) in self._param_defs.items():
            kind = str(d["type"]).lower()
            out[name] = {"type": PARAMETER_TYPES[kind]}
            if kind not in SECURE:
                out[name]["value"] = self._param_values[key]
        return out

    # -- evaluation ----------------------------------------------------------------------
    def _parse(self, expression: str) -> Node:
        node = self._parsed.get(expression)
        if node is None:
            self.budget.tick()
            node = self._parsed[expression] = parse(expression, self.budget.limits.max_depth)
        return node

    def _parse_at(self, expression: str, path: str) -> Node:
        """_parse() with its errors named at `path`."""
        try:
            return self._parse(expression)
        except LimitExceeded as exc:
            raise _limit(path, exc) from None
        except ExpressionSyntaxError as exc:
            raise TemplateError(
                path, f"The template language expression '{expression}' is not valid: {exc}."
            ) from None

    def produce(self, value: Any, path: str) -> Any:
        """value() for what the template produces (a variable, a parameter default, a
        resource's type, name or body, an output): its size counts towards the total."""
        return self._produced(self.value(value, path), path)

    def _produced(self, value: Any, path: str) -> Any:
        try:
            self.budget.produced(value, "The value is")
        except LimitExceeded as exc:
            raise _limit(path, exc) from None
        return value

    def value(self, value: Any, path: str) -> Any:
        """A JSON value with every expression in it evaluated."""
        if isinstance(value, str):
            if value.startswith("[[") and value.endswith("]"):
                return value[1:]
            if is_expression(value):
                return self.evaluate(self._parse_at(value[1:-1], path), path)
            return value
        if not isinstance(value, dict | list):
            return value
        budget = self.budget
        try:
            budget.enter()
        except LimitExceeded as exc:
            raise _limit(path, exc) from None
        try:
            out = (
                {k: self.value(v, f"{path}.{k}") for k, v in value.items()}
                if isinstance(value, dict)
                else [self.value(v, f"{path}[{i}]") for i, v in enumerate(value)]
            )
            budget.check(out, "The value is")
            return out
        except LimitExceeded as exc:
            raise _limit(path, exc) from None
        finally:
            budget.leave()

    def evaluate(self, node: Node, path: str) -> Any:
        """An expression's value. Each call, property read and index read is one step and
        one level of nesting (Limits.max_steps, max_depth, max_seconds)."""
        if isinstance(node, Lit):
            return node.value
        budget = self.budget
        try:
            budget.begin()
        except LimitExceeded as exc:
            raise _limit(path, exc) from None
        try:
            return self._call(node, path) if isinstance(node, Call) else self._read(node, path)
        except LimitExceeded as exc:
            raise _limit(path, exc) from None
        finally:
            budget.leave()

    def _read(self, node: Prop | Index, path: str) -> Any:
        if isinstance(node, Prop):
            target = self.evaluate(node.target, path)
            if not isinstance(target, dict):
                raise TemplateError(
                    path,
                    f"The language expression property '{node.name}' "
                    f"cannot be read from a value of type "
                    f"'{type_name(target)}'.",
                )
            if node.name in target:
                return target[node.name]
            for k, v in target.items():
                if k.lower() == node.name.lower():
                    return v
            raise TemplateError(
                path,
                f"The language expression property '{node.name}' "
                "doesn't exist, available properties are "
                f"'{', '.join(target)}'.",
            )
        if isinstance(node, Index):
            target, key = self.evaluate(node.target, path), self.evaluate(node.key, path)
            if isinstance(target, list) and isinstance(key, int) and not isinstance(key, bool):
                if not 0 <= key < len(target):
                    raise TemplateError(
                        path,
                        f"The index {key} is out of range for an array of length {len(target)}.",
                    )
                return target[key]
            if isinstance(target, dict) and isinstance(key, str):
                if key in target:
                    return target[key]
                for k, v in target.items():
                    if k.lower() == key.lower():
                        return v
                raise TemplateError(
                    path,
                    f"The language expression property '{key}' "
                    "doesn't exist, available properties are "
                    f"'{', '.join(target)}'.",
                )
            raise TemplateError(
                path,
                f"A value of type '{type_name(target)}' cannot be "
                f"indexed with a value of type '{type_name(key)}'.",
            )
        raise AssertionError(node)  # pragma: no cover

    def _call(self, node: Call, path: str) -> Any:
        name = node.name.lower()
        if name == "if":  # lazy: only the branch taken is evaluated
            _arity(node.name, node.args, 3, 3, path)
            cond = self.evaluate(node.args[0], path)
            if not isinstance(cond, bool):
                raise _arg_error(node.name, path, "the condition must be a boolean")
            return self.evaluate(node.args[1] if cond else node.args[2], path)
        fn = FUNCTIONS.get(name)
        if fn is None:  # checked up front, except under keys such as 'metadata'
            raise _unsupported(node.name, path)
        args = [self.evaluate(a, path) for a in node.args]
        result = fn(self, node.name, args, path)
        if name not in PASS_THROUGH and isinstance(result, str | list | dict):
            budget = self.budget  # counted as built even if it is an argument returned
            budget.charge(budget.check(result, f"The function '{node.name}' returns"))
        return result

    # -- resources ---------------------------------------------------------------------------
    def _expand(self) -> None:
        res = self.raw.get("resources", [])
        if not isinstance(res, list):
            raise TemplateError(
                "resources",
                "The template resources must be an array "
                "(symbolic resource names, languageVersion 2.0, are not "
                "supported by acrctl).",
            )
        for i, r in enumerate(res):
            self._resource(r, f"resources[{i}]", None)
        seen: dict[str, str] = {}
        for r in self.resources:
            if r.id.lower() in seen:
                raise TemplateError(
                    r.path,
                    f"The resource '{r.id}' is defined multiple times "
                    f"in the template (also at {seen[r.id.lower()]}).",
                )
            seen[r.id.lower()] = r.path

    def _resource(self, raw: Any, path: str, parent: Resource | None) -> None:
        if not isinstance(raw, dict):
            raise TemplateError(path, "A template resource must be an object.")
        self._defined += 1
        try:
            self.budget.count("resources", self._defined)
        except LimitExceeded as exc:
            raise _limit(path, exc) from None
        for key, why in UNSUPPORTED_RESOURCE_KEYS.items():
            if key in raw:
                raise TemplateError(f"{path}.{key}", why)
        rtype = self.produce(raw.get("type"), f"{path}.type")
        name = self.produce(raw.get("name"), f"{path}.name")
        if not isinstance(rtype, str) or not rtype:
            raise TemplateError(f"{path}.type", "The template resource needs a 'type'.")
        if not isinstance(name, str) or not name:
            raise TemplateError(f"{path}.name", "The template resource needs a 'name'.")
        full_type, full_name = rtype.strip("/"), name.strip("/")
        if parent is not None and "/" not in full_type:
            full_type, full_name = f"{parent.type}/{full_type}", f"{parent.name}/{full_name}"
        known = RESOURCE_TYPES.get(full_type.lower())
        if known is None:
            raise TemplateError(
                f"{path}.type",
                f"The resource type '{rtype}' is not "
                "supported by acrctl. Templates can deploy "
                f"{', '.join(t for t, _ in RESOURCE_TYPES.values())}.",
            )
        canonical, kind = known
        segments = full_name.split("/")
        if len(segments) != canonical.count("/") or not all(segments):
            raise TemplateError(
                f"{path}.name",
                f"The template resource '{name}' for type "
                f"'{rtype}' has incorrect segment lengths. A nested resource "
                "type must have identical number of segments as its resource "
                "name. A root resource type must have segment length one "
                "greater than its resource name.",
            )
        if parent is not None and segments[0].lower() != parent.names[0].lower():
            raise TemplateError(
                f"{path}.name",
                f"The child resource '{full_name}' is nested "
                f"in '{parent.name}' but names another parent.",
            )
        rid = ids.registry_id(self.scope.subscription, self.scope.group_name, segments[0])
        if kind != "registry":
            rid += f"/{canonical.rsplit('/', 1)[1]}/{segments[1]}"
        if "condition" in raw:
            cond = self.value(raw["condition"], f"{path}.condition")
            if not isinstance(cond, bool):
                raise TemplateError(
                    f"{path}.condition",
                    f"The condition must be a boolean, not a value of type '{type_name(cond)}'.",
                )
            if not cond:
                self._skipped.append((rid, canonical, full_name))
                return
        deps = raw.get("dependsOn", [])
        if not isinstance(deps, list):
            raise TemplateError(f"{path}.dependsOn", "dependsOn must be an array.")
        evaluated = []
        for j, d in enumerate(deps):
            dep = self.produce(d, f"{path}.dependsOn[{j}]")
            if not isinstance(dep, str):
                raise TemplateError(
                    f"{path}.dependsOn[{j}]", "A dependsOn entry must be a resource name or id."
                )
            evaluated.append(dep)
        uses_ref = any(
            "reference" in {c.lower() for c in calls(self._parse_at(v[1:-1], p))}
            for k in BODY_KEYS
            if k in raw
            for p, v in walk(raw[k], f"{path}.{k}")
            if is_expression(v)
        )
        res = Resource(path, canonical, kind, full_name, rid, raw, evaluated, uses_ref)
        self.resources.append(res)
        children = raw.get("resources", [])
        if not isinstance(children, list):
            raise TemplateError(f"{path}.resources", "Child resources must be an array.")
        for j, child in enumerate(children):
            self._resource(child, f"{path}.resources[{j}]", res)

    def find(self, ref: str) -> str | None:
        """The id of the template resource a dependsOn/reference entry names (a resource id,
        its `provider/type/name/...` tail, `type/name` or a name); '' when it names a
        resource whose condition is false."""
        if self._names is None:
            self._names = self._index()
        return self._names.get(ref.strip().strip("/").lower())

    def _index(self) -> dict[str, str]:
        """find()'s answers by lower-cased key: each resource's id, its tail after
        /providers/, `type/name` and name, the first resource in template order winning;
        '' for a resource whose condition is false."""
        index: dict[str, str] = {}
        skipped = set(self._skipped)
        for rid, rtype, name in [(r.id, r.type, r.name) for r in self.resources] + self._skipped:
            answer = "" if (rid, rtype, name) in skipped else rid
            low = rid.lower().strip("/")
            for key in (
                low,
                low.split("/providers/", 1)[-1],
                f"{rtype}/{name}".lower(),
                name.lower(),
            ):
                index.setdefault(key, answer)
        return index

    def _resolve_dependencies(self) -> None:
        present = {r.id.lower(): r.id for r in self.resources}
        for r in self.resources:
            resolved: dict[str, None] = {}  # ordered, without repeats
            for j, dep in enumerate(r.depends_on):
                rid = self.find(dep)
                if rid is None:
                    raise TemplateError(
                        f"{r.path}.dependsOn[{j}]",
                        f"The resource '{dep}' is not defined in the template.",
                    )
                if rid:
                    resolved[rid] = None
            parent = present.get(r.registry_id.lower()) if r.kind != "registry" else None
            if parent is not None:
                resolved[parent] = None  # a child needs its registry first
            r.depends_on = list(resolved)

    def ordered(self) -> list[Resource]:
        """The resources in dependsOn order: in rounds, each round the resources whose
        dependencies are all in earlier rounds, in template order (linear in resources and
        dependencies)."""
        position = {r.id.lower(): i for i, r in enumerate(self.resources)}
        waiting = {r.id.lower(): {d.lower() for d in r.depends_on} for r in self.resources}
        dependents: dict[str, list[str]] = {}
        for key, deps in waiting.items():
            for d in deps:
                dependents.setdefault(d, []).append(key)
        ready = [r.id.lower() for r in self.resources if not waiting[r.id.lower()]]
        out: list[Resource] = []
        while ready:
            out += [self.resources[position[k]] for k in ready]
            after: set[str] = set()
            for done in ready:
                for key in dependents.get(done, ()):
                    waiting[key].discard(done)
                    if not waiting[key]:
                        after.add(key)
            ready = sorted(after, key=position.__getitem__)
        if len(out) < len(self.resources):
            placed = {id(r) for r in out}
            raise self._cycle([r for r in self.resources if id(r) not in placed])
        return out

    def _cycle(self, remaining: list[Resource]) -> TemplateError:
        by_id = {r.id.lower(): r for r in remaining}
        start = remaining[0]
        chain: list[Resource] = []
        node: Resource | None = start
        while node is not None and node not in chain:
            chain.append(node)
            node = next((by_id[d.lower()] for d in node.depends_on if d.lower() in by_id), None)
        loop = chain[chain.index(node) :] if node is not None else chain
        names = " -> ".join(f"'{r.id}'" for r in [*loop, loop[0]])
        return TemplateError(
            f"{loop[0].path}.dependsOn",
            "Circular dependency detected on "
            f"resources: {names}. Please see "
            "https://aka.ms/arm-syntax-resources for usage details.",
        )

    def body(self, res: Resource) -> dict[str, Any]:
        """What the resource sends to its provider, evaluated."""
        body = {k: self.value(res.raw[k], f"{res.path}.{k}") for k in BODY_KEYS if k in res.raw}
        return dict(self._produced(body, res.path))

    def _outputs(self) -> dict[str, Any]:
        outs = self.raw.get("outputs") or {}
        if not isinstance(outs, dict):
            raise TemplateError("outputs", "The template outputs must be an object.")
        return outs

    def outputs(self) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for name, o in self._outputs().items():
            entry = self._output(name, o)
            if entry is not None:
                result[name] = entry
        return result

    def check_outputs(self) -> None:
        """Evaluate the outputs now, before anything is deployed, for their limits only:
        a TemplateLimitError is raised; other errors (an output that reads a resource not
        yet deployed) wait for outputs(), after the deployment, as ARM reports them."""
        for name, o in self._outputs().items():
            try:
                self._output(name, o)
            except TemplateLimitError:
                raise
            except TemplateError:
                pass

    def _output(self, name: str, o: Any) -> dict[str, Any] | None:
        path = f"outputs.{name}"
        if not isinstance(o, dict):
            raise TemplateError(path, "An output must be an object with 'type' and 'value'.")
        if "copy" in o:
            raise TemplateError(f"{path}.copy", "output copy loops are not supported by acrctl.")
        kind = str(o.get("type", "")).lower()
        if kind not in PARAMETER_TYPES:
            raise TemplateError(f"{path}.type", f"The output type '{o.get('type')}' is not valid.")
        if "condition" in o and self.value(o["condition"], f"{path}.condition") is False:
            return None
        entry: dict[str, Any] = {"type": PARAMETER_TYPES[kind]}
        value = self.produce(o.get("value"), f"{path}.value")
        if kind not in SECURE:
            entry["value"] = value
        return entry


# == the functions ================================================================================
Function = Callable[[Template, str, list[Any], str], Any]


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
