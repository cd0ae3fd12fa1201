"""The evaluation half of a template (acrctl.backend.templates.template builds on it): the
parameters and variables, and the evaluation of expressions and values within the template's
limits."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from acrctl.backend.template_limits import Budget, LimitExceeded
from acrctl.backend.templates.functions import (
    FUNCTIONS,
    PASS_THROUGH,
    _arg_error,
    _arity,
    _unsupported,
)
from acrctl.backend.templates.model import (
    PARAMETER_TYPES,
    SECURE,
    Reference,
    Scope,
    TemplateError,
    _limit,
)
from acrctl.backend.templates.parser import (
    Call,
    ExpressionSyntaxError,
    Index,
    Lit,
    Node,
    Prop,
    is_expression,
    parse,
    text,
    type_name,
)

if TYPE_CHECKING:
    from acrctl.backend.templates.template import Template


class Evaluator:
    """Expressions, parameters and variables of a Template (which sets these attributes)."""

    raw: dict[str, Any]
    scope: Scope
    reference: Reference | None
    budget: Budget
    _parsed: dict[str, Node]
    _param_defs: dict[str, tuple[str, dict[str, Any]]]
    _param_values: dict[str, Any]
    _variables: dict[str, Any]
    _variable_names: dict[str, str] | None
    _evaluating: list[str]

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
        result = fn(cast("Template", self), node.name, args, path)  # self is a Template
        if name not in PASS_THROUGH and isinstance(result, str | list | dict):
            budget = self.budget  # counted as built even if it is an argument returned
            budget.charge(budget.check(result, f"The function '{node.name}' returns"))
        return result
