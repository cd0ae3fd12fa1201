"""The start of the data-plane tests' beds: an `acrctl server` with its data plane on
loopback (a ThreadedServer, `data_port=1`: a free port), a resource group `rg1` in the home
region, and a service principal holding AcrPush on the subscription; everything stopped at
the end. Each test module builds its own Bed (its helpers) on top."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import httpx

from acrctl.backend.core import Settings
from acrctl.server.serve import ServerConfig, ThreadedServer

ACR_PUSH = "8311e382-0749-4cb8-b61a-304f252e45ec"  # the AcrPush built-in role's guid


@dataclass
class Started:
    server: ThreadedServer
    arm: httpx.Client  # the management API as the admin
    creds: tuple[str, str]  # an AcrPush service principal's (appId, secret)


@contextlib.contextmanager
def started(settings: Settings, admin: str, home: str = "eastus") -> Iterator[Started]:
    server = ThreadedServer(ServerConfig(data_port=1, settings=settings, admin_token=admin))
    server.start()
    arm = httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {admin}"}, timeout=30
    )
    try:
        r = arm.put(
            f"/subscriptions/{server.subscription}/resourcegroups/rg1?api-version=2021-04-01",
            json={"location": home},
        )
        assert r.status_code in (200, 201), r.text
        b = server.app.backend
        doc, secret = b.rbac.create_principal(f"p-{uuid.uuid4().hex[:8]}", "Application")
        b.rbac.create_assignment(
            f"/subscriptions/{server.subscription}",
            str(uuid.uuid4()),
            {"properties": {"roleDefinitionId": ACR_PUSH, "principalId": doc["id"]}},
        )
        yield Started(server, arm, (doc["id"], secret))
    finally:
        arm.close()
        server.stop()
