"""The template: bound to its parameter values and scope, validated on construction (every
expression checked before anything runs), expanded to its resources in dependsOn order, and
evaluated one resource body (and the outputs) at a time."""

from __future__ import annotations

from typing import Any

from acrctl.backend import ids
from acrctl.backend.template_limits import Budget, LimitExceeded, Limits
from acrctl.backend.templates.evaluator import (
    Evaluator,
)
from acrctl.backend.templates.functions import FUNCTIONS, _unsupported
from acrctl.backend.templates.model import (
    BODY_KEYS,
    NOT_EVALUATED,
    PARAMETER_TYPES,
    RESOURCE_TYPES,
    SECURE,
    UNSUPPORTED_RESOURCE_KEYS,
    Reference,
    Resource,
    Scope,
    TemplateError,
    TemplateLimitError,
    _limit,
)
from acrctl.backend.templates.parser import (
    Node,
    calls,
    is_expression,
    type_name,
    walk,
)


class Template(Evaluator):
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
