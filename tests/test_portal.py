"""The portal's map page (/portal) end to end: a real `acrctl server` over TLS with
`--lro-mode seconds`, driven in Debian's headless chromium through Playwright.

Screenshots (before and after a create) go to $ACRCTL_PORTAL_SCREENSHOTS when it is set
(docs/images holds the committed one), else to the test's temporary directory."""

from __future__ import annotations

import base64
import hashlib
import os
import re
import ssl
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright import sync_api

from acrctl.backend.core import Settings
from acrctl.server.serve import ServerConfig, ThreadedServer

CHROMIUM = os.environ.get("ACRCTL_CHROMIUM", "/usr/bin/chromium")
ADMIN = "acr_portal_admin_token_5b0e2c41"
ACR = "Microsoft.ContainerRegistry"
API = "2025-11-01"
AUTHZ_API = "2022-04-01"
READER = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
CONTRIBUTOR = "b24988ac-6180-42a0-ab88-20f7382dd24c"
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
LRO_SECONDS = 1.5

pytestmark = pytest.mark.server


# == the server, the browser and the world ===================================================


@dataclass
class Tls:
    cert: str
    key: str
    ca: str
    spki: str  # base64 SHA-256 of the server certificate's public key (chromium pins it)

    def verify(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.ca)


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> Tls:
    import trustme
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    d = tmp_path_factory.mktemp("portal-tls")
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1")
    cert.private_key_pem.write_to_path(str(d / "key.pem"))
    cert.cert_chain_pems[0].write_to_path(str(d / "cert.pem"))
    ca.cert_pem.write_to_path(str(d / "ca.pem"))
    public = x509.load_pem_x509_certificate(cert.cert_chain_pems[0].bytes()).public_key()
    der = public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return Tls(
        str(d / "cert.pem"),
        str(d / "key.pem"),
        str(d / "ca.pem"),
        base64.b64encode(hashlib.sha256(der).digest()).decode(),
    )


@pytest.fixture(scope="module")
def server(tls: Tls) -> Iterator[ThreadedServer]:
    settings = Settings(lro_mode="seconds", lro_seconds=LRO_SECONDS, retry_after=1)
    cfg = ServerConfig(tls_cert=tls.cert, tls_key=tls.key, admin_token=ADMIN, settings=settings)
    with ThreadedServer(cfg, deliver=False) as srv:
        yield srv


@pytest.fixture(scope="module")
def browser(tls: Tls) -> Iterator[Any]:
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (.ci/run does)")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[f"--ignore-certificate-errors-spki-list={tls.spki}"],
        )
        yield b
        b.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1360, "height": 860})
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.on(
        "console",
        lambda msg: (
            errors.append(msg.text)
            if msg.type == "error" and "Content Security Policy" in msg.text
            else None
        ),
    )
    pg.set_default_timeout(10_000)
    yield pg
    context.close()
    assert errors == []  # no script error, no CSP violation


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    out = Path(os.environ.get("ACRCTL_PORTAL_SCREENSHOTS") or tmp_path)
    out.mkdir(parents=True, exist_ok=True)
    return out


class Arm:
    """The admin's ARM calls that set the scene (made with LRO mode immediate)."""

    def __init__(self, srv: ThreadedServer, tls: Tls) -> None:
        self.srv = srv
        self.sub = srv.subscription
        self.http = httpx.Client(
            base_url=srv.url,
            verify=tls.verify(),
            timeout=10,
            headers={"Authorization": f"Bearer {ADMIN}"},
        )
        self.suffix = uuid.uuid4().hex[:8]

    def request(
        self, method: str, path: str, body: Any = None, version: str = API, token: str | None = None
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}"} if token else None
        return self.http.request(
            method, path, params={"api-version": version}, json=body, headers=headers
        )

    def registry(
        self,
        sku: str = "Premium",
        location: str = "westus",
        replicas: tuple[str, ...] = (),
        tags: dict[str, dict[str, str]] | None = None,
    ) -> dict[str, Any]:
        settings = self.srv.app.backend.settings
        settings.lro_mode = "immediate"
        try:
            rg = f"/subscriptions/{self.sub}/resourceGroups/rg{self.suffix}"
            assert self.request(
                "PUT", rg, {"location": location}, version="2022-09-01"
            ).status_code in (200, 201)
            reg_id = f"{rg}/providers/{ACR}/registries/reg{self.suffix}"
            resp = self.request("PUT", reg_id, {"location": location, "sku": {"name": sku}})
            assert resp.status_code in (200, 201), resp.text
            for region in replicas:
                body = {"location": region, "tags": (tags or {}).get(region, {})}
                resp = self.request("PUT", f"{reg_id}/replications/{region}", body)
                assert resp.status_code in (200, 201), resp.text
        finally:
            settings.lro_mode = "seconds"
        return dict(self.request("GET", reg_id).json())

    def principal(self, role: str) -> tuple[str, str]:
        """A new principal holding `role` at the subscription: (appId, secret)."""
        resp = self.request(
            "POST",
            f"/subscriptions/{self.sub}/providers/Microsoft.Authorization/principals",
            {"displayName": f"p{uuid.uuid4().hex[:6]}"},
            version=AUTHZ_API,
        )
        assert resp.status_code == 201, resp.text
        pid, token = resp.json()["id"], resp.json()["token"]
        scope = f"/subscriptions/{self.sub}"
        resp = self.request(
            "PUT",
            f"{scope}/providers/Microsoft.Authorization/roleAssignments/{uuid.uuid4()}",
            {
                "properties": {
                    "roleDefinitionId": f"{scope}/providers/Microsoft.Authorization/"
                    f"roleDefinitions/{role}",
                    "principalId": pid,
                }
            },
            version=AUTHZ_API,
        )
        assert resp.status_code in (200, 201), resp.text
        return pid, token

    def tenant(self) -> str:
        doc = self.request("GET", f"/subscriptions/{self.sub}", version="2022-12-01").json()
        return str(doc.get("tenantId") or self.sub)

    def replica(self, reg: dict[str, Any], region: str) -> httpx.Response:
        return self.request("GET", f"{reg['id']}/replications/{region}")


@pytest.fixture
def arm(server: ThreadedServer, tls: Tls) -> Iterator[Arm]:
    a = Arm(server, tls)
    yield a
    a.http.close()


def sign_in(page: Any, server: ThreadedServer, token: str, reg: dict[str, Any]) -> None:
    page.goto(f"{server.url}/portal")
    page.fill("#token", token)
    page.click("#token-signin")
    page.wait_for_selector("#workspace:not([hidden])")
    page.select_option("#registry", value=reg["id"])
    home = reg["location"]
    # a Premium registry lists its home replica; Basic/Standard only mark the home region
    kind = "replica" if reg["sku"]["name"] == "Premium" else "unavailable"
    page.wait_for_selector(f'#region-{home}.home[data-kind="{kind}"]')


def region(page: Any, name: str) -> Any:
    return page.locator(f"#region-{name}")


# == the page as served =========================================================================


def test_page_is_served_under_a_strict_content_security_policy(
    server: ThreadedServer, tls: Tls
) -> None:
    resp = httpx.get(f"{server.url}/portal", verify=tls.verify())
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "text/html; charset=utf-8"
    assert resp.headers["content-security-policy"] == CSP
    assert resp.headers["x-content-type-options"] == "nosniff"
    assert resp.headers["strict-transport-security"] == "max-age=31536000"
    scripts = re.findall(r"<script[^>]*>", resp.text)
    assert scripts == ['<script src="/portal/portal.js" defer>']
    assert " style=" not in resp.text and "<style" not in resp.text
    assert resp.text.count('class="region"') == 59  # one cell per region of the catalog


@pytest.mark.parametrize(
    ("name", "media"),
    [
        ("portal.js", "text/javascript; charset=utf-8"),
        ("portal.css", "text/css; charset=utf-8"),
        ("icon.svg", "image/svg+xml"),
    ],
)
def test_assets_are_served_with_their_media_type(
    server: ThreadedServer, tls: Tls, name: str, media: str
) -> None:
    resp = httpx.get(f"{server.url}/portal/{name}", verify=tls.verify())
    assert (resp.status_code, resp.headers["content-type"]) == (200, media)
    assert resp.headers["content-security-policy"] == CSP


def test_unknown_asset_is_404(server: ThreadedServer, tls: Tls) -> None:
    resp = httpx.get(f"{server.url}/portal/..%2Fserve.py", verify=tls.verify())
    assert resp.status_code == 404
    assert resp.json() == {
        "error": {"code": "NotFound", "message": "The portal has no file '..%2Fserve.py'."}
    }


def test_portal_is_off_with_its_setting(server: ThreadedServer, tls: Tls) -> None:
    server.app.backend.settings.portal_enabled = False
    try:
        resp = httpx.get(f"{server.url}/portal", verify=tls.verify())
    finally:
        server.app.backend.settings.portal_enabled = True
    assert resp.status_code == 404
    assert resp.json() == {
        "error": {
            "code": "PortalDisabled",
            "message": "The portal is off on this server (setting portal_enabled = false).",
        }
    }


def test_permissions_list_the_callers_own_roles_at_a_scope(arm: Arm) -> None:
    reg = arm.registry()
    _, reader = arm.principal(READER)
    resp = arm.request(
        "GET",
        f"{reg['id']}/providers/Microsoft.Authorization/permissions",
        version=AUTHZ_API,
        token=reader,
    )
    assert resp.status_code == 200, resp.text
    assert resp.json() == {
        "value": [
            {"actions": ["*/read"], "notActions": [], "dataActions": [], "notDataActions": []}
        ]
    }


# == in the browser =============================================================================


def test_sign_in_as_a_service_principal_and_create_a_replica_that_turns_ready(
    arm: Arm, server: ThreadedServer, page: Any, shots: Path
) -> None:
    reg = arm.registry(replicas=("northeurope",))
    app_id, secret = arm.principal(CONTRIBUTOR)
    page.goto(f"{server.url}/portal")
    page.fill("#tenant", arm.tenant())
    page.fill("#app-id", app_id)
    page.fill("#secret", secret)
    page.click("#sp-signin")
    page.wait_for_selector("#workspace:not([hidden])")
    page.select_option("#registry", value=reg["id"])
    page.wait_for_selector('#region-northeurope[data-kind="replica"][data-status="Ready"]')
    page.evaluate("window.__noReload = true")
    region(page, "eastus").click()
    page.check("#create-zone")
    page.screenshot(path=str(shots / "portal-before-create.png"))
    page.click("#create")
    page.wait_for_selector('#region-eastus[data-kind="replica"][data-status="Provisioning"]')
    page.wait_for_selector(
        '#region-eastus[data-kind="replica"][data-status="Ready"]',
        timeout=LRO_SECONDS * 1000 + 8000,
    )
    assert page.evaluate("window.__noReload") is True
    assert page.text_content("#d-status") == "Ready: The replication is ready."
    assert page.text_content("#d-zone") == "Enabled"
    page.screenshot(path=str(shots / "portal-after-create.png"))
    props = arm.replica(reg, "eastus").json()["properties"]
    assert (props["provisioningState"], props["zoneRedundancy"]) == ("Succeeded", "Enabled")


def test_bearer_token_sign_in_shows_the_servers_refusal(
    server: ThreadedServer, tls: Tls, page: Any
) -> None:
    page.goto(f"{server.url}/portal")
    page.fill("#token", "not-a-token")
    page.click("#token-signin")
    page.wait_for_selector("#signin-error:not([hidden])")
    assert (
        page.text_content("#signin-error")
        == httpx.get(
            f"{server.url}/subscriptions?api-version=2022-12-01",
            headers={"Authorization": "Bearer not-a-token"},
            verify=tls.verify(),
        ).json()["error"]["message"]
    )
    assert page.is_hidden("#workspace")


def test_toggle_routing(arm: Arm, server: ThreadedServer, page: Any) -> None:
    reg = arm.registry(replicas=("eastus",))
    sign_in(page, server, ADMIN, reg)
    region(page, "eastus").click()
    assert page.text_content("#d-routing") == "On (regional endpoint enabled)"
    page.click("#toggle-routing")
    sync_api.expect(page.locator("#d-routing")).to_have_text("Off (regional endpoint disabled)")
    assert page.text_content("#toggle-routing") == "Enable routing"
    assert arm.replica(reg, "eastus").json()["properties"]["regionEndpointEnabled"] is False


def test_deleting_the_home_replica_shows_the_servers_refusal(
    arm: Arm, server: ThreadedServer, page: Any
) -> None:
    reg = arm.registry()
    sign_in(page, server, ADMIN, reg)
    region(page, "westus").click()
    page.click("#delete")
    page.click("#confirm-yes")
    page.wait_for_selector("#message:not([hidden])")
    assert page.text_content("#message-code") == "HomeReplicationCannotBeDeleted:"
    assert page.text_content("#message-text") == (
        "The replication 'westus' is in the registry's home region 'westus' and cannot be "
        "deleted. Delete the registry instead."
    )
    assert arm.replica(reg, "westus").status_code == 200


def test_delete_a_replica_after_confirming(arm: Arm, server: ThreadedServer, page: Any) -> None:
    reg = arm.registry(replicas=("japaneast",))
    sign_in(page, server, ADMIN, reg)
    region(page, "japaneast").focus()
    page.keyboard.press("Enter")
    page.click("#delete")
    assert page.text_content("#confirm-text") == (
        f"Delete the replication japaneast of {reg['name']}? Its region stops serving the registry."
    )
    page.click("#confirm-yes")
    page.wait_for_selector(
        '#region-japaneast[data-kind="available"]', timeout=LRO_SECONDS * 1000 + 8000
    )
    assert arm.replica(reg, "japaneast").status_code == 404


def test_cancelled_confirmation_deletes_nothing(
    arm: Arm, server: ThreadedServer, page: Any
) -> None:
    reg = arm.registry(replicas=("japaneast",))
    sign_in(page, server, ADMIN, reg)
    region(page, "japaneast").click()
    page.click("#delete")
    page.keyboard.press("Escape")
    page.wait_for_selector("#confirm:not([open])", state="attached")
    assert arm.replica(reg, "japaneast").status_code == 200


def test_a_reader_sees_the_map_with_no_enabled_write_control(
    arm: Arm, server: ThreadedServer, page: Any
) -> None:
    reg = arm.registry(replicas=("eastus",))
    _, reader = arm.principal(READER)
    sign_in(page, server, reader, reg)
    page.wait_for_selector('#region-eastus[data-kind="replica"]')
    region(page, "northeurope").click()
    assert page.is_visible("#create") and page.is_disabled("#create")
    region(page, "eastus").click()
    assert page.is_disabled("#toggle-routing") and page.is_disabled("#delete")
    assert page.locator("[data-write]:enabled").count() == 0


def test_a_readers_forged_write_is_refused_by_the_server(
    arm: Arm, server: ThreadedServer, page: Any
) -> None:
    reg = arm.registry()
    reader_id, reader = arm.principal(READER)
    sign_in(page, server, reader, reg)
    url = f"{reg['id']}/replications/eastus?api-version={API}"
    status, body = page.evaluate(
        """async ([url, token]) => {
        const resp = await fetch(url, {method: "PUT", headers: {
            Authorization: `Bearer ${token}`, "Content-Type": "application/json"},
            body: JSON.stringify({location: "eastus"})});
        return [resp.status, await resp.json()];
    }""",
        [url, reader],
    )
    assert status == 403
    name = arm.request(
        "GET", "/providers/Microsoft.Authorization/whoami", version=AUTHZ_API, token=reader
    ).json()["displayName"]
    assert body == {
        "error": {
            "code": "AuthorizationFailed",
            "message": (
                f"The client '{name}' with object id '{reader_id}' does not have authorization to "
                f"perform action '{ACR}/registries/replications/write' over scope "
                f"'{reg['id']}/replications/eastus' or the scope is invalid. "
                "If access was recently granted, please refresh your credentials."
            ),
        }
    }
    assert arm.replica(reg, "eastus").status_code == 404


def test_a_tag_holding_html_is_shown_as_text(arm: Arm, server: ThreadedServer, page: Any) -> None:
    html = '<img src=x id=injected><b id="bold">bold</b>'
    reg = arm.registry(replicas=("eastus",), tags={"eastus": {"note": html}})
    sign_in(page, server, ADMIN, reg)
    region(page, "eastus").click()
    assert page.text_content("#d-tags") == f"note: {html}"
    assert page.locator("#injected, #bold").count() == 0


def test_a_standard_registry_shows_every_region_unavailable(
    arm: Arm, server: ThreadedServer, page: Any
) -> None:
    reg = arm.registry(sku="Standard")
    sign_in(page, server, ADMIN, reg)
    assert page.locator('.region[data-kind="available"]').count() == 0
    region(page, "eastus").click()
    assert page.text_content("#d-state") == (
        f"Geo-replication needs a Premium registry; {reg['name']} is Standard."
    )


def test_regions_are_listed_as_text_and_reachable_by_keyboard(
    arm: Arm, server: ThreadedServer, page: Any
) -> None:
    reg = arm.registry(replicas=("eastus",))
    sign_in(page, server, ADMIN, reg)
    item = page.locator('#region-list button[data-region="eastus"]')
    # waits for this registry's replicas: the home region alone can match the map of another
    # registry with the same home, drawn before the selection took effect
    sync_api.expect(item).to_have_text("East USreplica, Ready")
    assert region(page, "westus").get_attribute("aria-label") == (
        "West US: home region, replica, Ready"
    )
    region(page, "brazilsouth").focus()
    page.keyboard.press(" ")
    assert page.text_content("#d-title") == "Brazil South"
    assert page.get_attribute("#region-brazilsouth", "aria-pressed") == "true"


def test_readable_in_a_narrow_window(arm: Arm, server: ThreadedServer, page: Any) -> None:
    reg = arm.registry()
    page.set_viewport_size({"width": 380, "height": 800})
    sign_in(page, server, ADMIN, reg)
    assert page.evaluate("document.documentElement.scrollWidth") <= 380
    map_box, list_box = (
        page.locator("#map").bounding_box(),
        page.locator("#region-list").bounding_box(),
    )
    assert list_box["y"] > map_box["y"] + map_box["height"]  # stacked, not squeezed
