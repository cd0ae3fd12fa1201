"""ARM template deployments: the API (Microsoft.Resources/deployments, in-process and against
a real server), the engine's rules (dependsOn order, Complete mode sparing the home replica,
permissions per resource, what-if) and `acrctl deployment group` on the embedded backend."""

from __future__ import annotations

import copy
import json
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

pytest.register_assert_rewrite("api_harness")
pytest_plugins = ("api_harness",)

from api_harness import ACR, Api, Principal, op_id  # noqa: E402

from acrctl.backend.templates import unique_string  # noqa: E402
from acrctl.cli.deployment import strip_json_comments, what_if_text  # noqa: E402
from acrctl.cli.main import cli  # noqa: E402
from acrctl.client.errors import OperationFailed  # noqa: E402
from acrctl.server.app import fill  # noqa: E402
from acrctl.server.routes import ROUTES  # noqa: E402
from acrctl.testing import AcrctlMock  # noqa: E402

EXAMPLES = Path(__file__).resolve().parents[1] / "docs" / "examples"
QUICKSTART_FILE = EXAMPLES / "geo-replication" / "azuredeploy.json"
PARAMS_FILE = EXAMPLES / "geo-replication" / "azuredeploy.parameters.json"
WEBHOOKS_FILE = EXAMPLES / "registry-with-webhooks.json"
QUICKSTART = json.loads(QUICKSTART_FILE.read_text())
RES_API = "2022-09-01"
A = f"{ACR}/registries"
DEPLOY = "Microsoft.Resources/deployments"


def dep_path(api: Api, name: str = "deploy1", rg: str = "rg1") -> str:
    return f"{api.rg_path(rg)}/providers/{DEPLOY}/{name}"


def deploy(
    api: Api,
    template: dict[str, Any],
    params: dict[str, Any] | None = None,
    mode: str = "Incremental",
    name: str = "deploy1",
    token: Principal | None = None,
    rg: str = "rg1",
) -> httpx.Response:
    body = {"properties": {"template": template, "parameters": params or {}, "mode": mode}}
    return api.put(dep_path(api, name, rg), body, token=token, api_version=RES_API)


def quick(acr: str = "myreg1", replica: str = "eastus", **more: Any) -> dict[str, Any]:
    return {
        "acrName": {"value": acr},
        "acrReplicaLocation": {"value": replica},
        **{k: {"value": v} for k, v in more.items()},
    }


def status(api: Api, resp: httpx.Response, token: Principal | None = None) -> dict[str, Any]:
    assert resp.status_code in (200, 201), resp.text
    return dict(api.follow(resp.headers["Azure-AsyncOperation"], token=token).json())


def what_if(
    api: Api,
    template: dict[str, Any],
    params: dict[str, Any] | None = None,
    mode: str = "Incremental",
    token: Principal | None = None,
) -> httpx.Response:
    body = {"properties": {"template": template, "parameters": params or {}, "mode": mode}}
    return api.post(f"{dep_path(api, 'whatif1')}/whatIf", body, token=token, api_version=RES_API)


def names(api: Api, kind: str, registry: str = "myreg1") -> set[str]:
    items, _ = api.collect(f"{api.reg_path(registry)}/{kind}")
    return {str(i["name"]) for i in items}


def denial(p: Principal, action: str, scope: str) -> str:
    return (
        f"The client '{p.name}' with object id '{p.id}' does not have authorization to "
        f"perform action '{action}' over scope '{scope}' or the scope is invalid. If "
        "access was recently granted, please refresh your credentials."
    )


def registry_template(*resources: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "$schema": "https://schema.management.azure.com/schemas/2019-04-01/"
        "deploymentTemplate.json#",
        "contentVersion": "1.0.0.0",
        "resources": list(resources),
        **extra,
    }


def reg(name: str = "myreg1", sku: str = "Premium", **kw: Any) -> dict[str, Any]:
    return {
        "type": A,
        "apiVersion": "2023-07-01",
        "name": name,
        "location": "westus",
        "sku": {"name": sku},
        **kw,
    }


def repl(name: str, **kw: Any) -> dict[str, Any]:
    return {
        "type": f"{A}/replications",
        "apiVersion": "2023-07-01",
        "name": name,
        "location": name.split("/")[1],
        **kw,
    }


# == the quick-start template ================================================================
def test_the_quick_start_template_deploys_as_it_is(api: Api) -> None:
    api.create_group()
    params = json.loads(PARAMS_FILE.read_text())["parameters"]
    resp = deploy(api, QUICKSTART, params, name="azuredeploy")
    assert resp.status_code == 201, resp.text
    assert resp.json()["properties"]["provisioningState"] == "Accepted"
    assert resp.headers["Retry-After"] == "0"
    assert op_id(resp.headers["Azure-AsyncOperation"])
    assert status(api, resp)["status"] == "Succeeded"

    acr = "acr" + unique_string(f"/subscriptions/{api.sub}/resourceGroups/rg1")
    doc = api.get(dep_path(api, "azuredeploy"), api_version=RES_API).json()
    assert (doc["name"], doc["type"]) == ("azuredeploy", DEPLOY)
    props = doc["properties"]
    assert (props["provisioningState"], props["mode"], props["error"]) == (
        "Succeeded",
        "Incremental",
        None,
    )
    assert props["parameters"] == {
        "acrName": {"type": "String", "value": acr},
        "acrAdminUserEnabled": {"type": "Bool", "value": False},
        "location": {"type": "String", "value": "westus"},
        "acrSku": {"type": "String", "value": "Premium"},
        "acrReplicaLocation": {"type": "String", "value": "eastus"},
    }
    assert props["outputs"] == {"acrLoginServer": {"type": "String", "value": f"{acr}.azurecr.io"}}
    assert props["outputResources"] == [
        {"id": api.reg_path(acr)},
        {"id": api.repl_path("eastus", acr)},
    ]
    assert props["dependencies"] == [
        {
            "id": api.repl_path("eastus", acr),
            "resourceType": f"{A}/replications",
            "resourceName": f"{acr}/eastus",
            "dependsOn": [{"id": api.reg_path(acr), "resourceType": A, "resourceName": acr}],
        }
    ]
    assert props["template"] == QUICKSTART
    registry = api.get(api.reg_path(acr)).json()
    assert (registry["sku"]["name"], registry["location"]) == ("Premium", "westus")
    assert registry["tags"] == {"displayName": "Container Registry", "container.registry": acr}
    assert registry["properties"]["adminUserEnabled"] is False
    assert names(api, "replications", acr) == {"westus", "eastus"}


def test_deploying_again_changes_nothing(api: Api) -> None:
    api.create_group()
    assert status(api, deploy(api, QUICKSTART, quick()))["status"] == "Succeeded"
    before = api.get(api.reg_path()).json()
    again = deploy(api, QUICKSTART, quick())
    assert again.status_code == 200
    assert status(api, again)["status"] == "Succeeded"
    after = api.get(api.reg_path()).json()
    assert {k: v for k, v in after.items() if k != "systemData"} == {
        k: v for k, v in before.items() if k != "systemData"
    }
    assert names(api, "replications") == {"westus", "eastus"}
    changes = what_if(api, QUICKSTART, quick()).json()["properties"]["changes"]
    assert {c["changeType"] for c in changes if "westus" not in c["resourceId"]} == {"NoChange"}


def test_resources_deploy_in_depends_on_order(api: Api) -> None:
    api.create_group()
    tmpl = registry_template(
        repl("myreg1/japaneast", dependsOn=["myreg1/eastus"]),
        repl("myreg1/eastus", dependsOn=[f"[resourceId('{A}', 'myreg1')]"]),
        reg(),
    )
    assert status(api, deploy(api, tmpl))["status"] == "Succeeded"
    doc = api.get(dep_path(api), api_version=RES_API).json()
    assert [r["id"] for r in doc["properties"]["outputResources"]] == [
        api.reg_path(),
        api.repl_path("eastus"),
        api.repl_path("japaneast"),
    ]


def test_reference_reads_a_resource_deployed_before(api: Api) -> None:
    api.create_group()
    tmpl = registry_template(
        reg(),
        repl(
            "myreg1/eastus",
            dependsOn=["myreg1"],
            tags={
                "login": "[reference(resourceId('Microsoft.ContainerRegistry/registries', "
                "'myreg1')).loginServer]"
            },
        ),
    )
    assert status(api, deploy(api, tmpl))["status"] == "Succeeded"
    assert api.get(api.repl_path("eastus")).json()["tags"] == {"login": "myreg1.azurecr.io"}


def test_the_first_failing_step_stops_the_deployment(api: Api) -> None:
    api.create_group()
    hook = {
        "type": f"{A}/webhooks",
        "name": "myreg1/hook1",
        "location": "japaneast",
        "dependsOn": ["myreg1"],
        "properties": {"serviceUri": "http://127.0.0.1:9/h", "actions": ["push"]},
    }
    tmpl = registry_template(reg(), hook, repl("myreg1/eastus", dependsOn=["myreg1/hook1"]))
    result = status(api, deploy(api, tmpl))
    assert result["status"] == "Failed"
    assert result["error"]["code"] == "DeploymentFailed"
    assert result["error"]["details"][0]["code"] == "WebhookLocationNotAllowed"
    assert result["error"]["message"].startswith(
        "At least one resource deployment operation failed. resources[1] "
        f"({A}/webhooks 'myreg1/hook1'): (WebhookLocationNotAllowed) "
    )
    doc = api.get(dep_path(api), api_version=RES_API).json()
    assert doc["properties"]["provisioningState"] == "Failed"
    assert doc["properties"]["error"] == result["error"]
    assert doc["properties"]["outputResources"] == [{"id": api.reg_path()}]
    assert names(api, "replications") == {"westus"}


def test_an_output_that_cannot_be_evaluated_fails_the_deployment(api: Api) -> None:
    api.create_group()
    tmpl = registry_template(
        reg(),
        outputs={
            "x": {
                "type": "string",
                "value": (f"[reference(resourceId('{A}', 'nosuch1')).loginServer]"),
            }
        },
    )
    result = status(api, deploy(api, tmpl))
    assert result["error"]["code"] == "DeploymentOutputEvaluationFailed"
    assert "outputs.x.value" in result["error"]["message"]
    assert api.get(api.reg_path()).status_code == 200


def test_child_resources_wait_for_the_lro_mode(api: Api) -> None:
    """In 'polls' mode the deployment finishes while its resources still provision."""
    api.create_group()
    api.set_settings(lro_mode="polls", lro_polls=2)
    assert status(api, deploy(api, QUICKSTART, quick()))["status"] == "Succeeded"
    state = api.backend.replications.get(api.sub, "rg1", "myreg1", "eastus")
    assert state["properties"]["provisioningState"] in ("Creating", "Succeeded")


# == Complete mode ===============================================================================
def test_complete_mode_deletes_what_the_template_does_not_list_but_never_the_home_replica(
    api: Api,
) -> None:
    api.create_group()
    api.create_group("rg2")
    api.create_registry("myreg1", sku="Premium")
    api.create_replication("eastus")
    api.create_replication("japaneast")
    api.create_webhook("hook1")
    api.create_registry("other1")
    api.create_registry("elsewhere1", rg="rg2")
    result = status(api, deploy(api, QUICKSTART, quick(), mode="Complete"))
    assert result["status"] == "Succeeded", result
    assert names(api, "replications") == {"westus", "eastus"}  # the home replica stays
    assert names(api, "webhooks") == set()
    assert api.get(api.reg_path("other1")).status_code == 404
    assert api.get(api.reg_path("elsewhere1", "rg2")).status_code == 200
    doc = api.get(dep_path(api), api_version=RES_API).json()
    assert doc["properties"]["mode"] == "Complete"


def test_complete_mode_keeps_the_registry_of_a_listed_child(api: Api) -> None:
    api.create_group()
    api.create_registry("myreg1", sku="Premium")
    api.create_replication("japaneast")
    result = status(api, deploy(api, registry_template(repl("myreg1/eastus")), mode="Complete"))
    assert result["status"] == "Succeeded", result
    assert names(api, "replications") == {"westus", "eastus"}


def test_complete_mode_with_an_empty_template_spares_nothing_but_home_replicas(api: Api) -> None:
    api.create_group()
    api.create_registry("myreg1", sku="Premium")
    assert status(api, deploy(api, registry_template(), mode="Complete"))["status"] == "Succeeded"
    assert api.get(api.reg_path()).status_code == 404


# == permissions ===================================================================================
def deployer(api: Api, actions: list[str]) -> Principal:
    p = api.principal("deployer")
    api.assign(p, api.custom_role([f"{DEPLOY}/*", *actions]), api.rg_path())
    return p


def test_a_denied_resource_fails_the_deployment_with_the_permission_error(api: Api) -> None:
    api.create_group()
    p = deployer(api, [f"{A}/write", f"{A}/read"])
    resp = deploy(api, QUICKSTART, quick("denied1"), token=p)
    assert resp.status_code == 201
    result = status(api, resp, token=p)
    assert result["status"] == "Failed"
    replica = api.repl_path("eastus", "denied1")
    message = denial(p, f"{A}/replications/write", replica)
    assert result["error"] == {
        "code": "DeploymentFailed",
        "message": "At least one resource deployment operation failed. resources[1] "
        f"({A}/replications 'denied1/eastus'): (AuthorizationFailed) {message}",
        "details": [{"code": "AuthorizationFailed", "message": message, "target": replica}],
    }
    doc = api.get(dep_path(api), token=p, api_version=RES_API).json()
    assert doc["properties"]["provisioningState"] == "Failed"
    assert doc["properties"]["outputResources"] == [{"id": api.reg_path("denied1")}]
    assert names(api, "replications", "denied1") == {"westus"}
    systemdata = api.get(api.reg_path("denied1")).json()["systemData"]
    assert systemdata["createdBy"] == "deployer"  # the caller made it, not the engine


def test_deploying_needs_deployments_write_at_the_group(api: Api) -> None:
    api.create_group()
    p = api.principal("acronly")
    api.assign(p, api.custom_role([f"{ACR}/*"]), api.rg_path())
    resp = deploy(api, QUICKSTART, quick(), token=p)
    assert resp.status_code == 403
    assert resp.json()["error"]["message"] == denial(p, f"{DEPLOY}/write", api.rg_path())
    assert api.get(api.reg_path()).status_code == 404


def test_a_denied_complete_mode_delete_fails_the_deployment(api: Api) -> None:
    api.create_group()
    api.create_registry("myreg1", sku="Premium")
    api.create_replication("japaneast")
    p = deployer(api, [f"{A}/write", f"{A}/read", f"{A}/replications/write"])
    result = status(api, deploy(api, QUICKSTART, quick(), mode="Complete", token=p), token=p)
    assert result["status"] == "Failed"
    assert result["error"]["details"][0]["message"] == denial(
        p, f"{A}/replications/delete", api.repl_path("japaneast")
    )
    assert names(api, "replications") == {"westus", "eastus", "japaneast"}


def test_reference_needs_read_on_the_resource(api: Api) -> None:
    api.create_group()
    api.create_registry("secret1")
    p = deployer(api, [f"{A}/write"])
    tmpl = registry_template(
        outputs={
            "x": {
                "type": "string",
                "value": (f"[reference(resourceId('{A}', 'secret1')).loginServer]"),
            }
        }
    )
    result = status(api, deploy(api, tmpl, token=p), token=p)
    assert result["error"]["code"] == "DeploymentOutputEvaluationFailed"
    assert (
        f"(AuthorizationFailed) {denial(p, f'{A}/read', api.reg_path('secret1'))}"
        in result["error"]["message"]
    )


DEPLOYMENT_ROUTES = [r for r in ROUTES if "/Microsoft.Resources/deployments" in r.template]


def world(api: Api) -> dict[str, str]:
    api.create_group()
    resp = deploy(api, registry_template())
    assert resp.status_code == 201
    return {
        "sub": api.sub,
        "rg": "rg1",
        "deployment": "deploy1",
        "op": op_id(resp.headers["Azure-AsyncOperation"]),
    }


def route_body(method: str) -> Any:
    return (
        {"properties": {"template": registry_template(), "mode": "Incremental"}}
        if method in ("PUT", "POST")
        else None
    )


@pytest.mark.parametrize("route", DEPLOYMENT_ROUTES, ids=lambda r: f"{r.method} {r.template}")
def test_no_role_is_403_the_same_for_existing_and_missing(api: Api, route: Any) -> None:
    params = world(api)
    nobody = api.principal("nobody")
    last = (
        "op"
        if route.template.endswith("{op}")
        else "deployment"
        if "{deployment}" in route.template
        else "rg"
    )
    new = {"op": str(uuid.uuid4()), "deployment": "nosuchdeploy", "rg": "nosuchrg"}[last]
    missing = {**params, last: new}
    existing = api.request(
        route.method,
        fill(route.template, params),
        json=route_body(route.method),
        token=nobody,
        api_version=RES_API,
    )
    absent = api.request(
        route.method,
        fill(route.template, missing),
        json=route_body(route.method),
        token=nobody,
        api_version=RES_API,
    )
    assert (existing.status_code, absent.status_code) == (403, 403)
    scope = fill(route.scope, params)
    assert existing.json() == {
        "error": {"code": "AuthorizationFailed", "message": denial(nobody, route.action, scope)}
    }
    assert absent.json() == json.loads(json.dumps(existing.json()).replace(params[last], new))


@pytest.mark.parametrize("route", DEPLOYMENT_ROUTES, ids=lambda r: f"{r.method} {r.template}")
def test_exactly_the_routes_action_is_enough(api: Api, route: Any) -> None:
    params = world(api)
    holder = api.principal("holder")
    api.assign(holder, api.custom_role([route.action]), fill(route.scope, params))
    resp = api.request(
        route.method,
        fill(route.template, params),
        json=route_body(route.method),
        token=holder,
        api_version=RES_API,
    )
    assert 200 <= resp.status_code < 300, resp.text


def test_lists_show_only_readable_deployments(api: Api) -> None:
    world(api)
    api.create_group("rg2")
    deploy(api, registry_template(), rg="rg2", name="other")
    reader = api.principal("reader", "Reader", api.rg_path("rg2"))
    items, _ = api.collect(f"{api.rg_path('rg2')}/providers/{DEPLOY}", token=reader)
    assert [d["name"] for d in items] == ["other"]
    resp = api.get(f"{api.rg_path()}/providers/{DEPLOY}", token=reader, api_version=RES_API)
    assert resp.status_code == 403


# == what-if =======================================================================================
def test_what_if_shows_the_changes_and_makes_none(api: Api) -> None:
    api.create_group()
    status(api, deploy(api, QUICKSTART, quick()))
    resp = what_if(api, QUICKSTART, quick(replica="westeurope", acrAdminUserEnabled=True))
    assert resp.status_code == 200, resp.text
    result = resp.json()
    assert (result["status"], result["error"]) == ("Succeeded", None)
    changes = {c["resourceId"]: c for c in result["properties"]["changes"]}
    assert list(changes) == sorted(changes, key=str.lower)
    assert {k: c["changeType"] for k, c in changes.items()} == {
        api.reg_path(): "Modify",
        api.repl_path("eastus"): "Ignore",
        api.repl_path("westeurope"): "Create",
        api.repl_path("westus"): "Ignore",
    }
    assert changes[api.reg_path()]["delta"] == [
        {
            "path": "properties.adminUserEnabled",
            "propertyChangeType": "Modify",
            "before": False,
            "after": True,
        }
    ]
    created = changes[api.repl_path("westeurope")]
    assert (created["before"], created["after"]["location"]) == (None, "westeurope")
    assert "systemData" not in created["after"]
    # nothing happened
    assert api.get(api.reg_path()).json()["properties"]["adminUserEnabled"] is False
    assert names(api, "replications") == {"westus", "eastus"}
    assert api.get(dep_path(api, "whatif1"), api_version=RES_API).status_code == 404


def test_what_if_in_complete_mode_deletes_everything_but_the_home_replica(api: Api) -> None:
    api.create_group()
    status(api, deploy(api, QUICKSTART, quick()))
    api.create_registry("other1")
    changes = {
        c["resourceId"]: c["changeType"]
        for c in what_if(api, QUICKSTART, quick(replica="japaneast"), mode="Complete").json()[
            "properties"
        ]["changes"]
    }
    assert changes == {
        api.reg_path(): "NoChange",
        api.repl_path("eastus"): "Delete",
        api.repl_path("japaneast"): "Create",
        api.repl_path("westus"): "Ignore",
        api.reg_path("other1"): "Delete",
    }
    assert names(api, "replications") == {"westus", "eastus"}
    assert api.get(api.reg_path("other1")).status_code == 200


def test_what_if_reports_a_denied_step_and_changes_nothing(api: Api) -> None:
    api.create_group()
    p = deployer(api, [f"{A}/write", f"{A}/read"])
    resp = what_if(api, QUICKSTART, quick(), token=p)
    assert resp.status_code == 403
    replica = api.repl_path("eastus")
    assert resp.json()["error"] == {
        "code": "AuthorizationFailed",
        "message": f"The deployment would fail at resources[1] ({A}/replications "
        f"'myreg1/eastus'): {denial(p, f'{A}/replications/write', replica)}",
        "target": replica,
    }
    assert api.get(api.reg_path()).status_code == 404


def test_what_if_pretty_print() -> None:
    scope = "/subscriptions/s/resourceGroups/rg1"
    rid = f"{scope}/providers/{A}/myreg1"
    result = {
        "status": "Succeeded",
        "properties": {
            "changes": [
                {
                    "resourceId": rid,
                    "changeType": "Modify",
                    "delta": [
                        {
                            "path": "properties.adminUserEnabled",
                            "propertyChangeType": "Modify",
                            "before": False,
                            "after": True,
                        },
                        {
                            "path": "tags.team",
                            "propertyChangeType": "Create",
                            "before": None,
                            "after": "infra",
                        },
                        {
                            "path": "tags.old",
                            "propertyChangeType": "Delete",
                            "before": "x",
                            "after": None,
                        },
                    ],
                },
                {"resourceId": f"{rid}/replications/eastus", "changeType": "Delete"},
                {"resourceId": f"{rid}/replications/japaneast", "changeType": "Create"},
                {"resourceId": f"{rid}/replications/westus", "changeType": "Ignore"},
            ]
        },
    }
    assert (
        what_if_text(result, scope)
        == f"""\
Note: The result may contain false positive predictions (noise).

Resource and property changes are indicated with these symbols:
  - Delete
  + Create
  ~ Modify
  * Ignore

The deployment will update the following scope:

Scope: {scope}

  ~ {A}/myreg1
    ~ properties.adminUserEnabled: false => true
    + tags.team: "infra"
    - tags.old: "x"

  - {A}/myreg1/replications/eastus
  + {A}/myreg1/replications/japaneast
  * {A}/myreg1/replications/westus

Resource changes: 1 to create, 1 to delete, 1 to modify, 1 to ignore.
"""
    )
    colored = what_if_text(result, scope, color=True)
    assert "\x1b[35m~ properties.adminUserEnabled" not in colored  # only the symbol
    assert f"\x1b[32m+ {A}/myreg1/replications/japaneast\x1b[0m" in colored


# == requests the engine refuses ===================================================================
def test_an_unsupported_function_is_a_400_naming_the_path_and_nothing_happens(api: Api) -> None:
    api.create_group()
    tmpl = copy.deepcopy(QUICKSTART)
    tmpl["resources"][1]["location"] = "[listKeys('x', '2020-01-01').primary]"
    resp = deploy(api, tmpl, quick())
    assert resp.status_code == 400
    err = resp.json()["error"]
    assert err["code"] == "InvalidTemplate"
    assert err["target"] == "resources[1].location"
    assert err["message"].startswith(
        "Deployment template validation failed at 'resources[1].location': The template "
        "function 'listKeys' is not supported by acrctl."
    )
    assert api.get(api.reg_path()).status_code == 404
    assert api.get(dep_path(api), api_version=RES_API).status_code == 404


def test_a_dependency_cycle_is_a_400(api: Api) -> None:
    api.create_group()
    tmpl = registry_template(reg(dependsOn=["myreg1/eastus"]), repl("myreg1/eastus"))
    resp = deploy(api, tmpl)
    assert resp.status_code == 400
    assert "Circular dependency detected on resources: " in resp.json()["error"]["message"]


@pytest.mark.parametrize(
    ("body", "code", "detail"),
    [
        ({}, "InvalidRequestContent", "'properties' is required"),
        (
            {"properties": {"mode": "Incremental"}},
            "InvalidRequestContent",
            "needs 'properties.template'",
        ),
        (
            {"properties": {"templateLink": {"uri": "https://x"}}},
            "InvalidRequestContent",
            "'properties.templateLink' is not supported",
        ),
        (
            {"properties": {"template": {}, "mode": "Partial"}},
            "InvalidDeploymentMode",
            "The deployment mode 'Partial' is not valid",
        ),
        (
            {"properties": {"template": {}, "parameters": {"x": {"value": 1}}}},
            "InvalidTemplate",
            "The template parameters 'x' are not valid",
        ),
    ],
)
def test_bad_requests(api: Api, body: dict[str, Any], code: str, detail: str) -> None:
    api.create_group()
    resp = api.put(dep_path(api), body, api_version=RES_API)
    assert resp.status_code == 400
    assert resp.json()["error"]["code"] == code and detail in resp.json()["error"]["message"]


def test_bad_names_and_missing_groups(api: Api) -> None:
    api.create_group()
    resp = deploy(api, registry_template(), name="bad*name")
    assert (resp.status_code, resp.json()["error"]["code"]) == (400, "InvalidDeploymentName")
    resp = deploy(api, registry_template(), rg="nosuchrg")
    assert (resp.status_code, resp.json()["error"]["code"]) == (404, "ResourceGroupNotFound")


def test_show_list_delete(api: Api) -> None:
    api.create_group()
    status(api, deploy(api, QUICKSTART, quick(), name="first"))
    status(api, deploy(api, registry_template(), name="second"))
    items, _ = api.collect(f"{api.rg_path()}/providers/{DEPLOY}")
    assert [d["name"] for d in items] == ["first", "second"]
    assert api.delete(dep_path(api, "first"), api_version=RES_API).status_code == 204
    resp = api.get(dep_path(api, "first"), api_version=RES_API)
    assert resp.status_code == 404
    assert resp.json()["error"] == {
        "code": "DeploymentNotFound",
        "message": "Deployment 'first' could not be found.",
    }
    assert api.get(api.reg_path()).status_code == 200  # its resources stay
    assert api.delete(dep_path(api, "first"), api_version=RES_API).status_code == 204
    api.delete(api.rg_path(), api_version=RES_API)
    assert api.backend.store.get("deployment", dep_path(api, "second").lower()) is None


# == the command line ==========================================================================
def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def rg(acrctl_mock: AcrctlMock) -> AcrctlMock:
    acrctl_mock.client().create_group("rg1", "westus")
    return acrctl_mock


def test_cli_deploys_the_quick_start_with_its_parameters_file(rg: AcrctlMock) -> None:
    code, out, err = run(
        "deployment",
        "group",
        "create",
        "-g",
        "rg1",
        "-f",
        str(QUICKSTART_FILE),
        "-p",
        f"@{PARAMS_FILE}",
    )
    assert (code, err) == (0, "")
    doc = json.loads(out)
    acr = "acr" + unique_string(f"/subscriptions/{rg.subscription}/resourceGroups/rg1")
    assert doc["name"] == "azuredeploy"  # named after the template file, like az
    assert doc["resourceGroup"] == "rg1"
    assert doc["properties"]["provisioningState"] == "Succeeded"  # properties stay nested
    assert doc["properties"]["outputs"]["acrLoginServer"]["value"] == f"{acr}.azurecr.io"
    code, out, _ = run(
        "deployment",
        "group",
        "show",
        "-g",
        "rg1",
        "-n",
        "azuredeploy",
        "--query",
        "properties.outputs.acrLoginServer.value",
        "-o",
        "tsv",
    )
    assert (code, out) == (0, f"{acr}.azurecr.io\n")
    code, out, _ = run("deployment", "group", "list", "-g", "rg1", "-o", "table")
    assert out.splitlines()[0].split() == ["Name", "ResourceGroup", "State", "Timestamp", "Mode"]
    assert out.splitlines()[2].split()[:3] == ["azuredeploy", "rg1", "Succeeded"]
    code, out, _ = run("replication", "list", "-r", acr, "--query", "[].name", "-o", "tsv")
    assert sorted(out.split()) == ["eastus", "westus"]


def test_cli_deploys_the_nested_webhooks_example(rg: AcrctlMock) -> None:
    code, out, err = run(
        "deployment",
        "group",
        "create",
        "-g",
        "rg1",
        "-f",
        str(WEBHOOKS_FILE),
        "-p",
        "hookUri=https://example.com/hook",
        "prefix=Ops",
        "--query",
        "properties.outputs",
    )
    assert code == 0, err
    outputs = json.loads(out)
    name = outputs["registryName"]["value"]
    assert name == "opsregistry" + unique_string(
        f"/subscriptions/{rg.subscription}/resourceGroups/rg1"
    )
    assert outputs["loginServer"]["value"] == f"{name}.azurecr.io"
    client = rg.client()
    assert {
        r.name: r.properties.region_endpoint_enabled for r in client.list_replications("rg1", name)
    } == {"westus": True, "eastus": True, "westeurope": False}
    hook = client.get_webhook("rg1", name, "pushhook")
    assert (hook.location, hook.properties.scope) == ("eastus", "app:*")
    assert client.webhook_config("rg1", name, "pushhook").service_uri == "https://example.com/hook"
    assert client.get_registry("rg1", name).tags == {"team": "ops", "managedBy": "arm"}


@pytest.mark.parametrize(
    ("params", "admin"),
    [
        (["acrReplicaLocation=eastus", "acrAdminUserEnabled=true"], True),
        (
            ['{"acrReplicaLocation": {"value": "eastus"}, "acrAdminUserEnabled": {"value": true}}'],
            True,
        ),
        ([f"@{PARAMS_FILE}", "acrAdminUserEnabled=true", "-p", "acrAdminUserEnabled=false"], False),
        ([str(PARAMS_FILE)], False),
    ],
)
def test_cli_parameters_like_az(rg: AcrctlMock, params: list[str], admin: bool) -> None:
    code, _, err = run(
        "deployment",
        "group",
        "create",
        "-g",
        "rg1",
        "-f",
        str(QUICKSTART_FILE),
        "-p",
        *params,
        "-p",
        "acrName=myreg1",
    )
    assert code == 0, err
    assert rg.client().get_registry("rg1", "myreg1").properties.admin_user_enabled is admin


def test_cli_parameter_errors(rg: AcrctlMock, tmp_path: Path) -> None:
    base = ["deployment", "group", "create", "-g", "rg1", "-f", str(QUICKSTART_FILE)]
    code, _, err = run(*base, "-p", "nosuch=1")
    assert (code, err) == (
        1,
        "ERROR: unrecognized template parameter 'nosuch'. Allowed "
        "parameters: acrAdminUserEnabled, acrName, acrReplicaLocation, "
        "acrSku, location\n",
    )
    code, _, err = run(*base, "-p", "garbage")
    assert (code, err) == (1, "ERROR: Unable to parse parameter: garbage\n")
    code, _, err = run(*base)
    assert code == 1
    assert err.startswith(
        "ERROR: (InvalidTemplate) Deployment template validation failed at "
        "'parameters.acrReplicaLocation': The value for the template "
        "parameter 'acrReplicaLocation' is not provided."
    )
    code, _, err = run(*base, "-p", "acrReplicaLocation=eastus", "acrSku=Basic")
    assert code == 1 and "is not part of the allowed value(s): 'Premium'" in err
    bicep = tmp_path / "main.bicep"
    bicep.write_text("param x string")
    code, _, err = run("deployment", "group", "create", "-g", "rg1", "-f", str(bicep))
    assert code == 1 and "Bicep files are not supported" in err
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    code, _, err = run("deployment", "group", "create", "-g", "rg1", "-f", str(broken))
    assert code == 1 and f"Failed to parse the template file '{broken}'" in err


def test_cli_failed_deployment_exits_1_with_the_failing_step(
    rg: AcrctlMock, tmp_path: Path
) -> None:
    tmpl = registry_template(
        reg(),
        {
            "type": f"{A}/webhooks",
            "name": "myreg1/hook1",
            "location": "japaneast",
            "properties": {"serviceUri": "http://h.example", "actions": ["push"]},
        },
    )
    path = tmp_path / "t.json"
    path.write_text(json.dumps(tmpl))
    code, out, err = run("deployment", "group", "create", "-g", "rg1", "-f", str(path))
    assert (code, out) == (1, "")
    assert err.startswith(
        "ERROR: (DeploymentFailed) At least one resource deployment "
        f"operation failed. resources[1] ({A}/webhooks 'myreg1/hook1'): "
        "(WebhookLocationNotAllowed) "
    )
    code, out, _ = run(
        "deployment",
        "group",
        "show",
        "-g",
        "rg1",
        "-n",
        "t",
        "--query",
        "properties.provisioningState",
        "-o",
        "tsv",
    )
    assert (code, out) == (0, "Failed\n")


def test_cli_permission_error_through_the_client(rg: AcrctlMock) -> None:
    caller, _ = rg.principal("deployer")
    rg.assign(
        caller.id,
        "Container Registry Contributor and Data Access Configuration Administrator",
        f"/subscriptions/{rg.subscription}/resourceGroups/rg1",
    )
    denied, _ = rg.principal("limited")
    role = rg.backend.rbac.put_role_definition(
        f"/subscriptions/{rg.subscription}",
        str(uuid.uuid4()),
        {
            "properties": {
                "roleName": "deploy registries only",
                "permissions": [{"actions": [f"{DEPLOY}/*", f"{A}/write", f"{A}/read"]}],
            }
        },
    )
    rg.assign(denied.id, role["name"])
    body = {"properties": {"template": QUICKSTART, "parameters": quick(), "mode": "Incremental"}}
    assert rg.client(caller).create_deployment("rg1", "ok", body)
    with pytest.raises(OperationFailed) as info:
        rg.client(denied).create_deployment(
            "rg1", "denied", {"properties": {**body["properties"], "parameters": quick("other1")}}
        )
    assert info.value.code == "DeploymentFailed"
    assert "(AuthorizationFailed) The client 'limited'" in info.value.message
    assert f"'{A}/replications/write'" in info.value.message


def test_cli_what_if_makes_no_changes(rg: AcrctlMock) -> None:
    base = [
        "deployment",
        "group",
        "create",
        "-g",
        "rg1",
        "-f",
        str(QUICKSTART_FILE),
        "-p",
        "acrName=myreg1",
        "acrReplicaLocation=eastus",
    ]
    assert run(*base)[0] == 0
    code, out, err = run(
        *base,
        "acrAdminUserEnabled=true",
        "-p",
        "acrReplicaLocation=japaneast",
        "--mode",
        "complete",
        "--what-if",
    )
    assert (code, err) == (0, "")
    assert f"  ~ {A}/myreg1\n    ~ properties.adminUserEnabled: false => true\n" in out
    assert f"  - {A}/myreg1/replications/eastus\n" in out
    assert f"  + {A}/myreg1/replications/japaneast\n" in out
    assert f"  * {A}/myreg1/replications/westus\n" in out
    assert out.endswith("Resource changes: 1 to create, 1 to delete, 1 to modify, 1 to ignore.\n")
    assert {r.name for r in rg.client().list_replications("rg1", "myreg1")} == {"westus", "eastus"}
    code, out, _ = run(
        "deployment",
        "group",
        "what-if",
        "-g",
        "rg1",
        "-f",
        str(QUICKSTART_FILE),
        "-p",
        "acrName=myreg1",
        "acrReplicaLocation=eastus",
        "-x",
        "Ignore",
        "--no-pretty-print",
        "--query",
        "properties.changes[].changeType",
        "-o",
        "tsv",
    )
    assert (code, out) == (0, "NoChange\nNoChange\n")
    code, _, err = run(
        "deployment",
        "group",
        "what-if",
        "-g",
        "rg1",
        "-f",
        str(QUICKSTART_FILE),
        "-p",
        "acrReplicaLocation=eastus",
        "-x",
        "Sometimes",
    )
    assert code == 2 and "'sometimes' is not a valid change type" in err


def test_cli_confirm_with_what_if_needs_a_terminal(rg: AcrctlMock) -> None:
    code, out, err = run(
        "deployment",
        "group",
        "create",
        "-g",
        "rg1",
        "-f",
        str(QUICKSTART_FILE),
        "-p",
        "acrName=myreg1",
        "acrReplicaLocation=eastus",
        "-c",
    )
    assert code == 1 and "Resource changes: 2 to create." in out
    assert "Unable to prompt for confirmation as no tty available" in err
    assert rg.client().list_registries("rg1") == []


def test_cli_no_wait_show_missing_and_delete(rg: AcrctlMock) -> None:
    code, out, _ = run(
        "deployment",
        "group",
        "create",
        "-g",
        "rg1",
        "-f",
        str(QUICKSTART_FILE),
        "-p",
        "acrName=myreg1",
        "acrReplicaLocation=eastus",
        "-n",
        "d1",
        "--no-wait",
    )
    assert (code, out) == (0, "")
    assert run("deployment", "group", "delete", "-g", "rg1", "-n", "d1") == (0, "", "")
    code, _, err = run("deployment", "group", "show", "-g", "rg1", "-n", "d1")
    assert code == 3
    assert err.startswith("ERROR: (DeploymentNotFound) Deployment 'd1' could not be found.")
    assert rg.client().get_registry("rg1", "myreg1").name == "myreg1"


def test_strip_json_comments_keeps_strings() -> None:
    text = '{"a": "http://x//y", /* block */ "b": "/* no */", // line\n "c": "q\\"//"}'
    assert json.loads(strip_json_comments(text)) == {
        "a": "http://x//y",
        "b": "/* no */",
        "c": 'q"//',
    }
