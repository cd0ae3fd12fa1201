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
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Union

from acrctl.backend import ids
from acrctl.backend.errors import ArmError

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
PARAMETER_TYPES = {"string": "String", "securestring": "SecureString", "int": "Int",
                   "bool": "Bool", "object": "Object", "secureobject": "SecureObject",
                   "array": "Array"}
SECURE = {"securestring", "secureobject"}
NOT_EVALUATED = ("metadata", "comments", "$schema", "contentVersion", "apiProfile")


class TemplateError(Exception):
    """A template the engine cannot deploy. `path` names the place: `resources[1].name`,
    `parameters.acrSku`, `outputs.loginServer.value` ('' for the template as a whole)."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path
        self.message = message


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
        k1 = int.from_bytes(data[i:i + 4], "little")
        k2 = int.from_bytes(data[i + 4:i + 8], "little")
        k1 = (_rotl((k1 * c1) & M32, 15) * c2) & M32
        h1 = ((_rotl(h1 ^ k1, 19) + h2) * 5 + 0x561CCD1B) & M32
        k2 = (_rotl((k2 * c2) & M32, 17) * c1) & M32
        h2 = ((_rotl(h2 ^ k2, 13) + h1) * 5 + 0x0BCAA747) & M32
        i += 8
    tail = n - i
    if tail > 0:
        k1 = int.from_bytes(data[i:i + min(tail, 4)], "little")
        h1 ^= (_rotl((k1 * c1) & M32, 15) * c2) & M32
        if tail > 4:
            k2 = int.from_bytes(data[i + 4:n], "little")
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

_TOKEN = re.compile(r"""\s*(?:
    (?P<str>'(?:[^']|'')*')
  | (?P<num>-?\d+(?:\.\d+)?)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<punct>[().,\[\]])
)""", re.X)


class ExpressionSyntaxError(ValueError):
    pass


def _tokens(text: str) -> list[tuple[str, str, int]]:
    out: list[tuple[str, str, int]] = []
    pos = 0
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos >= len(text):
            return out
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            what = "an unterminated string literal" if text[pos] == "'" \
                else f"the unexpected character '{text[pos]}'"
            raise ExpressionSyntaxError(f"{what} at position {pos + 1}")
        kind = m.lastgroup or ""
        out.append((kind, m.group(kind), pos + 1))
        pos = m.end()


class _Parser:
    def __init__(self, text: str) -> None:
        self.toks = _tokens(text)
        self.i = 0

    def peek(self) -> tuple[str, str, int] | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self, punct: str | None = None) -> tuple[str, str, int]:
        tok = self.peek()
        if tok is None:
            raise ExpressionSyntaxError(
                f"expected '{punct}' but the expression ended" if punct
                else "the expression ended early")
        if punct is not None and (tok[0] != "punct" or tok[1] != punct):
            raise ExpressionSyntaxError(f"expected '{punct}' at position {tok[2]}, "
                                        f"found '{tok[1]}'")
        self.i += 1
        return tok

    def parse(self) -> Node:
        node = self.expr()
        tok = self.peek()
        if tok is not None:
            raise ExpressionSyntaxError(f"unexpected '{tok[1]}' at position {tok[2]}")
        return node

    def expr(self) -> Node:
        node = self.primary()
        while True:
            tok = self.peek()
            if tok is None or tok[0] != "punct" or tok[1] not in ".[":
                return node
            self.take()
            if tok[1] == ".":
                name = self.take()
                if name[0] != "ident":
                    raise ExpressionSyntaxError(f"expected a property name at position "
                                                f"{name[2]}, found '{name[1]}'")
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
                raise ExpressionSyntaxError(f"floating point numbers are not supported "
                                            f"('{text}' at position {pos})")
            return Lit(int(text))
        if kind == "ident":
            nxt = self.peek()
            if nxt is None or nxt[1] != "(":
                raise ExpressionSyntaxError(f"'{text}' at position {pos} must be a function "
                                            "call, e.g. parameters('name')")
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


_PARSED: dict[str, Node] = {}


def parse(expression: str) -> Node:
    """The syntax tree of an expression (the text between the outer brackets)."""
    node = _PARSED.get(expression)
    if node is None:
        if not expression.strip():
            raise ExpressionSyntaxError("the expression is empty")
        try:
            node = _Parser(expression).parse()
        except RecursionError:
            raise ExpressionSyntaxError("it is nested too deeply") from None
        if len(_PARSED) < 4096:
            _PARSED[expression] = node
    return node


def is_expression(value: Any) -> bool:
    return (isinstance(value, str) and len(value) >= 2 and value[0] == "["
            and value[-1] == "]" and not value.startswith("[["))


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

    def __init__(self, template: Any, parameters: Any, scope: Scope,
                 reference: Reference | None = None) -> None:
        if not isinstance(template, dict):
            raise TemplateError("", "The template must be a JSON object.")
        self.raw = template
        self.scope = scope
        self.reference = reference
        self._check_expressions()
        self._param_defs = self._definitions()
        self._param_values: dict[str, Any] = {}
        self._variables: dict[str, Any] = {}
        self._evaluating: list[str] = []
        self._resolve_parameters(parameters)
        self.resources: list[Resource] = []
        # (id, type, name) of resources whose condition is false
        self._skipped: list[tuple[str, str, str]] = []
        self._expand()
        self._resolve_dependencies()

    # -- validation of every expression, before anything is evaluated ----------------------
    def _check_expressions(self) -> None:
        for key in ("functions",):
            if self.raw.get(key):
                raise TemplateError(key, "user-defined functions are not supported by acrctl.")
        for path, value in walk(self.raw, "", skip=NOT_EVALUATED):
            if not is_expression(value):
                continue
            try:
                node = parse(value[1:-1])
            except ExpressionSyntaxError as exc:
                raise TemplateError(path, f"The template language expression '{value[1:-1]}' "
                                    f"is not valid: {exc}.") from None
            for name in calls(node):
                if name.lower() not in FUNCTIONS:
                    raise TemplateError(path, f"The template function '{name}' is not "
                                        "supported by acrctl. Supported functions: "
                                        f"{', '.join(sorted(FUNCTION_NAMES))}.")

    # -- parameters and variables ------------------------------------------------------------
    def _definitions(self) -> dict[str, tuple[str, dict[str, Any]]]:
        defs = self.raw.get("parameters") or {}
        if not isinstance(defs, dict):
            raise TemplateError("parameters", "The template parameters must be an object.")
        out: dict[str, tuple[str, dict[str, Any]]] = {}
        for name, d in defs.items():
            path = f"parameters.{name}"
            if not isinstance(d, dict):
                raise TemplateError(path, "A template parameter must be an object with a "
                                    "'type'.")
            kind = d.get("type")
            if not isinstance(kind, str) or kind.lower() not in PARAMETER_TYPES:
                raise TemplateError(f"{path}.type", f"The parameter type '{kind}' is not "
                                    "valid. Allowed types: "
                                    f"{', '.join(PARAMETER_TYPES.values())}.")
            out[name.lower()] = (name, d)
        return out

    def _resolve_parameters(self, given: Any) -> None:
        given = given or {}
        if not isinstance(given, dict):
            raise TemplateError("parameters", "The deployment parameters must be an object "
                                "of {\"name\": {\"value\": ...}}.")
        unknown = [k for k in given if k.lower() not in self._param_defs]
        if unknown:
            allowed = ", ".join(n for n, _ in self._param_defs.values()) or "(none)"
            raise TemplateError(f"parameters.{unknown[0]}", "The template parameters "
                                f"'{', '.join(unknown)}' are not valid; they are not present "
                                "in the original template and can therefore not be provided "
                                "at deployment time. The only supported parameters for this "
                                f"template are '{allowed}'.")
        self._given = {k.lower(): v for k, v in given.items()}
        for key in self._param_defs:
            self._parameter(key)

    def _parameter(self, key: str) -> Any:
        if key in self._param_values:
            return self._param_values[key]
        name, d = self._param_defs[key]
        path = f"parameters.{name}"
        if path in self._evaluating:
            raise TemplateError(path, "The default values of parameters "
                                f"{' -> '.join(self._evaluating + [path])} depend on each "
                                "other in a cycle.")
        if key in self._given:
            wrapper = self._given[key]
            if isinstance(wrapper, dict) and "reference" in wrapper:
                raise TemplateError(path, "Key Vault references in parameters are not "
                                    "supported by acrctl; pass the value.")
            if not isinstance(wrapper, dict) or "value" not in wrapper:
                raise TemplateError(path, "A deployment parameter must be an object with a "
                                    "'value'.")
            value = wrapper["value"]
        elif "defaultValue" in d:
            self._evaluating.append(path)
            try:
                value = self.value(d["defaultValue"], f"{path}.defaultValue")
            finally:
                self._evaluating.pop()
        else:
            raise TemplateError(path, f"The value for the template parameter '{name}' is not "
                                "provided. Please see https://aka.ms/arm-create-parameter-file "
                                "for usage details.")
        self._param_values[key] = self._check_parameter(name, d, value, path)
        return self._param_values[key]

    @staticmethod
    def _check_parameter(name: str, d: dict[str, Any], value: Any, path: str) -> Any:
        kind = str(d["type"]).lower()
        ok = {"string": isinstance(value, str), "securestring": isinstance(value, str),
              "int": isinstance(value, int) and not isinstance(value, bool),
              "bool": isinstance(value, bool), "object": isinstance(value, dict),
              "secureobject": isinstance(value, dict), "array": isinstance(value, list)}[kind]
        if not ok:
            raise TemplateError(path, f"Template parameter '{name}' was provided an invalid "
                                f"value. Expected a value of type '{PARAMETER_TYPES[kind]}', "
                                f"but received a value of type '{type_name(value)}'.")
        allowed = d.get("allowedValues")
        if isinstance(allowed, list) and value not in allowed:
            shown = ", ".join(text(a) for a in allowed)
            raise TemplateError(path, f"The provided value for the template parameter "
                                f"'{name}' is not valid. The value '{text(value)}' is not part "
                                f"of the allowed value(s): '{shown}'.")
        if isinstance(value, str | list):
            lo, hi = d.get("minLength"), d.get("maxLength")
            if isinstance(lo, int) and len(value) < lo:
                raise TemplateError(path, f"The provided value for the template parameter "
                                    f"'{name}' is too short: the minimum length is {lo}.")
            if isinstance(hi, int) and len(value) > hi:
                raise TemplateError(path, f"The provided value for the template parameter "
                                    f"'{name}' is too long: the maximum length is {hi}.")
        if kind == "int":
            lo, hi = d.get("minValue"), d.get("maxValue")
            if isinstance(lo, int) and value < lo:
                raise TemplateError(path, f"The provided value for the template parameter "
                                    f"'{name}' is less than the minimum value {lo}.")
            if isinstance(hi, int) and value > hi:
                raise TemplateError(path, f"The provided value for the template parameter "
                                    f"'{name}' is greater than the maximum value {hi}.")
        return value

    def parameter(self, name: str, path: str) -> Any:
        key = name.lower()
        if key not in self._param_defs:
            raise TemplateError(path, f"The template parameter '{name}' is not found. Please "
                                "see https://aka.ms/arm-syntax-parameters for usage details.")
        return self._parameter(key)

    def variable(self, name: str, path: str) -> Any:
        defs = self.raw.get("variables") or {}
        if not isinstance(defs, dict):
            raise TemplateError("variables", "The template variables must be an object.")
        if "copy" in defs:
            raise TemplateError("variables.copy", "variable copy loops are not supported by "
                                "acrctl.")
        match = next((k for k in defs if k.lower() == name.lower()), None)
        if match is None:
            raise TemplateError(path, f"The template variable '{name}' is not found. Please "
                                "see https://aka.ms/arm-syntax-variables for usage details.")
        if match in self._variables:
            return self._variables[match]
        vpath = f"variables.{match}"
        if vpath in self._evaluating:
            raise TemplateError(vpath, "The variables "
                                f"{' -> '.join(self._evaluating + [vpath])} depend on each "
                                "other in a cycle.")
        self._evaluating.append(vpath)
        try:
            self._variables[match] = self.value(defs[match], vpath)
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
    def value(self, value: Any, path: str) -> Any:
        """A JSON value with every expression in it evaluated."""
        if isinstance(value, str):
            if value.startswith("[[") and value.endswith("]"):
                return value[1:]
            if is_expression(value):
                return self.evaluate(parse(value[1:-1]), path)
            return value
        if isinstance(value, dict):
            return {k: self.value(v, f"{path}.{k}") for k, v in value.items()}
        if isinstance(value, list):
            return [self.value(v, f"{path}[{i}]") for i, v in enumerate(value)]
        return value

    def evaluate(self, node: Node, path: str) -> Any:
        if isinstance(node, Lit):
            return node.value
        if isinstance(node, Prop):
            target = self.evaluate(node.target, path)
            if not isinstance(target, dict):
                raise TemplateError(path, f"The language expression property '{node.name}' "
                                    f"cannot be read from a value of type "
                                    f"'{type_name(target)}'.")
            for k, v in target.items():
                if k.lower() == node.name.lower():
                    return v
            raise TemplateError(path, f"The language expression property '{node.name}' "
                                "doesn't exist, available properties are "
                                f"'{', '.join(target)}'.")
        if isinstance(node, Index):
            target, key = self.evaluate(node.target, path), self.evaluate(node.key, path)
            if isinstance(target, list) and isinstance(key, int) and not isinstance(key, bool):
                if not 0 <= key < len(target):
                    raise TemplateError(path, f"The index {key} is out of range for an array "
                                        f"of length {len(target)}.")
                return target[key]
            if isinstance(target, dict) and isinstance(key, str):
                for k, v in target.items():
                    if k.lower() == key.lower():
                        return v
                raise TemplateError(path, f"The language expression property '{key}' "
                                    "doesn't exist, available properties are "
                                    f"'{', '.join(target)}'.")
            raise TemplateError(path, f"A value of type '{type_name(target)}' cannot be "
                                f"indexed with a value of type '{type_name(key)}'.")
        name = node.name.lower()
        if name == "if":  # lazy: only the branch taken is evaluated
            _arity(node.name, node.args, 3, 3, path)
            cond = self.evaluate(node.args[0], path)
            if not isinstance(cond, bool):
                raise _arg_error(node.name, path, "the condition must be a boolean")
            return self.evaluate(node.args[1] if cond else node.args[2], path)
        fn = FUNCTIONS[name]
        args = [self.evaluate(a, path) for a in node.args]
        return fn(self, node.name, args, path)

    # -- resources ---------------------------------------------------------------------------
    def _expand(self) -> None:
        res = self.raw.get("resources", [])
        if not isinstance(res, list):
            raise TemplateError("resources", "The template resources must be an array "
                                "(symbolic resource names, languageVersion 2.0, are not "
                                "supported by acrctl).")
        for i, r in enumerate(res):
            self._resource(r, f"resources[{i}]", None)
        seen: dict[str, str] = {}
        for r in self.resources:
            if r.id.lower() in seen:
                raise TemplateError(r.path, f"The resource '{r.id}' is defined multiple times "
                                    f"in the template (also at {seen[r.id.lower()]}).")
            seen[r.id.lower()] = r.path

    def _resource(self, raw: Any, path: str, parent: Resource | None) -> None:
        if not isinstance(raw, dict):
            raise TemplateError(path, "A template resource must be an object.")
        for key, why in UNSUPPORTED_RESOURCE_KEYS.items():
            if key in raw:
                raise TemplateError(f"{path}.{key}", why)
        rtype = self.value(raw.get("type"), f"{path}.type")
        name = self.value(raw.get("name"), f"{path}.name")
        if not isinstance(rtype, str) or not rtype:
            raise TemplateError(f"{path}.type", "The template resource needs a 'type'.")
        if not isinstance(name, str) or not name:
            raise TemplateError(f"{path}.name", "The template resource needs a 'name'.")
        full_type, full_name = rtype.strip("/"), name.strip("/")
        if parent is not None and "/" not in full_type:
            full_type, full_name = f"{parent.type}/{full_type}", f"{parent.name}/{full_name}"
        known = RESOURCE_TYPES.get(full_type.lower())
        if known is None:
            raise TemplateError(f"{path}.type", f"The resource type '{rtype}' is not "
                                "supported by acrctl. Templates can deploy "
                                f"{', '.join(t for t, _ in RESOURCE_TYPES.values())}.")
        canonical, kind = known
        segments = full_name.split("/")
        if len(segments) != canonical.count("/") or not all(segments):
            raise TemplateError(f"{path}.name", f"The template resource '{name}' for type "
                                f"'{rtype}' has incorrect segment lengths. A nested resource "
                                "type must have identical number of segments as its resource "
                                "name. A root resource type must have segment length one "
                                "greater than its resource name.")
        if parent is not None and segments[0].lower() != parent.names[0].lower():
            raise TemplateError(f"{path}.name", f"The child resource '{full_name}' is nested "
                                f"in '{parent.name}' but names another parent.")
        rid = ids.registry_id(self.scope.subscription, self.scope.group_name, segments[0])
        if kind != "registry":
            rid += f"/{canonical.rsplit('/', 1)[1]}/{segments[1]}"
        if "condition" in raw:
            cond = self.value(raw["condition"], f"{path}.condition")
            if not isinstance(cond, bool):
                raise TemplateError(f"{path}.condition", "The condition must be a boolean, "
                                    f"not a value of type '{type_name(cond)}'.")
            if not cond:
                self._skipped.append((rid, canonical, full_name))
                return
        deps = raw.get("dependsOn", [])
        if not isinstance(deps, list):
            raise TemplateError(f"{path}.dependsOn", "dependsOn must be an array.")
        evaluated = []
        for j, d in enumerate(deps):
            dep = self.value(d, f"{path}.dependsOn[{j}]")
            if not isinstance(dep, str):
                raise TemplateError(f"{path}.dependsOn[{j}]", "A dependsOn entry must be a "
                                    "resource name or id.")
            evaluated.append(dep)
        uses_ref = any("reference" in {c.lower() for c in calls(parse(v[1:-1]))}
                       for k in BODY_KEYS if k in raw
                       for _, v in walk(raw[k], "") if is_expression(v))
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
        low = ref.strip().strip("/").lower()
        everything = [(r.id, r.type, r.name) for r in self.resources] + self._skipped
        for rid, rtype, name in everything:
            if low in (rid.lower().strip("/"), f"{rtype}/{name}".lower(), name.lower()) \
                    or rid.lower().endswith(f"/providers/{low}"):
                return rid if (rid, rtype, name) not in self._skipped else ""
        return None

    def _resolve_dependencies(self) -> None:
        present = {r.id.lower() for r in self.resources}
        for r in self.resources:
            resolved: list[str] = []
            for j, dep in enumerate(r.depends_on):
                rid = self.find(dep)
                if rid is None:
                    raise TemplateError(f"{r.path}.dependsOn[{j}]", f"The resource '{dep}' is "
                                        "not defined in the template.")
                if rid and rid not in resolved:
                    resolved.append(rid)
            if r.kind != "registry" and r.registry_id.lower() in present:
                parent = next(x.id for x in self.resources
                              if x.id.lower() == r.registry_id.lower())
                if parent not in resolved:
                    resolved.append(parent)  # a child needs its registry first
            r.depends_on = resolved

    def ordered(self) -> list[Resource]:
        """The resources in dependsOn order (template order among independent ones)."""
        done: set[str] = set()
        out: list[Resource] = []
        remaining = list(self.resources)
        while remaining:
            ready = [r for r in remaining if all(d.lower() in done for d in r.depends_on)]
            if not ready:
                raise self._cycle(remaining)
            for r in ready:
                done.add(r.id.lower())
                out.append(r)
            remaining = [r for r in remaining if r.id.lower() not in done]
        return out

    def _cycle(self, remaining: list[Resource]) -> TemplateError:
        by_id = {r.id.lower(): r for r in remaining}
        start = remaining[0]
        chain: list[Resource] = []
        node: Resource | None = start
        while node is not None and node not in chain:
            chain.append(node)
            node = next((by_id[d.lower()] for d in node.depends_on if d.lower() in by_id),
                        None)
        loop = chain[chain.index(node):] if node is not None else chain
        names = " -> ".join(f"'{r.id}'" for r in [*loop, loop[0]])
        return TemplateError(f"{loop[0].path}.dependsOn", "Circular dependency detected on "
                             f"resources: {names}. Please see "
                             "https://aka.ms/arm-syntax-resources for usage details.")

    def body(self, res: Resource) -> dict[str, Any]:
        """What the resource sends to its provider, evaluated."""
        return {k: self.value(res.raw[k], f"{res.path}.{k}") for k in BODY_KEYS if k in res.raw}

    def outputs(self) -> dict[str, Any]:
        outs = self.raw.get("outputs") or {}
        if not isinstance(outs, dict):
            raise TemplateError("outputs", "The template outputs must be an object.")
        result: dict[str, Any] = {}
        for name, o in outs.items():
            path = f"outputs.{name}"
            if not isinstance(o, dict):
                raise TemplateError(path, "An output must be an object with 'type' and "
                                    "'value'.")
            if "copy" in o:
                raise TemplateError(f"{path}.copy", "output copy loops are not supported by "
                                    "acrctl.")
            kind = str(o.get("type", "")).lower()
            if kind not in PARAMETER_TYPES:
                raise TemplateError(f"{path}.type", f"The output type '{o.get('type')}' is not "
                                    "valid.")
            if "condition" in o and self.value(o["condition"], f"{path}.condition") is False:
                continue
            entry: dict[str, Any] = {"type": PARAMETER_TYPES[kind]}
            value = self.value(o.get("value"), f"{path}.value")
            if kind not in SECURE:
                entry["value"] = value
            result[name] = entry
        return result


# == the functions ================================================================================
Function = Callable[[Template, str, list[Any], str], Any]


def _arity(name: str, args: Any, lo: int, hi: int | None, path: str) -> None:
    n = len(args)
    if n < lo or (hi is not None and n > hi):
        want = f"{lo}" if lo == hi else f"at least {lo}" if hi is None else f"{lo} to {hi}"
        raise TemplateError(path, f"Unable to evaluate template language function '{name}': "
                            f"function requires {want} argument(s) while {n} were provided.")


def _arg_error(name: str, path: str, detail: str) -> TemplateError:
    return TemplateError(path, f"Unable to evaluate template language function '{name}': "
                         f"{detail}.")


def _strings(name: str, args: list[Any], path: str) -> list[str]:
    for i, a in enumerate(args):
        if not isinstance(a, str):
            raise _arg_error(name, path, f"argument {i + 1} must be a string, not a value of "
                             f"type '{type_name(a)}'")
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
    return {"id": g["id"], "name": g["name"], "type": g.get("type"),
            "location": g["location"], "managedBy": g.get("managedBy"),
            "tags": g.get("tags") or {}, "properties": g.get("properties") or {}}


@fn(0, 0)
def _subscription(t: Template, name: str, args: list[Any], path: str) -> Any:
    sub = t.scope.subscription
    return {"id": ids.subscription_id(sub), "subscriptionId": sub,
            "tenantId": t.scope.tenant or sub, "displayName": sub}


@fn(0, 0)
def _deployment(t: Template, name: str, args: list[Any], path: str) -> Any:
    return {"name": t.scope.deployment,
            "properties": {"template": {"contentVersion": t.raw.get("contentVersion")}}}


@fn(1, None)
def _concat(t: Template, name: str, args: list[Any], path: str) -> Any:
    if all(isinstance(a, list) for a in args):
        return [x for a in args for x in a]
    if any(isinstance(a, list | dict) for a in args):
        raise _arg_error(name, path, "the arguments must all be arrays or all be strings")
    return "".join(text(a) for a in args)


_FORMAT = re.compile(r"\{\{|\}\}|\{(\d+)(?:,-?\d+)?(:[^}]*)?\}|[{}]")


@fn(1, None)
def _format(t: Template, name: str, args: list[Any], path: str) -> Any:
    fmt = args[0]
    if not isinstance(fmt, str):
        raise _arg_error(name, path, "the format must be a string")

    def sub(m: re.Match[str]) -> str:
        token = m.group(0)
        if token in ("{{", "}}"):
            return token[0]
        if m.group(1) is None:
            raise _arg_error(name, path, f"the format string '{fmt}' is not valid")
        if m.group(2):
            raise _arg_error(name, path, f"format specifiers ('{token}') are not supported "
                             "by acrctl")
        i = int(m.group(1))
        if i + 1 >= len(args):
            raise _arg_error(name, path, f"the format item '{token}' has no argument")
        return text(args[i + 1])

    return _FORMAT.sub(sub, fmt)


@fn(1, 1)
def _to_lower(t: Template, name: str, args: list[Any], path: str) -> Any:
    return _strings(name, args, path)[0].lower()


@fn(1, 1)
def _to_upper(t: Template, name: str, args: list[Any], path: str) -> Any:
    return _strings(name, args, path)[0].upper()


@fn(1, None)
def _unique_string(t: Template, name: str, args: list[Any], path: str) -> Any:
    return unique_string(*_strings(name, args, path))


@fn(2, None)
def _resource_id(t: Template, name: str, args: list[Any], path: str) -> Any:
    args = _strings(name, args, path)
    at = next((i for i, a in enumerate(args)
               if "/" in a.strip("/") and "." in a.strip("/").split("/")[0]), None)
    if at is None or at > 2:
        raise _arg_error(name, path, "a resource type such as "
                         "'Microsoft.ContainerRegistry/registries' is required, after at most "
                         "a subscription id and a resource group name")
    sub, rg = t.scope.subscription, t.scope.group_name
    if at == 1:
        rg = args[0]
    elif at == 2:
        sub, rg = args[0], args[1]
    segments = [s for s in args[at].split("/") if s]
    names = [n for a in args[at + 1:] for n in a.strip("/").split("/")]
    if len(names) != len(segments) - 1:
        raise _arg_error(name, path, f"the type '{args[at]}' requires {len(segments) - 1} "
                         f"resource name argument(s), {len(names)} were given")
    out = f"/subscriptions/{sub}/resourceGroups/{rg}/providers/{segments[0]}"
    for seg, n in zip(segments[1:], names, strict=True):
        out += f"/{seg}/{n}"
    return out


@fn(1, 3)
def _reference(t: Template, name: str, args: list[Any], path: str) -> Any:
    if t.reference is None:
        raise TemplateError(path, "The template function 'reference' is not expected at this "
                            "location: it reads deployed resources, so it may be used in "
                            "resource properties and outputs only.")
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
            raise _arg_error(name, path, f"argument {i + 1} must be a boolean, not a value of "
                             f"type '{type_name(a)}'")
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
    return text(args[0])


@fn(1, 1)
def _int(t: Template, name: str, args: list[Any], path: str) -> Any:
    v = args[0]
    if isinstance(v, int) and not isinstance(v, bool):
        return v
    if isinstance(v, str) and re.fullmatch(r"\s*-?\d+\s*", v):
        return int(v)
    raise _arg_error(name, path, f"'{text(v)}' cannot be converted to an integer")


@fn(1, 1)
def _bool(t: Template, name: str, args: list[Any], path: str) -> Any:
    v = args[0]
    if isinstance(v, bool):
        return v
    if isinstance(v, int):
        return v != 0
    if isinstance(v, str) and v.lower() in ("true", "false"):
        return v.lower() == "true"
    raise _arg_error(name, path, f"'{text(v)}' cannot be converted to a boolean")


@fn(3, 3)
def _replace(t: Template, name: str, args: list[Any], path: str) -> Any:
    s, old, new = _strings(name, args, path)
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


FUNCTION_NAMES = ("and", "bool", "concat", "deployment", "empty", "equals", "false", "format",
                  "if", "int", "length", "not", "null", "or", "parameters", "reference",
                  "replace", "resourceGroup", "resourceId", "string", "subscription",
                  "toLower", "toUpper", "true", "uniqueString", "variables")
FUNCTIONS: dict[str, Function] = {
    "and": _and, "bool": _bool, "concat": _concat, "deployment": _deployment,
    "empty": _empty, "equals": _equals, "false": _false, "format": _format,
    "if": _if_placeholder, "int": _int, "length": _length, "not": _not, "null": _null,
    "or": _or, "parameters": _parameters, "reference": _reference, "replace": _replace,
    "resourcegroup": _resource_group, "resourceid": _resource_id, "string": _string,
    "subscription": _subscription, "tolower": _to_lower, "toupper": _to_upper,
    "true": _true, "uniquestring": _unique_string, "variables": _variables,
}
assert {n.lower() for n in FUNCTION_NAMES} == set(FUNCTIONS)
