"""Credentials at rest: with a keyring, `acrctl account login` keeps the token there and
nowhere else (the config dir, the XDG state/data/cache dirs, the embedded state and the
server's database never hold it in plain text); the file store is an explicit opt-in and is
0600, as is the config file; ACRCTL_TOKEN wins without touching the keyring; a broken
keyring never crashes a command. The keyring is an in-memory backend set for each test."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
from click.testing import CliRunner
from keyring.backend import KeyringBackend
from keyring.errors import KeyringError, PasswordDeleteError

from acrctl.backend.rbac import hash_token
from acrctl.cli import config, credentials
from acrctl.cli.main import cli
from acrctl.server.serve import ServerConfig, ThreadedServer

TOKEN = "acr_credentials_test_token_5f0e9d2c41b7"


class MemoryKeyring(KeyringBackend):
    """A keyring that lives in a dict, and records who asked for what."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.secrets: dict[tuple[str, str], str] = {}
        self.calls: list[tuple[str, str, str]] = []

    def get_password(self, service: str, username: str) -> str | None:
        self.calls.append(("get", service, username))
        return self.secrets.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.calls.append(("set", service, username))
        self.secrets[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.calls.append(("delete", service, username))
        if self.secrets.pop((service, username), None) is None:
            raise PasswordDeleteError(username)


class BrokenKeyring(KeyringBackend):
    """A keyring that is there but fails (a locked collection, a dead D-Bus)."""

    priority = 1  # type: ignore[assignment]

    def get_password(self, service: str, username: str) -> str | None:
        raise KeyringError("the collection is locked")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise KeyringError("the collection is locked")

    def delete_password(self, service: str, username: str) -> None:
        raise KeyringError("the collection is locked")


@pytest.fixture
def memory_keyring() -> Iterator[MemoryKeyring]:
    previous = keyring.get_keyring()
    kr = MemoryKeyring()
    keyring.set_keyring(kr)
    try:
        yield kr
    finally:
        keyring.set_keyring(previous)


@pytest.fixture
def xdg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every XDG base dir under tmp_path (the config dir comes from ACRCTL_CONFIG_DIR)."""
    for var in ("XDG_STATE_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME"):
        monkeypatch.setenv(var, str(tmp_path / var.lower()))
    return tmp_path


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreadedServer]:
    db = tmp_path_factory.mktemp("credentials") / "server.db"
    with ThreadedServer(ServerConfig(database=str(db), admin_token=TOKEN), deliver=False) as srv:
        yield srv


def run(*args: str, input: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), input=input)
    return result.exit_code, result.stdout, result.stderr


def login(srv: ThreadedServer, *extra: str) -> tuple[int, str, str]:
    return run("account", "login", "--endpoint", srv.url, *extra, input=f"{TOKEN}\n")


def files_under(*roots: Path) -> list[Path]:
    return [p for root in roots if root.exists() for p in root.rglob("*") if p.is_file()]


def holders(token: str, *roots: Path) -> list[Path]:
    """Files under the roots whose bytes contain the token."""
    return [p for p in files_under(*roots) if token.encode() in p.read_bytes()]


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# == the keyring =============================================================================


def test_login_keeps_the_token_in_the_keyring_only(
    server: ThreadedServer, xdg: Path, memory_keyring: MemoryKeyring
) -> None:
    code, out, err = login(server)
    assert code == 0, err
    assert memory_keyring.secrets == {(credentials.SERVICE, server.url): TOKEN}
    assert TOKEN not in out + err
    # nothing on disk holds it: the config dir, the XDG dirs, the embedded state file
    # (all under tmp_path)
    assert holders(TOKEN, xdg) == []
    assert not (Path(config.config_dir()) / "tokens.json").exists()
    assert config.get("core.endpoint") == server.url


def test_commands_after_login_read_the_keyring(
    server: ThreadedServer, xdg: Path, memory_keyring: MemoryKeyring
) -> None:
    assert login(server)[0] == 0
    memory_keyring.calls.clear()
    code, out, err = run("list")
    assert (code, out) == (0, "[]\n"), err
    assert ("get", credentials.SERVICE, server.url) in memory_keyring.calls
    assert holders(TOKEN, xdg) == []


def test_debug_output_masks_the_token(
    server: ThreadedServer, xdg: Path, memory_keyring: MemoryKeyring
) -> None:
    assert login(server)[0] == 0
    code, out, err = run("list", "--debug")
    assert code == 0
    assert "Authorization" in err or "authorization" in err
    assert TOKEN not in out + err


def test_logout_removes_the_keyring_entry(
    server: ThreadedServer, xdg: Path, memory_keyring: MemoryKeyring
) -> None:
    assert login(server)[0] == 0
    assert run("account", "logout")[0] == 0
    assert memory_keyring.secrets == {}
    assert holders(TOKEN, xdg) == []


def test_the_server_stores_only_a_hash_of_the_token(server: ThreadedServer) -> None:
    db = Path(str(server.cfg.database))
    files = [p for p in db.parent.iterdir() if p.name.startswith(db.name)]
    assert files
    assert not any(TOKEN.encode() in p.read_bytes() for p in files)
    assert any(hash_token(TOKEN).encode() in p.read_bytes() for p in files)


def test_the_environment_token_wins_without_touching_the_keyring(
    monkeypatch: pytest.MonkeyPatch, memory_keyring: MemoryKeyring
) -> None:
    memory_keyring.secrets[(credentials.SERVICE, "https://acr.test")] = "from-keyring"
    monkeypatch.setenv("ACRCTL_TOKEN", "from-env")
    assert credentials.load_token("https://acr.test") == "from-env"
    assert memory_keyring.calls == []


def test_endpoint_trailing_slashes_name_one_entry(memory_keyring: MemoryKeyring) -> None:
    credentials.store_token("https://acr.test", "t1")
    assert credentials.load_token("https://acr.test/") == "t1"


def test_a_broken_keyring_never_crashes_a_read(monkeypatch: pytest.MonkeyPatch) -> None:
    previous = keyring.get_keyring()
    keyring.set_keyring(BrokenKeyring())
    try:
        assert credentials.load_token("https://acr.test") is None
        credentials.forget_token("https://acr.test")  # nothing stored is fine
    finally:
        keyring.set_keyring(previous)


def test_without_a_usable_keyring_login_stores_nothing(server: ThreadedServer, xdg: Path) -> None:
    """The null backend of conftest: set_password would be a silent no-op."""
    code, _, err = login(server)
    assert code == 1 and "No usable keyring backend" in err
    assert holders(TOKEN, xdg) == []


# == the opt-in file =========================================================================


@pytest.fixture
def loose_umask() -> Iterator[None]:
    """A umask that lets everything be world-readable: the 0600 must come from us."""
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


def test_file_store_is_an_explicit_opt_in_and_0600(
    server: ThreadedServer, xdg: Path, loose_umask: None, memory_keyring: MemoryKeyring
) -> None:
    assert login(server, "--store", "file")[0] == 0
    token_file = Path(credentials.token_file())
    assert mode(token_file) == 0o600
    assert json.loads(token_file.read_text()) == {server.url: TOKEN}
    assert holders(TOKEN, xdg) == [token_file]  # the opted-into file and nothing else
    assert memory_keyring.secrets == {}


def test_config_file_is_0600(
    server: ThreadedServer, xdg: Path, loose_umask: None, memory_keyring: MemoryKeyring
) -> None:
    assert login(server)[0] == 0
    path = Path(config.config_path())
    assert mode(path) == 0o600
    assert run("config", "set", "defaults.group=rg1")[0] == 0
    assert mode(path) == 0o600


def test_a_loose_token_file_is_tightened_on_write(xdg: Path, loose_umask: None) -> None:
    path = Path(credentials.token_file())
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("{}")
    path.chmod(0o644)
    credentials.store_token("https://acr.test", "t2", use_file=True)
    assert mode(path) == 0o600
    assert json.loads(path.read_text()) == {"https://acr.test": "t2"}


def test_config_token_store_file_is_the_same_opt_in(
    server: ThreadedServer, xdg: Path, loose_umask: None, memory_keyring: MemoryKeyring
) -> None:
    assert run("config", "set", "core.token_store=file")[0] == 0
    assert login(server)[0] == 0
    assert mode(Path(credentials.token_file())) == 0o600
    assert memory_keyring.secrets == {}
