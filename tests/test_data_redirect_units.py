"""Which blob GETs the front answers with a 307 and to which region (acrctl.dataplane.redirect;
issue 17): a stand-in plane with real keys and region storage directories, no HTTP."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest

from acrctl.backend.core import Settings
from acrctl.dataplane import pki, redirect, routing

DIGEST = "sha256:" + "ab" * 32
REPO = "contoso/web/app"


class Geo:
    def __init__(self, down: set[str]) -> None:
        self.down = down
        self.regions: dict[tuple[str | None, str | None], str] = {}  # client -> its region
        self.asked: list[tuple[str, str | None, str | None]] = []

    def healthy(self, region: str) -> bool:
        return region not in self.down

    def origin(self, registry: str, address: str | None, hint: str | None) -> str | None:
        self.asked.append((registry, address, hint))
        return self.regions.get((address, hint), "eastus")


class Plane:
    """What redirect.data_region reads of a DataPlane."""

    issuer, service = "acrctl", "acrctl-dataplane"

    def __init__(self, tmp: Path, enabled: bool = True, external: tuple[str, ...] = ()) -> None:
        self.keys = pki.load_or_create(str(tmp / "pki"))
        self.tmp, self.enabled, self.external = tmp, enabled, external
        self.geo = Geo(set())
        self.settings = Settings()

    def data_endpoints(self, registry: str) -> bool:
        return self.enabled and registry == "contoso"

    def data_root(self, region: str) -> str | None:
        return None if region in self.external else str(self.tmp / region)

    def holds(self, region: str, repo: str = REPO, digest: str = DIGEST) -> None:
        hx = digest.split(":")[1]
        v2 = self.tmp / region / "docker" / "registry" / "v2"
        link = v2 / "repositories" / repo / "_layers" / "sha256" / hx / "link"
        data = v2 / "blobs" / "sha256" / hx[:2] / hx / "data"
        for f, body in ((link, digest), (data, "blob")):
            os.makedirs(f.parent, exist_ok=True)
            f.write_text(body)

    def token(self, name: str = REPO, actions: tuple[str, ...] = ("pull",), **over: Any) -> str:
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "sub": "someone",
            "aud": self.service,
            "iat": now,
            "nbf": now - 5,
            "exp": now + 600,
            "access": [{"type": "repository", "name": name, "actions": list(actions)}],
        }
        return self.keys.sign({**claims, **over})


TARGET = routing.Target("contoso", "web/app", REPO, True)


CLIENT = redirect.Client("10.1.0.7", None, False)  # a client closing each connection (skopeo)
KEEPING = redirect.Client("10.1.0.7", None, True)


def region(
    plane: Plane,
    token: str,
    regions: list[str],
    target: routing.Target = TARGET,
    client: redirect.Client = CLIENT,
) -> Any:
    return redirect.data_region(plane, target, regions, token, DIGEST, client)  # type: ignore[arg-type]


@pytest.fixture
def plane(tmp_path: Path) -> Plane:
    return Plane(tmp_path)


def test_the_first_region_of_the_plan_holding_the_blob_serves_it(plane: Plane) -> None:
    plane.holds("eastus")
    plane.holds("westus")
    plane.geo.regions[CLIENT[:2]] = "westus"
    assert region(plane, plane.token(), ["westus", "eastus"]) == "westus"


def test_the_clients_region_is_asked_with_its_address_and_hint(plane: Plane) -> None:
    plane.holds("eastus")
    client = redirect.Client("10.2.0.9", "westus", False)
    assert region(plane, plane.token(), ["eastus"], client=client) == "eastus"
    assert plane.geo.asked == [("contoso", "10.2.0.9", "westus")]


def test_a_blob_in_another_region_than_a_closing_clients_is_proxied(plane: Plane) -> None:
    plane.holds("westus")
    assert region(plane, plane.token(), ["westus", "eastus"]) is None


def test_a_client_whose_region_has_no_replica_is_proxied(plane: Plane) -> None:
    plane.holds("eastus")
    plane.geo.regions[CLIENT[:2]] = "westeurope"
    assert region(plane, plane.token(), ["eastus"]) is None


def test_a_client_keeping_its_connection_is_redirected_to_another_region(plane: Plane) -> None:
    plane.holds("westus")
    assert region(plane, plane.token(), ["westus", "eastus"], client=KEEPING) == "westus"
    assert plane.geo.asked == []


def test_policy_client_region_proxies_even_a_client_keeping_its_connection(
    plane: Plane,
) -> None:
    plane.holds("westus")
    plane.settings.dataplane_data_redirect = "client-region"
    assert region(plane, plane.token(), ["westus", "eastus"], client=KEEPING) is None


@pytest.mark.parametrize(
    ("version", "connection", "keeps"),
    [
        ("1.1", None, True),
        ("1.1", b"close", False),
        ("1.1", b"Keep-Alive, Close", False),
        ("1.1", b"keep-alive", True),
        ("1.0", None, False),
        ("1.0", b"Keep-Alive", True),
    ],
)
def test_a_client_keeps_its_connection_unless_it_says_close(
    version: str, connection: bytes | None, keeps: bool
) -> None:
    headers = [(b"host", b"x")] + ([(b"connection", connection)] if connection else [])
    assert redirect.keeps_alive({"http_version": version, "headers": headers}) is keeps


def test_policy_always_redirects_to_another_region_than_the_clients(plane: Plane) -> None:
    plane.holds("westus")
    plane.settings.dataplane_data_redirect = "always"
    assert region(plane, plane.token(), ["westus", "eastus"]) == "westus"
    assert plane.geo.asked == []


def test_a_region_without_the_blob_yet_is_passed_over(plane: Plane) -> None:
    plane.holds("eastus")
    assert region(plane, plane.token(), ["westus", "eastus"]) == "eastus"


def test_an_unhealthy_region_is_passed_over(plane: Plane) -> None:
    plane.holds("eastus")
    plane.holds("westus")
    plane.geo.down.add("westus")
    assert region(plane, plane.token(), ["westus", "eastus"]) == "eastus"


def test_a_blob_of_another_repository_is_not_redirected(plane: Plane) -> None:
    plane.holds("eastus", repo="contoso/other")
    assert region(plane, plane.token(), ["eastus"]) is None


def test_an_external_region_first_means_proxy(tmp_path: Path) -> None:
    plane = Plane(tmp_path, external=("westus",))
    plane.holds("eastus")
    assert region(plane, plane.token(), ["westus", "eastus"]) is None


def test_data_endpoints_off_means_proxy(tmp_path: Path) -> None:
    plane = Plane(tmp_path, enabled=False)
    plane.holds("eastus")
    assert region(plane, plane.token(), ["eastus"]) is None


@pytest.mark.parametrize(
    "claims",
    [
        {"name": "contoso/other"},
        {"actions": ("push",)},
        {"aud": "someone-else"},
        {"iss": "someone-else"},
        {"exp": 1000},
    ],
    ids=["other repository", "push only", "other audience", "other issuer", "expired"],
)
def test_a_token_that_does_not_grant_pull_means_proxy(plane: Plane, claims: dict[str, Any]) -> None:
    plane.holds("eastus")
    name = claims.pop("name", REPO)
    actions = claims.pop("actions", ("pull",))
    assert region(plane, plane.token(name, actions, **claims), ["eastus"]) is None


def test_a_token_signed_by_another_key_means_proxy(plane: Plane, tmp_path: Path) -> None:
    plane.holds("eastus")
    stranger = pki.load_or_create(str(tmp_path / "other-pki"))
    forged = stranger.sign(
        {
            "iss": "acrctl",
            "aud": "acrctl-dataplane",
            "exp": int(time.time()) + 600,
            "access": [{"type": "repository", "name": REPO, "actions": ["pull"]}],
        }
    )
    assert region(plane, forged, ["eastus"]) is None


def test_a_wildcard_grant_is_a_pull(plane: Plane) -> None:
    plane.holds("eastus")
    assert region(plane, plane.token(actions=("*",)), ["eastus"]) == "eastus"


def test_data_hosts_name_registry_and_region() -> None:
    r = routing.Router("acrctl.test:8444")
    assert r.data_host("contoso.eastus.data.acrctl.test:8444") == ("contoso", "eastus")
    assert r.data_host("contoso.acrctl.test:8444") is None
    assert r.data_host("contoso.eastus.geo.acrctl.test:8444") is None
    assert r.registry_of_host("contoso.eastus.data.acrctl.test:8444") is None
