"""Bad input gets a clear 4xx ARM error, never a 500 and never a path escape: oversized and
deeply nested bodies, JSON that is no JSON (NaN, lone surrogates), a wrong type for every
field of every PUT body, broken query parameters, and unicode and path tricks in names.
Each test runs in-process and against a real server (the `api` fixture)."""

from __future__ import annotations

import http.client
import json
import uuid
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
import pytest

pytest.register_assert_rewrite("api_harness")
pytest_plugins = ("api_harness",)

from api_harness import ACR, ADMIN_API_VERSION, API_VERSION, READER, Api  # noqa: E402

from acrctl.server.http import MAX_BODY, MAX_DEPTH  # noqa: E402
from acrctl.server.transport import to_request  # noqa: E402

CODES_4XX = {400, 401, 403, 404, 405, 409, 412, 413}


def arm_error(resp: httpx.Response, status: int | set[int], code: str | None = None) -> str:
    """Assert an ARM error body with the status (or one of them); returns the message."""
    allowed = {status} if isinstance(status, int) else status
    assert resp.status_code in allowed, (resp.status_code, resp.text[:500])
    body = resp.json()
    assert set(body) == {"error"}, body
    err = body["error"]
    assert isinstance(err.get("code"), str) and err["code"], body
    assert err["code"] != "InternalServerError", body
    assert isinstance(err.get("message"), str) and err["message"], body
    if code is not None:
        assert err["code"] == code, body
    return str(err["message"])


@pytest.fixture
def world(api: Api) -> Api:
    """rg1 / Premium myreg1 (westus) with replica eastus and webhook hook1."""
    api.create_group()
    api.create_registry(sku="Premium")
    api.create_replication("eastus")
    api.create_webhook()
    return api


def raw_request(
    api: Api, method: str, raw_path: str, body: bytes = b"", api_version: str = API_VERSION
) -> tuple[int, dict[str, Any] | None]:
    """A request whose path reaches the server byte for byte (httpx would normalise `..`)."""
    target = f"{raw_path}?api-version={api_version}"
    headers = {"Authorization": f"Bearer {api.admin_token}", "Content-Type": "application/json"}
    if api.mode == "server":
        u = urlsplit(api.base_url)
        conn = http.client.HTTPConnection(u.hostname or "127.0.0.1", u.port, timeout=10)
        try:
            conn.request(method, target, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            return resp.status, (json.loads(data) if data else None)
        finally:
            conn.close()
    transport = api.http._transport  # the InProcessTransport of the harness
    req = to_request(
        method,
        raw_path,
        f"api-version={api_version}",
        {k.lower(): v for k, v in headers.items()},
        body,
        api.base_url,
    )
    out = transport.app.handle(req)  # type: ignore[attr-defined]
    return out.status, out.body


# == body size and shape ======================================================================


@pytest.mark.parametrize("target", ["registry", "group", "ping", "get"])
def test_an_oversized_body_is_413_on_every_route(world: Api, target: str) -> None:
    body = b'{"location": "westus", "pad": "' + b"x" * MAX_BODY + b'"}'
    method, path = {
        "registry": ("PUT", world.reg_path()),
        "group": ("PUT", world.rg_path()),
        "ping": ("POST", f"{world.hook_path()}/ping"),
        "get": ("GET", world.reg_path()),
    }[target]
    resp = world.request(
        method, path, content=body, api_version=API_VERSION if target != "group" else "2022-09-01"
    )
    arm_error(resp, 413, "RequestEntityTooLarge")


def test_a_body_just_under_the_limit_is_read(world: Api) -> None:
    doc = {"location": "westus", "sku": {"name": "Premium"}, "pad": ""}
    doc["pad"] = "x" * (MAX_BODY - len(json.dumps(doc)) - 16)
    resp = world.put(world.reg_path(), content=json.dumps(doc).encode())
    assert resp.status_code == 200, resp.text[:300]


@pytest.mark.parametrize(
    "raw",
    [
        b"[" * 200_000,
        b'{"a":' * 150_000 + b"1" + b"}" * 150_000,
        b'{"location": "westus", "sku": {"name": "Basic"}, "properties": {"policies": {"x": '
        + b"[" * 900
        + b"]" * 900
        + b"}}}",
        b'{"location": "westus", "sku": {"name": "Basic"}, "tags": '
        + b'{"a":' * (MAX_DEPTH + 1)
        + b'"b"'
        + b"}" * (MAX_DEPTH + 1)
        + b"}",
    ],
    ids=["arrays", "objects", "nested-in-policies", "just-over-the-limit"],
)
def test_deeply_nested_json_is_400(world: Api, raw: bytes) -> None:
    msg = arm_error(world.put(world.reg_path(), content=raw), 400, "InvalidRequestContent")
    assert "nested" in msg


@pytest.mark.parametrize(
    "raw",
    [
        b'{"location": "westus", "sku": {"name": "Basic"}, "tags": {"a": NaN}}',
        b'{"location": "westus", "sku": {"name": "Basic"}, "tags": {"a": Infinity}}',
        b'{"location": "westus", "sku": {"name": "Basic"}, "properties": '
        b'{"policies": {"retentionPolicy": {"days": 1e400}}}}',
        b'{"location": "westus", "sku": {"name": "Basic"}, "tags": {"a": "\\ud800"}}',
        b'{"location": "westus", "sku": {"name": "Basic"}, "tags": {"\\udfff": "b"}}',
        b'{"location": "westus", "sku"',
        b"\xff\xfe{}",
        b"",
        b'"a string"',
        b"[1, 2]",
    ],
    ids=[
        "nan",
        "infinity",
        "huge-float",
        "lone-surrogate",
        "surrogate-key",
        "truncated",
        "not-utf8",
        "empty",
        "string",
        "array",
    ],
)
def test_json_that_is_not_acceptable_is_400(world: Api, raw: bytes) -> None:
    arm_error(world.put(world.reg_path(), content=raw), 400, "InvalidRequestContent")


def test_a_surrogate_pair_is_fine(world: Api) -> None:
    resp = world.put(
        world.reg_path(),
        content=b'{"location": "westus", "sku": {"name": '
        b'"Premium"}, "tags": {"mood": "\\ud83d\\ude00"}}',
    )
    assert resp.status_code == 200, resp.text
    assert resp.json()["tags"] == {"mood": "\U0001f600"}


# == a wrong type for every field of each PUT body ================================================

STRING_WRONG = [5, True, [], {}]
BOOL_WRONG = ["true", 1, 0, [], {}]
OBJECT_WRONG = [[], "x", 5, True]
LIST_WRONG = ["push", {}, 5]
INT_WRONG = ["5", True, 1.5, [], {}]
NUMBER_WRONG = ["5", True, [], {}]
ENUM_WRONG = [5, True, [], "NotAValue"]


def _paths(api: Api) -> dict[str, tuple[str, str, dict[str, Any]]]:
    """kind -> (path, api-version, a valid body)."""
    p = api.sub_path
    return {
        "group": (api.rg_path("rgnew"), "2022-09-01", {"location": "westus", "tags": {}}),
        "registry": (
            api.reg_path("newreg1"),
            API_VERSION,
            {
                "location": "westus",
                "sku": {"name": "Premium"},
                "tags": {},
                "identity": {"type": "SystemAssigned"},
                "properties": {
                    "adminUserEnabled": False,
                    "dataEndpointEnabled": False,
                    "anonymousPullEnabled": False,
                    "networkRuleBypassAllowedForTasks": False,
                    "publicNetworkAccess": "Enabled",
                    "networkRuleBypassOptions": "AzureServices",
                    "roleAssignmentMode": "LegacyRegistryPermissions",
                    "zoneRedundancy": "Disabled",
                    "networkRuleSet": {
                        "defaultAction": "Allow",
                        "ipRules": [{"action": "Allow", "value": "10.0.0.0/24"}],
                    },
                    "policies": {
                        "quarantinePolicy": {"status": "disabled"},
                        "trustPolicy": {"type": "Notary", "status": "disabled"},
                        "retentionPolicy": {"days": 7, "status": "disabled"},
                        "exportPolicy": {"status": "enabled"},
                    },
                    "encryption": {"status": "disabled"},
                },
            },
        ),
        "replication": (
            api.repl_path("westeurope"),
            API_VERSION,
            {
                "location": "westeurope",
                "tags": {},
                "properties": {"regionEndpointEnabled": True, "zoneRedundancy": "Disabled"},
            },
        ),
        "webhook": (
            api.hook_path("hook2"),
            API_VERSION,
            {
                "location": "westus",
                "tags": {},
                "properties": {
                    "serviceUri": "http://127.0.0.1:9/h",
                    "customHeaders": {"a": "b"},
                    "status": "enabled",
                    "scope": "repo:*",
                    "actions": ["push"],
                    "signingSecret": "s3cret",
                },
            },
        ),
        "roleDefinition": (
            f"{p}/providers/Microsoft.Authorization/roleDefinitions/{uuid.UUID(int=7)}",
            ADMIN_API_VERSION,
            {
                "properties": {
                    "roleName": "fuzz-role",
                    "description": "d",
                    "assignableScopes": [p],
                    "permissions": [{"actions": ["*/read"], "notActions": []}],
                }
            },
        ),
        "roleAssignment": (
            f"{p}/providers/Microsoft.Authorization/roleAssignments/{uuid.UUID(int=8)}",
            ADMIN_API_VERSION,
            {"properties": {"roleDefinitionId": READER, "principalId": "<principal>"}},
        ),
        "settings": (
            f"{p}/providers/Acrctl.Admin/settings",
            ADMIN_API_VERSION,
            {
                "lroMode": "immediate",
                "lroPolls": 2,
                "lroSeconds": 5.0,
                "retryAfter": 1,
                "pageSize": 100,
            },
        ),
    }


# (kind, field path, wrong values). None in a path is "every element of the list".
FIELDS: list[tuple[str, str, list[Any]]] = [
    ("group", "location", STRING_WRONG),
    ("group", "tags", OBJECT_WRONG),
    ("group", "tags.k", STRING_WRONG),
    ("registry", "location", STRING_WRONG),
    ("registry", "tags", OBJECT_WRONG),
    ("registry", "tags.k", STRING_WRONG),
    ("registry", "sku", OBJECT_WRONG),
    ("registry", "sku.name", ENUM_WRONG),
    ("registry", "identity", OBJECT_WRONG),
    ("registry", "identity.type", ENUM_WRONG),
    ("registry", "properties", OBJECT_WRONG),
    *[
        ("registry", f"properties.{k}", BOOL_WRONG)
        for k in (
            "adminUserEnabled",
            "dataEndpointEnabled",
            "anonymousPullEnabled",
            "networkRuleBypassAllowedForTasks",
        )
    ],
    *[
        ("registry", f"properties.{k}", ENUM_WRONG)
        for k in (
            "publicNetworkAccess",
            "networkRuleBypassOptions",
            "roleAssignmentMode",
            "zoneRedundancy",
        )
    ],
    *[
        ("registry", f"properties.{k}", OBJECT_WRONG)
        for k in ("networkRuleSet", "policies", "encryption")
    ],
    ("registry", "properties.networkRuleSet.defaultAction", ENUM_WRONG),
    ("registry", "properties.networkRuleSet.ipRules", LIST_WRONG),
    ("registry", "properties.networkRuleSet.ipRules.0.value", STRING_WRONG),
    *[
        ("registry", f"properties.policies.{k}", OBJECT_WRONG)
        for k in ("quarantinePolicy", "trustPolicy", "retentionPolicy", "exportPolicy")
    ],
    *[
        ("registry", f"properties.policies.{k}.status", ENUM_WRONG)
        for k in ("quarantinePolicy", "trustPolicy", "retentionPolicy", "exportPolicy")
    ],
    ("registry", "properties.policies.trustPolicy.type", ENUM_WRONG),
    ("registry", "properties.policies.retentionPolicy.days", INT_WRONG + [-1, 366]),
    ("registry", "properties.encryption.status", ENUM_WRONG),
    ("replication", "location", STRING_WRONG),
    ("replication", "tags", OBJECT_WRONG),
    ("replication", "properties", OBJECT_WRONG),
    ("replication", "properties.regionEndpointEnabled", BOOL_WRONG),
    ("replication", "properties.zoneRedundancy", ENUM_WRONG),
    ("webhook", "location", STRING_WRONG),
    ("webhook", "tags", OBJECT_WRONG),
    ("webhook", "properties", OBJECT_WRONG),
    ("webhook", "properties.serviceUri", STRING_WRONG + ["not a uri", "ftp://x/y"]),
    ("webhook", "properties.customHeaders", OBJECT_WRONG),
    ("webhook", "properties.customHeaders.a", STRING_WRONG),
    ("webhook", "properties.status", ENUM_WRONG),
    ("webhook", "properties.scope", [5, True, [], {}]),
    ("webhook", "properties.actions", LIST_WRONG + [[]]),
    ("webhook", "properties.actions.0", ENUM_WRONG),
    ("webhook", "properties.signingSecret", [5, True, [], {}]),
    ("roleDefinition", "properties", OBJECT_WRONG),
    ("roleDefinition", "properties.roleName", STRING_WRONG + [""]),
    ("roleDefinition", "properties.description", STRING_WRONG),
    ("roleDefinition", "properties.assignableScopes", ["/", {}, 5]),
    ("roleDefinition", "properties.assignableScopes.0", [5, True, [], {}, ""]),
    ("roleDefinition", "properties.permissions", LIST_WRONG + [[]]),
    ("roleDefinition", "properties.permissions.0", ["x", 5, []]),
    ("roleDefinition", "properties.permissions.0.actions", LIST_WRONG),
    ("roleDefinition", "properties.permissions.0.actions.0", [5, True, [], {}]),
    ("roleDefinition", "properties.permissions.0.notActions", LIST_WRONG),
    ("roleAssignment", "properties", OBJECT_WRONG),
    ("roleAssignment", "properties.roleDefinitionId", STRING_WRONG),
    ("roleAssignment", "properties.principalId", STRING_WRONG),
    ("settings", "lroMode", ENUM_WRONG),
    *[("settings", k, INT_WRONG + [-1]) for k in ("lroPolls", "retryAfter")],
    ("settings", "pageSize", INT_WRONG + [0, 1001]),
    ("settings", "lroSeconds", NUMBER_WRONG + [-1]),
]
KINDS = sorted({kind for kind, _, _ in FIELDS})


def _set(doc: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    out = json.loads(json.dumps(doc))
    parts = path.split(".")
    cur: Any = out
    for part in parts[:-1]:
        cur = cur[int(part)] if isinstance(cur, list) else cur.setdefault(part, {})
    last = parts[-1]
    if isinstance(cur, list):
        cur[int(last)] = value
    else:
        cur[last] = value
    return out


def test_every_valid_put_body_is_accepted(world: Api) -> None:
    """The baseline of the wrong-type table: each body as given is fine."""
    principal = world.principal("typed")
    for kind, (path, version, body) in _paths(world).items():
        if kind == "roleAssignment":
            body = _set(body, "properties.principalId", principal.id)
        resp = world.put(path, body, api_version=version)
        assert resp.status_code in (200, 201), (kind, resp.text)


@pytest.mark.parametrize("kind", KINDS)
def test_a_wrong_type_for_every_put_field_is_400(world: Api, kind: str) -> None:
    """One test per PUT body, every (field, wrong value) of FIELDS; all failures listed."""
    target, version, body = _paths(world)[kind]
    if kind == "roleAssignment":
        body = _set(body, "properties.principalId", world.principal("typed").id)
    failures = []
    cases = [(path, value) for k, path, values in FIELDS if k == kind for value in values]
    for path, value in cases:
        try:
            _wrong_type(world, kind, target, version, body, path, value)
        except AssertionError as exc:
            failures.append(f"{kind}.{path} = {json.dumps(value)}: {str(exc)[:300]}")
    assert not failures, "\n".join(failures)
    assert len(cases) >= 5


def _wrong_type(
    world: Api, kind: str, target: str, version: str, body: dict[str, Any], path: str, value: Any
) -> None:
    before = world.backend.settings.page_size, world.backend.settings.lro_mode
    resp = world.put(target, _set(body, path, value), api_version=version)
    msg = arm_error(resp, 400)
    # the message names the field (a map's, for a map value; "action" for "actions") or
    # quotes the value it refuses
    field = next(p for p in reversed(path.split(".")) if not p.isdigit() and p not in ("a", "k"))
    assert field.lower().rstrip("s") in msg.lower() or f"'{value}'" in msg, msg
    # nothing was written
    if kind == "settings":
        assert (world.backend.settings.page_size, world.backend.settings.lro_mode) == before
    else:
        assert world.get(target, api_version=version).status_code == 404


def test_patch_with_wrong_types_is_400(world: Api) -> None:
    for path, body in [
        (world.reg_path(), {"properties": []}),
        (world.reg_path(), {"properties": {"adminUserEnabled": "yes"}}),
        (world.reg_path(), {"sku": "Premium"}),
        (world.reg_path(), {"identity": "SystemAssigned"}),
        (world.reg_path(), {"properties": {"policies": {"exportPolicy": {"status": 1}}}}),
        (world.repl_path("eastus"), {"properties": ""}),
        (world.repl_path("eastus"), {"properties": {"regionEndpointEnabled": 0}}),
        (world.hook_path(), {"properties": 0}),
        (world.hook_path(), {"properties": {"signingSecret": 5}}),
        (world.hook_path(), {"properties": {"actions": "push"}}),
    ]:
        arm_error(world.patch(path, body), 400)
    assert world.get(world.reg_path()).json()["properties"]["policies"]["exportPolicy"] == {
        "status": "enabled"
    }


def test_settings_are_all_or_nothing(api: Api) -> None:
    path = f"{api.sub_path}/providers/Acrctl.Admin/settings"
    arm_error(
        api.put(path, {"lroMode": "polls", "pageSize": 0}, api_version=ADMIN_API_VERSION),
        400,
        "InvalidSetting",
    )
    assert api.backend.settings.lro_mode == "immediate"


# == query parameters ==========================================================================


@pytest.mark.parametrize(
    "params",
    [
        {"$skipToken": "99999999999999999999999"},
        {"$skipToken": "-1"},
        {"$skipToken": "abc"},
        {"$skipToken": "9" * 5000},
        {"$top": "0"},
        {"$top": "abc"},
        {"$top": "-5"},
        {"$top": "9" * 5000},
    ],
    ids=[
        "huge-token",
        "negative-token",
        "text-token",
        "endless-token",
        "zero-top",
        "text-top",
        "negative-top",
        "endless-top",
    ],
)
def test_bad_paging_parameters_are_400(world: Api, params: dict[str, str]) -> None:
    for path in (
        f"{world.reg_path()}/replications",
        f"{world.reg_path()}/webhooks",
        f"{world.rg_path()}/providers/{ACR}/registries",
    ):
        arm_error(world.get(path, params=params), 400, "InvalidSkipToken")


@pytest.mark.parametrize(
    "flt", ["roleName eq 'Reader", "roleName eq", "ROLENAME EQ 'x", "principalId eq 'abc"]
)
def test_an_unclosed_filter_is_400(world: Api, flt: str) -> None:
    for kind in ("roleDefinitions", "roleAssignments"):
        resp = world.get(
            f"{world.sub_path}/providers/Microsoft.Authorization/{kind}",
            params={"$filter": flt},
            api_version=ADMIN_API_VERSION,
        )
        if resp.status_code == 200:  # the filter names the other kind's field: ignored
            continue
        arm_error(resp, 400, "InvalidFilter")


def test_a_filter_with_a_quoted_quote_works(world: Api) -> None:
    resp = world.get(
        f"{world.sub_path}/providers/Microsoft.Authorization/roleDefinitions",
        params={"$filter": "roleName eq 'O''Brien'"},
        api_version=ADMIN_API_VERSION,
    )
    assert resp.status_code == 200 and resp.json()["value"] == []


@pytest.mark.parametrize(
    "version", ["", "2025-11-01x", "latest", "2025-13-01", "9" * 3000, "2025-11-01\x00"]
)
def test_bad_api_versions_are_400(world: Api, version: str) -> None:
    resp = world.get(world.reg_path(), params={"api-version": version}, api_version=None)
    arm_error(resp, 400)


# == names: unicode and path tricks ===============================================================

TRICKY = {
    "dotdot": "%2E%2E",
    "dot": "%2E",
    "encoded-slash": "myreg1%2Freplications%2Feastus",
    "encoded-slash-up": "%2E%2E%2F%2E%2E%2Fproviders",
    "backslash": "..%5C..%5Cmyreg1",
    "nul": "myreg%00",
    "control": "myreg%01%1F",
    "very-long": "a" * 5000,
    "emoji": quote("reg\U0001f600reg"),
    "accented": quote("caf\u00e9reg"),
    "rtl-override": quote("myreg\u202e1"),
    "trailing-dot": "myreg1.",
    "trailing-space": "myreg1%20",
    "leading-space": "%20myreg1",
    "percent": "myreg%251",
    "full-width": quote("\uff4d\uff59\uff52\uff45\uff47\uff11"),
}


def _no_stray_items(api: Api) -> None:
    """No stored item got a key with a tricky part (no escape into another path)."""
    for kind in ("registry", "replication", "webhook", "resourceGroup"):
        for item in api.backend.store.list(kind):
            assert all(ord(ch) >= 32 for ch in item.key), item.key
            assert ".." not in item.key and "%" not in item.key and "\\" not in item.key, item.key


def _refused(
    world: Api,
    method: str,
    path: str,
    payload: bytes = b"",
    api_version: str = API_VERSION,
    allow_204: bool = False,
) -> str | None:
    """None when the request got a 4xx ARM error (or a 204 for a DELETE of nothing), else
    what went wrong."""
    status, doc = raw_request(world, method, path, payload, api_version)
    if allow_204 and status == 204:
        return None
    if status not in CODES_4XX:
        return f"{method} {path[-80:]} -> {status} {str(doc)[:200]}"
    if method != "HEAD" and not (
        isinstance(doc, dict)
        and isinstance(doc.get("error"), dict)
        and doc["error"].get("code") not in (None, "InternalServerError")
    ):
        return f"{method} {path[-80:]} -> {status} without an ARM error body: {doc}"
    return None


def test_tricky_registry_names_are_4xx(world: Api) -> None:
    base = f"{world.rg_path()}/providers/{ACR}/registries"
    body = json.dumps({"location": "westus", "sku": {"name": "Basic"}}).encode()
    failures = [
        f"{trick}: {problem}"
        for trick, name in sorted(TRICKY.items())
        for method, suffix, payload in (
            ("PUT", "", body),
            ("GET", "", b""),
            ("PATCH", "", b"{}"),
            ("DELETE", "", b""),
            ("GET", "/replications", b""),
            ("PUT", "/webhooks/hook9", b"{}"),
        )
        if (
            problem := _refused(
                world, method, f"{base}/{name}{suffix}", payload, allow_204=method == "DELETE"
            )
        )
    ]
    assert not failures, "\n".join(failures)
    _no_stray_items(world)
    # the real resources are untouched
    assert world.get(world.reg_path()).json()["sku"]["name"] == "Premium"
    assert world.get(world.repl_path("eastus")).status_code == 200


def test_tricky_child_names_are_4xx(world: Api) -> None:
    failures = []
    for trick, name in sorted(TRICKY.items()):
        for collection, body in (
            ("replications", {"location": "westeurope"}),
            (
                "webhooks",
                {
                    "location": "westus",
                    "properties": {"serviceUri": "http://127.0.0.1:9/h", "actions": ["push"]},
                },
            ),
        ):
            raw = json.dumps(body).encode()
            path = f"{world.reg_path()}/{collection}/{name}"
            for method, payload in (("PUT", raw), ("GET", b""), ("PATCH", b"{}"), ("DELETE", b"")):
                problem = _refused(world, method, path, payload, allow_204=method == "DELETE")
                if problem:
                    failures.append(f"{trick}: {problem}")
    assert not failures, "\n".join(failures)
    _no_stray_items(world)


def test_tricky_group_names_are_4xx(world: Api) -> None:
    """(Unicode letters are allowed in group names, as in ARM.)"""
    body = json.dumps({"location": "westus"}).encode()
    failures = [
        f"{trick}: {problem}"
        for trick, name in sorted(TRICKY.items())
        if trick not in ("accented", "full-width")
        for method, payload in (("PUT", body), ("GET", b""), ("HEAD", b""), ("DELETE", b""))
        if (
            problem := _refused(
                world,
                method,
                f"{world.sub_path}/resourceGroups/{name}",
                payload,
                "2022-09-01",
                allow_204=method == "DELETE",
            )
        )
    ]
    assert not failures, "\n".join(failures)
    _no_stray_items(world)
    assert world.get(world.rg_path()).status_code == 200


def test_raw_dot_segments_do_not_climb(world: Api) -> None:
    """`/registries/../..` reaches the server as is: it names nothing, it does not walk up
    to the resource group (whose DELETE would take everything with it)."""
    base = f"{world.rg_path()}/providers/{ACR}/registries"
    for method in ("DELETE", "PUT", "GET"):
        status, doc = raw_request(world, method, f"{base}/../../..", b"{}")
        assert status in CODES_4XX | {204}, (method, status, doc)
    status, _ = raw_request(
        world, "DELETE", f"{world.sub_path}/resourceGroups/rg1/..", api_version="2022-09-01"
    )
    assert status in CODES_4XX | {204}
    assert world.get(world.rg_path()).status_code == 200
    assert world.get(world.reg_path()).status_code == 200


@pytest.mark.parametrize(
    "scope_trick", ["%2Fsubscriptions%2F{sub}", "..%2F..", "%00", "{sub}%2F..%2F.."]
)
def test_tricky_role_assignment_scopes_are_4xx(world: Api, scope_trick: str) -> None:
    principal = world.principal("p")
    trick = scope_trick.format(sub=world.sub)
    body = json.dumps(
        {"properties": {"roleDefinitionId": READER, "principalId": principal.id}}
    ).encode()
    for path in (
        f"/subscriptions/{trick}/providers/Microsoft.Authorization/roleAssignments/{uuid.uuid4()}",
        f"{world.sub_path}/providers/Microsoft.Authorization/roleAssignments/{trick}",
    ):
        status, doc = raw_request(world, "PUT", path, body, api_version=ADMIN_API_VERSION)
        assert status in CODES_4XX, (path, status, doc)
    # the principal got nothing
    assert world.backend.rbac.list_assignments(principal.id) == []


# == mixed-case duplicates ====================================================================


def test_mixed_case_names_are_the_same_resources(world: Api) -> None:
    resp = world.put(world.rg_path("RG1"), {"location": "westus"}, api_version="2022-09-01")
    assert (resp.status_code, resp.json()["name"]) == (200, "rg1")
    resp = world.put(
        world.reg_path("MYREG1", "Rg1"), {"location": "westus", "sku": {"name": "Premium"}}
    )
    assert (resp.status_code, resp.json()["name"]) == (200, "myreg1")
    resp = world.put(world.repl_path("EastUS", "MyReg1"), {"location": "eastus"})
    assert (resp.status_code, resp.json()["name"]) == (200, "eastus")
    resp = world.put(
        world.hook_path("HOOK1", "MyReg1"),
        {
            "location": "westus",
            "properties": {"serviceUri": "http://127.0.0.1:9/h", "actions": ["delete"]},
        },
    )
    assert (resp.status_code, resp.json()["name"]) == (200, "hook1")
    items, _ = world.collect(f"{world.rg_path()}/providers/{ACR}/registries")
    assert [r["name"] for r in items] == ["myreg1"]
    hooks, _ = world.collect(f"{world.reg_path()}/webhooks")
    assert [h["name"] for h in hooks] == ["hook1"]


def test_a_mixed_case_registry_name_elsewhere_is_409(world: Api) -> None:
    world.create_group("rg2")
    resp = world.put(
        world.reg_path("MyReg1", "rg2"), {"location": "westus", "sku": {"name": "Basic"}}
    )
    assert "already in use" in arm_error(resp, 409, "AlreadyInUse")
    body = {"name": "MYREG1", "type": f"{ACR}/registries"}
    resp = world.post(f"{world.sub_path}/providers/{ACR}/checkNameAvailability", body)
    assert resp.json()["nameAvailable"] is False


# == the table's coverage =====================================================================


def _all_put_kinds() -> list[str]:
    return sorted({k for k, _, _ in FIELDS})


def test_the_wrong_type_table_covers_every_put_body() -> None:
    assert _all_put_kinds() == sorted(
        [
            "group",
            "registry",
            "replication",
            "webhook",
            "roleDefinition",
            "roleAssignment",
            "settings",
        ]
    )
