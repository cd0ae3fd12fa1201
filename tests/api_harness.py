"""The API test harness: one `api` fixture, two modes, the same tests.

* "inprocess": an httpx.Client over acrctl.server.transport.InProcessTransport with
  caller=None, so every bearer token is really authenticated; a fresh SQLite file and a
  FakeClock per test (`api.clock`).
* "server": a real acrctl.server.serve.ThreadedServer on a free 127.0.0.1 port, started once
  per session; between tests its backend is reset and bootstrapped again (same subscription,
  same admin token) and the settings are put back to their defaults.

Test modules load it with `pytest_plugins = ("api_harness",)` so the server is shared.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import httpx
import pytest

from acrctl.backend.clock import FakeClock
from acrctl.backend.core import Backend, Settings
from acrctl.backend.sqlite import SqliteStore
from acrctl.server.app import App
from acrctl.server.serve import ServerConfig, ThreadedServer
from acrctl.server.transport import InProcessTransport

API_VERSION = "2025-11-01"
ADMIN_API_VERSION = "2022-04-01"
ADMIN_TOKEN = "acr_harness_admin_token_7d1f0c9e"
NO_TOKEN = ""  # `token=NO_TOKEN`: send no Authorization header at all
INPROCESS_BASE = "https://acrctl.local"
ACR = "Microsoft.ContainerRegistry"
# the server sets these from its own configuration; a test's settings never change them
SERVER_SET = ("allow_reset", "admin_token")
DEFAULT_SETTINGS = {f.name for f in fields(Settings) if f.name not in SERVER_SET}


def default_settings() -> dict[str, Any]:
    """Fresh default values (no list shared between tests) of the settings tests change."""
    return {k: v for k, v in vars(Settings()).items() if k in DEFAULT_SETTINGS}


OWNER = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635"
CONTRIBUTOR = "b24988ac-6180-42a0-ab88-20f7382dd24c"
READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
ACR_CONFIG_READER = "69b07be0-09bf-439a-b9a6-e73de851bd59"


@dataclass(frozen=True)
class Principal:
    """A principal made through the backend, with its bearer token."""

    id: str
    name: str
    token: str


def op_id(url: str) -> str:
    """The operation id at the end of an Azure-AsyncOperation or Location URL."""
    m = re.search(r"/(?:operationStatuses|operationResults)/([^/?]+)", url)
    assert m, url
    return m.group(1)


class Api:
    """What a test drives: `request(...)` plus path builders and backend-side helpers."""

    def __init__(
        self,
        mode: str,
        backend: Backend,
        http: httpx.Client,
        base_url: str,
        db_path: str,
        clock: FakeClock | None,
    ) -> None:
        self.mode = mode
        self.backend = backend
        self.http = http
        self.base_url = base_url
        self.db_path = db_path
        self.clock = clock
        self.admin_token = ADMIN_TOKEN
        self.sub = backend.list_subscriptions()[0]["subscriptionId"]
        self._n = 0

    # -- the one request path ----------------------------------------------------------
    def request(
        self,
        method: str,
        path: str,
        json: Any = None,
        token: str | Principal | None = None,
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        content: bytes | None = None,
        api_version: str | None = API_VERSION,
    ) -> httpx.Response:
        """`token`: None = the admin, a Principal or a token string = that bearer,
        NO_TOKEN = no Authorization header. `api_version=None` sends none (unless it is
        in `params` or already in `path`)."""
        query = dict(params or {})
        if api_version is not None and "api-version=" not in path:
            query.setdefault("api-version", api_version)
        hdrs = dict(headers or {})
        bearer = (
            token.token
            if isinstance(token, Principal)
            else (self.admin_token if token is None else token)
        )
        if bearer:
            hdrs["Authorization"] = f"Bearer {bearer}"
        return self.http.request(
            method, path, json=json, content=content, params=query or None, headers=hdrs
        )

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("GET", path, **kw)

    def put(self, path: str, json: Any = None, **kw: Any) -> httpx.Response:
        return self.request("PUT", path, json=json, **kw)

    def patch(self, path: str, json: Any = None, **kw: Any) -> httpx.Response:
        return self.request("PATCH", path, json=json, **kw)

    def post(self, path: str, json: Any = None, **kw: Any) -> httpx.Response:
        return self.request("POST", path, json=json, **kw)

    def delete(self, path: str, **kw: Any) -> httpx.Response:
        return self.request("DELETE", path, **kw)

    def follow(self, url: str, token: str | Principal | None = None) -> httpx.Response:
        """GET an absolute URL the server handed out (nextLink, Location, status URL)."""
        return self.request("GET", url, token=token, api_version=None)

    def collect(
        self,
        path: str,
        method: str = "GET",
        params: dict[str, str] | None = None,
        token: str | Principal | None = None,
    ) -> tuple[list[Any], int]:
        """Every item of a pageable list, following nextLink with GET like the SDK.
        Returns (items, pages)."""
        resp = self.request(method, path, params=params, token=token)
        assert resp.status_code == 200, resp.text
        items, pages = list(resp.json()["value"]), 1
        while resp.json().get("nextLink"):
            resp = self.follow(resp.json()["nextLink"], token=token)
            assert resp.status_code == 200, resp.text
            items += resp.json()["value"]
            pages += 1
        return items, pages

    # -- paths ---------------------------------------------------------------------------
    @property
    def sub_path(self) -> str:
        return f"/subscriptions/{self.sub}"

    def rg_path(self, rg: str = "rg1") -> str:
        return f"{self.sub_path}/resourceGroups/{rg}"

    def reg_path(self, name: str = "myreg1", rg: str = "rg1") -> str:
        return f"{self.rg_path(rg)}/providers/{ACR}/registries/{name}"

    def repl_path(self, name: str, registry: str = "myreg1", rg: str = "rg1") -> str:
        return f"{self.reg_path(registry, rg)}/replications/{name}"

    def hook_path(self, name: str = "hook1", registry: str = "myreg1", rg: str = "rg1") -> str:
        return f"{self.reg_path(registry, rg)}/webhooks/{name}"

    # -- setup through the API (as the admin) ----------------------------------------------
    def create_group(self, rg: str = "rg1", location: str = "westus") -> dict[str, Any]:
        resp = self.put(self.rg_path(rg), {"location": location})
        assert resp.status_code in (200, 201), resp.text
        return dict(resp.json())

    def create_registry(
        self,
        name: str = "myreg1",
        rg: str = "rg1",
        sku: str = "Basic",
        location: str = "westus",
        **body: Any,
    ) -> dict[str, Any]:
        resp = self.put(
            self.reg_path(name, rg), {"location": location, "sku": {"name": sku}, **body}
        )
        assert resp.status_code in (200, 201), resp.text
        return dict(resp.json())

    def create_replication(
        self,
        name: str,
        location: str | None = None,
        registry: str = "myreg1",
        rg: str = "rg1",
        **body: Any,
    ) -> dict[str, Any]:
        resp = self.put(self.repl_path(name, registry, rg), {"location": location or name, **body})
        assert resp.status_code in (200, 201), resp.text
        return dict(resp.json())

    def create_webhook(
        self,
        name: str = "hook1",
        registry: str = "myreg1",
        rg: str = "rg1",
        location: str = "westus",
        uri: str = "http://127.0.0.1:9/hook",
        actions: list[str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        props: dict[str, Any] = {"serviceUri": uri, "actions": actions or ["push"]}
        if headers is not None:
            props["customHeaders"] = headers
        resp = self.put(
            self.hook_path(name, registry, rg), {"location": location, "properties": props}
        )
        assert resp.status_code in (200, 201), resp.text
        return dict(resp.json())

    # -- principals and roles through the backend ---------------------------------------
    def principal(
        self, name: str | None = None, role: str | None = None, scope: str | None = None
    ) -> Principal:
        """A new principal, optionally holding `role` (guid or name) at `scope`
        (default: the subscription)."""
        self._n += 1
        doc, token = self.backend.rbac.create_principal(
            name or f"principal{self._n}", "Application"
        )
        p = Principal(doc["id"], doc["displayName"], token)
        if role:
            self.assign(p, role, scope)
        return p

    def assign(self, principal: Principal, role: str, scope: str | None = None) -> None:
        role_doc = self.backend.rbac.role_definition(role)
        assert role_doc is not None, role
        self.backend.rbac.create_assignment(
            scope or self.sub_path,
            str(uuid.uuid4()),
            {"properties": {"roleDefinitionId": role_doc["name"], "principalId": principal.id}},
        )

    def custom_role(
        self, actions: list[str], not_actions: list[str] | None = None, name: str | None = None
    ) -> str:
        """A custom role definition made through the backend; returns its guid."""
        guid = str(uuid.uuid4())
        self.backend.rbac.put_role_definition(
            self.sub_path,
            guid,
            {
                "properties": {
                    "roleName": name or f"custom-{guid[:8]}",
                    "permissions": [{"actions": actions, "notActions": not_actions or []}],
                }
            },
        )
        return guid

    # -- settings --------------------------------------------------------------------------
    def set_settings(self, **kw: Any) -> None:
        """E.g. set_settings(lro_mode="polls", lro_polls=2, page_size=2)."""
        for k, v in kw.items():
            assert k in DEFAULT_SETTINGS, k
            setattr(self.backend.settings, k, v)


@pytest.fixture(scope="session")
def acrctl_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreadedServer]:
    """One real server for the whole session (plain HTTP, a SQLite file). No delivery
    worker: events stay pending, so listEvents is deterministic."""
    db = tmp_path_factory.mktemp("acrctl-server") / "state.db"
    server = ThreadedServer(
        ServerConfig(database=str(db), admin_token=ADMIN_TOKEN, allow_reset=True), deliver=False
    )
    server.start()
    yield server
    server.stop()


def _inprocess(tmp_path: Path) -> Iterator[Api]:
    clock = FakeClock()
    db = str(tmp_path / "api-state.db")
    settings = Settings(allow_reset=True, admin_token=ADMIN_TOKEN)
    backend = Backend(SqliteStore(db), clock=clock, settings=settings)
    backend.bootstrap(admin_token=ADMIN_TOKEN)
    transport = InProcessTransport(App(backend), caller=None)
    with httpx.Client(base_url=INPROCESS_BASE, transport=transport) as http:
        yield Api("inprocess", backend, http, INPROCESS_BASE, db, clock)
    backend.store.close()


def _server(server: ThreadedServer) -> Iterator[Api]:
    backend = server.app.backend
    for k, v in default_settings().items():
        setattr(backend.settings, k, v)
    # Reset on the backend itself (not through the API), so a test that broke the admin's
    # access cannot break the next one. The reset endpoint has tests of its own.
    subs = backend.list_subscriptions()  # empty if a test reset the store itself
    sub = subs[0]["subscriptionId"] if subs else server.subscription
    backend.reset()
    backend.bootstrap(admin_token=ADMIN_TOKEN, subscription=sub)
    with httpx.Client(base_url=server.url, timeout=10) as http:
        yield Api("server", backend, http, server.url, str(server.cfg.database), None)
    for k, v in default_settings().items():
        setattr(backend.settings, k, v)


@pytest.fixture(params=["inprocess", "server"])
def api(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Api]:
    if request.param == "inprocess":
        yield from _inprocess(tmp_path)
    else:
        yield from _server(request.getfixturevalue("acrctl_server"))
