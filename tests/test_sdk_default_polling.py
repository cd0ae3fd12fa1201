"""The official SDK at its default settings (no polling_interval, default retries) against a
real acrctl server over TLS: an operation that takes 2 s must finish within about 1 s of
that, which needs Retry-After on every in-progress answer (without one the SDK waits its
30 s default between polls)."""

from __future__ import annotations

import ssl
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import trustme
from azure.core.credentials import AccessToken
from azure.mgmt.containerregistry import ContainerRegistryManagementClient
from azure.mgmt.containerregistry.models import Registry as RegistryModel
from azure.mgmt.containerregistry.models import Replication, Sku

from acrctl.backend.core import Settings
from acrctl.server.serve import ServerConfig, ThreadedServer

TOKEN = "acr_sdk_default_polling_7c1d"
RG = "pollrg"
PROVISIONING = 2.0


class StaticToken:
    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken(TOKEN, int(time.time()) + 3600)


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ThreadedServer, Any]]:
    tmp: Path = tmp_path_factory.mktemp("sdk-default")
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    ca_pem, chain, key = tmp / "ca.pem", tmp / "server.pem", tmp / "server.key"
    ca.cert_pem.write_to_path(str(ca_pem))
    cert.private_key_pem.write_to_path(str(key))
    for i, blob in enumerate(cert.cert_chain_pems):
        blob.write_to_path(str(chain), append=i > 0)
    server = ThreadedServer(
        ServerConfig(
            tls_cert=str(chain),
            tls_key=str(key),
            admin_token=TOKEN,
            database=str(tmp / "state.db"),
            settings=Settings(lro_mode="immediate"),
        ),
        deliver=False,
    )  # default retry_after
    server.start()
    resp = httpx.put(
        f"{server.url}/subscriptions/{server.subscription}/resourceGroups/{RG}",
        params={"api-version": "2022-09-01"},
        json={"location": "westus"},
        headers={"Authorization": f"Bearer {TOKEN}"},
        verify=ssl.create_default_context(cafile=str(ca_pem)),
    )
    assert resp.status_code == 201, resp.text
    client = ContainerRegistryManagementClient(
        StaticToken(), server.subscription, base_url=server.url, connection_verify=str(ca_pem)
    )
    client.registries.begin_create(
        RG, "pollreg1", RegistryModel(location="westus", sku=Sku(name="Premium"))
    ).result()
    server.app.backend.settings.lro_mode = "seconds"
    server.app.backend.settings.lro_seconds = PROVISIONING
    yield server, client
    client.close()
    server.server.force_exit = True
    server.stop()


def test_sdk_default_polling_finishes_a_2s_replication_create_in_under_3s(
    env: tuple[ThreadedServer, Any],
) -> None:
    _, client = env
    started = time.monotonic()
    repl = client.replications.begin_create(
        RG, "pollreg1", "eastus", Replication(location="eastus")
    ).result()
    elapsed = time.monotonic() - started
    assert repl.provisioning_state == "Succeeded"
    assert PROVISIONING <= elapsed < PROVISIONING + 1.0


def test_sdk_default_polling_finishes_a_2s_delete_in_under_3s(
    env: tuple[ThreadedServer, Any],
) -> None:
    _, client = env
    client.replications.begin_create(
        RG, "pollreg1", "westeurope", Replication(location="westeurope")
    ).result()
    started = time.monotonic()
    client.replications.begin_delete(RG, "pollreg1", "westeurope").result()
    elapsed = time.monotonic() - started
    assert elapsed < PROVISIONING + 1.0
    names = [r.name for r in client.replications.list(RG, "pollreg1")]
    assert "westeurope" not in names
