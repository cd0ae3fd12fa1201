"""Where the token is, remembered at login: a logged-in command reads a token file without
importing keyring, and loads a remembered keyring backend without probing every backend
(keyring.get_keyring() costs ~100-190 ms per command)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from acrctl.cli import config, credentials
from acrctl.cli.main import cli
from acrctl.server.serve import ServerConfig, ThreadedServer

TOKEN = "acr_token_location_test_7e41c2"
TOY_KEYRING = '''
import json, os
from keyring.backend import KeyringBackend


class Keyring(KeyringBackend):
    """A keyring in a JSON file, so that two processes share it."""

    priority = 1

    def _load(self):
        path = os.environ["TOY_KEYRING_FILE"]
        return json.load(open(path)) if os.path.exists(path) else {}

    def get_password(self, service, username):
        return self._load().get(f"{service}|{username}")

    def set_password(self, service, username, password):
        data = self._load()
        data[f"{service}|{username}"] = password
        json.dump(data, open(os.environ["TOY_KEYRING_FILE"], "w"))

    def delete_password(self, service, username):
        data = self._load()
        data.pop(f"{service}|{username}", None)
        json.dump(data, open(os.environ["TOY_KEYRING_FILE"], "w"))
'''


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreadedServer]:
    db = tmp_path_factory.mktemp("token-location") / "server.db"
    with ThreadedServer(ServerConfig(database=str(db), admin_token=TOKEN), deliver=False) as srv:
        yield srv


def acrctl(*args: str, env: dict[str, str], stdin: str = "") -> tuple[int, str, str]:
    """The CLI in a process of its own, with -X importtime (module names on stderr)."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "acrctl", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return proc.returncode, proc.stdout, proc.stderr


def imported(stderr: str) -> set[str]:
    return {m.group(1) for m in re.finditer(r"^import time:.*\|\s*(\S+)$", stderr, re.M)}


def process_env(**extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTHON_KEYRING_BACKEND", "ACRCTL_TOKEN", "ACRCTL_ENDPOINT")
    }
    return {**env, **extra}


def test_a_token_in_the_file_is_read_without_importing_keyring(server: ThreadedServer) -> None:
    result = CliRunner().invoke(
        cli, ["account", "login", "--endpoint", server.url, "--store", "file"], input=f"{TOKEN}\n"
    )
    assert result.exit_code == 0, result.stderr
    assert config.endpoint_settings(server.url) == {"token_store": "file"}
    code, out, err = acrctl("list", env=process_env())
    assert (code, out) == (0, "[]\n"), err
    assert not {m for m in imported(err) if m.split(".")[0] == "keyring"}


def test_a_remembered_keyring_backend_is_loaded_without_probing(
    server: ThreadedServer, tmp_path: Path
) -> None:
    (tmp_path / "toykeyring.py").write_text(TOY_KEYRING)
    env = process_env(PYTHONPATH=str(tmp_path), TOY_KEYRING_FILE=str(tmp_path / "kr.json"))
    code, _, err = acrctl(
        "account",
        "login",
        "--endpoint",
        server.url,
        stdin=f"{TOKEN}\n",
        env={**env, "PYTHON_KEYRING_BACKEND": "toykeyring.Keyring"},
    )
    assert code == 0, err
    assert config.endpoint_settings(server.url) == {
        "token_store": "keyring",
        "keyring_backend": "toykeyring.Keyring",
    }
    assert json.loads((tmp_path / "kr.json").read_text()) == {
        f"{credentials.SERVICE}|{server.url}": TOKEN
    }
    code, out, err = acrctl("list", env=env)  # no PYTHON_KEYRING_BACKEND now
    assert (code, out) == (0, "[]\n"), err
    modules = imported(err)
    assert "toykeyring" in modules
    assert not {
        m
        for m in modules
        if m.startswith("keyring.backends.")
        and m not in ("keyring.backends", "keyring.backends.fail", "keyring.backends.null")
    }  # no backend was probed


def test_a_token_found_by_looking_everywhere_is_remembered(tmp_path: Path) -> None:
    """A login of an older acrctl remembered nothing: the first command does."""
    os.makedirs(config.config_dir(), exist_ok=True)
    Path(credentials.token_file()).write_text(json.dumps({"https://acr.test": "t1"}))
    assert credentials.load_token("https://acr.test/") == "t1"
    assert config.endpoint_settings("https://acr.test") == {"token_store": "file"}
