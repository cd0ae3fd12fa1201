"""`show-endpoints` side by side with the real az (issue 17): a Premium registry with a
replica and data endpoints enabled through az; az and acrctl print the same stdout, in json
and in table output. Select with `pytest -m az` (needs .venv-az, as test_az_side_by_side)."""

from __future__ import annotations

import pytest

pytest.register_assert_rewrite("az_harness")
pytest_plugins = ("az_harness",)

from az_harness import Az, AzServer  # noqa: E402

pytestmark = pytest.mark.az

GROUP, REGISTRY = "sbsrg2", "sbsdata1"
G = ("-g", GROUP)


@pytest.fixture(scope="module")
def with_data_endpoints(az: Az, az_server: AzServer) -> AzServer:
    az.run("group", "create", "-n", GROUP, "-l", "westus", "-o", "none").ok()
    az.run("acr", "create", "-n", REGISTRY, *G, "--sku", "Premium", "-o", "none").ok()
    az.run("acr", "replication", "create", "-r", REGISTRY, *G, "-l", "eastus", "-o", "none").ok()
    az.run("acr", "update", "-n", REGISTRY, "--data-endpoint-enabled", "true", "-o", "none").ok()
    return az_server


@pytest.mark.parametrize("fmt", ["json", "table"])
def test_show_endpoints_stdout_is_identical(
    az: Az, with_data_endpoints: AzServer, az_principal: dict[str, str], fmt: str
) -> None:
    args = ("show-endpoints", "-n", REGISTRY, *G, "-o", fmt)
    by_az = az.run("acr", *args)
    by_acrctl = with_data_endpoints.acrctl(*args, token=az_principal["password"])
    by_az.ok()
    assert "sbsdata1.eastus.data." in by_az.stdout
    assert (by_acrctl.rc, by_acrctl.stdout) == (0, by_az.stdout), by_acrctl.describe()
