"""`acrctl role` and `acrctl ad sp` through CliRunner on the embedded backend."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from acrctl.cli.main import cli
from acrctl.testing import AcrctlMock

READER_ID = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
CUSTOM = {
    "Name": "Registry Reader",
    "Description": "Reads registries",
    "Actions": ["Microsoft.ContainerRegistry/registries/read"],
    "NotActions": [],
}


def run(*args: str, input: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), input=input)
    return result.exit_code, result.stdout, result.stderr


def sub_scope(mock: AcrctlMock) -> str:
    return f"/subscriptions/{mock.subscription}"


def assignments_of(mock: AcrctlMock, principal_id: str) -> list[dict[str, Any]]:
    return mock.backend.rbac.list_assignments(principal_id)


# -- role definition ---------------------------------------------------------------------------


def test_definition_list_by_name_is_flattened(acrctl_mock: AcrctlMock) -> None:
    code, out, _ = run("role", "definition", "list", "--name", "reader")
    assert code == 0
    [doc] = json.loads(out)
    assert doc["roleName"] == "Reader"
    assert doc["roleType"] == "BuiltInRole"
    assert doc["id"] == (
        f"{sub_scope(acrctl_mock)}/providers/Microsoft.Authorization/roleDefinitions/{READER_ID}"
    )
    assert "properties" not in doc


def test_definition_list_by_id(acrctl_mock: AcrctlMock) -> None:
    rid = f"/providers/Microsoft.Authorization/roleDefinitions/{READER_ID}"
    code, out, _ = run("role", "definition", "list", "--name", rid, "--query", "[].roleName")
    assert (code, json.loads(out)) == (0, ["Reader"])


def test_definition_list_custom_only_is_empty_at_first(acrctl_mock: AcrctlMock) -> None:
    assert run("role", "definition", "list", "--custom-role-only") == (0, "[]\n", "")


def test_definition_list_table_columns(acrctl_mock: AcrctlMock) -> None:
    code, out, _ = run("role", "definition", "list", "--name", "Reader", "-o", "table")
    assert code == 0
    assert out.splitlines()[0].split() == ["Name", "Type", "Description"]
    assert out.splitlines()[2].startswith("Reader")


def test_definition_create_from_json(acrctl_mock: AcrctlMock) -> None:
    spec = {**CUSTOM, "AssignableScopes": [sub_scope(acrctl_mock)]}
    code, out, _ = run("role", "definition", "create", "--role-definition", json.dumps(spec))
    assert code == 0
    doc = json.loads(out)
    assert (doc["roleName"], doc["roleType"]) == ("Registry Reader", "CustomRole")
    assert doc["permissions"][0]["actions"] == ["Microsoft.ContainerRegistry/registries/read"]
    assert doc["assignableScopes"] == [sub_scope(acrctl_mock)]


def test_definition_create_from_file_is_listed_as_custom(
    acrctl_mock: AcrctlMock, tmp_path: Path
) -> None:
    path = tmp_path / "role.json"
    path.write_text(json.dumps({**CUSTOM, "AssignableScopes": [sub_scope(acrctl_mock)]}))
    assert run("role", "definition", "create", "--role-definition", f"@{path}")[0] == 0
    code, out, _ = run("role", "definition", "list", "--custom-role-only", "--query", "[].roleName")
    assert (code, json.loads(out)) == (0, ["Registry Reader"])


def test_definition_create_needs_assignable_scopes(acrctl_mock: AcrctlMock) -> None:
    code, out, err = run("role", "definition", "create", "--role-definition", json.dumps(CUSTOM))
    assert (code, out, err) == (1, "", "ERROR: please provide 'assignableScopes'\n")


def test_definition_create_rejects_bad_json(acrctl_mock: AcrctlMock) -> None:
    code, _, err = run("role", "definition", "create", "--role-definition", "{nope")
    assert code == 1
    assert err.startswith("ERROR: Failed to parse string as JSON:\n{nope\n")


def test_definition_list_by_name_ignores_case_and_surrounding_spaces(
    acrctl_mock: AcrctlMock,
) -> None:
    code, out, _ = run(
        "role", "definition", "list", "--name", "  READER ", "--query", "[].roleName"
    )
    assert (code, json.loads(out)) == (0, ["Reader"])


def test_definition_create_with_a_built_in_name_and_a_space_exits_1(
    acrctl_mock: AcrctlMock,
) -> None:
    spec = {**CUSTOM, "Name": "Owner ", "AssignableScopes": [sub_scope(acrctl_mock)]}
    code, out, err = run("role", "definition", "create", "--role-definition", json.dumps(spec))
    assert (code, out) == (1, "")
    assert err.startswith(
        "ERROR: (RoleDefinitionWithSameNameExists) A built-in role named or "
        "identified 'Owner' exists already.\n"
    )


# -- role assignment ---------------------------------------------------------------------------


def test_assignment_create_resolves_names(acrctl_mock: AcrctlMock) -> None:
    ci, _ = acrctl_mock.principal("ci")
    code, out, _ = run("role", "assignment", "create", "--assignee", "ci", "--role", "Reader")
    assert code == 0
    doc = json.loads(out)
    assert doc["principalId"] == ci.id
    assert doc["principalType"] == "ServicePrincipal"
    assert doc["roleDefinitionId"].endswith(f"/roleDefinitions/{READER_ID}")
    assert doc["scope"] == sub_scope(acrctl_mock)


def test_assignment_create_unknown_role_exits_1(acrctl_mock: AcrctlMock) -> None:
    acrctl_mock.principal("ci")
    code, _, err = run("role", "assignment", "create", "--assignee", "ci", "--role", "Nope")
    assert (code, err) == (1, "ERROR: Role 'Nope' doesn't exist.\n")


def test_assignment_create_outside_the_assignable_scopes_exits_1(acrctl_mock: AcrctlMock) -> None:
    rg1 = f"{sub_scope(acrctl_mock)}/resourceGroups/rg1"
    spec = {**CUSTOM, "AssignableScopes": [rg1]}
    doc = json.loads(run("role", "definition", "create", "--role-definition", json.dumps(spec))[1])
    acrctl_mock.principal("ci")
    code, out, err = run(
        "role", "assignment", "create", "--assignee", "ci", "--role", "Registry Reader"
    )
    assert (code, out) == (1, "")
    assert err.startswith(
        f"ERROR: (InvalidRoleAssignmentScope) The role definition '{doc['name']}' ('Registry "
        f"Reader') cannot be assigned at scope '{sub_scope(acrctl_mock)}': it is assignable "
        f"only at or below '{rg1}'.\n"
    )


def test_assignment_create_unknown_assignee_exits_1(acrctl_mock: AcrctlMock) -> None:
    code, _, err = run("role", "assignment", "create", "--assignee", "ghost", "--role", "Reader")
    assert (code, err) == (
        1,
        "ERROR: Cannot find user or service principal in graph database for 'ghost'.\n",
    )


def test_assignment_list_fills_in_names(acrctl_mock: AcrctlMock) -> None:
    acrctl_mock.principal("ci", role="Reader")
    code, out, _ = run("role", "assignment", "list", "--assignee", "ci")
    assert code == 0
    [doc] = json.loads(out)
    assert (doc["principalName"], doc["roleDefinitionName"]) == ("ci", "Reader")
    assert doc["scope"] == sub_scope(acrctl_mock)


def test_assignment_list_without_all_shows_only_the_scope(acrctl_mock: AcrctlMock) -> None:
    acrctl_mock.principal("ci", role="Reader", scope=f"{sub_scope(acrctl_mock)}/resourceGroups/rg1")
    code, out, _ = run("role", "assignment", "list", "--query", "[].principalName")
    assert (code, json.loads(out)) == (0, ["admin"])


def test_assignment_list_all_shows_scopes_below(acrctl_mock: AcrctlMock) -> None:
    acrctl_mock.principal("ci", role="Reader", scope=f"{sub_scope(acrctl_mock)}/resourceGroups/rg1")
    code, out, _ = run("role", "assignment", "list", "--all", "--query", "[].principalName")
    assert (code, sorted(json.loads(out))) == (0, ["admin", "ci"])


def test_assignment_list_table_columns(acrctl_mock: AcrctlMock) -> None:
    code, out, _ = run("role", "assignment", "list", "-o", "table")
    assert code == 0
    assert out.splitlines()[0].split() == ["Principal", "Role", "Scope"]
    assert out.splitlines()[2].split() == ["admin", "Owner", sub_scope(acrctl_mock)]


def test_assignment_delete_by_assignee_prints_nothing(acrctl_mock: AcrctlMock) -> None:
    ci, _ = acrctl_mock.principal("ci", role="Reader")
    assert run("role", "assignment", "delete", "--assignee", "ci") == (0, "", "")
    assert assignments_of(acrctl_mock, ci.id) == []


def test_assignment_delete_with_role_keeps_other_roles(acrctl_mock: AcrctlMock) -> None:
    ci, _ = acrctl_mock.principal("ci", role="Reader")
    acrctl_mock.assign(ci.id, "AcrPull")
    assert run("role", "assignment", "delete", "--assignee", "ci", "--role", "Reader")[0] == 0
    [left] = assignments_of(acrctl_mock, ci.id)
    assert left["properties"]["roleDefinitionId"].endswith(  # type: ignore[index]
        "7f951dda-4ed3-4680-a7ca-43fe172d538d"
    )


def test_assignment_delete_by_ids(acrctl_mock: AcrctlMock) -> None:
    ci, _ = acrctl_mock.principal("ci")
    doc = acrctl_mock.assign(ci.id, "Reader")
    assert run("role", "assignment", "delete", "--ids", doc["id"]) == (0, "", "")
    assert assignments_of(acrctl_mock, ci.id) == []


def test_assignment_delete_needs_assignee_or_ids(acrctl_mock: AcrctlMock) -> None:
    code, _, err = run("role", "assignment", "delete")
    assert code == 2
    assert err.startswith("ERROR: Please provide either --ids or --assignee.\n")


def test_assignment_delete_without_match_warns(acrctl_mock: AcrctlMock) -> None:
    acrctl_mock.principal("ci")
    assert run("role", "assignment", "delete", "--assignee", "ci") == (
        0,
        "",
        "WARNING: No matched assignments were found to delete\n",
    )


# -- ad sp -------------------------------------------------------------------------------------


def test_create_for_rbac_prints_credentials_once_with_a_warning(acrctl_mock: AcrctlMock) -> None:
    code, out, err = run("ad", "sp", "create-for-rbac", "--name", "ci")
    assert code == 0
    doc = json.loads(out)
    assert sorted(doc) == ["appId", "displayName", "password", "tenant"]
    assert (doc["displayName"], doc["tenant"]) == ("ci", acrctl_mock.subscription)
    assert err.startswith("WARNING: The output includes credentials that you must protect.")


def test_create_for_rbac_password_authenticates(acrctl_mock: AcrctlMock) -> None:
    doc = json.loads(run("ad", "sp", "create-for-rbac", "--name", "ci")[1])
    caller = acrctl_mock.backend.rbac.authenticate(doc["password"])
    assert (caller.id, caller.name, caller.type) == (doc["appId"], "ci", "Application")


def test_create_for_rbac_assigns_the_role_at_each_scope(acrctl_mock: AcrctlMock) -> None:
    rg = f"{sub_scope(acrctl_mock)}/resourceGroups/rg1"
    code, out, err = run(
        "ad",
        "sp",
        "create-for-rbac",
        "--name",
        "ci",
        "--role",
        "Reader",
        "--scopes",
        sub_scope(acrctl_mock),
        rg,
    )
    assert code == 0
    scopes = [
        a["properties"]["scope"] for a in assignments_of(acrctl_mock, json.loads(out)["appId"])
    ]
    assert sorted(scopes) == sorted([sub_scope(acrctl_mock), rg])
    assert f"WARNING: Creating 'Reader' role assignment under scope '{rg}'\n" in err


def test_create_for_rbac_role_without_scopes_exits_2(acrctl_mock: AcrctlMock) -> None:
    code, _, err = run("ad", "sp", "create-for-rbac", "--name", "ci", "--role", "Reader")
    assert code == 2
    assert err.startswith("ERROR: To create role assignments, specify both --role and --scopes.\n")


def test_create_for_rbac_unknown_role_creates_no_principal(acrctl_mock: AcrctlMock) -> None:
    code, _, err = run(
        "ad",
        "sp",
        "create-for-rbac",
        "--name",
        "ci",
        "--role",
        "Nope",
        "--scopes",
        sub_scope(acrctl_mock),
    )
    assert (code, err) == (1, "ERROR: Role 'Nope' doesn't exist.\n")
    assert acrctl_mock.backend.rbac.find_principal("ci") is None


def test_sp_list_shows_service_principals_in_az_shape(acrctl_mock: AcrctlMock) -> None:
    ci, _ = acrctl_mock.principal("ci")
    code, out, _ = run("ad", "sp", "list")
    assert (code, json.loads(out)) == (0, [{"appId": ci.id, "displayName": "ci", "id": ci.id}])
