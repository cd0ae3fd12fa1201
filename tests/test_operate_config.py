"""`acrctl server` configuration: one precedence rule (flag > ACRCTL_SERVER_* environment >
config file > default) for every option, a TOML config file (`--config`, else server.toml in
acrctl's config dir) with a [settings] table, and `--print-config` with secrets masked."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from acrctl.cli import server as server_cmd
from acrctl.cli.main import cli
from acrctl.cli.server import mask_database
from acrctl.server.serve import ServerConfig


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for var in list(os.environ):
        if var.startswith("ACRCTL_SERVER_") or var == "ACRCTL_BOOTSTRAP_TOKEN":
            monkeypatch.delenv(var)


def print_config(*args: str, env: dict[str, str] | None = None) -> dict[str, Any]:
    result = CliRunner().invoke(cli, ["server", *args, "--print-config"], env=env)
    assert result.exit_code == 0, result.output
    return {"text": result.stdout, **tomllib.loads(result.stdout)}


def sources(text: str) -> dict[str, str]:
    out = {}
    for line in text.splitlines():
        if " = " in line and "  # " in line and not line.startswith("#"):
            out[line.split(" = ", 1)[0]] = line.rsplit("  # ", 1)[1]
    return out


def test_flag_beats_env_beats_file_beats_default(tmp_path: Path) -> None:
    conf = tmp_path / "server.toml"
    conf.write_text('port = 1001\nlro-mode = "polls"\nlro_polls = 7\nretry_after = 9\n')
    got = print_config(
        "--config",
        str(conf),
        "--port",
        "1003",
        env={"ACRCTL_SERVER_PORT": "1002", "ACRCTL_SERVER_LRO_POLLS": "8"},
    )
    assert (
        got["port"],
        got["lro_polls"],
        got["lro_mode"],
        got["retry_after"],
        got["lro_seconds"],
    ) == (1003, 8, "polls", 9, 5.0)
    assert sources(got["text"]) == {
        **sources(got["text"]),
        "port": "flag",
        "lro_polls": "env ACRCTL_SERVER_LRO_POLLS",
        "lro_mode": "config file",
        "retry_after": "config file",
        "lro_seconds": "default",
    }
    assert f"# config file: {conf}" in got["text"]


def test_the_default_file_and_the_config_env_var(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    conf_dir = tmp_path / "confdir"
    conf_dir.mkdir()
    (conf_dir / "server.toml").write_text("port = 2001\n")
    other = tmp_path / "other.toml"
    other.write_text("port = 2002\n")
    monkeypatch.setenv("ACRCTL_CONFIG_DIR", str(conf_dir))
    assert print_config()["port"] == 2001
    assert print_config(env={"ACRCTL_SERVER_CONFIG": str(other)})["port"] == 2002
    monkeypatch.setenv("ACRCTL_CONFIG_DIR", str(tmp_path / "empty"))
    assert print_config()["port"] == 8443  # no file: the defaults


def test_secrets_are_masked(tmp_path: Path) -> None:
    conf = tmp_path / "server.toml"
    conf.write_text(
        'database = "postgresql://acr:dbpass123@db:5432/acrctl?password=qpass9"\n'
        'bootstrap_token = "filetoken123"\n'
    )
    from_file = print_config("--config", str(conf))
    from_env = print_config(env={"ACRCTL_BOOTSTRAP_TOKEN": "envtoken456"})
    for secret in ("dbpass123", "qpass9", "filetoken123"):
        assert secret not in from_file["text"]
    assert from_file["bootstrap_token"] == "******"
    assert from_file["database"] == "postgresql://acr:******@db:5432/acrctl?password=******"
    assert "envtoken456" not in from_env["text"]
    assert sources(from_env["text"])["bootstrap_token"] == "env ACRCTL_BOOTSTRAP_TOKEN"


def test_mask_database_leaves_plain_paths_alone() -> None:
    assert mask_database("/var/lib/acrctl/server.db") == "/var/lib/acrctl/server.db"
    assert mask_database("postgresql://db/acrctl") == "postgresql://db/acrctl"
    assert mask_database("postgres://u:p@h/d") == "postgres://u:******@h/d"


def test_relative_paths_in_a_file_are_relative_to_it(tmp_path: Path) -> None:
    etc = tmp_path / "etc"
    etc.mkdir()
    (etc / "cert.pem").write_text("x")
    (etc / "key.pem").write_text("x")
    (etc / "server.toml").write_text(
        'tls_cert = "cert.pem"\ntls_key = "key.pem"\n'
        'database = "state/server.db"\naccess_log = "-"\n'
    )
    got = print_config("--config", str(etc / "server.toml"))
    assert (got["tls_cert"], got["tls_key"], got["database"], got["access_log"]) == (
        str(etc / "cert.pem"),
        str(etc / "key.pem"),
        str(etc / "state" / "server.db"),
        "-",
    )


@pytest.mark.parametrize(
    "text, message",
    [
        ("bogus = 1\n", "unknown key 'bogus'"),
        ("[settings]\nwebhook_bakcoff = 1\n", "unknown [settings] key(s) webhook_bakcoff"),
        ("port = [\n", "cannot read"),
        ('port = "many"\n', "'many' is not a valid integer"),
    ],
)
def test_a_bad_file_is_a_usage_error(tmp_path: Path, text: str, message: str) -> None:
    conf = tmp_path / "server.toml"
    conf.write_text(text)
    result = CliRunner().invoke(cli, ["server", "--config", str(conf), "--print-config"])
    assert result.exit_code == 2
    assert message in result.stderr


def test_a_missing_explicit_file_is_a_usage_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["server", "--config", str(tmp_path / "nope.toml")])
    assert result.exit_code == 2 and "no such file" in result.stderr


def test_the_effective_values_reach_the_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    captured: list[ServerConfig] = []
    monkeypatch.setattr(server_cmd, "_run", captured.append)
    conf = tmp_path / "server.toml"
    conf.write_text(
        'metrics = "on"\nactivity_retention_days = 7\nshutdown_timeout = 3\n'
        'access_log = "off"\nbootstrap_token = "tok-file"\n'
        "[settings]\nwebhook_backoff = 0.25\npage_size = 50\n"
        'webhook_deny = ["10.9.0.0/16"]\n'
    )
    result = CliRunner().invoke(
        cli,
        ["server", "--config", str(conf), "--database", str(tmp_path / "s.db")],
        env={
            "ACRCTL_SERVER_WEBHOOK_ALLOW": "10.0.0.0/8,192.168.0.0/16",
            "ACRCTL_SERVER_LRO_MODE": "seconds",
        },
    )
    assert result.exit_code == 0, result.output
    [cfg] = captured
    assert cfg.settings is not None
    assert (cfg.metrics, cfg.access_log, cfg.shutdown_timeout, cfg.admin_token) == (
        "on",
        "off",
        3.0,
        "tok-file",
    )
    assert cfg.settings.activity_retention_days == 7.0
    assert cfg.settings.lro_mode == "seconds" and cfg.settings.page_size == 50
    assert cfg.settings.webhook_backoff == 0.25
    assert cfg.settings.webhook_deny == ["10.9.0.0/16"]
    assert cfg.settings.webhook_allow == ["10.0.0.0/8", "192.168.0.0/16"]


def test_print_config_ignores_its_env_var(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    captured: list[ServerConfig] = []
    monkeypatch.setattr(server_cmd, "_run", captured.append)
    result = CliRunner().invoke(
        cli,
        ["server", "--database", str(tmp_path / "s.db")],
        env={"ACRCTL_SERVER_PRINT_CONFIG": "1"},
    )
    assert result.exit_code == 0 and len(captured) == 1
