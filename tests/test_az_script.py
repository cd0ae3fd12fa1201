"""An az-style bash script (tests/scripts/az_style.sh) runs unchanged on the installed
`acrctl` entry point: the drop-in promise, end to end, in a subprocess."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

SCRIPT = Path(__file__).parent / "scripts" / "az_style.sh"
BASH = shutil.which("bash")

pytestmark = pytest.mark.skipif(BASH is None, reason="needs bash")


def acrctl_bin() -> str:
    """The console script next to this interpreter (the venv's), else the one on PATH."""
    found = shutil.which("acrctl", path=os.path.dirname(sys.executable)) or shutil.which("acrctl")
    if found is None:
        pytest.skip("the acrctl entry point is not installed")
    return found


def script_env(base: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("ACRCTL_") and k not in ("NO_COLOR", "FORCE_COLOR")
    }
    env.update(
        ACR=acrctl_bin(),
        ACRCTL_STATE=str(base / "script-state.db"),
        ACRCTL_CONFIG_DIR=str(base / "script-config"),
        PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring",
    )
    return env


@pytest.fixture(scope="module")
def ran(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], Path]:
    from acrctl.testing import WebhookReceiver

    base = tmp_path_factory.mktemp("az-script")
    out = base / "out"
    out.mkdir()
    with WebhookReceiver() as rx:  # the ping must be delivered (`webhook ping` checks)
        env = {**script_env(base), "HOOK_URI": rx.url("/hook")}
        proc = subprocess.run(
            [str(BASH), str(SCRIPT), str(out)],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    return proc, out


def load(out: Path, name: str) -> Any:
    return json.loads((out / name).read_text())


def test_script_succeeds(ran: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    proc, _ = ran
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "az-style script finished\n"
    assert "ERROR" not in proc.stderr


def test_script_only_warns_about_the_deprecated_alias(
    ran: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    assert ran[0].stderr == (
        "WARNING: Option '--region-endpoint-enabled' has been deprecated "
        "and will be removed in a future release. Use "
        "'--global-endpoint-routing' instead.\n"
    )


def test_upgrade_to_premium(ran: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    assert (ran[1] / "sku.txt").read_text() == "Premium\n"


def test_replication_list_holds_home_and_eastus(
    ran: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    reps = load(ran[1], "replications.json")
    assert [(r["name"], r["provisioningState"], r["status"]["displayStatus"]) for r in reps] == [
        ("westus", "Succeeded", "Ready"),
        ("eastus", "Succeeded", "Ready"),
    ]
    assert all(r["resourceGroup"] == "azstylegroup" for r in reps)


def test_replication_list_table(ran: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    lines = (ran[1] / "replications.txt").read_text().splitlines()
    assert lines[0] == "NAME    LOCATION    PROVISIONING STATE    STATUS    REGION ENDPOINT ENABLED"
    assert [line.split()[0] for line in lines[2:]] == ["westus", "eastus"]


def test_replication_update_via_the_deprecated_alias(
    ran: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    doc = load(ran[1], "replication-update.json")
    assert (doc["name"], doc["regionEndpointEnabled"]) == ("eastus", False)


def test_replication_delete(ran: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    assert (ran[1] / "after-delete.txt").read_text() == "westus\n"


def test_ping_event_is_listed(ran: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    ping = load(ran[1], "ping.json")
    events = load(ran[1], "events.json")
    assert list(ping) == ["id"]
    assert events[0]["id"] == ping["id"]
    assert events[0]["eventRequestMessage"]["content"]["action"] == "ping"


def test_events_mask_header_values(ran: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    assert "000000" not in (ran[1] / "events.json").read_text()


def test_get_config(ran: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    config = load(ran[1], "config.json")
    assert config["customHeaders"] == {"Authorization": "Basic 000000"}
    assert config["serviceUri"].startswith("http://127.0.0.1:")  # the receiver's
    assert config["serviceUri"].endswith("/hook")


def test_webhook_show_hides_secrets(ran: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    text = (ran[1] / "webhook.json").read_text()
    assert json.loads(text)["actions"] == ["push"]
    assert "127.0.0.1" not in text and "000000" not in text


def test_webhook_delete(ran: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    assert load(ran[1], "webhooks-after.json") == []


def test_script_stops_at_the_first_failure(tmp_path: Path) -> None:
    """set -euo pipefail: a failing step ends the script with the step's exit code."""
    out = tmp_path / "out"
    out.mkdir()
    env = script_env(tmp_path)
    env["GROUP"] = f"{env['ACR']} nosuchcommand"
    proc = subprocess.run(
        [str(BASH), str(SCRIPT), str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert list(out.iterdir()) == []
