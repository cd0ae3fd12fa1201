"""Issue 11 item 1: no escalation through custom roles, against a real server over HTTP.

A User Access Administrator at rg1 defined a role assignable at [rg1]; an Owner assigned it at
the subscription; the rg1 admin rewrote it to `actions: ["*"]` and held the subscription. Now
an assignment must lie within the role's assignableScopes, a definition is written (or
deleted) only with the right at every scope it was and will be assignable at, it cannot be
narrowed around its assignments, names are unique, ids carry one prefix, a role is visible
only where it is assignable, and scopes with `..` or encoded dots are refused."""

from __future__ import annotations

import http.client
import json
import uuid
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

pytest.register_assert_rewrite("api_harness")
pytest_plugins = ("api_harness",)

from api_harness import (  # noqa: E402
    ADMIN_API_VERSION,
    ADMIN_TOKEN,
    OWNER,
    READER,
    Api,
    Principal,
    _server,
)

from acrctl.backend import scopes  # noqa: E402
from acrctl.backend.errors import InvalidInput  # noqa: E402
from acrctl.backend.rbac import ROLE_ASSIGN, ROLE_DEF  # noqa: E402
from acrctl.server.serve import ThreadedServer  # noqa: E402

UAA = "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9"
AUTHZ = "providers/Microsoft.Authorization"
DEF_TYPE = "Microsoft.Authorization/roleDefinitions"
WRITE = "Microsoft.Authorization/roleDefinitions/write"
DELETE = "Microsoft.Authorization/roleDefinitions/delete"
ELEVATE = "Microsoft.Authorization/elevateAccess/Action"


@pytest.fixture
def api(acrctl_server: ThreadedServer) -> Iterator[Api]:
    """Every test here runs against the real server (uvicorn on 127.0.0.1)."""
    yield from _server(acrctl_server)


@pytest.fixture
def world(api: Api) -> Api:
    api.create_group("rg1")
    api.create_group("rg2")
    return api


# -- helpers ----------------------------------------------------------------------------------


def authz(scope: str, kind: str, guid: str | None = None) -> str:
    return f"{scope}/{AUTHZ}/{kind}" + (f"/{guid}" if guid else "")


def role_body(name: str, actions: list[str], assignable: list[str] | None = None) -> dict[str, Any]:
    props: dict[str, Any] = {"roleName": name, "permissions": [{"actions": actions}]}
    if assignable is not None:
        props["assignableScopes"] = assignable
    return {"properties": props}


def put_role(
    api: Api, scope: str, guid: str, body: dict[str, Any], token: Principal | None = None
) -> httpx.Response:
    return api.put(
        authz(scope, "roleDefinitions", guid), body, token=token, api_version=ADMIN_API_VERSION
    )


def assign(
    api: Api, scope: str, role: str, principal: str, token: Principal | None = None
) -> httpx.Response:
    return api.put(
        authz(scope, "roleAssignments", str(uuid.uuid4())),
        {"properties": {"roleDefinitionId": role, "principalId": principal}},
        token=token,
        api_version=ADMIN_API_VERSION,
    )


def error(resp: httpx.Response, status: int) -> tuple[str, str]:
    assert resp.status_code == status, (resp.status_code, resp.text)
    err = resp.json()["error"]
    return err["code"], err["message"]


def denial(p: Principal, action: str, scope: str) -> tuple[str, str]:
    return (
        "AuthorizationFailed",
        f"The client '{p.name}' with object id '{p.id}' does not have authorization to "
        f"perform action '{action}' over scope '{scope}' or the scope is invalid. If "
        "access was recently granted, please refresh your credentials.",
    )


def not_assignable(guid: str, name: str, scope: str, assignable: list[str]) -> tuple[str, str]:
    return (
        "InvalidRoleAssignmentScope",
        f"The role definition '{guid}' ('{name}') cannot be assigned at scope '{scope}': "
        f"it is assignable only at or below {', '.join(repr(s) for s in assignable)}.",
    )


def rg1_admin_role(api: Api, actions: list[str] | None = None) -> tuple[Principal, str]:
    """A User Access Administrator at rg1 and the role it defined, assignable at [rg1]."""
    admin = api.principal("rg1admin", UAA, api.rg_path("rg1"))
    guid = str(uuid.uuid4())
    resp = put_role(
        api,
        api.rg_path("rg1"),
        guid,
        role_body("rg1 ops", actions or [f"{api_acr()}/read"], [api.rg_path("rg1")]),
        token=admin,
    )
    assert resp.status_code == 201, resp.text
    return admin, guid


def api_acr() -> str:
    return "Microsoft.ContainerRegistry/registries"


def legacy_assignment(api: Api, scope: str, role: str, principal: str) -> None:
    """An assignment written before assignable scopes were checked (straight to the store)."""
    guid = str(uuid.uuid4())
    api.backend.store.put(
        ROLE_ASSIGN,
        guid,
        principal,
        guid,
        {
            "id": f"{scope}/{AUTHZ}/roleAssignments/{guid}",
            "name": guid,
            "type": "Microsoft.Authorization/roleAssignments",
            # the id as it was stored then: the subscription prefix twice
            "properties": {
                "roleDefinitionId": f"{api.sub_path}{api.sub_path}/{AUTHZ}/roleDefinitions/{role}",
                "principalId": principal,
                "principalType": "ServicePrincipal",
                "scope": scope,
                "createdOn": "2026-01-01T00:00:00Z",
            },
        },
    )


def raw_status(api: Api, method: str, path: str, body: dict[str, Any]) -> tuple[int, Any]:
    """Send `path` byte for byte (httpx would resolve `..` before sending)."""
    url = urlsplit(api.base_url)
    conn = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port, timeout=10)
    try:
        conn.request(
            method,
            f"{path}?api-version={ADMIN_API_VERSION}",
            json.dumps(body),
            {"Authorization": f"Bearer {ADMIN_TOKEN}", "Content-Type": "application/json"},
        )
        resp = conn.getresponse()
        return resp.status, json.loads(resp.read() or b"null")
    finally:
        conn.close()


# == the chain from the issue ===============================================================


def test_owner_cannot_assign_a_group_role_at_the_subscription(world: Api) -> None:
    admin, guid = rg1_admin_role(world)
    resp = assign(world, world.sub_path, guid, admin.id)
    assert error(resp, 400) == not_assignable(
        guid, "rg1 ops", world.sub_path, [world.rg_path("rg1")]
    )
    assert world.backend.rbac.list_assignments(admin.id)[0]["properties"]["scope"] == (
        world.rg_path("rg1")
    )  # only the UAA grant


def test_the_chain_leaves_the_group_admin_without_subscription_rights(world: Api) -> None:
    """The issue's steps end to end: the assignment is refused, the rewrite to `*` stays
    inside rg1, and the rg1 admin cannot touch rg2, the subscription or the drills."""
    admin, guid = rg1_admin_role(world)
    assert assign(world, world.sub_path, guid, admin.id).status_code == 400
    rewrite = put_role(
        world,
        world.rg_path("rg1"),
        guid,
        role_body("rg1 ops", ["*"], [world.rg_path("rg1")]),
        token=admin,
    )
    assert rewrite.status_code == 201, rewrite.text
    drills = f"{world.sub_path}/providers/Acrctl.Admin/drills"
    assert error(
        world.put(world.rg_path("rg2"), {"location": "westus"}, token=admin), 403
    ) == denial(
        admin, "Microsoft.Resources/subscriptions/resourceGroups/write", world.rg_path("rg2")
    )
    assert error(world.get(drills, token=admin, api_version=ADMIN_API_VERSION), 403) == denial(
        admin, ELEVATE, world.sub_path
    )
    assert error(
        world.put(
            f"{drills}/d1",
            {"properties": {"kind": "ReplicaOutage", "region": "northeurope"}},
            token=admin,
            api_version=ADMIN_API_VERSION,
        ),
        403,
    ) == denial(admin, ELEVATE, world.sub_path)


def test_group_admin_cannot_rewrite_a_role_the_owner_made_subscription_wide(world: Api) -> None:
    admin, guid = rg1_admin_role(world)
    widen = put_role(
        world, world.sub_path, guid, role_body("rg1 ops", [f"{api_acr()}/read"], [world.sub_path])
    )
    assert widen.status_code == 201, widen.text
    assert assign(world, world.sub_path, guid, admin.id).status_code == 201
    resp = put_role(
        world,
        world.rg_path("rg1"),
        guid,
        role_body("rg1 ops", ["*"], [world.rg_path("rg1")]),
        token=admin,
    )
    assert error(resp, 403) == denial(admin, WRITE, world.sub_path)


def test_legacy_assignment_outside_the_scopes_blocks_the_rewrite(world: Api) -> None:
    """An assignment at the subscription made before the check: the rg1 admin cannot
    rewrite the role around it."""
    admin, guid = rg1_admin_role(world)
    legacy_assignment(world, world.sub_path, guid, admin.id)
    resp = put_role(
        world,
        world.rg_path("rg1"),
        guid,
        role_body("rg1 ops", ["*"], [world.rg_path("rg1")]),
        token=admin,
    )
    assert error(resp, 409) == (
        "RoleDefinitionHasAssignments",
        f"The role definition '{guid}' is assigned at scope '{world.sub_path}', outside the "
        "new assignableScopes. Delete that role assignment first, or keep an assignable "
        "scope that contains it.",
    )


def test_legacy_assignment_outside_the_scopes_grants_nothing(world: Api) -> None:
    world.create_registry("reg2a", "rg2")
    admin, guid = rg1_admin_role(world)
    legacy_assignment(world, world.sub_path, guid, admin.id)
    resp = world.get(world.reg_path("reg2a", "rg2"), token=admin)
    assert error(resp, 403) == denial(admin, f"{api_acr()}/read", world.reg_path("reg2a", "rg2"))


def test_owner_cannot_narrow_a_role_around_its_assignments(world: Api) -> None:
    guid = str(uuid.uuid4())
    put_role(world, world.sub_path, guid, role_body("wide", ["*/read"], [world.sub_path]))
    p = world.principal("p")
    assert assign(world, world.sub_path, guid, p.id).status_code == 201
    resp = put_role(
        world, world.sub_path, guid, role_body("wide", ["*/read"], [world.rg_path("rg1")])
    )
    assert error(resp, 409) == (
        "RoleDefinitionHasAssignments",
        f"The role definition '{guid}' is assigned at scope '{world.sub_path}', outside the "
        "new assignableScopes. Delete that role assignment first, or keep an assignable "
        "scope that contains it.",
    )


def test_narrowing_that_keeps_the_assignments_inside_is_allowed(world: Api) -> None:
    guid = str(uuid.uuid4())
    put_role(world, world.sub_path, guid, role_body("wide", ["*/read"], [world.sub_path]))
    assert assign(world, world.rg_path("rg1"), guid, world.principal("p").id).status_code == 201
    resp = put_role(
        world, world.sub_path, guid, role_body("wide", ["*/read"], [world.rg_path("rg1")])
    )
    assert resp.status_code == 201, resp.text
    assert resp.json()["properties"]["assignableScopes"] == [world.rg_path("rg1")]


# == writing and deleting needs the right at every assignable scope ==========================


def test_adding_a_sibling_group_needs_write_there(world: Api) -> None:
    admin, guid = rg1_admin_role(world)
    resp = put_role(
        world,
        world.rg_path("rg1"),
        guid,
        role_body("rg1 ops", ["*"], [world.rg_path("rg1"), world.rg_path("rg2")]),
        token=admin,
    )
    assert error(resp, 403) == denial(admin, WRITE, world.rg_path("rg2"))


def test_delete_needs_delete_at_every_assignable_scope(world: Api) -> None:
    admin = world.principal("rg1admin", UAA, world.rg_path("rg1"))
    guid = str(uuid.uuid4())
    put_role(
        world,
        world.sub_path,
        guid,
        role_body("two groups", ["*/read"], [world.rg_path("rg1"), world.rg_path("rg2")]),
    )
    resp = world.delete(
        authz(world.rg_path("rg1"), "roleDefinitions", guid),
        token=admin,
        api_version=ADMIN_API_VERSION,
    )
    assert error(resp, 403) == denial(admin, DELETE, world.rg_path("rg2"))


def test_delete_of_an_assigned_role_is_409(world: Api) -> None:
    guid = str(uuid.uuid4())
    put_role(world, world.sub_path, guid, role_body("used", ["*/read"]))
    assign(world, world.rg_path("rg1"), guid, world.principal("p").id)
    resp = world.delete(
        authz(world.sub_path, "roleDefinitions", guid), api_version=ADMIN_API_VERSION
    )
    assert error(resp, 409) == (
        "RoleDefinitionHasAssignments",
        f"The role definition '{guid}' is still assigned at scope '{world.rg_path('rg1')}'. "
        "Delete its role assignments first.",
    )


def test_delete_removes_an_unassigned_role(world: Api) -> None:
    guid = str(uuid.uuid4())
    put_role(world, world.sub_path, guid, role_body("unused", ["*/read"]))
    path = authz(world.sub_path, "roleDefinitions", guid)
    gone = world.delete(path, api_version=ADMIN_API_VERSION)
    assert (gone.status_code, gone.json()["properties"]["roleName"]) == (200, "unused")
    assert world.get(path, api_version=ADMIN_API_VERSION).status_code == 404
    assert world.delete(path, api_version=ADMIN_API_VERSION).status_code == 204


def test_delete_of_a_built_in_role_is_400(world: Api) -> None:
    resp = world.delete(
        authz(world.sub_path, "roleDefinitions", READER), api_version=ADMIN_API_VERSION
    )
    assert error(resp, 400) == (
        "CannotDeleteBuiltInRole",
        f"The role definition '{READER}' is a built-in role and cannot be deleted.",
    )


def test_custom_role_assignable_at_the_root_is_400(world: Api) -> None:
    resp = put_role(world, world.sub_path, str(uuid.uuid4()), role_body("root", ["*"], ["/"]))
    assert error(resp, 400) == (
        "InvalidRoleDefinition",
        "A custom role cannot be assignable at the root scope '/': name subscriptions, "
        "resource groups or resources.",
    )


def test_more_assignable_scopes_than_the_limit_is_400(world: Api) -> None:
    world.set_settings(role_assignable_scopes_max=2)
    resp = put_role(
        world,
        world.sub_path,
        str(uuid.uuid4()),
        role_body(
            "many", ["*/read"], [world.rg_path("rg1"), world.rg_path("rg2"), world.rg_path("rg3")]
        ),
    )
    assert error(resp, 400) == (
        "RoleDefinitionLimitExceeded",
        "A custom role may name at most 2 assignableScopes (role_assignable_scopes_max); this "
        "one names 3.",
    )


def test_a_new_custom_role_past_the_limit_is_400(world: Api) -> None:
    world.set_settings(custom_roles_max=1)
    first = str(uuid.uuid4())
    assert put_role(world, world.sub_path, first, role_body("one", ["*/read"])).status_code == 201
    resp = put_role(world, world.sub_path, str(uuid.uuid4()), role_body("two", ["*/read"]))
    assert error(resp, 400) == (
        "RoleDefinitionLimitExceeded",
        "This server holds its limit of 1 custom role definitions (custom_roles_max); delete "
        "one first.",
    )


def test_an_existing_role_can_be_updated_at_the_limit(world: Api) -> None:
    world.set_settings(custom_roles_max=1)
    first = str(uuid.uuid4())
    put_role(world, world.sub_path, first, role_body("one", ["*/read"]))
    resp = put_role(world, world.sub_path, first, role_body("one", ["*/read", "*/action"]))
    assert resp.status_code == 201, resp.text


# == names ==================================================================================


def test_built_in_name_with_a_trailing_space_is_refused(world: Api) -> None:
    resp = put_role(world, world.sub_path, str(uuid.uuid4()), role_body("Owner ", ["*"]))
    assert error(resp, 400) == (
        "RoleDefinitionWithSameNameExists",
        "A built-in role named or identified 'Owner' exists already.",
    )


def test_custom_names_are_unique_without_case_and_spaces(world: Api) -> None:
    first = str(uuid.uuid4())
    put_role(world, world.sub_path, first, role_body("Ops Team", ["*/read"]))
    resp = put_role(
        world,
        world.rg_path("rg2"),
        str(uuid.uuid4()),
        role_body("  ops   TEAM ", ["*"], [world.rg_path("rg2")]),
    )
    assert error(resp, 400) == (
        "RoleDefinitionWithSameNameExists",
        f"A role definition named 'Ops Team' exists already ({first}); role names are unique "
        "(compared without case and surrounding white space).",
    )


def test_a_role_keeps_its_own_name_on_update(world: Api) -> None:
    guid = str(uuid.uuid4())
    put_role(world, world.sub_path, guid, role_body("Ops Team", ["*/read"]))
    resp = put_role(world, world.sub_path, guid, role_body("ops team", ["*/read"]))
    assert resp.status_code == 201, resp.text
    assert resp.json()["properties"]["roleName"] == "ops team"


def test_role_name_with_an_invisible_character_is_400(world: Api) -> None:
    resp = put_role(world, world.sub_path, str(uuid.uuid4()), role_body("Own\u200ber", ["*"]))
    assert error(resp, 400) == (
        "InvalidRoleDefinition",
        "The roleName must not contain control or invisible formatting characters.",
    )


def test_an_ambiguous_role_name_in_an_assignment_is_400(world: Api) -> None:
    """Two roles one name (stored before names were unique): naming it is an error."""
    a, b = str(uuid.uuid4()), str(uuid.uuid4())
    put_role(world, world.sub_path, a, role_body("ops", ["*/read"]))
    doc = world.backend.store.get(ROLE_DEF, a)
    assert doc is not None
    twin = json.loads(json.dumps(doc.doc).replace(a, b).replace('"ops"', '"OPS "'))
    world.backend.store.put(ROLE_DEF, b, "", "ops ", twin)
    resp = assign(world, world.sub_path, "ops", world.principal("p").id)
    assert error(resp, 400) == (
        "AmbiguousRoleDefinitionName",
        f"More than one role definition is named 'ops': {a}, {b}. Name the role by its id.",
    )


def test_role_name_filter_ignores_case_and_surrounding_spaces(world: Api) -> None:
    resp = world.get(
        authz(world.sub_path, "roleDefinitions"),
        api_version=ADMIN_API_VERSION,
        params={"$filter": "roleName eq '  owner '"},
    )
    assert [d["name"] for d in resp.json()["value"]] == [OWNER]


def test_role_name_filter_with_an_unescaped_quote_is_400(world: Api) -> None:
    put_role(world, world.sub_path, str(uuid.uuid4()), role_body("O", ["*"]))
    resp = world.get(
        authz(world.sub_path, "roleDefinitions"),
        api_version=ADMIN_API_VERSION,
        params={"$filter": "roleName eq 'O'Brien'"},
    )
    assert error(resp, 400) == (
        "InvalidFilter",
        "The $filter 'roleName eq 'O'Brien'' is invalid: use roleName eq '<value>'.",
    )


# == ids ====================================================================================


@pytest.mark.parametrize("where", ["subscription", "group"])
def test_a_custom_role_id_has_one_subscription_prefix(world: Api, where: str) -> None:
    scope = world.sub_path if where == "subscription" else world.rg_path("rg1")
    guid = str(uuid.uuid4())
    resp = put_role(world, scope, guid, role_body("r", ["*/read"]))
    assert resp.json()["id"] == f"{world.sub_path}/providers/{DEF_TYPE}/{guid}"


def test_an_assignment_of_a_custom_role_names_it_with_one_prefix(world: Api) -> None:
    guid = str(uuid.uuid4())
    put_role(world, world.sub_path, guid, role_body("r", ["*/read"]))
    resp = assign(world, world.rg_path("rg1"), guid, world.principal("p").id)
    assert resp.json()["properties"]["roleDefinitionId"] == (
        f"{world.sub_path}/providers/{DEF_TYPE}/{guid}"
    )


def test_a_stored_doubled_id_is_shown_with_one_prefix(world: Api) -> None:
    p = world.principal("p")
    legacy_assignment(world, world.sub_path, READER, p.id)  # roleDefinitionId doubled
    resp = world.get(
        authz(world.sub_path, "roleAssignments"),
        api_version=ADMIN_API_VERSION,
        params={"$filter": f"principalId eq '{p.id}'"},
    )
    assert [a["properties"]["roleDefinitionId"] for a in resp.json()["value"]] == [
        f"{world.sub_path}/providers/{DEF_TYPE}/{READER}"
    ]


# == visibility =============================================================================


def rg2_role(api: Api) -> str:
    guid = str(uuid.uuid4())
    put_role(api, api.rg_path("rg2"), guid, role_body("rg2 only", ["*/read"]))
    return guid


def test_group_reader_cannot_get_a_role_assignable_only_at_another_group(world: Api) -> None:
    guid = rg2_role(world)
    reader = world.principal("reader", READER, world.rg_path("rg1"))
    resp = world.get(
        authz(world.rg_path("rg1"), "roleDefinitions", guid),
        token=reader,
        api_version=ADMIN_API_VERSION,
    )
    assert error(resp, 404) == (
        "RoleDefinitionDoesNotExist",
        f"The role definition '{guid}' does not exist.",
    )


def test_group_reader_lists_roles_assignable_at_above_or_below_its_group(world: Api) -> None:
    rg2_role(world)
    put_role(world, world.sub_path, str(uuid.uuid4()), role_body("sub wide", ["*/read"]))
    put_role(world, world.rg_path("rg1"), str(uuid.uuid4()), role_body("rg1 only", ["*/read"]))
    reader = world.principal("reader", READER, world.rg_path("rg1"))
    resp = world.get(
        authz(world.rg_path("rg1"), "roleDefinitions"), token=reader, api_version=ADMIN_API_VERSION
    )
    custom = [
        d["properties"]["roleName"]
        for d in resp.json()["value"]
        if d["properties"]["roleType"] == "CustomRole"
    ]
    assert custom == ["sub wide", "rg1 only"]


def test_assigning_a_role_not_visible_at_the_scope_is_role_does_not_exist(world: Api) -> None:
    guid = rg2_role(world)
    resp = assign(world, world.rg_path("rg1"), guid, world.principal("p").id)
    assert error(resp, 400) == (
        "RoleDefinitionDoesNotExist",
        f"The specified role definition '{guid}' does not exist.",
    )


# == scopes =================================================================================

BAD_SCOPES = [
    ("/resourceGroups/rg1/..", "'..' segments are not allowed"),
    ("/resourceGroups/rg1/.", "'.' segments are not allowed"),
    ("/resourceGroups/rg1/%2e%2e", "percent-encoded text (such as '%2e%2e') is not allowed"),
    ("/resourceGroups/rg1/providers/..", "'..' segments are not allowed"),
    ("//resourceGroups/rg1", "empty segments ('//') are not allowed"),
]


@pytest.mark.parametrize(("tail", "reason"), BAD_SCOPES)
def test_assignable_scopes_with_dot_segments_are_refused(
    world: Api, tail: str, reason: str
) -> None:
    bad = world.sub_path + tail
    resp = put_role(world, world.rg_path("rg1"), str(uuid.uuid4()), role_body("dots", ["*"], [bad]))
    assert error(resp, 400) == ("InvalidScope", f"The scope '{bad}' is not valid: {reason}.")


def test_assignable_scopes_are_stored_in_canonical_form(world: Api) -> None:
    given = f"/SUBSCRIPTIONS/{world.sub}/resourcegroups/rg1/"
    resp = put_role(
        world, world.rg_path("rg1"), str(uuid.uuid4()), role_body("canon", ["*/read"], [given])
    )
    assert resp.json()["properties"]["assignableScopes"] == [world.rg_path("rg1")]


@pytest.mark.parametrize("kind", ["roleAssignments", "roleDefinitions"])
@pytest.mark.parametrize("segment", ["..", "%2e%2e", "%2E%2e"])
def test_dot_segments_in_a_path_scope_are_refused(world: Api, kind: str, segment: str) -> None:
    """Sent byte for byte: `rg1/../rg2` (or its encoded form) is neither rg1 nor rg2."""
    path = f"{world.rg_path('rg1')}/{segment}/rg2/{AUTHZ}/{kind}/{uuid.uuid4()}"
    body = (
        {"properties": {"roleDefinitionId": READER, "principalId": world.principal("p").id}}
        if kind == "roleAssignments"
        else role_body("dots", ["*"])
    )
    status, doc = raw_status(world, "PUT", path, body)
    assert (status, doc["error"]["code"]) == (400, "InvalidScope"), doc
    assert doc["error"]["message"] == (
        f"The scope '{world.rg_path('rg1')}/../rg2' is not valid: '..' segments are not allowed."
    )


@pytest.mark.parametrize(
    ("given", "canonical"),
    [
        ("/", "/"),
        ("/subscriptions/s/", "/subscriptions/s"),
        ("/Subscriptions/s/RESOURCEGROUPS/rg1", "/subscriptions/s/resourceGroups/rg1"),
        (
            "/subscriptions/s/resourceGroups/rg1/Providers/Microsoft.ContainerRegistry/registries/r",
            "/subscriptions/s/resourceGroups/rg1/providers/Microsoft.ContainerRegistry/registries/r",
        ),
        ("/subscriptions/s/locations", "/subscriptions/s/locations"),
    ],
)
def test_normalise_gives_the_canonical_form(given: str, canonical: str) -> None:
    assert scopes.normalise(given) == canonical


@pytest.mark.parametrize(
    "bad",
    [
        "subscriptions/s",
        "/subscriptions",
        "/resourceGroups/rg1",
        "/subscriptions/s/resourceGroups",
        "/subscriptions/s/providers/ns/type",
        "/subscriptions/s/resourceGroups/rg1 ",
        "/subscriptions/s/resourceGroups/rg\n",
        "/subscriptions/s/resourceGroups/a<b",
        "//",
    ],
)
def test_normalise_refuses_malformed_scopes(bad: str) -> None:
    with pytest.raises(InvalidInput) as info:
        scopes.normalise(bad)
    assert info.value.code == "InvalidScope"


@pytest.mark.parametrize(
    ("stored", "authority"),
    [
        ("/subscriptions/s/resourceGroups/rg1/..", "/subscriptions/s"),
        ("/subscriptions/s/resourceGroups/rg1/%252e%252e/rg2", "/subscriptions/s"),
        ("/subscriptions/s/resourceGroups/rg1/providers/..", "/subscriptions/s/resourceGroups/rg1"),
        ("/subscriptions/s/../t", "/"),
    ],
)
def test_a_legacy_invalid_scope_needs_rights_at_what_contains_every_reading(
    stored: str, authority: str
) -> None:
    assert scopes.authority(stored) == authority
