"""The embedded state file's errors name the file and the fix (issue 12 item 7): a corrupt
file, a path that is a directory, a directory that cannot be made, and a state file or
directory acrctl may not write, which still serves the commands that only read."""

from __future__ import annotations

import contextlib
import gc
import os
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from acrctl.cli.main import cli

OTHER = "or point ACRCTL_STATE at another file."


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def state() -> Path:
    return Path(os.environ["ACRCTL_STATE"])


@contextlib.contextmanager
def unwritable(path: Path) -> Iterator[None]:
    """`path` (a file or a directory) made unwritable for this process: without write
    permission, or, for root (whom permissions do not stop), immutable (chattr +i)."""
    root = os.geteuid() == 0
    mode = path.stat().st_mode
    if not root:
        path.chmod(mode & ~0o222)
    elif (
        subprocess.run(["chattr", "+i", str(path)], capture_output=True, check=False).returncode
        != 0
    ):
        pytest.skip("cannot make a file unwritable for root here (chattr +i)")
    try:
        assert not os.access(path, os.W_OK)
        yield
    finally:
        if root:
            subprocess.run(["chattr", "-i", str(path)], check=True)
        else:
            path.chmod(mode)


@pytest.fixture
def registry() -> Iterator[Path]:
    """A state file holding rg1/myreg1, closed cleanly (no -wal/-shm files left)."""
    assert run("group", "create", "-n", "rg1", "-l", "westus")[0] == 0
    assert run("create", "-n", "myreg1", "-g", "rg1", "--sku", "Basic")[0] == 0
    gc.collect()  # the commands' connections
    db = sqlite3.connect(state())
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()  # the last connection: SQLite removes the -wal and -shm files
    assert not Path(f"{state()}-wal").exists()
    yield state()


def test_a_corrupt_state_file_is_named_with_the_fix() -> None:
    state().write_text("not a database\n" * 100)
    assert run("list") == (
        1,
        "",
        f"ERROR: The state file '{state()}' is not an acrctl state "
        f"database (file is not a database). Move it aside to start "
        f"afresh, {OTHER}\n",
    )


def test_a_state_path_that_is_a_directory_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ACRCTL_STATE", str(tmp_path))
    assert run("list") == (
        1,
        "",
        f"ERROR: The state file '{tmp_path}' is a directory. Point "
        f"ACRCTL_STATE at a file, e.g. '{tmp_path}/state.db'.\n",
    )


def test_a_parent_directory_that_cannot_be_made_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "file").write_text("")
    path = tmp_path / "file" / "sub" / "state.db"
    monkeypatch.setenv("ACRCTL_STATE", str(path))
    assert run("list") == (
        1,
        "",
        f"ERROR: Cannot create the directory '{path.parent}' for the "
        f"state file '{path}': Not a directory. Create it, {OTHER}\n",
    )


def test_a_missing_parent_directory_is_made(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ACRCTL_STATE", str(tmp_path / "new" / "dir" / "state.db"))
    assert run("list") == (0, "[]\n", "")


def test_a_read_only_state_file_serves_reads(registry: Path) -> None:
    with unwritable(registry):
        code, out, err = run("list", "--query", "[].name", "-o", "tsv")
    assert (code, out, err) == (0, "myreg1\n", "")


def test_a_write_to_a_read_only_state_file_names_the_file_and_the_fix(registry: Path) -> None:
    with unwritable(registry):
        result = run("group", "create", "-n", "rg2", "-l", "westus")
    message = (
        f"The state file '{registry}' is read-only, so this command cannot change it "
        f"(commands that only read work). Make it writable (chmod u+w '{registry}'), "
        f"{OTHER}"
    )
    assert result == (
        1,
        "",
        f"ERROR: (ReadOnlyStateFile) {message}\nCode: ReadOnlyStateFile\nMessage: {message}\n",
    )
    assert run("group", "list", "--query", "[].name", "-o", "tsv") == (0, "rg1\n", "")


def test_webhook_reads_that_are_actions_work_on_a_read_only_state_file(registry: Path) -> None:
    assert (
        run(
            "webhook",
            "create",
            "-n",
            "hook1",
            "-r",
            "myreg1",
            "--uri",
            "http://127.0.0.1:9/x",
            "--actions",
            "push",
            "-o",
            "none",
        )[0]
        == 0
    )
    with unwritable(registry):
        assert run("webhook", "list-events", "-n", "hook1", "-r", "myreg1") == (0, "[]\n", "")


def test_a_read_only_state_directory_serves_reads(registry: Path) -> None:
    with unwritable(registry.parent):
        result = run("show", "-n", "myreg1", "--query", "name", "-o", "tsv")
    assert result == (0, "myreg1\n", "")


def test_a_write_in_a_read_only_state_directory_names_it(registry: Path) -> None:
    with unwritable(registry.parent):
        code, out, err = run("update", "-n", "myreg1", "--tags", "a=b")
    assert (code, out) == (1, "")
    message = (
        f"The directory '{registry.parent}' of the state file '{registry}' is not "
        f"writable, so this command cannot change the state (SQLite keeps its -wal and "
        f"-shm files there; commands that only read work). Make the directory writable, "
        f"{OTHER}"
    )
    assert err == (
        f"ERROR: (ReadOnlyStateFile) {message}\nCode: ReadOnlyStateFile\nMessage: {message}\n"
    )


def test_a_new_state_file_in_a_read_only_directory_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    monkeypatch.setenv("ACRCTL_STATE", str(folder / "state.db"))
    with unwritable(folder):
        result = run("list")
    assert result == (
        1,
        "",
        f"ERROR: Cannot create the state file '{folder}/state.db': its "
        f"directory '{folder}' is not writable. Make it writable, "
        f"{OTHER}\n",
    )


def test_an_empty_read_only_state_file_is_named() -> None:
    state().write_bytes(b"")
    with unwritable(state()):
        result = run("list")
    assert result == (
        1,
        "",
        f"ERROR: The state file '{state()}' is read-only and holds no "
        f"acrctl state yet. Make it writable, {OTHER}\n",
    )
