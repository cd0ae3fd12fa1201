"""The deployment engine (acrctl.backend.deployments builds on it): a template's request
parsed and prepared, each resource put through the backend with its permission check,
Complete mode's pruning, reference() reads, the what-if snapshot and the record's providers
and dependencies; and the helpers they share (names, modes, what-if deltas, errors)."""

from __future__ import annotations

import builtins
import copy
import re
from typing import TYPE_CHECKING, Any

from acrctl.backend import ids
from acrctl.backend.errors import (
    ArmError,
    InvalidDeploymentMode,
    InvalidDeploymentName,
    InvalidInput,
    InvalidRequestContent,
    InvalidTemplate,
    ResourceNotFound,
)
from acrctl.backend.kinds import REGISTRY
from acrctl.backend.template_limits import Limits
from acrctl.backend.templates import Resource, Scope, Template, TemplateError

if TYPE_CHECKING:
    from acrctl.backend.core import Backend
    from acrctl.backend.rbac import Caller


DEPLOYMENT_TYPE = "Microsoft.Resources/deployments"
NAME_RE = re.compile(r"^[-\w._()]{1,64}\Z")
MODES = {"incremental": "Incremental", "complete": "Complete"}
RESOURCE_TYPE = {
    "registry": ids.REGISTRY_TYPE,
    "replication": ids.REPLICATION_TYPE,
    "webhook": ids.WEBHOOK_TYPE,
}
# what-if ignores what changes on every write (noise)
NOISE = ("systemData",)
NOISE_PROPERTIES = ("provisioningState", "status")
DELETE_ORDER = {"webhook": 0, "replication": 1, "registry": 2}


class StepFailed(Exception):
    """One step of a deployment failed: `where` names it, `error` is the backend's error."""

    def __init__(self, where: str, target: str, error: ArmError) -> None:
        super().__init__(f"{where}: ({error.code}) {error.message}")
        self.where = where
        self.target = target
        self.error = error

    def body(self) -> dict[str, Any]:
        """The deployment's error: ARM's DeploymentFailed, the step's error in details."""
        return {
            "code": "DeploymentFailed",
            "message": "At least one resource deployment operation failed. "
            f"{self.where}: ({self.error.code}) {self.error.message}",
            "details": [
                {"code": self.error.code, "message": self.error.message, "target": self.target}
            ],
        }


class _Rollback(Exception):
    pass


def invalid_template(exc: TemplateError) -> InvalidInput:
    where = f" at '{exc.path}'" if exc.path else ""
    return InvalidTemplate(
        f"Deployment template validation failed{where}: {exc.message}",
        target=exc.path or None,
    )


def clean(doc: dict[str, Any] | None) -> dict[str, Any] | None:
    """A resource without the fields every write changes (what-if compares the rest)."""
    if doc is None:
        return None
    out = {k: copy.deepcopy(v) for k, v in doc.items() if k not in NOISE}
    props = out.get("properties")
    if isinstance(props, dict):
        out["properties"] = {k: v for k, v in props.items() if k not in NOISE_PROPERTIES}
    return out


def delta(before: Any, after: Any, path: str = "") -> list[dict[str, Any]]:
    """What-if's property changes: Create, Delete or Modify per dotted path."""
    if isinstance(before, dict) and isinstance(after, dict):
        out: list[dict[str, Any]] = []
        for k in sorted(set(before) | set(after)):
            p = f"{path}.{k}" if path else k
            if k not in after:
                out.append(
                    {"path": p, "propertyChangeType": "Delete", "before": before[k], "after": None}
                )
            elif k not in before:
                out.append(
                    {"path": p, "propertyChangeType": "Create", "before": None, "after": after[k]}
                )
            else:
                out += delta(before[k], after[k], p)
        return out
    if before != after or type(before) is not type(after):
        return [{"path": path, "propertyChangeType": "Modify", "before": before, "after": after}]
    return []


def _duration(seconds: float) -> str:
    return "PT" + (f"{max(0.0, seconds):.3f}".rstrip("0").rstrip(".") or "0") + "S"


class DeploymentEngine:
    def __init__(self, backend: Backend) -> None:
        self.b = backend

    # -- the engine ----------------------------------------------------------------------
    def _request(self, name: str, body: dict[str, Any]) -> tuple[dict[str, Any], Any, str]:
        if not NAME_RE.match(name):
            raise InvalidDeploymentName(
                f"The deployment name '{name}' is invalid: 1 to 64 letters, "
                "digits, underscores, hyphens, periods and parentheses.",
            )
        props = body.get("properties")
        if not isinstance(props, dict):
            raise InvalidRequestContent(
                "The request content was invalid and could not be deserialized: "
                "'properties' is required.",
            )
        for link in ("templateLink", "parametersLink"):
            if props.get(link) is not None:
                raise InvalidRequestContent(
                    f"'properties.{link}' is not supported by acrctl: send the "
                    "template and parameters inline (az: --template-file, "
                    "--parameters).",
                )
        template = props.get("template")
        if not isinstance(template, dict):
            raise InvalidRequestContent(
                "The deployment needs 'properties.template', a JSON object.",
            )
        mode = props.get("mode", "Incremental")
        if not isinstance(mode, str) or mode.lower() not in MODES:
            raise InvalidDeploymentMode(
                f"The deployment mode '{mode}' is not valid. Allowed modes: Incremental, Complete.",
            )
        return template, props.get("parameters"), MODES[mode.lower()]

    def _prepare(
        self,
        caller: Caller,
        sub: str,
        rg: str,
        name: str,
        template: dict[str, Any],
        parameters: Any,
    ) -> tuple[Template, builtins.list[Resource], dict[str, Any]]:
        """The template bound and validated, its resources in order, and the bodies that do
        not read deployed resources (evaluated now, so their errors come before any change;
        outputs too, for their limits). Evaluation is bounded by the template_* settings."""
        group = self.b.groups.get(sub, rg)
        tenant = str(self.b.subscription(sub).get("tenantId") or sub)
        try:
            tmpl = Template(
                template,
                parameters,
                Scope(sub, group, name, tenant),
                limits=Limits.from_settings(self.b.settings),
            )
            order = tmpl.ordered()
            bodies = {r.id: tmpl.body(r) for r in order if not r.uses_reference}
            tmpl.check_outputs()
        except TemplateError as exc:
            raise invalid_template(exc) from None
        except RecursionError:
            raise InvalidTemplate(
                "Deployment template validation failed: "
                "the template nests expressions, variables or parameters "
                "too deeply.",
            ) from None
        tmpl.reference = self._reader(caller)
        return tmpl, order, bodies

    def _apply(
        self,
        caller: Caller,
        sub: str,
        rg: str,
        tmpl: Template,
        order: builtins.list[Resource],
        bodies: dict[str, Any],
        mode: str,
        deployed: builtins.list[str],
    ) -> None:
        for r in order:
            where = f"{r.path} ({r.type} '{r.name}')"
            try:
                body = bodies[r.id] if r.id in bodies else tmpl.body(r)
            except TemplateError as exc:
                raise StepFailed(where, r.id, invalid_template(exc)) from None
            try:
                self.b.rbac.check(caller, f"{RESOURCE_TYPE[r.kind]}/write", r.id)
                self._put(caller, sub, rg, r, body)
            except ArmError as exc:
                raise StepFailed(where, r.id, exc) from None
            deployed.append(r.id)
        if mode == "Complete":
            self._prune(caller, sub, rg, tmpl)

    def _put(self, caller: Caller, sub: str, rg: str, r: Resource, body: dict[str, Any]) -> None:
        names = r.names
        if r.kind == "registry":
            self.b.registries.put(caller, sub, rg, names[0], body)
        elif r.kind == "replication":
            self.b.replications.put(caller, sub, rg, names[0], names[1], body)
        else:
            self.b.webhooks.put(caller, sub, rg, names[0], names[1], body)

    def _prune(self, caller: Caller, sub: str, rg: str, tmpl: Template) -> None:
        """Complete mode: delete the group's registries the template does not list, and the
        replications and webhooks of listed registries it does not list. A registry counts
        as listed when any of its children is. The home replica is never deleted."""
        listed = {r.id.lower() for r in tmpl.resources}
        kept = {r.registry_id.lower() for r in tmpl.resources}
        doomed: builtins.list[tuple[str, str]] = []
        for item in self.b.store.list(REGISTRY, parent=ids.key(ids.group_id(sub, rg))):
            reg = item.doc
            if reg["id"].lower() not in kept:
                doomed.append(("registry", reg["id"]))
                continue
            doomed += [
                ("webhook", h.doc["id"])
                for h in self.b.webhooks.all_for(reg)
                if h.doc["id"].lower() not in listed
            ]
            doomed += [
                ("replication", rep["id"])
                for rep in self.b.replications.all_for(reg)
                if rep["id"].lower() not in listed and rep["location"] != reg["location"]
            ]
        for kind, rid in sorted(doomed, key=lambda d: DELETE_ORDER[d[0]]):
            p = ids.parse(rid)
            try:
                self.b.rbac.check(caller, f"{RESOURCE_TYPE[kind]}/delete", rid)
                if kind == "registry":
                    self.b.registries.delete(sub, rg, p["registry"])
                elif kind == "replication":
                    self.b.replications.delete(sub, rg, p["registry"], p["child"])
                else:
                    self.b.webhooks.delete(sub, rg, p["registry"], p["child"])
            except ArmError as exc:
                raise StepFailed(f"Complete mode delete of '{rid}'", rid, exc) from None

    def _reader(self, caller: Caller) -> Any:
        """reference(): a deployed registry, replication or webhook (its properties, or the
        whole resource with 'Full'), if the caller may read it."""

        def read(rid: str, full: bool) -> Any:
            p = ids.parse(rid)
            kinds = {"": "registry", "replications": "replication", "webhooks": "webhook"}
            kind = kinds.get(p.get("childType", "").lower())
            if (
                kind is None
                or "registry" not in p
                or "resourceGroup" not in p
                or f"/providers/{ids.REGISTRY_TYPE.lower()}/" not in rid.lower()
            ):
                raise ResourceNotFound(
                    f"The resource '{rid}' is not a container "
                    "registry, replication or webhook: reference() reads only "
                    "those.",
                )
            self.b.rbac.check(caller, f"{RESOURCE_TYPE[kind]}/read", rid)
            sub, rg, reg = p["subscription"], p["resourceGroup"], p["registry"]
            if kind == "registry":
                doc = self.b.registries.get(sub, rg, reg)
            elif kind == "replication":
                doc = self.b.replications.get(sub, rg, reg, p["child"])
            else:
                doc = self.b.webhooks.get(sub, rg, reg, p["child"])
            return doc if full else doc.get("properties", {})

        return read

    def _snapshot(self, sub: str, rg: str) -> dict[str, dict[str, Any]]:
        """The group's registries, replications and webhooks by lower-cased id (resources
        being deleted count as gone)."""
        out: dict[str, dict[str, Any]] = {}

        def add(doc: dict[str, Any]) -> None:
            if doc.get("properties", {}).get("provisioningState") != "Deleting":
                out[doc["id"].lower()] = doc

        for item in self.b.store.list(REGISTRY, parent=ids.key(ids.group_id(sub, rg))):
            add(item.doc)
            for rep in self.b.replications.all_for(item.doc):
                add(rep)
            for hook in self.b.webhooks.all_for(item.doc):
                add(hook.doc)
        return out

    # -- the record ----------------------------------------------------------------------
    @staticmethod
    def _providers(tmpl: Template, bodies: dict[str, Any]) -> builtins.list[dict[str, Any]]:
        types: dict[str, builtins.list[str]] = {}
        for r in tmpl.resources:
            locs = types.setdefault(r.type.split("/", 1)[1], [])
            loc = (bodies.get(r.id) or {}).get("location")
            if isinstance(loc, str) and loc not in locs:
                locs.append(loc)
        if not types:
            return []
        return [
            {
                "namespace": ids.PROVIDER,
                "resourceTypes": [
                    {"resourceType": t, "locations": locs} for t, locs in types.items()
                ],
            }
        ]

    @staticmethod
    def _dependencies(tmpl: Template) -> builtins.list[dict[str, Any]]:
        by_id = {r.id: r for r in tmpl.resources}
        return [
            {
                "id": r.id,
                "resourceType": r.type,
                "resourceName": r.name,
                "dependsOn": [
                    {"id": d, "resourceType": by_id[d].type, "resourceName": by_id[d].name}
                    for d in r.depends_on
                ],
            }
            for r in tmpl.resources
            if r.depends_on
        ]
