"""RBAC over the API, in-process and against a real server.

The matrix walks acrctl.server.routes.ROUTES: for every route with an action, a principal
with no role gets 403 AuthorizationFailed (the same body whether the named resource exists
or not), and a principal holding a custom role whose actions are exactly that route's action,
assigned at the route's scope, gets through. The rest checks the built-in roles, inheritance,
notActions, the Microsoft.Authorization endpoints and how principals and tokens are kept."""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

pytest.register_assert_rewrite("api_harness")
pytest_plugins = ("api_harness",)

from api_harness import (  # noqa: E402
    ACR,
    ACR_CONFIG_READER,
    ADMIN_API_VERSION,
    CONTRIBUTOR,
    NO_TOKEN,
    OWNER,
    READER,
    Api,
    Principal,
    op_id,
)

from acrctl.server.app import Route, fill  # noqa: E402
from acrctl.server.routes import ROUTES  # noqa: E402

AUTHZ = "providers/Microsoft.Authorization"
A = f"{ACR}/registries"
ACTION_ROUTES = [r for r in ROUTES if r.action]
PLACEHOLDER = re.compile(r"\{(\w+)(?::path)?\}")


def route_id(route: Route) -> str:
    return f"{route.method} {route.template}"


def denial(p: Principal, action: str, scope: str) -> str:
    return (
        f"The client '{p.name}' with object id '{p.id}' does not have authorization to "
        f"perform action '{action}' over scope '{scope}' or the scope is invalid. If "
        "access was recently granted, please refresh your credentials."
    )


def forbidden(resp: httpx.Response) -> str:
    assert resp.status_code == 403, (resp.status_code, resp.text)
    assert resp.json()["error"]["code"] == "AuthorizationFailed", resp.text
    return str(resp.json()["error"]["message"])


# == the world the matrix runs in ==========================================================


@dataclass
class World:
    params: dict[str, str]
    ops: dict[str, str]
    event_id: str
    bystander: Principal


DRILL = {"properties": {"kind": "ReplicaOutage", "region": "northeurope"}}
DEPLOYMENT = {
    "properties": {
        "mode": "Incremental",
        "template": {
            "$schema": "https://schema.management.azure.com/schemas/2019-04-01/"
            "deploymentTemplate.json#",
            "contentVersion": "1.0.0.0",
            "resources": [],
        },
    }
}


class FakePlane:
    """A stand-in for a running data plane (acrctl.backend.imports.DataPlanePort), so the
    matrix reaches the routes the data plane answers without the registry binaries."""

    def __init__(self, api: Api) -> None:
        self.api = api

    def image_presence(
        self, reg: dict[str, Any], regions: list[str], repository: str, tag: str
    ) -> dict[str, str | None]:
        return {r: "sha256:" + "a" * 64 for r in regions}

    def verify(self, reg: dict[str, Any], regions: list[str]) -> dict[str, Any]:
        return {"inSync": True, "complete": True, "drift": []}

    def start_import(self, reg: dict[str, Any], spec: Any, what: str) -> dict[str, Any]:
        from acrctl.backend.imports import ImportOps

        return ImportOps(self.api.backend).start(reg, what)

    def is_local_uri(self, registry_uri: str) -> str | None:
        return None


IMPORT = {"source": {"registryUri": "registry.example", "sourceImage": "web/app:v1"}}


def query(route: Route) -> dict[str, str] | None:
    """The query a route requires."""
    return {"image": "web/app:v1"} if route.template.endswith("/imagePresence") else None


def build_world(api: Api) -> World:
    """rg1 / Premium myreg1 (westus) / replication eastus / webhook hook1 with one ping
    event, a custom role defined at rg1 and a Reader assignment at rg1; plus the ids of
    finished operations of each kind."""
    api.create_group()
    reg = api.put(
        api.reg_path(),
        {
            "location": "westus",
            "sku": {"name": "Premium"},
            "properties": {"adminUserEnabled": True},
        },
    )  # credentials
    repl = api.put(api.repl_path("eastus"), {"location": "eastus"})
    hook = api.put(
        api.hook_path(),
        {
            "location": "westus",
            "properties": {"serviceUri": "http://127.0.0.1:9/hook", "actions": ["push"]},
        },
    )
    event_id = api.post(f"{api.hook_path()}/ping").json()["id"]
    api.create_webhook("gonehook")
    gone = api.delete(api.hook_path("gonehook"))
    role_guid = str(uuid.uuid4())
    api.backend.rbac.put_role_definition(
        api.rg_path(),
        role_guid,
        {"properties": {"roleName": "rg1 helper", "permissions": [{"actions": ["*/read"]}]}},
    )
    bystander = api.principal("bystander")
    assignment = str(uuid.uuid4())
    api.backend.rbac.create_assignment(
        api.rg_path(),
        assignment,
        {"properties": {"roleDefinitionId": READER, "principalId": bystander.id}},
    )
    api.put(
        f"{api.sub_path}/providers/Acrctl.Admin/drills/matrixdrill",
        DRILL,
        api_version=ADMIN_API_VERSION,
    )
    api.backend.dataplane = FakePlane(api)
    imported = api.post(f"{api.reg_path()}/importImage", IMPORT)
    assert imported.status_code == 202, imported.text
    dep = api.put(
        f"{api.rg_path()}/providers/Microsoft.Resources/deployments/dep1",
        DEPLOYMENT,
        api_version="2022-09-01",
    )
    params = {
        "sub": api.sub,
        "rg": "rg1",
        "registry": "myreg1",
        "replication": "eastus",
        "webhook": "hook1",
        "location": "westus",
        "scope": api.rg_path(),
        "roleDefinitions": role_guid,
        "roleAssignments": assignment,
        "drill": "matrixdrill",
        "deployment": "dep1",
        "namespace": ACR,
        # holds no role, so the route's action alone may reset or delete it
        "principal": api.principal("target").id,
    }
    ops = {
        "registries": op_id(reg.headers["Azure-AsyncOperation"]),
        "replications": op_id(repl.headers["Azure-AsyncOperation"]),
        "webhooks": op_id(hook.headers["Azure-AsyncOperation"]),
        "locations": op_id(gone.headers["Location"]),
        "deployments": op_id(dep.headers["Azure-AsyncOperation"]),
        "imports": imported.headers["Azure-AsyncOperation"].split("/importOperations/")[1][:36],
    }
    return World(params, ops, event_id, bystander)


def concrete(route: Route, world: World) -> dict[str, str]:
    """Path parameters naming existing things for this route."""
    params = dict(world.params)
    t = route.template
    params["op"] = world.ops[
        "locations"
        if "/operationResults/" in t
        else "deployments"
        if "/deployments/" in t
        else "webhooks"
        if "/webhooks/" in t
        else "replications"
        if "/replications/" in t
        else "imports"
        if "/importOperations/" in t
        else "registries"
    ]
    params["id"] = params["roleDefinitions" if "/roleDefinitions/" in t else "roleAssignments"]
    return params


def missing(route: Route, params: dict[str, str]) -> tuple[str, str, dict[str, str]]:
    """Vary the last path parameter to something that does not exist. Returns
    (old value, new value, params)."""
    name = PLACEHOLDER.findall(route.template)[-1]
    new = {
        "sub": str(uuid.uuid4()),
        "rg": "nosuchrg",
        "registry": "nosuchreg",
        "replication": "nosuchrepl",
        "webhook": "nosuchhook",
        "op": str(uuid.uuid4()),
        "id": str(uuid.uuid4()),
        "location": "northeurope",
        "scope": params["scope"].replace("/rg1", "/nosuchrg"),
        "drill": "nosuchdrill",
        "deployment": "nosuchdep",
        "principal": str(uuid.uuid4()),
        "namespace": "Microsoft.NoSuchProvider",
    }[name]
    return params[name], new, {**params, name: new}


def body_for(route: Route, world: World) -> Any:
    """A valid request body for the route (None when it takes none)."""
    t, m = route.template, route.method
    if m == "PATCH":
        return {"tags": {"matrix": "yes"}}
    if m == "PUT":
        if t.endswith("/resourceGroups/{rg}"):
            return {"location": "westus"}
        if t.endswith("/registries/{registry}"):
            return {"location": "westus", "sku": {"name": "Premium"}}
        if t.endswith("/replications/{replication}"):
            return {"location": "eastus"}
        if t.endswith("/webhooks/{webhook}"):
            return {
                "location": "westus",
                "properties": {"serviceUri": "http://127.0.0.1:9/hook", "actions": ["push"]},
            }
        if t.endswith("/roleDefinitions/{id}"):
            return {
                "properties": {"roleName": "rg1 helper", "permissions": [{"actions": ["*/read"]}]}
            }
        if t.endswith("/drills/{drill}"):
            return DRILL
        if t.endswith("/deployments/{deployment}"):
            return DEPLOYMENT
        if t.endswith("/roleAssignments/{id}"):
            return {"properties": {"roleDefinitionId": READER, "principalId": world.bystander.id}}
        return {}
    if m == "POST":
        if t.endswith("/checkNameAvailability"):
            return {"name": "freshname", "type": f"{ACR}/registries"}
        if t.endswith("/principals"):
            return {"displayName": "newprincipal"}
        if t.endswith("/redeliver"):
            return {"eventId": world.event_id}
        if t.endswith("/regenerateCredential"):
            return {"name": "password"}
        if t.endswith("/whatIf"):
            return DEPLOYMENT
        if t.endswith("/importImage"):
            return IMPORT
    return None


@pytest.mark.parametrize("route", ACTION_ROUTES, ids=route_id)
def test_no_role_is_403_the_same_for_existing_and_missing(api: Api, route: Route) -> None:
    world = build_world(api)
    nobody = api.principal("nobody")
    params = concrete(route, world)
    old, new, params_missing = missing(route, params)
    body = body_for(route, world)
    existing = api.request(
        route.method, fill(route.template, params), json=body, token=nobody, params=query(route)
    )
    absent = api.request(
        route.method,
        fill(route.template, params_missing),
        json=body,
        token=nobody,
        params=query(route),
    )
    assert (existing.status_code, absent.status_code) == (403, 403), (existing.text, absent.text)
    if route.method == "HEAD":
        return
    scope = fill(route.scope, params) or "/"
    assert existing.json() == {
        "error": {
            "code": "AuthorizationFailed",
            "message": denial(nobody, route.action or "", scope),
        }
    }
    assert absent.json() == json.loads(json.dumps(existing.json()).replace(old, new))


@pytest.mark.parametrize("route", ACTION_ROUTES, ids=route_id)
def test_custom_role_with_exactly_the_action_is_allowed(api: Api, route: Route) -> None:
    world = build_world(api)
    params = concrete(route, world)
    scope = fill(route.scope, params) or "/"
    holder = api.principal("holder")
    api.assign(holder, api.custom_role([route.action or ""]), scope)
    resp = api.request(
        route.method,
        fill(route.template, params),
        json=body_for(route, world),
        token=holder,
        params=query(route),
    )
    assert resp.status_code not in (401, 403), resp.text
    assert 200 <= resp.status_code < 300, (resp.status_code, resp.text)


def test_every_action_route_is_in_the_matrix() -> None:
    assert len(ACTION_ROUTES) >= 40
    assert {r.method for r in ACTION_ROUTES} >= {"GET", "PUT", "PATCH", "DELETE", "POST", "HEAD"}


# == lists ====================================================================================


def test_reader_on_one_group_sees_only_its_registries_in_the_subscription(api: Api) -> None:
    api.create_group("rg1")
    api.create_group("rg2")
    api.create_registry("inside1", rg="rg1")
    api.create_registry("outside1", rg="rg2")
    reader = api.principal("reader", READER, api.rg_path("rg1"))
    items, _ = api.collect(f"{api.sub_path}/providers/{ACR}/registries", token=reader)
    assert [r["name"] for r in items] == ["inside1"]


def test_reader_on_one_group_sees_only_that_group(api: Api) -> None:
    api.create_group("rg1")
    api.create_group("rg2")
    reader = api.principal("reader", READER, api.rg_path("rg1"))
    items, _ = api.collect(f"{api.sub_path}/resourcegroups", token=reader)
    assert [g["name"] for g in items] == ["rg1"]


def test_reader_on_one_registry_lists_only_it(api: Api) -> None:
    api.create_group()
    api.create_registry("inside1")
    api.create_registry("outside1")
    reader = api.principal("reader", READER, api.reg_path("inside1"))
    items, _ = api.collect(f"{api.rg_path()}/providers/{ACR}/registries", token=reader)
    assert [r["name"] for r in items] == ["inside1"]


def test_list_without_the_action_is_403(api: Api) -> None:
    api.create_group()
    acr_only = api.principal("acronly")
    api.assign(acr_only, api.custom_role([f"{A}/write"]))
    msg = forbidden(api.get(f"{api.sub_path}/providers/{ACR}/registries", token=acr_only))
    assert f"'{A}/read'" in msg and f"over scope '{api.sub_path}'" in msg


# == built-in roles ======================================================================


@pytest.fixture
def hooked(api: Api) -> Api:
    """rg1 / Basic myreg1 / webhook hook1."""
    api.create_group()
    api.create_registry()
    api.create_webhook()
    return api


def test_reader_can_get_a_webhook(hooked: Api) -> None:
    reader = hooked.principal("reader", READER)
    assert hooked.get(hooked.hook_path(), token=reader).status_code == 200


@pytest.mark.parametrize("action", ["ping", "getCallbackConfig", "listEvents"])
def test_reader_cannot_use_webhook_actions(hooked: Api, action: str) -> None:
    reader = hooked.principal("reader", READER)
    msg = forbidden(hooked.post(f"{hooked.hook_path()}/{action}", token=reader))
    assert msg == denial(reader, f"{A}/webhooks/{action}/action", hooked.hook_path())


@pytest.mark.parametrize("action", ["getCallbackConfig", "listEvents"])
def test_configuration_reader_can_read_webhook_config_and_events(hooked: Api, action: str) -> None:
    reader = hooked.principal("cfgreader", ACR_CONFIG_READER)
    assert hooked.post(f"{hooked.hook_path()}/{action}", token=reader).status_code == 200


def test_configuration_reader_is_found_by_role_name(hooked: Api) -> None:
    reader = hooked.principal(
        "cfgreader", "Container Registry Configuration Reader and Data Access Configuration Reader"
    )
    resp = hooked.post(f"{hooked.hook_path()}/getCallbackConfig", token=reader)
    assert resp.json()["serviceUri"] == "http://127.0.0.1:9/hook"


def test_configuration_reader_cannot_ping(hooked: Api) -> None:
    reader = hooked.principal("cfgreader", ACR_CONFIG_READER)
    forbidden(hooked.post(f"{hooked.hook_path()}/ping", token=reader))


def test_reader_cannot_write(hooked: Api) -> None:
    reader = hooked.principal("reader", READER)
    msg = forbidden(hooked.patch(hooked.reg_path(), {"tags": {}}, token=reader))
    assert f"'{A}/write'" in msg


def test_contributor_can_create_registries(api: Api) -> None:
    api.create_group()
    contributor = api.principal("contrib", CONTRIBUTOR)
    resp = api.put(
        api.reg_path(), {"location": "westus", "sku": {"name": "Basic"}}, token=contributor
    )
    assert resp.status_code == 201


def test_contributor_cannot_create_role_assignments(api: Api) -> None:
    contributor = api.principal("contrib", CONTRIBUTOR)
    resp = api.put(
        f"{api.sub_path}/{AUTHZ}/roleAssignments/{uuid.uuid4()}",
        {"properties": {"roleDefinitionId": OWNER, "principalId": contributor.id}},
        token=contributor,
        api_version=ADMIN_API_VERSION,
    )
    msg = forbidden(resp)
    assert msg == denial(contributor, "Microsoft.Authorization/roleAssignments/write", api.sub_path)


def test_contributor_cannot_reset(api: Api) -> None:
    contributor = api.principal("contrib", CONTRIBUTOR)
    forbidden(
        api.post(
            f"{api.sub_path}/providers/Acrctl.Admin/reset",
            token=contributor,
            api_version=ADMIN_API_VERSION,
        )
    )


def test_owner_on_a_group_cannot_reset_the_subscription(api: Api) -> None:
    api.create_group()
    owner = api.principal("rgowner", OWNER, api.rg_path())
    forbidden(
        api.post(
            f"{api.sub_path}/providers/Acrctl.Admin/reset",
            token=owner,
            api_version=ADMIN_API_VERSION,
        )
    )


# == how roles combine ==========================================================================


def test_not_actions_of_the_same_role_subtract(hooked: Api) -> None:
    p = hooked.principal("limited")
    hooked.assign(p, hooked.custom_role([f"{ACR}/*"], [f"{A}/delete"]))
    assert hooked.get(hooked.reg_path(), token=p).status_code == 200
    msg = forbidden(hooked.delete(hooked.reg_path(), token=p))
    assert f"'{A}/delete'" in msg


def test_not_actions_do_not_deny_what_another_role_grants(hooked: Api) -> None:
    p = hooked.principal("twice")
    hooked.assign(p, hooked.custom_role([f"{ACR}/*"], [f"{A}/delete"]))
    hooked.assign(p, hooked.custom_role([f"{A}/delete"]))
    assert hooked.delete(hooked.reg_path(), token=p).status_code == 202


def test_not_actions_accept_wildcards(hooked: Api) -> None:
    p = hooked.principal("nowebhooks")
    hooked.assign(p, hooked.custom_role(["*"], [f"{A}/webhooks/*"]))
    assert hooked.get(hooked.reg_path(), token=p).status_code == 200
    forbidden(hooked.get(hooked.hook_path(), token=p))


def test_assignment_on_a_group_covers_its_registries(api: Api) -> None:
    api.create_group("rg1")
    api.create_group("rg2")
    api.create_registry("inside1", rg="rg1")
    api.create_registry("outside1", rg="rg2")
    reader = api.principal("reader", READER, api.rg_path("rg1"))
    assert api.get(api.reg_path("inside1", "rg1"), token=reader).status_code == 200
    msg = forbidden(api.get(api.reg_path("outside1", "rg2"), token=reader))
    assert f"over scope '{api.reg_path('outside1', 'rg2')}'" in msg


def test_assignment_on_a_registry_does_not_cover_its_group(hooked: Api) -> None:
    reader = hooked.principal("reader", READER, hooked.reg_path())
    assert hooked.get(hooked.hook_path(), token=reader).status_code == 200
    forbidden(hooked.get(hooked.rg_path(), token=reader))


def test_scope_matching_respects_segment_boundaries(api: Api) -> None:
    api.create_group("rg1")
    api.create_group("rg10")
    api.create_registry("inrg10", rg="rg10")
    reader = api.principal("reader", READER, api.rg_path("rg1"))
    forbidden(api.get(api.reg_path("inrg10", "rg10"), token=reader))


def test_action_matching_is_case_insensitive(hooked: Api) -> None:
    p = hooked.principal("shouty")
    hooked.assign(p, hooked.custom_role(["MICROSOFT.CONTAINERREGISTRY/Registries/READ"]))
    assert hooked.get(hooked.reg_path(), token=p).status_code == 200


def test_scope_matching_is_case_insensitive(hooked: Api) -> None:
    reader = hooked.principal("reader", READER, hooked.rg_path("RG1"))
    assert hooked.get(hooked.reg_path(), token=reader).status_code == 200


def test_a_star_segment_matches_inside_an_action(hooked: Api) -> None:
    p = hooked.principal("webhookreader")
    hooked.assign(p, hooked.custom_role([f"{A}/webhooks/*/action"]))
    assert hooked.post(f"{hooked.hook_path()}/ping", token=p).status_code == 200
    forbidden(hooked.get(hooked.hook_path(), token=p))


def test_group_scoped_contributor_can_follow_a_delete_to_the_end(hooked: Api) -> None:
    contributor = hooked.principal("contrib", CONTRIBUTOR, hooked.rg_path())
    resp = hooked.delete(hooked.reg_path(), token=contributor)
    assert resp.status_code == 202
    assert hooked.follow(resp.headers["Location"], token=contributor).status_code == 204
    status = hooked.follow(resp.headers["Azure-AsyncOperation"], token=contributor)
    assert status.json()["status"] == "Succeeded"


def test_operation_results_of_another_group_stay_hidden(hooked: Api) -> None:
    hooked.create_group("rg2")
    outsider = hooked.principal("outsider", CONTRIBUTOR, hooked.rg_path("rg2"))
    location = hooked.delete(hooked.reg_path()).headers["Location"]
    msg = forbidden(hooked.follow(location, token=outsider))
    assert f"over scope '{hooked.sub_path}'" in msg


# == Microsoft.Authorization endpoints =======================================================


def authz(api: Api, scope: str, kind: str, guid: str | None = None) -> str:
    return f"{scope}/{AUTHZ}/{kind}" + (f"/{guid}" if guid else "")


def test_list_role_definitions_includes_the_built_ins(api: Api) -> None:
    resp = api.get(authz(api, api.sub_path, "roleDefinitions"), api_version=ADMIN_API_VERSION)
    assert resp.status_code == 200
    names = {d["properties"]["roleName"] for d in resp.json()["value"]}
    assert {"Owner", "Contributor", "Reader", "AcrPull"} <= names
    owner = next(d for d in resp.json()["value"] if d["name"] == OWNER)
    assert owner["id"] == f"{api.sub_path}/{AUTHZ}/roleDefinitions/{OWNER}"


def test_list_role_definitions_filters_by_role_name(api: Api) -> None:
    resp = api.get(
        authz(api, api.sub_path, "roleDefinitions"),
        api_version=ADMIN_API_VERSION,
        params={"$filter": "roleName eq 'Reader'"},
    )
    assert [d["name"] for d in resp.json()["value"]] == [READER]


def test_get_a_built_in_role_definition(api: Api) -> None:
    resp = api.get(
        authz(api, api.sub_path, "roleDefinitions", READER), api_version=ADMIN_API_VERSION
    )
    assert resp.status_code == 200
    assert resp.json()["properties"]["permissions"][0]["actions"] == ["*/read"]
    assert resp.json()["properties"]["roleType"] == "BuiltInRole"


def test_get_a_missing_role_definition_is_404(api: Api) -> None:
    resp = api.get(
        authz(api, api.sub_path, "roleDefinitions", str(uuid.uuid4())),
        api_version=ADMIN_API_VERSION,
    )
    assert resp.status_code == 404
    assert resp.json()["error"]["code"] == "RoleDefinitionDoesNotExist"


def put_role(
    api: Api,
    guid: str,
    actions: list[str],
    not_actions: list[str] | None = None,
    name: str = "registry pinger",
    scope: str | None = None,
    assignable: list[str] | None = None,
    token: str | Principal | None = None,
) -> httpx.Response:
    props: dict[str, Any] = {
        "roleName": name,
        "description": "test role",
        "permissions": [{"actions": actions, "notActions": not_actions or []}],
    }
    if assignable is not None:
        props["assignableScopes"] = assignable
    return api.put(
        authz(api, scope or api.sub_path, "roleDefinitions", guid),
        {"properties": props},
        api_version=ADMIN_API_VERSION,
        token=token,
    )


def put_assignment(
    api: Api,
    scope: str,
    role: str,
    principal: str,
    guid: str | None = None,
    token: str | Principal | None = None,
) -> httpx.Response:
    return api.put(
        authz(api, scope, "roleAssignments", guid or str(uuid.uuid4())),
        {"properties": {"roleDefinitionId": role, "principalId": principal}},
        api_version=ADMIN_API_VERSION,
        token=token,
    )


def test_put_role_definition_creates_a_custom_role(api: Api) -> None:
    guid = str(uuid.uuid4())
    resp = put_role(api, guid, [f"{A}/webhooks/ping/action"])
    assert resp.status_code == 201
    doc = resp.json()
    assert doc["id"] == f"{api.sub_path}/{AUTHZ}/roleDefinitions/{guid}"
    assert doc["properties"]["roleType"] == "CustomRole"
    assert doc["properties"]["assignableScopes"] == [api.sub_path]
    got = api.get(authz(api, api.sub_path, "roleDefinitions", guid), api_version=ADMIN_API_VERSION)
    assert got.json()["properties"]["roleName"] == "registry pinger"


def test_put_role_definition_with_a_built_in_name_is_400(api: Api) -> None:
    resp = put_role(api, str(uuid.uuid4()), ["*"], name="Owner")
    assert resp.status_code == 400
    assert resp.json()["error"]["code"] == "RoleDefinitionWithSameNameExists"


def test_put_role_definition_without_permissions_is_400(api: Api) -> None:
    resp = api.put(
        authz(api, api.sub_path, "roleDefinitions", str(uuid.uuid4())),
        {"properties": {"roleName": "empty"}},
        api_version=ADMIN_API_VERSION,
    )
    assert resp.status_code == 400
    assert resp.json()["error"]["code"] == "InvalidRoleDefinition"


@pytest.mark.parametrize(
    "properties",
    [
        "text",
        [1],
        {"roleName": "r", "permissions": [1]},
        {"roleName": "r", "permissions": [{"actions": "*"}]},
    ],
)
def test_malformed_role_definition_is_400(api: Api, properties: Any) -> None:
    resp = api.put(
        authz(api, api.sub_path, "roleDefinitions", str(uuid.uuid4())),
        {"properties": properties},
        api_version=ADMIN_API_VERSION,
    )
    assert resp.status_code == 400, resp.text
    assert resp.json()["error"]["code"] == "InvalidRoleDefinition"


def test_role_assignment_with_properties_not_an_object_is_400(api: Api) -> None:
    resp = api.put(
        authz(api, api.sub_path, "roleAssignments", str(uuid.uuid4())),
        {"properties": "reader"},
        api_version=ADMIN_API_VERSION,
    )
    assert resp.status_code == 400, resp.text
    assert resp.json()["error"]["code"] == "RoleDefinitionDoesNotExist"


def test_custom_role_assigned_through_the_api_grants_its_actions(hooked: Api) -> None:
    guid = str(uuid.uuid4())
    put_role(hooked, guid, [f"{A}/webhooks/ping/action"])
    p = hooked.principal("pinger")
    forbidden(hooked.post(f"{hooked.hook_path()}/ping", token=p))
    assert put_assignment(hooked, hooked.rg_path(), guid, p.id).status_code == 201
    assert hooked.post(f"{hooked.hook_path()}/ping", token=p).status_code == 200
    forbidden(hooked.get(hooked.hook_path(), token=p))


def test_role_assignment_create_get_list_delete(hooked: Api) -> None:
    p = hooked.principal("reader")
    guid = str(uuid.uuid4())
    created = put_assignment(hooked, hooked.rg_path(), READER, p.id, guid)
    assert created.status_code == 201
    doc = created.json()
    assert doc["id"] == f"{hooked.rg_path()}/{AUTHZ}/roleAssignments/{guid}"
    assert doc["properties"]["scope"] == hooked.rg_path()
    assert doc["properties"]["principalType"] == "ServicePrincipal"
    assert doc["properties"]["roleDefinitionId"] == (
        f"{hooked.sub_path}/{AUTHZ}/roleDefinitions/{READER}"
    )
    got = hooked.get(
        authz(hooked, hooked.rg_path(), "roleAssignments", guid), api_version=ADMIN_API_VERSION
    )
    assert got.json() == doc
    listed = hooked.get(
        authz(hooked, hooked.rg_path(), "roleAssignments"),
        api_version=ADMIN_API_VERSION,
        params={"$filter": f"principalId eq '{p.id}'"},
    )
    assert [a["name"] for a in listed.json()["value"]] == [guid]
    assert hooked.get(hooked.reg_path(), token=p).status_code == 200
    deleted = hooked.delete(
        authz(hooked, hooked.rg_path(), "roleAssignments", guid), api_version=ADMIN_API_VERSION
    )
    assert deleted.status_code == 200
    forbidden(hooked.get(hooked.reg_path(), token=p))
    again = hooked.delete(
        authz(hooked, hooked.rg_path(), "roleAssignments", guid), api_version=ADMIN_API_VERSION
    )
    assert again.status_code == 204


def test_role_assignment_list_at_a_group_shows_inherited_ones(hooked: Api) -> None:
    listed = hooked.get(
        authz(hooked, hooked.rg_path(), "roleAssignments"), api_version=ADMIN_API_VERSION
    )
    scopes = {a["properties"]["scope"] for a in listed.json()["value"]}
    assert hooked.sub_path in scopes


def test_role_assignment_with_an_unknown_role_is_400(api: Api) -> None:
    p = api.principal("p")
    resp = put_assignment(api, api.sub_path, str(uuid.uuid4()), p.id)
    assert resp.status_code == 400
    assert resp.json()["error"]["code"] == "RoleDefinitionDoesNotExist"


def test_role_assignment_for_an_unknown_principal_is_400(api: Api) -> None:
    resp = put_assignment(api, api.sub_path, READER, str(uuid.uuid4()))
    assert resp.status_code == 400
    assert resp.json()["error"]["code"] == "PrincipalNotFound"


def test_get_missing_role_assignment_is_404(api: Api) -> None:
    resp = api.get(
        authz(api, api.sub_path, "roleAssignments", str(uuid.uuid4())),
        api_version=ADMIN_API_VERSION,
    )
    assert resp.status_code == 404
    assert resp.json()["error"]["code"] == "RoleAssignmentNotFound"


# == no escalation through the authorization endpoints ========================================


def admin_assignment(api: Api) -> str:
    admin_id = api.backend.admin_principal_id()
    return str(next(a["name"] for a in api.backend.rbac.list_assignments(admin_id)))


def test_group_owner_cannot_read_a_subscription_assignment_through_the_group(api: Api) -> None:
    api.create_group()
    owner = api.principal("rgowner", OWNER, api.rg_path())
    resp = api.get(
        authz(api, api.rg_path(), "roleAssignments", admin_assignment(api)),
        token=owner,
        api_version=ADMIN_API_VERSION,
    )
    assert resp.status_code == 404
    assert resp.json()["error"]["code"] == "RoleAssignmentNotFound"


def test_group_owner_cannot_delete_a_subscription_assignment(api: Api) -> None:
    api.create_group()
    owner = api.principal("rgowner", OWNER, api.rg_path())
    resp = api.delete(
        authz(api, api.rg_path(), "roleAssignments", admin_assignment(api)),
        token=owner,
        api_version=ADMIN_API_VERSION,
    )
    assert resp.status_code == 204
    assert api.get(api.sub_path).status_code == 200


def test_group_owner_cannot_overwrite_a_subscription_assignment(api: Api) -> None:
    api.create_group()
    owner = api.principal("rgowner", OWNER, api.rg_path())
    resp = put_assignment(api, api.rg_path(), READER, owner.id, admin_assignment(api), token=owner)
    assert resp.status_code == 409
    assert resp.json()["error"]["code"] == "RoleAssignmentExists"
    assert api.get(api.sub_path).status_code == 200


def test_reput_of_the_same_assignment_is_idempotent(api: Api) -> None:
    p = api.principal("p")
    guid = str(uuid.uuid4())
    assert put_assignment(api, api.sub_path, READER, p.id, guid).status_code == 201
    assert put_assignment(api, api.sub_path, READER, p.id, guid).status_code == 201


def test_group_owner_cannot_widen_a_subscription_custom_role(api: Api) -> None:
    api.create_group()
    guid = str(uuid.uuid4())
    put_role(api, guid, [f"{A}/read"])
    owner = api.principal("rgowner", OWNER, api.rg_path())
    api.assign(owner, guid)  # the same custom role, at the subscription
    resp = put_role(api, guid, ["*"], scope=api.rg_path(), token=owner)
    msg = forbidden(resp)
    assert "'Microsoft.Authorization/roleDefinitions/write'" in msg
    assert f"over scope '{api.sub_path}'" in msg
    forbidden(api.put(api.rg_path("rg2"), {"location": "westus"}, token=owner))


def test_group_owner_cannot_make_a_role_assignable_above_the_group(api: Api) -> None:
    api.create_group()
    owner = api.principal("rgowner", OWNER, api.rg_path())
    resp = put_role(
        api, str(uuid.uuid4()), ["*"], scope=api.rg_path(), assignable=[api.sub_path], token=owner
    )
    forbidden(resp)


def test_group_owner_can_define_a_role_for_the_group(api: Api) -> None:
    api.create_group()
    owner = api.principal("rgowner", OWNER, api.rg_path())
    resp = put_role(api, str(uuid.uuid4()), [f"{A}/read"], scope=api.rg_path(), token=owner)
    assert resp.status_code == 201
    assert resp.json()["properties"]["assignableScopes"] == [api.rg_path()]


def test_group_reader_lists_only_assignments_it_may_read(api: Api) -> None:
    api.create_group("rg1")
    api.create_group("rg2")
    reader = api.principal("reader", READER, api.rg_path("rg1"))
    other = api.principal("other")
    api.assign(other, READER, api.rg_path("rg2"))
    resp = api.get(
        authz(api, api.sub_path, "roleAssignments"), token=reader, api_version=ADMIN_API_VERSION
    )
    assert resp.status_code == 200
    assert {a["properties"]["scope"] for a in resp.json()["value"]} == {api.rg_path("rg1")}


# == principals and tokens ================================================================


def test_post_principal_returns_a_token_once(api: Api) -> None:
    resp = api.post(
        f"{api.sub_path}/{AUTHZ}/principals",
        {"displayName": "ci-bot"},
        api_version=ADMIN_API_VERSION,
    )
    assert resp.status_code == 201
    doc = resp.json()
    assert doc["displayName"] == "ci-bot" and doc["type"] == "Application"
    token = doc["token"]
    who = api.get(
        "/providers/Microsoft.Authorization/whoami", token=token, api_version=ADMIN_API_VERSION
    )
    assert who.json()["id"] == doc["id"]
    listed = api.get(f"{api.sub_path}/{AUTHZ}/principals", api_version=ADMIN_API_VERSION)
    assert listed.status_code == 200
    assert "ci-bot" in [p["displayName"] for p in listed.json()["value"]]
    assert token not in listed.text
    assert all("token" not in p for p in listed.json()["value"])


def test_new_principal_has_no_access_until_assigned(api: Api) -> None:
    token = api.post(
        f"{api.sub_path}/{AUTHZ}/principals",
        {"displayName": "ci-bot"},
        api_version=ADMIN_API_VERSION,
    ).json()["token"]
    forbidden(api.get(api.sub_path, token=token))


def test_post_principal_needs_a_display_name(api: Api) -> None:
    resp = api.post(f"{api.sub_path}/{AUTHZ}/principals", {}, api_version=ADMIN_API_VERSION)
    assert resp.status_code == 400
    assert resp.json()["error"]["code"] == "InvalidPrincipal"


def test_whoami_names_the_admin(api: Api) -> None:
    resp = api.get("/providers/Microsoft.Authorization/whoami", api_version=ADMIN_API_VERSION)
    assert resp.status_code == 200
    assert resp.json()["displayName"] == "admin"
    assert resp.json()["type"] == "User"


def test_whoami_without_a_token_is_401(api: Api) -> None:
    resp = api.get(
        "/providers/Microsoft.Authorization/whoami", token=NO_TOKEN, api_version=ADMIN_API_VERSION
    )
    assert resp.status_code == 401


def test_tokens_are_stored_only_as_hashes(api: Api) -> None:
    token = api.post(
        f"{api.sub_path}/{AUTHZ}/principals",
        {"displayName": "ci-bot"},
        api_version=ADMIN_API_VERSION,
    ).json()["token"]
    made = api.principal("made-directly")
    files = [
        f for f in Path(api.db_path).parent.iterdir() if f.name.startswith(Path(api.db_path).name)
    ]
    assert files
    raw = b"".join(f.read_bytes() for f in files)
    for secret in (token, made.token, api.admin_token):
        assert secret.encode() not in raw
    import hashlib

    assert hashlib.sha256(token.encode()).hexdigest().encode() in raw
