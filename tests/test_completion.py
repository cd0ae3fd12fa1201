"""Shell completion: `acrctl completion`, the shipped scripts, and live names that are fast
and silent when the backend is unreachable."""

from __future__ import annotations

import importlib.util
import os
import shlex
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.shell_completion import ShellComplete, get_completion_class
from click.testing import CliRunner

from acrctl.cli import completion_values
from acrctl.cli.completion import COMPLETE_VAR, SHELLS, script
from acrctl.cli.docs import COMPLETIONS, ROOT
from acrctl.cli.main import cli
from acrctl.testing import AcrctlMock

ACRCTL = Path(sys.executable).with_name("acrctl")
BASH = shutil.which("bash")


def has_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ImportError:
        return False


def complete(line: str) -> list[str]:
    """Click's completions for `line` (completing its last word; a trailing space means
    an empty word), in process."""
    words = shlex.split(line)
    incomplete = "" if line.endswith(" ") else words.pop()
    comp = ShellComplete(cli, {}, "acrctl", COMPLETE_VAR)
    return [str(item.value) for item in comp.get_completions(words[1:], incomplete)]


@pytest.fixture
def seeded(acrctl_mock: AcrctlMock) -> AcrctlMock:
    """A Premium registry myreg1 in rg1 (westus) with a replication in eastus."""
    client = acrctl_mock.client()
    client.create_group("rg1", "westus")
    client.create_registry(
        "rg1", "myreg1", {"location": "westus", "sku": {"name": "Premium"}, "properties": {}}
    )
    client.create_registry(
        "rg1", "other22", {"location": "westus", "sku": {"name": "Basic"}, "properties": {}}
    )
    client.create_replication("rg1", "myreg1", "eastus", {"location": "eastus", "properties": {}})
    client.close()
    return acrctl_mock


# -- acrctl completion <shell> -------------------------------------------------------------------
@pytest.mark.parametrize("shell", SHELLS)
def test_completion_prints_clicks_script(shell: str) -> None:
    result = CliRunner().invoke(cli, ["completion", shell])
    assert result.exit_code == 0
    cls = get_completion_class(shell)
    assert cls is not None
    assert result.stdout == cls(cli, {}, "acrctl", COMPLETE_VAR).source()
    assert "_acrctl_completion" in result.stdout and COMPLETE_VAR in result.stdout


def test_completion_rejects_unknown_shell() -> None:
    result = CliRunner().invoke(cli, ["completion", "ksh"])
    assert result.exit_code == 2
    assert "'ksh' is not one of 'bash', 'zsh', 'fish'" in result.stderr


@pytest.mark.parametrize("shell", SHELLS)
def test_shipped_script_is_current(shell: str) -> None:
    shipped = (ROOT / COMPLETIONS[shell]).read_text(encoding="utf-8")
    assert shipped == script(shell), "run: python -m acrctl.cli.docs --write"


def test_source_env_var_matches_completion_command() -> None:
    env = {**os.environ, COMPLETE_VAR: "bash_source"}
    proc = subprocess.run([str(ACRCTL)], env=env, capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0
    assert proc.stdout == script("bash")


# -- static and live values, in process -----------------------------------------------------------
def test_options_and_choices() -> None:
    assert complete("acrctl create --s") == ["--sku", "--subscription"]
    assert [v.lower() for v in complete("acrctl create --sku ")] == ["basic", "standard", "premium"]
    assert "replication" in complete("acrctl rep")
    assert complete("acrctl completion ") == list(SHELLS)
    assert complete("acrctl config get defaults.") == [
        "defaults.group",
        "defaults.location",
        "defaults.registry",
    ]
    assert complete("acrctl config unset defaults.group core.o") == ["core.output"]


def test_registry_group_and_location_names(seeded: AcrctlMock) -> None:
    assert complete("acrctl show -n ") == ["myreg1", "other22"]
    assert complete("acrctl show -n MY") == ["myreg1"]
    assert complete("acrctl list -g ") == ["rg1"]
    assert complete("acrctl group create -n rg2 -l eastu") == ["eastus", "eastus2"]


@pytest.mark.skipif(not has_module("acrctl.cli.replication"), reason="no replication group yet")
def test_replication_names(seeded: AcrctlMock) -> None:
    assert complete("acrctl replication show -r myreg1 -n ") == ["eastus", "westus"]


@pytest.mark.skipif(not has_module("acrctl.cli.webhook"), reason="no webhook group yet")
def test_webhook_names(seeded: AcrctlMock) -> None:
    client = seeded.client()
    client.create_webhook(
        "rg1",
        "myreg1",
        "hook1",
        {
            "location": "westus",
            "properties": {"serviceUri": "http://example.invalid/hook", "actions": ["push"]},
        },
    )
    assert complete("acrctl webhook show -r myreg1 -n ") == ["hook1"]


# -- fast and silent ----------------------------------------------------------------------------
def _ctx(endpoint: str | None = None) -> click.Context:
    from acrctl.cli.registry import show

    ctx = click.Context(show, info_name="show", resilient_parsing=True)
    ctx.params.update({"endpoint": endpoint, "subscription": None})
    return ctx


def test_unreachable_endpoint_completes_nothing_quickly(capsys: pytest.CaptureFixture[str]) -> None:
    start = time.monotonic()
    assert completion_values.values("registry", _ctx("http://127.0.0.1:1"), "") == []
    assert time.monotonic() - start < 1.5
    assert capsys.readouterr() == ("", "")


@pytest.fixture
def blackhole() -> Iterator[str]:
    """A server that accepts connections and never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"


def test_a_hanging_server_is_cut_off_by_the_deadline(
    blackhole: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(completion_values, "HTTP_TIMEOUT", 30.0)
    monkeypatch.setattr(completion_values, "DEADLINE", 0.3)
    start = time.monotonic()
    assert completion_values.values("group", _ctx(blackhole), "") == []
    assert time.monotonic() - start < 1.5
    assert capsys.readouterr() == ("", "")


def test_embedded_completion_creates_no_state_file(tmp_path: Path) -> None:
    assert not Path(os.environ["ACRCTL_STATE"]).exists()
    assert complete("acrctl show -n ") == []
    assert not Path(os.environ["ACRCTL_STATE"]).exists()


def test_unreachable_endpoint_through_the_entry_point() -> None:
    env = {
        **os.environ,
        COMPLETE_VAR: "bash_complete",
        "COMP_WORDS": "acrctl show -n ",
        "COMP_CWORD": "3",
        "ACRCTL_ENDPOINT": "http://127.0.0.1:1",
    }
    start = time.monotonic()
    proc = subprocess.run([str(ACRCTL)], env=env, capture_output=True, text=True, timeout=30)
    assert time.monotonic() - start < 5
    assert (proc.returncode, proc.stdout.strip(), proc.stderr) == (0, "", "")


# -- the shipped bash script in a real bash ------------------------------------------------------
def bash_complete(*words: str) -> list[str]:
    """Source completions/acrctl.bash and call its function as bash completion would."""
    assert BASH is not None
    array = " ".join(shlex.quote(w) for w in words)
    program = (
        f"source {shlex.quote(str(ROOT / COMPLETIONS['bash']))}\n"
        f"COMP_WORDS=({array}); COMP_CWORD={len(words) - 1}\n"
        "_acrctl_completion acrctl\n"
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    env = {**os.environ, "PATH": f"{ACRCTL.parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    proc = subprocess.run(
        [BASH, "--norc", "--noprofile", "-c", program],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    return [line for line in proc.stdout.splitlines() if line]


needs_bash = pytest.mark.skipif(
    BASH is None or not ACRCTL.exists(), reason="needs bash and the installed acrctl entry point"
)


@needs_bash
def test_bash_completes_registry_names(seeded: AcrctlMock) -> None:
    assert bash_complete("acrctl", "show", "-n", "") == ["myreg1", "other22"]
    assert bash_complete("acrctl", "show", "-n", "my") == ["myreg1"]


@needs_bash
def test_bash_completes_options(seeded: AcrctlMock) -> None:
    assert bash_complete("acrctl", "create", "--s") == ["--sku", "--subscription"]


@needs_bash
@pytest.mark.skipif(not has_module("acrctl.cli.replication"), reason="no replication group yet")
def test_bash_completes_replication_names(seeded: AcrctlMock) -> None:
    assert bash_complete("acrctl", "replication", "show", "-r", "myreg1", "-n", "") == [
        "eastus",
        "westus",
    ]
