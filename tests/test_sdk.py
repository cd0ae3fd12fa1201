"""The official SDK (azure-mgmt-containerregistry 15, api-version 2025-11-01) against a real
acrctl server over HTTPS with a trustme CA: long-running operations, paging and typed errors
as the SDK sees them."""

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
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError
from azure.mgmt.containerregistry import ContainerRegistryManagementClient
from azure.mgmt.containerregistry.models import Registry as RegistryModel
from azure.mgmt.containerregistry.models import (
    RegistryNameCheckRequest,
    RegistryUpdateParameters,
    Replication,
    ReplicationUpdateParameters,
    ReplicationUpdateParametersProperties,
    Sku,
    WebhookCreateParameters,
    WebhookPropertiesCreateParameters,
)

from acrctl.backend.core import Settings
from acrctl.server.http import Request, Response
from acrctl.server.serve import ServerConfig, ThreadedServer

ADMIN_TOKEN = "acr_sdk_admin_token_5a1e2b"
RG = "sdkrg"
HOOK_URI = "http://127.0.0.1:9/x"


class StaticToken:
    """A credential the SDK can call: get_token(*scopes) -> AccessToken."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.scopes: list[tuple[str, ...]] = []

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self.scopes.append(scopes)
        return AccessToken(self.token, int(time.time()) + 365 * 24 * 3600)


class Sdk:
    def __init__(self, server: ThreadedServer, ca_pem: str, seen: list[tuple[str, str]]) -> None:
        self.server = server
        self.ca_pem = ca_pem
        self.seen = seen
        self.backend = server.app.backend
        self.sub = server.subscription
        self.credential = StaticToken(ADMIN_TOKEN)
        self.client = ContainerRegistryManagementClient(
            credential=self.credential,
            subscription_id=self.sub,
            base_url=server.url,
            connection_verify=ca_pem,
            polling_interval=0.05,
            retry_total=0,
        )

    def paths(self, marker: str) -> list[str]:
        return [p for _, p in self.seen if marker in p]


@pytest.fixture(scope="module")
def tls_server(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[ThreadedServer, str, list[tuple[str, str]]]]:
    tmp: Path = tmp_path_factory.mktemp("sdk-tls")
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    ca_pem, chain, key = tmp / "ca.pem", tmp / "server.pem", tmp / "server.key"
    ca.cert_pem.write_to_path(str(ca_pem))
    for i, blob in enumerate(cert.cert_chain_pems):
        blob.write_to_path(str(chain), append=i > 0)
    cert.private_key_pem.write_to_path(str(key))
    server = ThreadedServer(
        ServerConfig(
            tls_cert=str(chain),
            tls_key=str(key),
            admin_token=ADMIN_TOKEN,
            allow_reset=True,
            database=str(tmp / "state.db"),
            settings=Settings(retry_after=0),
        ),
        deliver=False,
    )
    seen: list[tuple[str, str]] = []
    handle = server.app.handle

    def recording(req: Request) -> Response:
        seen.append((req.method, req.path))
        return handle(req)

    server.app.handle = recording  # type: ignore[method-assign]
    server.start()
    yield server, str(ca_pem), seen
    # The SDK (requests) leaves the connection of an error response checked out; over TLS
    # uvicorn's graceful shutdown then waits for it until stop()'s 10 s join gives up.
    server.server.force_exit = True
    server.stop()


@pytest.fixture
def sdk(tls_server: tuple[ThreadedServer, str, list[tuple[str, str]]]) -> Iterator[Sdk]:
    server, ca_pem, seen = tls_server
    backend = server.app.backend
    backend.reset()
    backend.bootstrap(admin_token=ADMIN_TOKEN, subscription=server.subscription)
    s = backend.settings
    s.lro_mode, s.lro_polls, s.retry_after, s.page_size = "immediate", 2, 0, 100
    seen.clear()
    # the resource group comes first, through plain HTTPS (the SDK has no group operations)
    resp = httpx.put(
        f"{server.url}/subscriptions/{server.subscription}/resourceGroups/{RG}",
        params={"api-version": "2022-09-01"},
        json={"location": "westus"},
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        verify=ssl.create_default_context(cafile=ca_pem),
    )
    assert resp.status_code == 201, resp.text
    out = Sdk(server, ca_pem, seen)
    yield out
    out.client.close()


def create_registry(sdk: Sdk, name: str = "sdkreg1", sku: str = "Basic") -> Any:
    return sdk.client.registries.begin_create(
        RG, name, RegistryModel(location="westus", sku=Sku(name=sku))
    ).result()


def test_registry_create_update_and_delete(sdk: Sdk) -> None:
    reg = create_registry(sdk)
    assert reg.name == "sdkreg1"
    assert reg.sku.name == "Basic"
    assert reg.properties.provisioning_state == "Succeeded"
    assert reg.properties.login_server == "sdkreg1.azurecr.io"
    assert reg.system_data.created_by == "admin"
    updated = sdk.client.registries.begin_update(
        RG, "sdkreg1", RegistryUpdateParameters(sku=Sku(name="Premium"))
    ).result()
    assert updated.sku.name == "Premium"
    sdk.client.registries.begin_delete(RG, "sdkreg1").result()
    assert [r.name for r in sdk.client.registries.list_by_resource_group(RG)] == []


def test_registry_lists_usages_and_name_check(sdk: Sdk) -> None:
    create_registry(sdk)
    assert [r.name for r in sdk.client.registries.list()] == ["sdkreg1"]
    found = sdk.client.registries.list_usages(RG, "sdkreg1").value
    assert found is not None
    usages = {u.name: u for u in found}
    assert usages["Webhooks"].limit == 2
    status = sdk.client.registries.check_name_availability(
        RegistryNameCheckRequest(name="SDKREG1", type="Microsoft.ContainerRegistry/registries")
    )
    assert (status.name_available, status.reason) == (False, "AlreadyExists")


def test_the_sdk_asks_for_the_arm_scope(sdk: Sdk) -> None:
    create_registry(sdk)
    assert ("https://management.azure.com/.default",) in sdk.credential.scopes


def test_replications_create_list_update_delete(sdk: Sdk) -> None:
    create_registry(sdk, sku="Premium")
    repl = sdk.client.replications.begin_create(
        RG, "sdkreg1", "eastus", Replication(location="eastus")
    ).result()
    assert repl.properties is not None and repl.properties.status is not None
    assert repl.properties.status.display_status == "Ready"
    listed = sorted(str(r.name) for r in sdk.client.replications.list(RG, "sdkreg1"))
    assert listed == ["eastus", "westus"]
    updated = sdk.client.replications.begin_update(
        RG,
        "sdkreg1",
        "eastus",
        ReplicationUpdateParameters(
            properties=ReplicationUpdateParametersProperties(region_endpoint_enabled=False)
        ),
    ).result()
    assert updated.properties is not None
    assert updated.properties.region_endpoint_enabled is False
    sdk.client.replications.begin_delete(RG, "sdkreg1", "eastus").result()
    assert [r.name for r in sdk.client.replications.list(RG, "sdkreg1")] == ["westus"]


def test_home_replica_delete_surfaces_as_http_response_error(sdk: Sdk) -> None:
    create_registry(sdk, sku="Premium")
    with pytest.raises(HttpResponseError) as info:
        sdk.client.replications.begin_delete(RG, "sdkreg1", "westus").result()
    assert info.value.status_code == 400
    assert info.value.error is not None
    assert info.value.error.code == "HomeReplicationCannotBeDeleted"


def test_webhooks_create_ping_callback_config_events_and_delete(sdk: Sdk) -> None:
    create_registry(sdk)
    hook = sdk.client.webhooks.begin_create(
        RG,
        "sdkreg1",
        "sdkhook1",
        WebhookCreateParameters(
            location="westus",
            properties=WebhookPropertiesCreateParameters(service_uri=HOOK_URI, actions=["push"]),
        ),
    ).result()
    assert hook.properties is not None
    assert hook.properties.actions == ["push"]
    assert "serviceUri" not in hook.as_dict().get("properties", {})
    event = sdk.client.webhooks.ping(RG, "sdkreg1", "sdkhook1")
    assert event.id
    config = sdk.client.webhooks.get_callback_config(RG, "sdkreg1", "sdkhook1")
    assert config.service_uri == HOOK_URI
    events = list(sdk.client.webhooks.list_events(RG, "sdkreg1", "sdkhook1"))
    assert [e.id for e in events] == [event.id]
    message = events[0].event_request_message
    assert message is not None and message.content is not None
    assert message.content.action == "ping"
    sdk.client.webhooks.begin_delete(RG, "sdkreg1", "sdkhook1").result()
    assert list(sdk.client.webhooks.list(RG, "sdkreg1")) == []


def test_list_events_pages_post_then_get(sdk: Sdk) -> None:
    create_registry(sdk)
    sdk.client.webhooks.begin_create(
        RG,
        "sdkreg1",
        "sdkhook1",
        WebhookCreateParameters(
            location="westus",
            properties=WebhookPropertiesCreateParameters(service_uri=HOOK_URI, actions=["push"]),
        ),
    ).result()
    ids = [sdk.client.webhooks.ping(RG, "sdkreg1", "sdkhook1").id for _ in range(5)]
    sdk.backend.settings.page_size = 2
    sdk.seen.clear()
    events = [e.id for e in sdk.client.webhooks.list_events(RG, "sdkreg1", "sdkhook1")]
    assert events == list(reversed(ids))
    calls = [m for m, p in sdk.seen if p.endswith("/listEvents")]
    assert calls[0] == "POST" and set(calls[1:]) == {"GET"} and len(calls) >= 3


def test_polls_mode_lro_polls_the_async_operation(sdk: Sdk) -> None:
    sdk.backend.settings.lro_mode = "polls"
    sdk.backend.settings.lro_polls = 3
    started = time.monotonic()
    reg = create_registry(sdk)
    assert time.monotonic() - started < 5
    assert reg.properties.provisioning_state == "Succeeded"
    polls = sdk.paths("/operationStatuses/")
    assert len(polls) == 3
    assert all(p.startswith(f"/subscriptions/{sdk.sub}/resourceGroups/{RG}/") for p in polls)
    assert sdk.seen[-1] == (
        "GET",
        f"/subscriptions/{sdk.sub}/resourceGroups/{RG}/providers/"
        "Microsoft.ContainerRegistry/registries/sdkreg1",
    )


def test_polls_mode_delete_finishes_through_the_sdk(sdk: Sdk) -> None:
    create_registry(sdk)
    sdk.backend.settings.lro_mode = "polls"
    sdk.backend.settings.lro_polls = 2
    sdk.seen.clear()
    sdk.client.registries.begin_delete(RG, "sdkreg1").result()
    assert len(sdk.paths("/operationStatuses/")) + len(sdk.paths("/operationResults/")) >= 2
    with pytest.raises(ResourceNotFoundError):
        sdk.client.registries.get(RG, "sdkreg1")


def test_retry_after_zero_means_the_sdk_polling_interval(sdk: Sdk) -> None:
    sdk.backend.settings.lro_mode = "polls"
    sdk.backend.settings.lro_polls = 4
    started = time.monotonic()
    create_registry(sdk)
    elapsed = time.monotonic() - started
    assert 3 * 0.05 <= elapsed < 2.0  # the first status poll is not delayed


def test_missing_registry_is_resource_not_found_error(sdk: Sdk) -> None:
    with pytest.raises(ResourceNotFoundError) as info:
        sdk.client.registries.get(RG, "nosuchreg")
    assert info.value.status_code == 404
    assert info.value.error is not None
    assert info.value.error.code == "ResourceNotFound"
    assert "nosuchreg" in str(info.value.error.message)


def test_failed_create_is_http_response_error_with_the_arm_code(sdk: Sdk) -> None:
    with pytest.raises(HttpResponseError) as info:
        sdk.client.registries.begin_create(
            RG, "sdkreg1", RegistryModel(location="atlantis", sku=Sku(name="Basic"))
        ).result()
    assert info.value.error is not None
    assert info.value.error.code == "LocationNotAvailableForResourceType"


def test_bad_token_is_client_authentication_error(sdk: Sdk) -> None:
    from azure.core.exceptions import ClientAuthenticationError

    client = ContainerRegistryManagementClient(
        credential=StaticToken("acr_wrong"),
        subscription_id=sdk.sub,
        base_url=sdk.server.url,
        connection_verify=sdk.ca_pem,
        retry_total=0,
    )
    with pytest.raises(ClientAuthenticationError) as info:
        client.registries.get(RG, "sdkreg1")
    assert info.value.error is not None
    assert info.value.error.code == "InvalidAuthenticationToken"
    client.close()
