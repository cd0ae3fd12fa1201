"""Every command's --help: it works, describes the command, shows examples and documents
every option; the generated reference and completion scripts are current; and --help stays
cheap (no heavy imports)."""

from __future__ import annotations

import functools
import json
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from acrctl.cli import docs
from acrctl.cli.main import COMMANDS, cli

HEAVY = (
    "httpx",
    "pydantic",
    "uvicorn",
    "yaml",
    "jmespath",
    "rich",
    "keyring",
    "psycopg",
    "prometheus_client",
    "acrctl.backend",
    "acrctl.server",
    "acrctl.models",
)


@functools.cache
def tree() -> tuple[list[click.Context], list[str]]:
    skipped: list[str] = []
    return list(docs.walk(allow_missing=True, skipped=skipped)), skipped


def subtree(top: str) -> list[click.Context]:
    found = [c for c in tree()[0] if c.command_path.split()[1:2] == [top]]
    assert found, f"acrctl {top} is not in the command tree"
    return found


def problems(ctx: click.Context) -> list[str]:
    cmd, path = ctx.command, ctx.command_path
    out: list[str] = []
    result = CliRunner().invoke(cli, [*path.split()[1:], "--help"])
    if result.exit_code != 0 or not result.stdout.startswith(f"Usage: {path} "):
        out.append(f"{path} --help: exit {result.exit_code}: {result.output[:200]}")
    if not (cmd.help or "").strip():
        out.append(f"{path}: no description")
    if not isinstance(cmd, click.Group) and "Examples:" not in (cmd.help or ""):
        out.append(f"{path}: no Examples block")
    for param in cmd.get_params(ctx):
        if isinstance(param, click.Option) and not param.hidden and not (param.help or "").strip():
            out.append(f"{path}: option {'/'.join(param.opts)} has no help")
    return out


def test_root_help() -> None:
    root = tree()[0][0]
    assert root.command_path == "acrctl"
    assert problems(root) == []
    assert "Examples:" in (root.command.help or "")


@pytest.mark.parametrize("top", sorted(COMMANDS))
def test_every_command_has_complete_help(top: str) -> None:
    assert [p for ctx in subtree(top) for p in problems(ctx)] == []


def test_every_lazy_command_module_imports() -> None:
    assert tree()[1] == [], "lazy command modules that do not exist"
    list(docs.walk())  # strict: raises on any import error


# -- generated files -----------------------------------------------------------------------------
def test_generated_files_are_current() -> None:
    stale = docs.stale(docs.ROOT, docs.outputs())
    assert stale == [], "stale; run: python -m acrctl.cli.docs --write"


def test_reference_has_a_section_per_command() -> None:
    text = docs.reference(allow_missing=True)
    assert text.startswith("# acrctl command reference\n")
    assert "`python -m acrctl.cli.docs --write`" in text
    sections = [line[3:] for line in text.splitlines() if line.startswith("## ")]
    assert sections == [c.command_path for c in tree()[0]]
    assert (
        "## acrctl config set\n\n```text\nUsage: acrctl config set [OPTIONS] KEY=VALUE..." in text
    )


def test_root_section_matches_a_fresh_process() -> None:
    """The root help lists lazy commands by their lazy text, as a fresh process prints it,
    however many command modules this process has loaded."""
    list(docs.walk(allow_missing=True))  # load every module in this process
    probe = (
        "from acrctl.cli.main import cli; cli.main(['--help'], prog_name='acrctl', "
        f"terminal_width={docs.WIDTH}, max_content_width={docs.WIDTH})"
    )
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    fresh = "\n".join(line.rstrip() for line in proc.stdout.splitlines())
    assert docs.help_text(tree()[0][0]) == fresh
    for name, (_, short) in COMMANDS.items():
        assert f"  {name} " in fresh and short in fresh


def test_check_and_write(tmp_path: Path) -> None:
    args = ["--root", str(tmp_path), "--allow-missing"]
    assert docs.main(["--check", *args]) == 1
    assert docs.main(["--write", *args]) == 0
    assert sorted(
        str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file()
    ) == sorted(docs.outputs(allow_missing=True))
    assert docs.main(["--check", *args]) == 0
    (tmp_path / docs.REFERENCE).write_text("edited\n")
    assert docs.main(["--check", *args]) == 1


def test_check_from_the_command_line() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "acrctl.cli.docs", "--check"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr


# -- --help is cheap -------------------------------------------------------------------------------
PROBE = """
import contextlib, io, json, sys
from acrctl.cli.main import cli
with contextlib.redirect_stdout(io.StringIO()):
    code = cli.main(sys.argv[1:] + ["--help"], prog_name="acrctl", standalone_mode=False)
heavy = tuple(json.loads(sys.stdin.read()))
print(json.dumps([code, [h for h in heavy
                         if any(m == h or m.startswith(h + ".") for m in sys.modules)]]))
"""


def imported_by_help(*args: str) -> tuple[int, list[str]]:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        input=json.dumps(HEAVY),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    code, modules = json.loads(proc.stdout.splitlines()[-1])
    return code, modules


def test_root_help_imports_nothing_heavy() -> None:
    assert imported_by_help() == (0, [])


@pytest.mark.parametrize("top", sorted(COMMANDS))
def test_command_help_imports_nothing_heavy(top: str) -> None:
    assert imported_by_help(top) == (0, [])
