"""Units of the import path that need no registry: the source URL rule, the destination
policy on every connection (redirects and token services included), recognising this server's
login servers, and the cap on imports copying at once (issue 16)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from acrctl.backend.clock import FakeClock
from acrctl.backend.core import Backend, Settings
from acrctl.backend.errors import NotFound, Throttled
from acrctl.backend.imports import ImportOps, ImportSpec
from acrctl.backend.sqlite import SqliteStore
from acrctl.dataplane import importer
from acrctl.dataplane.importer import ImportFailed, source_url, transport
from acrctl.dataplane.tools import PlaneTools

REGION = "http://127.0.0.1:5999"


def fake_engine(**settings: Any) -> Any:
    region = SimpleNamespace(url=REGION)
    plane = SimpleNamespace(supervisor=SimpleNamespace(regions={"eastus": region}))
    return SimpleNamespace(s=Settings(**settings), plane=plane)


@pytest.mark.parametrize(
    ("uri", "url"),
    [
        ("registry.example", "https://registry.example"),
        ("registry.example:5000/", "https://registry.example:5000"),
        ("127.0.0.1:5000", "http://127.0.0.1:5000"),
        ("localhost:5000", "http://localhost:5000"),
        ("http://registry.example", "http://registry.example"),
    ],
)
def test_source_url(uri: str, url: str) -> None:
    assert source_url(uri) == url


def importing(**settings: Any) -> httpx.Client:
    """A client with the import's transport (the destination policy at each connection)."""
    return httpx.Client(transport=transport(fake_engine(**settings)), trust_env=False)


def test_the_policy_refuses_a_loopback_source_request() -> None:
    with importing() as c, pytest.raises(ImportFailed) as info:
        c.get("http://127.0.0.1:5000/v2/lib/app/blobs/sha256:1")
    assert (info.value.code, info.value.message) == (
        "InvalidParameter",
        "The source cannot be reached: destination refused: 127.0.0.1 is a loopback address; "
        "an operator can allow it with the server setting webhook_allow or webhook_allow_local",
    )


def test_the_policy_refuses_cloud_metadata_even_when_local_is_allowed() -> None:
    with importing(webhook_allow_local=True) as c, pytest.raises(ImportFailed) as info:
        c.get("http://169.254.169.254/latest/meta-data")
    assert "169.254.169.254 is link-local (cloud metadata range) and never allowed" in (
        info.value.message
    )


def test_the_policy_lets_requests_to_the_regions_through() -> None:
    # nothing listens there: the connection is tried (not refused by the policy)
    with importing() as c, pytest.raises(httpx.ConnectError):
        c.put(f"{REGION}/v2/reg/app/manifests/v1")


@pytest.fixture
def tools(monkeypatch: pytest.MonkeyPatch) -> PlaneTools:
    backend = Backend(SqliteStore(":memory:"), settings=Settings(import_max_concurrent=1))
    started: list[Any] = []
    monkeypatch.setattr(importer.Importer, "start", lambda self: started.append(self))
    plane = SimpleNamespace(
        engine=SimpleNamespace(b=backend),
        settings=backend.settings,
        b=backend,
        login_domain="acrctl.test:8444",
    )
    return PlaneTools(plane)  # type: ignore[arg-type]


def test_local_login_servers_are_recognised(tools: PlaneTools) -> None:
    assert tools.is_local_uri("contoso.acrctl.test:8444") == "contoso"
    assert tools.is_local_uri("https://Contoso.acrctl.test:8444") == "contoso"
    assert tools.is_local_uri("contoso.acrctl.test:9999") is None
    assert tools.is_local_uri("contoso.azurecr.io") is None
    assert tools.is_local_uri("a.b.acrctl.test:8444") is None


def test_imports_past_the_cap_are_429_until_one_ends(tools: PlaneTools) -> None:
    reg = {"id": "/subscriptions/s/resourceGroups/rg/providers/x/registries/r1", "name": "r1"}
    spec = ImportSpec("app", "v1", [("app", "v1")], [], False, source_registry={"name": "src"})
    tools.start_import(reg, spec, "app:v1")
    with pytest.raises(Throttled) as info:
        tools.start_import(reg, spec, "app:v1")
    assert (info.value.code, info.value.retry_after) == ("TooManyImports", 1)
    assert info.value.message == (
        "1 imports are running on this server (import_max_concurrent); retry later."
    )
    tools._import_done()  # noqa: SLF001 - what the running import calls when it ends
    assert tools.start_import(reg, spec, "app:v1")["status"] == "InProgress"


REG = {"id": "/subscriptions/s/resourceGroups/rg/providers/x/registries/r1", "name": "r1"}


@pytest.fixture
def ops() -> tuple[ImportOps, FakeClock]:
    clock = FakeClock(1_000_000.0)
    settings = Settings(replication_lease_seconds=60, operation_retention_hours=1)
    return ImportOps(Backend(SqliteStore(":memory:"), clock, settings)), clock


def test_an_import_without_heartbeat_past_the_lease_reads_abandoned(
    ops: tuple[ImportOps, FakeClock],
) -> None:
    imports, clock = ops
    op = imports.start(REG, "app:v1")
    clock.advance(59)
    imports.update(REG, op["id"])  # a heartbeat
    clock.advance(60)
    assert imports.get(REG, op["id"])["status"] == "InProgress"
    clock.advance(1)
    doc = imports.get(REG, op["id"])
    assert (doc["status"], doc["error"]) == (
        "Failed",
        {
            "code": "ImportAbandoned",
            "message": "The server instance running the import stopped (no heartbeat for 60 "
            "seconds).",
        },
    )
    imports.update(REG, op["id"], status="Succeeded")  # too late: the record stays Failed
    assert imports.get(REG, op["id"])["status"] == "Failed"


def test_finished_imports_are_pruned_after_the_retention(ops: tuple[ImportOps, FakeClock]) -> None:
    imports, clock = ops
    done = imports.start(REG, "app:v1")
    imports.update(REG, done["id"], status="Succeeded")
    running = imports.start(REG, "app:v2")
    clock.advance(3601)
    imports.update(REG, running["id"])
    imports.start(REG, "app:v3")  # prunes on start
    with pytest.raises(NotFound):
        imports.get(REG, done["id"])
    assert imports.get(REG, running["id"])["status"] == "InProgress"
