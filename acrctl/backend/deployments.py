"""Microsoft.Resources/deployments at a resource group: ARM template deployments.

A deployment runs synchronously inside its PUT. The template is validated first (a broken
template is a 400 InvalidTemplate naming the template path, and nothing is recorded); then
each resource is put in dependsOn order through the same backend methods a direct request
uses, after the same permission check (`<type>/write` at the resource id); Complete mode then
deletes what the template does not list (`<type>/delete` checked likewise), except a
registry's home replica, which is never deleted (Azure/acr#294). The first failure stops the
deployment. The deployment is stored as its own resource (kind "deployment") with
provisioningState Succeeded or Failed and the error, and a finished operation record is what
its Azure-AsyncOperation URL reads. Child LROs finish per the server's lro mode.

What-if runs the same engine, checks included, inside a store transaction that is rolled back,
and compares the resources of the group before and after.

Here: reads, deploy and what-if (Deployments); the engine they run and its helpers are in
acrctl.backend.deployment_engine (DeploymentEngine, re-exported)."""

from __future__ import annotations

import builtins
import json
import uuid
from typing import TYPE_CHECKING, Any

from acrctl.backend import ids

# the engine and its helpers (acrctl.backend.deployment_engine), re-exported
from acrctl.backend.deployment_engine import (  # noqa: F401
    DELETE_ORDER,
    DEPLOYMENT_TYPE,
    MODES,
    NAME_RE,
    NOISE,
    NOISE_PROPERTIES,
    RESOURCE_TYPE,
    DeploymentEngine,
    StepFailed,
    _duration,
    _Rollback,
    clean,
    delta,
    invalid_template,
)
from acrctl.backend.errors import DeploymentNotFound
from acrctl.backend.kinds import DEPLOYMENT, OPERATION
from acrctl.backend.templates import TemplateError, murmur64
from acrctl.backend.validation import check_tags

if TYPE_CHECKING:
    from acrctl.backend.rbac import Caller


class Deployments(DeploymentEngine):
    # -- reads ---------------------------------------------------------------------------
    @staticmethod
    def id(sub: str, rg: str, name: str) -> str:
        return f"{ids.group_id(sub, rg)}/providers/{DEPLOYMENT_TYPE}/{name}"

    def get(self, sub: str, rg: str, name: str) -> dict[str, Any]:
        self.b.groups.get(sub, rg)
        item = self.b.store.get(DEPLOYMENT, ids.key(self.id(sub, rg, name)))
        if item is None:
            raise DeploymentNotFound(f"Deployment '{name}' could not be found.")
        return item.doc

    def list(
        self, sub: str, rg: str, after: int | None = None, limit: int | None = None
    ) -> tuple[builtins.list[dict[str, Any]], int | None]:
        self.b.groups.get(sub, rg)
        items = self.b.store.list(
            DEPLOYMENT, parent=ids.key(ids.group_id(sub, rg)), after=after, limit=limit
        )
        last = items[-1].seq if limit is not None and len(items) == limit else None
        return [i.doc for i in items], last

    def delete(self, sub: str, rg: str, name: str) -> bool:
        """Deletes the deployment's record only (as ARM does), never its resources."""
        self.b.groups.get(sub, rg)
        return self.b.store.delete(DEPLOYMENT, ids.key(self.id(sub, rg, name)))

    # -- deploy --------------------------------------------------------------------------
    def put(
        self, caller: Caller, sub: str, rg: str, name: str, body: dict[str, Any]
    ) -> tuple[dict[str, Any], bool, dict[str, Any]]:
        """Validate and run a deployment. Returns (deployment, created, finished operation).
        Raises InvalidInput for a template that cannot be deployed (nothing recorded)."""
        template, parameters, mode = self._request(name, body)
        tags = check_tags(body.get("tags"))
        tmpl, order, bodies = self._prepare(caller, sub, rg, name, template, parameters)
        key = ids.key(self.id(sub, rg, name))
        existed = self.b.store.get(DEPLOYMENT, key) is not None
        started, start_iso = self.b.clock.now(), self.b.clock.iso()
        deployed: builtins.list[str] = []
        error: dict[str, Any] | None = None
        outputs: dict[str, Any] = {}
        try:
            self._apply(caller, sub, rg, tmpl, order, bodies, mode, deployed)
        except StepFailed as exc:
            error = exc.body()
        else:
            try:
                outputs = tmpl.outputs()
            except TemplateError as exc:
                error = {
                    "code": "DeploymentOutputEvaluationFailed",
                    "message": f"Unable to evaluate the template outputs at "
                    f"'{exc.path}': {exc.message}",
                    "target": exc.path,
                }
        end_iso = self.b.clock.iso()
        props: dict[str, Any] = {
            "templateHash": str(
                murmur64(json.dumps(template, sort_keys=True, separators=(",", ":")).encode())
            ),
            "template": template,
            "parameters": tmpl.parameters_record(),
            "mode": mode,
            "provisioningState": "Failed" if error else "Succeeded",
            "timestamp": end_iso,
            "duration": _duration(self.b.clock.now() - started),
            "correlationId": str(uuid.uuid4()),
            "providers": self._providers(tmpl, bodies),
            "dependencies": self._dependencies(tmpl),
            "outputs": outputs,
            "outputResources": [{"id": rid} for rid in deployed],
            "error": error,
        }
        doc = {
            "id": self.id(sub, rg, name),
            "name": name,
            "type": DEPLOYMENT_TYPE,
            "tags": tags,
            "properties": props,
        }
        op_id = str(uuid.uuid4())
        op: dict[str, Any] = {
            "id": op_id,
            "name": op_id,
            "status": "Failed" if error else "Succeeded",
            "action": "update" if existed else "create",
            "kind": DEPLOYMENT,
            "itemKey": key,
            "resourceId": doc["id"],
            "location": "",
            "startTime": start_iso,
            "started": started,
            "endTime": end_iso,
            "polls": 0,
            "percentComplete": 100,
        }
        if error:
            op["error"] = error
        with self.b.store.transaction():
            self.b.store.put(DEPLOYMENT, key, ids.key(ids.group_id(sub, rg)), name, doc)
            self.b.store.put(OPERATION, op_id, key, op_id, op)
        return doc, not existed, op

    def what_if(
        self, caller: Caller, sub: str, rg: str, name: str, body: dict[str, Any]
    ) -> dict[str, Any]:
        """The changes a deployment would make, without making them: ARM's
        WhatIfOperationResult (Create, Modify with the property delta, Delete, NoChange,
        Ignore per resource id). A step that would fail raises its error."""
        template, parameters, mode = self._request(name, body)
        tmpl, order, bodies = self._prepare(caller, sub, rg, name, template, parameters)
        before = self._snapshot(sub, rg)
        after: dict[str, dict[str, Any]] = {}
        failure: StepFailed | None = None
        try:
            with self.b.store.transaction():
                try:
                    self._apply(caller, sub, rg, tmpl, order, bodies, mode, [])
                except StepFailed as exc:
                    failure = exc
                after = self._snapshot(sub, rg)
                raise _Rollback
        except _Rollback:
            pass
        if failure is not None:
            err = failure.error
            raise err.reworded(
                f"The deployment would fail at {failure.where}: {err.message}",
                target=failure.target,
            )
        listed = {r.id.lower(): r.id for r in tmpl.resources}
        changes: builtins.list[dict[str, Any]] = []
        for key, rid in listed.items():
            b, a = clean(before.get(key)), clean(after.get(key))
            if b is None:
                changes.append(
                    {
                        "resourceId": rid,
                        "changeType": "Create",
                        "before": None,
                        "after": a,
                        "delta": None,
                    }
                )
                continue
            d = delta(b, a)
            changes.append(
                {
                    "resourceId": b["id"],
                    "changeType": "Modify" if d else "NoChange",
                    "before": b,
                    "after": a,
                    "delta": d or None,
                }
            )
        for key, doc in before.items():
            if key in listed:
                continue
            gone = key not in after
            changes.append(
                {
                    "resourceId": doc["id"],
                    "changeType": "Delete" if gone else "Ignore",
                    "before": clean(doc),
                    "after": None,
                    "delta": None,
                }
            )
        changes.sort(key=lambda c: str(c["resourceId"]).lower())
        return {"status": "Succeeded", "properties": {"changes": changes}, "error": None}
