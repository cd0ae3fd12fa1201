"""Side by side: the same commands through the real az (2.91.0, .venv-az) and through
acrctl, against one `acrctl server`, as the same service principal. Where both print the
same server answer, stdout must be byte-identical, in json and in table output; an error
prints the same lines and exits with the same code. The differences that remain are listed
in docs/azure-cli.md ("Differences that remain").

Select with `pytest -m az`. Without .venv-az the tests fail, saying how to install it."""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest

from acrctl.cli.az_models import az_result

pytest.register_assert_rewrite("az_harness")
pytest_plugins = ("az_harness",)

from az_harness import Az, AzServer, Result, require_az  # noqa: E402

pytestmark = pytest.mark.az

GROUP, REGISTRY, HOOK = "sbsrg1", "sbsreg1", "sbshook1"
G = ("-g", GROUP)
R = ("-r", REGISTRY, *G)

# az acr <command> ... == acrctl <command> ...
COMMANDS = {
    "show": ("show", "-n", REGISTRY, *G),
    "show-without-g": ("show", "-n", REGISTRY),
    "list": ("list", *G),
    "list-subscription": ("list",),
    "replication-list": ("replication", "list", *R),
    "replication-show": ("replication", "show", "-n", "eastus", *R),
    "webhook-list": ("webhook", "list", *R),
    "webhook-show": ("webhook", "show", "-n", HOOK, *R),
    "show-usage": ("show-usage", "-n", REGISTRY, *G),
    "check-name-taken": ("check-name", "-n", REGISTRY),
    "check-name-free": ("check-name", "-n", "sbsfreename1"),
}


@pytest.fixture(scope="module")
def same_server(az: Az, az_server: AzServer) -> AzServer:
    """A Premium registry with a replica in eastus and a webhook, made through az."""
    az.run("group", "create", "-n", GROUP, "-l", "westus", "-o", "none").ok()
    az.run("acr", "create", "-n", REGISTRY, *G, "--sku", "Premium", "-o", "none").ok()
    az.run("acr", "replication", "create", *R, "-l", "eastus", "-o", "none").ok()
    az.run(
        "acr",
        "webhook",
        "create",
        "-n",
        HOOK,
        *R,
        "--uri",
        "http://127.0.0.1:9/hook",
        "--actions",
        "push",
        "delete",
        "-o",
        "none",
    ).ok()
    return az_server


def both(az: Az, server: AzServer, token: str, *args: str) -> tuple[Result, Result]:
    """`az acr ARGS` and `acrctl ARGS`, as the same principal."""
    return az.run("acr", *args), server.acrctl(*args, token=token)


@pytest.mark.parametrize("fmt", ["json", "table"])
@pytest.mark.parametrize("command", list(COMMANDS))
def test_stdout_is_identical(
    az: Az, same_server: AzServer, az_principal: dict[str, str], command: str, fmt: str
) -> None:
    by_az, by_acrctl = both(
        az, same_server, az_principal["password"], *COMMANDS[command], "-o", fmt
    )
    by_az.ok()
    assert (by_acrctl.rc, by_acrctl.stdout) == (0, by_az.stdout), by_acrctl.describe()


def test_an_arm_error_prints_the_same_lines_and_exit_code(
    az: Az, same_server: AzServer, az_principal: dict[str, str]
) -> None:
    """acrctl adds one line, the request id to look up in the server's log."""
    by_az, by_acrctl = both(
        az, same_server, az_principal["password"], "show", "-n", "sbsnosuchreg", *G
    )
    *lines, request_id = by_acrctl.stderr.splitlines(keepends=True)
    assert (by_acrctl.rc, by_acrctl.stdout, "".join(lines)) == (3, "", by_az.stderr)
    assert (by_az.rc, request_id.startswith("Request id: ")) == (3, True)


def test_an_upper_case_name_fails_as_in_az(
    az: Az, same_server: AzServer, az_principal: dict[str, str]
) -> None:
    by_az, by_acrctl = both(
        az, same_server, az_principal["password"], "create", "-n", "Bad_Name", *G, "--sku", "Basic"
    )
    assert (by_acrctl.rc, by_acrctl.stdout, by_acrctl.stderr) == (
        by_az.rc,
        by_az.stdout,
        by_az.stderr,
    )
    assert by_az.rc == 1


# -- acrctl.cli.az_models against the SDK az itself uses -------------------------------------
# Run by .venv-az's python: each case read into az's SDK model, turned into az's dict as az
# does (todict with its post-processor, then the resourceGroup transform), printed as JSON.
AS_AZ = """
import json, sys
from azure.cli.core.commands import AzCliCommandInvoker
from azure.cli.core.commands.transform import _add_resource_group
from azure.cli.core.util import todict
from azure.mgmt.containerregistry import models
from azure.mgmt.resource.resources.v2024_11_01.models import ResourceGroup

def read(model, doc):
    if model == "ResourceGroup":
        return ResourceGroup.deserialize(doc)
    return getattr(models, model)(doc)

out = []
for model, doc in json.load(sys.stdin):
    obj = [read(model, d) for d in doc] if isinstance(doc, list) else read(model, doc)
    result = todict(obj, AzCliCommandInvoker.remove_additional_prop_layer)
    _add_resource_group(result)
    out.append(result)
json.dump(out, sys.stdout)
"""

_ID = "/subscriptions/s/resourceGroups/rg1/providers/Microsoft.ContainerRegistry/registries/r1"
_FULL_REGISTRY: dict[str, Any] = {
    "id": _ID,
    "name": "r1",
    "type": "Microsoft.ContainerRegistry/registries",
    "location": "westus",
    "tags": {"a": "b"},
    "etag": "e",
    "sku": {"name": "Premium"},
    "identity": {
        "type": "UserAssigned",
        "principalId": "p",
        "userAssignedIdentities": {"/x/y": {"principalId": "a", "clientId": "b"}},
    },
    "properties": {
        "creationDate": "2021-06-15T21:38:26.1537861Z",
        "unknownToTheModel": 1,
        "status": {"displayStatus": "ok", "timestamp": "2021-06-15T21:40:12.000000Z"},
        "networkRuleSet": {
            "defaultAction": "Deny",
            "ipRules": [{"action": "Allow", "value": "1.2.3.4"}],
            "virtualNetworkRules": [{"action": "Allow", "id": "/v/s"}],
        },
        "policies": {
            "azureADAuthenticationAsArmPolicy": {"status": "enabled"},
            "softDeletePolicy": {
                "retentionDays": 7,
                "status": "disabled",
                "lastUpdatedTime": "2021-06-15T21:40:12Z",
            },
        },
        "encryption": {
            "status": "enabled",
            "keyVaultProperties": {
                "keyIdentifier": "k",
                "lastKeyRotationTimestamp": "2021-06-15T21:40:12.5-05:30",
            },
        },
        "privateEndpointConnections": [
            {
                "id": f"{_ID}/privateEndpointConnections/pe",
                "name": "pe",
                "properties": {
                    "privateEndpoint": {
                        "id": "/subscriptions/s/resourceGroups/rg3/providers/Microsoft.Network/"
                        "privateEndpoints/pe1"
                    },
                    "privateLinkServiceConnectionState": {"status": "Approved"},
                },
            }
        ],
    },
}
CASES: list[tuple[str, Any]] = [
    ("Registry", _FULL_REGISTRY),
    ("Registry", {"id": _ID, "name": "r1", "location": "westus", "sku": {"name": "Basic"}}),
    (
        "Replication",
        {
            "id": f"{_ID}/replications/eastus",
            "location": "eastus",
            "properties": {"status": {"timestamp": "2026-12-02T10:40:23.1Z"}},
        },
    ),
    ("Webhook", [{"id": f"{_ID}/webhooks/h", "properties": {"actions": ["push"]}}]),
    ("RegistryNameStatus", {"nameAvailable": True}),
    ("RegistryUsageListResult", {"value": [{"name": "Size", "limit": 5, "unit": "Bytes"}]}),
    ("CallbackConfig", {"serviceUri": "http://x"}),
    ("EventInfo", {"id": "e1"}),
    (
        "Event",
        {
            "id": "e1",
            "eventRequestMessage": {
                "content": {
                    "timestamp": "2026-12-02T10:40:23Z",
                    "action": "push",
                    "target": {"repository": "r", "tag": "t", "size": 3},
                    "source": {"addr": "a", "instanceID": "i"},
                }
            },
            "eventResponseMessage": {"statusCode": "200"},
        },
    ),
    (
        "ResourceGroup",
        {
            "id": "/subscriptions/s/resourceGroups/rg1",
            "name": "rg1",
            "location": "westus",
            "unknownTop": 1,
            "properties": {"provisioningState": "Succeeded", "unknownIn": 2},
        },
    ),
]


def test_az_models_print_what_the_sdk_prints() -> None:
    python = require_az().parent / "python"  # the interpreter of .venv-az
    proc = subprocess.run(
        [str(python), "-c", AS_AZ],
        input=json.dumps(CASES),
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert json.loads(proc.stdout) == [az_result(model, doc) for model, doc in CASES]
