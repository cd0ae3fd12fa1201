"""Data plane pieces without the registry binary: RBAC data actions per built-in role,
scope parsing, naming, the start-up without docker-registry, the server flags."""

from __future__ import annotations

import uuid
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from acrctl.backend.core import Backend
from acrctl.backend.store import open_store
from acrctl.dataplane import pki, routing
from acrctl.dataplane.tokens import Grantee, Scope, TokenService, parse_scopes
from acrctl.server.serve import ServerConfig, ThreadedServer

ROLE_IDS = {
    "AcrPull": "7f951dda-4ed3-4680-a7ca-43fe172d538d",
    "AcrPush": "8311e382-0749-4cb8-b61a-304f252e45ec",
    "AcrDelete": "c2f4ef07-c644-48eb-af81-4b1b4947fb11",
    "Owner": "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",
    "Contributor": "b24988ac-6180-42a0-ab88-20f7382dd24c",
    "Reader": "acdd72a7-3385-48ef-bd42-f606fba81ae7",
}


@pytest.mark.parametrize(
    ("role", "granted"),
    [
        ("AcrPull", ["pull"]),
        ("AcrPush", ["pull", "push"]),
        ("AcrDelete", ["delete"]),
        ("Owner", ["pull", "push", "delete"]),
        ("Contributor", ["pull", "push", "delete"]),
        ("Reader", ["pull"]),
    ],
)
def test_built_in_roles_grant_data_actions_as_acr(
    role: str, granted: list[str], tmp_path: Path
) -> None:
    b = Backend(open_store(":memory:"))
    sub, _ = b.bootstrap()
    from acrctl.backend.rbac import Caller

    admin = Caller(b.admin_principal_id() or "", "admin", "User")
    b.groups.put(admin, sub["subscriptionId"], "rg1", {"location": "eastus"})
    b.registries.put(
        admin,
        sub["subscriptionId"],
        "rg1",
        "contoso1",
        {"location": "eastus", "sku": {"name": "Basic"}},
    )
    doc, _ = b.rbac.create_principal("p", "Application")
    b.rbac.create_assignment(
        sub["id"],
        str(uuid.uuid4()),
        {"properties": {"roleDefinitionId": ROLE_IDS[role], "principalId": doc["id"]}},
    )
    svc = TokenService(b, pki.load_or_create(str(tmp_path / "pki")), "acrctl", "svc", 60, 60)
    who = Grantee(doc["id"], caller=b.rbac.caller(doc))
    assert svc.allowed_actions(who, "contoso1", ("pull", "push", "delete")) == granted
    assert svc.allowed_actions(who, "missing1", ("pull", "push", "delete")) == []


def test_scopes_split_actions_at_the_last_colon_and_on_spaces() -> None:
    assert parse_scopes(
        ["repository:localhost:5000/a/b:pull,push registry:catalog:*", "repository(plugin):c:pull"]
    ) == [
        Scope("repository", "localhost:5000/a/b", ("pull", "push")),
        Scope("registry", "catalog", ("*",)),
        Scope("repository", "c", ("pull",)),
    ]


def test_names_map_into_the_registry_namespace() -> None:
    r = routing.Router("acrctl.test:8444")
    assert r.resolve("contoso1.acrctl.test:8444", "web/api") == ("contoso1", "contoso1/web/api")
    assert r.resolve("127.0.0.1:8444", "contoso1/web/api") == ("contoso1", "contoso1/web/api")
    assert r.resolve("127.0.0.1:8444", "contoso1") is None
    assert r.resolve("contoso1.acrctl.test", "Bad/Name") is None
    m = routing.OCI_ROUTE.match("/v2/a/blobs/b/manifests/v1")
    assert m is not None and (m["name"], m["tail"]) == ("a/blobs/b", "manifests/v1")


def test_without_the_registry_binary_the_server_runs_and_readyz_says_why() -> None:
    cfg = ServerConfig(data_port=1, registry_binary="/nonexistent/docker-registry")
    with ThreadedServer(cfg) as srv:
        r = httpx.get(f"{srv.url}/readyz")
    assert r.status_code == 200
    assert r.json()["checks"]["dataplane"] == (
        "off: no '/nonexistent/docker-registry' binary; install the docker-registry package "
        "(apt-get install docker-registry)"
    )


def test_server_print_config_shows_the_data_plane_options() -> None:
    from acrctl.cli.server import server

    out = CliRunner().invoke(
        server,
        ["--print-config", "--data-port", "0", "--region-registry", "West Europe=http://h:5000/"],
        env={"ACRCTL_SERVER_LOGIN_DOMAIN": "reg.example"},
    )
    assert out.exit_code == 0, out.output
    assert "data_port = 0  # flag" in out.output
    assert 'login_domain = "reg.example"  # env ACRCTL_SERVER_LOGIN_DOMAIN' in out.output
    assert 'region_registry = ["westeurope=http://h:5000"]  # flag' in out.output
    assert 'registry_binary = "docker-registry"  # default' in out.output


def test_region_registry_must_be_region_equals_url() -> None:
    from acrctl.cli.server import server

    out = CliRunner().invoke(server, ["--print-config", "--region-registry", "eastus"])
    assert out.exit_code == 2
    assert "'eastus': expected REGION=http(s)://host:port" in out.output
