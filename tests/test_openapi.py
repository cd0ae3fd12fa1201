"""/openapi.json: public, an OpenAPI 3 document generated from THE route table that
describes every route, and real responses of the main flows validate against it."""

from __future__ import annotations

import datetime
import re
from typing import Any

import httpx
import pytest

pytest.register_assert_rewrite("api_harness")
pytest_plugins = ("api_harness",)

from api_harness import ACR, ADMIN_API_VERSION, NO_TOKEN, Api  # noqa: E402

from acrctl.server import openapi  # noqa: E402
from acrctl.server.http import ACR_API_VERSIONS  # noqa: E402
from acrctl.server.openapi import base, build  # noqa: E402
from acrctl.server.routes import ROUTES  # noqa: E402

METHODS = {"get", "put", "patch", "post", "delete", "head"}


@pytest.fixture
def doc(api: Api) -> dict[str, Any]:
    resp = api.get("/openapi.json", token=NO_TOKEN, api_version=None)
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("application/json")
    return dict(resp.json())


def operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, op)
        for path, item in doc["paths"].items()
        for method, op in item.items()
        if method in METHODS
    ]


def resolve(doc: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        _, *parts = node["$ref"].split("/")
        cur: Any = doc
        for p in parts:
            cur = cur[p]
        node = cur
    return node


# == the document ============================================================================


def test_openapi_is_public_and_names_the_server(api: Api, doc: dict[str, Any]) -> None:
    assert doc["openapi"].startswith("3.")
    assert doc["info"]["title"] and doc["info"]["version"]
    assert doc["servers"] == [{"url": api.base_url}]


def test_every_route_of_the_table_is_described(doc: dict[str, Any]) -> None:
    assert "x-acrctl-undescribed" not in doc, (
        f"describe these routes in acrctl/server/openapi.py: {doc['x-acrctl-undescribed']}"
    )
    for route in ROUTES:
        for path, _ in build._expand(route.template):
            assert route.method.lower() in doc["paths"].get(path, {}), (route.method, path)
    described = {(m, p) for p, m, _ in operations(doc)}
    expected = {(r.method.lower(), p) for r in ROUTES for p, _ in build._expand(r.template)}
    assert described == expected


def test_scope_routes_are_expanded_per_scope_kind(doc: dict[str, Any]) -> None:
    paths = [
        p
        for p in doc["paths"]
        if p.endswith("/providers/Microsoft.Authorization/roleAssignments/{id}")
    ]
    assert sorted(paths) == sorted(
        [
            "/providers/Microsoft.Authorization/roleAssignments/{id}",
            "/subscriptions/{sub}/providers/Microsoft.Authorization/roleAssignments/{id}",
            "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Authorization/"
            "roleAssignments/{id}",
            f"/subscriptions/{{sub}}/resourceGroups/{{rg}}/providers/{ACR}/registries/{{registry}}"
            "/providers/Microsoft.Authorization/roleAssignments/{id}",
        ]
    )


def test_operation_ids_are_unique(doc: dict[str, Any]) -> None:
    ids = [op["operationId"] for _, _, op in operations(doc)]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)


def test_api_version_is_required_except_on_public_routes(doc: dict[str, Any]) -> None:
    public = {r.template for r in ROUTES if r.public}
    for path, method, op in operations(doc):
        params = [resolve(doc, p) for p in op.get("parameters", [])]
        versions = [p for p in params if p["name"] == "api-version"]
        if path in public:
            assert op["security"] == [] and not versions, path
            continue
        assert len(versions) == 1 and versions[0]["in"] == "query", (method, path)
        assert versions[0]["required"] is True
        assert "security" not in op  # the global bearer requirement applies


def test_acr_routes_list_the_supported_api_versions(doc: dict[str, Any]) -> None:
    param = doc["components"]["parameters"]["ApiVersionAcr"]
    assert param["schema"]["enum"] == list(ACR_API_VERSIONS)


def test_bearer_security_scheme(doc: dict[str, Any]) -> None:
    assert doc["components"]["securitySchemes"]["bearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": doc["components"]["securitySchemes"]["bearer"]["description"],
    }
    assert doc["security"] == [{"bearer": []}]


def test_path_parameters_are_declared(doc: dict[str, Any]) -> None:
    for path, method, op in operations(doc):
        declared = {
            resolve(doc, p)["name"]
            for p in op.get("parameters", [])
            if resolve(doc, p)["in"] == "path"
        }
        assert declared == set(re.findall(r"\{(\w+)\}", path)), (method, path)


def test_every_ref_resolves(doc: dict[str, Any]) -> None:
    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if "$ref" in node:
                resolve(doc, node)
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(doc)


def test_schemas_from_the_models_are_openapi_3_0(doc: dict[str, Any]) -> None:
    """Pydantic writes JSON Schema 2020-12 (anyOf with null, titles, $defs); the document
    is OpenAPI 3.0, whose schemas know none of them."""
    found: list[str] = []

    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            found.extend(f"{where}.{k}" for k in ("anyOf", "title", "$defs", "const") if k in node)
            if node.get("type") == "null":
                found.append(where)
            for key, value in node.items():
                walk(value, f"{where}.{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{where}[{i}]")

    walk(doc["components"]["schemas"], "schemas")
    assert found == []


def test_schemas_generated_from_the_models_keep_their_fields_and_nullability(
    doc: dict[str, Any],
) -> None:
    schemas = doc["components"]["schemas"]
    assert schemas["CallbackConfig"] == {
        "type": "object",
        "properties": {
            "serviceUri": {"type": "string", "nullable": True},
            "customHeaders": {"type": "object", "additionalProperties": {"type": "string"}},
        },
        "required": ["serviceUri"],
    }
    assert schemas["Subscription"]["required"] == ["id", "subscriptionId"]
    assert set(schemas["Subscription"]["properties"]) == {
        "id",
        "subscriptionId",
        "displayName",
        "state",
        "tenantId",
        "authorizationSource",
    }
    assert schemas["Sku"]["properties"]["tier"] == {
        "type": "string",
        "enum": ["Basic", "Standard", "Premium"],
        "readOnly": True,
    }
    assert schemas["SystemData"]["readOnly"] is True


def test_errors_use_the_arm_error_body(doc: dict[str, Any]) -> None:
    err = doc["components"]["schemas"]["ErrorResponse"]
    assert err["required"] == ["error"]
    assert doc["components"]["schemas"]["ErrorDetail"]["required"] == ["code", "message"]
    for path, method, op in operations(doc):
        default = op["responses"]["default"]
        assert default["content"]["application/json"]["schema"] == base.ref("ErrorResponse")
        if path not in {r.template for r in ROUTES if r.public}:
            for code in ("400", "401", "403", "404"):
                assert code in op["responses"], (method, path, code)


def test_long_running_operations_document_their_headers(doc: dict[str, Any]) -> None:
    reg = doc["paths"][
        f"/subscriptions/{{sub}}/resourceGroups/{{rg}}/providers/{ACR}/registries/{{registry}}"
    ]
    for method in ("put", "patch"):
        for status in ("200", "201"):
            headers = reg[method]["responses"][status]["headers"]
            assert headers["Azure-AsyncOperation"]["required"] is True
            assert headers["Retry-After"]["schema"]["type"] == "integer"
    assert set(reg["delete"]["responses"]["202"]["headers"]) == {
        "Location",
        "Azure-AsyncOperation",
        "Retry-After",
    }


def test_list_wrappers_have_value_and_next_link(doc: dict[str, Any]) -> None:
    schemas = doc["components"]["schemas"]
    for name in (
        "RegistryListResult",
        "ReplicationListResult",
        "WebhookListResult",
        "EventListResult",
        "ResourceGroupListResult",
    ):
        assert set(schemas[name]["properties"]) == {"value", "nextLink"}, name
        assert schemas[name]["required"] == ["value"]
    assert set(schemas["RegistryUsageListResult"]["properties"]) == {"value"}


def test_the_document_loads_in_schemathesis(doc: dict[str, Any]) -> None:
    schemathesis = pytest.importorskip("schemathesis")
    schema = schemathesis.openapi.from_dict(doc)
    ops = [r.ok() for r in schema.get_all_operations()]
    assert len(ops) == len(operations(doc))


def test_the_document_is_cached_but_servers_follow_the_request(api: Api) -> None:
    first = api.get("/openapi.json", token=NO_TOKEN, api_version=None).json()
    assert openapi.document() is openapi.document()
    assert "servers" not in openapi.document()
    assert first["servers"][0]["url"] == api.base_url


# == real responses validate against the document ============================================


@pytest.fixture
def checker(doc: dict[str, Any]) -> Any:
    schemathesis = pytest.importorskip("schemathesis")
    schema = schemathesis.openapi.from_dict(doc)
    templates = sorted(doc["paths"], key=lambda p: -p.count("/"))

    def check(resp: httpx.Response) -> httpx.Response:
        try:
            resp.elapsed  # noqa: B018 - the in-process transport never sets it
        except RuntimeError:
            resp.elapsed = datetime.timedelta(0)
        path = resp.request.url.path
        for template in templates:
            rx = "^" + re.sub(r"\\\{\w+\\\}", "[^/]+", re.escape(template)) + "$"
            if (
                re.match(rx, path, re.IGNORECASE)
                and resp.request.method.lower() in doc["paths"][template]
            ):
                schema[template][resp.request.method.upper()].validate_response(resp)
                return resp
        raise AssertionError(f"no operation for {resp.request.method} {path}")

    return check


def test_the_main_flows_conform(api: Api, checker: Any) -> None:
    c = checker
    c(api.put(api.rg_path(), {"location": "westus", "tags": {"a": "b"}}, api_version="2022-09-01"))
    c(api.get(api.rg_path(), api_version="2022-09-01"))
    c(api.get(f"{api.sub_path}/resourcegroups", api_version="2022-09-01"))
    c(api.get("/subscriptions", api_version="2022-09-01"))
    c(api.get(api.sub_path, api_version="2022-09-01"))
    c(api.get(f"{api.sub_path}/locations", api_version="2022-09-01"))
    created = c(
        api.put(
            api.reg_path(),
            {
                "location": "westus",
                "sku": {"name": "Premium"},
                "properties": {"adminUserEnabled": True},
            },
        )
    )
    assert created.status_code == 201
    c(api.follow(created.headers["Azure-AsyncOperation"]))
    c(api.patch(api.reg_path(), {"tags": {"x": "y"}}))
    c(api.get(api.reg_path()))
    c(api.get(f"{api.reg_path()}/listUsages"))
    c(api.get(f"{api.rg_path()}/providers/{ACR}/registries"))
    c(api.get(f"{api.sub_path}/providers/{ACR}/registries"))
    c(
        api.post(
            f"{api.sub_path}/providers/{ACR}/checkNameAvailability",
            {"name": "myreg1", "type": f"{ACR}/registries"},
        )
    )
    c(api.put(api.repl_path("eastus"), {"location": "eastus"}))
    c(api.patch(api.repl_path("eastus"), {"properties": {"regionEndpointEnabled": False}}))
    c(api.get(f"{api.reg_path()}/replications"))
    c(
        api.put(
            api.hook_path(),
            {
                "location": "westus",
                "properties": {
                    "serviceUri": "http://127.0.0.1:9/h",
                    "actions": ["push"],
                    "customHeaders": {"Authorization": "x"},
                },
            },
        )
    )
    ping = c(api.post(f"{api.hook_path()}/ping"))
    c(api.post(f"{api.hook_path()}/redeliver", {"eventId": ping.json()["id"]}))
    c(api.post(f"{api.hook_path()}/getCallbackConfig"))
    events = c(api.post(f"{api.hook_path()}/listEvents", params={"$top": "1"}))
    c(api.follow(events.json()["nextLink"]))
    c(api.get(f"{api.reg_path()}/webhooks"))
    gone = c(api.delete(api.repl_path("eastus")))
    assert gone.status_code == 202
    c(api.follow(gone.headers["Location"]))
    c(api.delete(api.repl_path("eastus")))
    authz = f"{api.sub_path}/providers/Microsoft.Authorization"
    c(api.get(f"{authz}/roleDefinitions", api_version=ADMIN_API_VERSION))
    c(api.get(f"{authz}/roleAssignments", api_version=ADMIN_API_VERSION))
    made = c(api.post(f"{authz}/principals", {"displayName": "ci"}, api_version=ADMIN_API_VERSION))
    c(api.get(f"{authz}/principals", api_version=ADMIN_API_VERSION))
    c(api.get("/providers/Microsoft.Authorization/whoami", api_version=ADMIN_API_VERSION))
    c(
        api.put(
            f"{authz}/roleAssignments/3f1c0e8e-6a43-4d2b-9a57-0d8b8d1d2a01",
            {
                "properties": {
                    "roleDefinitionId": "acdd72a7-3385-48ef-bd42-f606fba81ae7",
                    "principalId": made.json()["id"],
                }
            },
            api_version=ADMIN_API_VERSION,
        )
    )
    c(
        api.put(
            f"{authz}/roleDefinitions/5d6b3d5a-4d43-4b63-9d57-6f0f3f2b3c11",
            {"properties": {"roleName": "pinger", "permissions": [{"actions": ["*/read"]}]}},
            api_version=ADMIN_API_VERSION,
        )
    )
    c(api.delete(api.reg_path()))
    c(api.get("/healthz", token=NO_TOKEN, api_version=None))


def test_errors_conform(api: Api, checker: Any) -> None:
    c = checker
    c(api.get(api.reg_path()))  # 404 ResourceGroupNotFound
    c(api.get(api.reg_path(), token="bad-token"))  # 401
    c(api.get(api.reg_path(), api_version=None))  # 400 MissingApiVersionParameter
    c(api.put(api.rg_path(), content=b"{", api_version="2022-09-01"))  # 400
    reader = api.principal("r", role="Reader")
    c(api.put(api.rg_path(), {"location": "westus"}, token=reader, api_version="2022-09-01"))  # 403
