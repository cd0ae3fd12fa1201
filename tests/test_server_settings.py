"""The server's typed settings (acrctl.server.config): one schema for `acrctl server` and the
uvicorn factory; defaults < config file < ACRCTL_SERVER_* environment < flags; a bad value,
an unknown key and an unknown ACRCTL_SERVER_* variable are errors at start (exit 2) naming
the source and what is expected; --print-config masks every secret."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

from acrctl.backend.core import Backend, Settings
from acrctl.backend.sqlite import SqliteStore
from acrctl.cli import server as server_cmd
from acrctl.cli.main import cli
from acrctl.server import config
from acrctl.server.factory import settings_from_env
from acrctl.server.serve import ServerConfig


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in list(os.environ):
        if var.startswith("ACRCTL_SERVER_") or var == "ACRCTL_BOOTSTRAP_TOKEN":
            monkeypatch.delenv(var)
    monkeypatch.setenv("ACRCTL_CONFIG_DIR", "/nonexistent-acrctl-settings-test")


def run(tmp_path: Path, toml: str | None, *args: str, env: dict[str, str] | None = None) -> Any:
    extra: list[str] = []
    if toml is not None:
        conf = tmp_path / "server.toml"
        conf.write_text(toml)
        extra = ["--config", str(conf)]
    return CliRunner().invoke(cli, ["server", *extra, *args, "--print-config"], env=env)


def settings_table(output: str) -> tuple[dict[str, Any], dict[str, str]]:
    """--print-config's [settings] values, and each one's source comment."""
    table = tomllib.loads(output)["settings"]
    part = output.split("[settings]\n", 1)[1]
    sources = {
        line.split(" = ", 1)[0]: line.rsplit("  # ", 1)[1]
        for line in part.splitlines()
        if " = " in line and not line.startswith("#")
    }
    return table, sources


# -- precedence ----------------------------------------------------------------------------------
def test_env_beats_the_settings_table_which_beats_the_default(tmp_path: Path) -> None:
    result = run(
        tmp_path,
        "[settings]\npage_size = 50\nwebhook_backoff = 0.5\n",
        env={"ACRCTL_SERVER_PAGE_SIZE": "60", "ACRCTL_SERVER_WEBHOOK_DENY": "10.1.0.0/16, ::1/128"},
    )
    assert result.exit_code == 0, result.output
    table, sources = settings_table(result.stdout)
    assert (table["page_size"], sources["page_size"]) == (60, "env ACRCTL_SERVER_PAGE_SIZE")
    assert (table["webhook_backoff"], sources["webhook_backoff"]) == (0.5, "config file")
    assert (table["webhook_deny"], sources["webhook_deny"]) == (
        ["10.1.0.0/16", "::1/128"],
        "env ACRCTL_SERVER_WEBHOOK_DENY",
    )
    assert (table["webhook_timeout"], sources["webhook_timeout"]) == (5.0, "default")


def test_the_settings_reach_the_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    captured: list[ServerConfig] = []
    monkeypatch.setattr(server_cmd, "_run", captured.append)
    (tmp_path / "server.toml").write_text("lro_polls = 4\n[settings]\nwebhook_workers = 3\n")
    result = CliRunner().invoke(
        cli,
        ["server", "--config", str(tmp_path / "server.toml"), "--lro-polls", "6"],
        env={
            "ACRCTL_SERVER_DATABASE": str(tmp_path / "s.db"),
            "ACRCTL_SERVER_LRO_POLLS": "5",
            "ACRCTL_SERVER_WEBHOOK_VERIFY": "false",
            "ACRCTL_SERVER_PORTAL_ENABLED": "off",
        },
    )
    assert result.exit_code == 0, result.output
    [cfg] = captured
    s = cfg.settings
    assert s is not None
    assert (s.lro_polls, s.webhook_workers, s.webhook_verify, s.portal_enabled) == (
        6,
        3,
        False,
        False,
    )


# -- bad values: an error at start, exit 2, naming the source and what is expected ----------------
@pytest.mark.parametrize(
    "table, message",
    [
        ('page_size = "many"', "[settings] page_size must be an integer, not 'many'."),
        ("page_size = 0", "[settings] page_size must be an integer from 1 to 1000, not 0."),
        ("webhook_backoff = -1.5", "[settings] webhook_backoff must be a number >= 0, not -1.5."),
        ("webhook_backoff = true", "[settings] webhook_backoff must be a number, not True."),
        ('portal_enabled = "yes"', "[settings] portal_enabled must be true or false, not 'yes'."),
        (
            'webhook_deny = ["nope"]',
            "[settings] webhook_deny must be a list of networks (CIDRs such as 10.0.0.0/8), "
            "not ['nope'].",
        ),
        (
            'dataplane_client_regions = "10.1.0.0/16=atlantis"',
            "[settings] dataplane_client_regions must be CIDR=region pairs separated by commas "
            "(10.1.0.0/16=eastus,...), not '10.1.0.0/16=atlantis'.",
        ),
        ("lro_polls = 3", "[settings] lro_polls: set by an option of its own"),
        ("webhook_bakcoff = 1", "unknown [settings] key(s) webhook_bakcoff"),
    ],
)
def test_a_bad_settings_table_is_a_usage_error(tmp_path: Path, table: str, message: str) -> None:
    result = run(tmp_path, f"[settings]\n{table}\n")
    assert result.exit_code == 2
    assert str(tmp_path / "server.toml") in result.stderr
    assert message in result.stderr


@pytest.mark.parametrize(
    "var, value, message",
    [
        ("PAGE_SIZE", "x", "ACRCTL_SERVER_PAGE_SIZE must be an integer, not 'x'."),
        ("PAGE_SIZE", "5000", "ACRCTL_SERVER_PAGE_SIZE must be an integer from 1 to 1000"),
        ("PORTAL_ENABLED", "maybe", "ACRCTL_SERVER_PORTAL_ENABLED must be true or false"),
        ("WEBHOOK_WORKERS", "0", "ACRCTL_SERVER_WEBHOOK_WORKERS must be an integer >= 1, not '0'."),
        ("PAGESIZE", "5", "unknown variable(s) ACRCTL_SERVER_PAGESIZE: not an option or setting"),
    ],
)
def test_a_bad_variable_is_a_usage_error(
    tmp_path: Path, var: str, value: str, message: str
) -> None:
    result = run(tmp_path, None, env={f"ACRCTL_SERVER_{var}": value})
    assert result.exit_code == 2
    assert message in result.stderr


def test_an_option_out_of_its_range_is_a_usage_error_from_each_source(tmp_path: Path) -> None:
    flag = run(tmp_path, None, "--lro-polls", "5000")
    env = run(tmp_path, None, env={"ACRCTL_SERVER_LRO_POLLS": "5000"})
    conf = run(tmp_path, "lro_seconds = 90000\n")
    assert (flag.exit_code, env.exit_code, conf.exit_code) == (2, 2, 2)
    assert "--lro-polls must be an integer from 0 to 1000, not 5000." in flag.stderr
    assert "ACRCTL_SERVER_LRO_POLLS must be an integer from 0 to 1000, not 5000." in env.stderr
    assert (
        f"{tmp_path / 'server.toml'} lro_seconds must be a number from 0 to 86400, not 90000.0."
        in conf.stderr
    )


def test_a_bad_flag_type_is_still_clicks_usage_error(tmp_path: Path) -> None:
    result = run(tmp_path, None, "--lro-polls", "many")
    assert result.exit_code == 2
    assert "'many' is not a valid integer" in result.stderr


# -- secrets -------------------------------------------------------------------------------------
def test_print_config_masks_every_secret(tmp_path: Path) -> None:
    from_file = run(
        tmp_path,
        'bootstrap_token = "tok-file-1"\n[settings]\nmanaged_identity_header = "mi-file-2"\n',
    )
    from_env = run(
        tmp_path,
        None,
        env={
            "ACRCTL_SERVER_MANAGED_IDENTITY_HEADER": "mi-env-3",
            "ACRCTL_SERVER_BOOTSTRAP_TOKEN": "tok-env-4",
        },
    )
    for result, secrets in ((from_file, ("tok-file-1", "mi-file-2")), (from_env, ("mi-env-3",))):
        assert result.exit_code == 0, result.output
        assert not [s for s in (*secrets, "tok-env-4") if s in result.stdout]
        table, sources = settings_table(result.stdout)
        assert table["managed_identity_header"] == config.MASK
        assert tomllib.loads(result.stdout)["bootstrap_token"] == config.MASK
    assert settings_table(from_env.stdout)[1]["managed_identity_header"] == (
        "env ACRCTL_SERVER_MANAGED_IDENTITY_HEADER"
    )


def test_a_secret_is_not_echoed_in_an_error() -> None:
    with pytest.raises(config.ConfigError) as err:
        config.validate({"admin_token": config.Value(12345, "config file", "f x")}, strict=True)
    assert str(err.value) == "f x must be a string, not '******'."


# -- the factory reads the same schema ----------------------------------------------------------
def test_the_factory_reads_every_setting_and_option_variable() -> None:
    s = settings_from_env(
        {
            "ACRCTL_SERVER_LRO_MODE": "POLLS",
            "ACRCTL_SERVER_WEBHOOK_ALLOW": "10.0.0.0/8, 127.0.0.1",
            "ACRCTL_SERVER_WEBHOOK_ALLOW_LOCAL": "yes",
            "ACRCTL_SERVER_WEBHOOK_VERIFY": "/etc/ssl/ca.pem",
            "ACRCTL_SERVER_ALLOW_RESET": "1",
            "ACRCTL_SERVER_BOOTSTRAP_TOKEN": "tok-a",
            "ACRCTL_BOOTSTRAP_TOKEN": "tok-b",
            "ACRCTL_SERVER_PORT": "9000",  # an option of acrctl server: uvicorn's here
            "ACRCTL_SERVER_PAGE_SIZE": "",  # empty: not set
        }
    )
    assert (s.lro_mode, s.webhook_allow, s.webhook_allow_local) == (
        "polls",
        ["10.0.0.0/8", "127.0.0.1"],
        True,
    )
    assert (s.webhook_verify, s.allow_reset, s.admin_token, s.page_size) == (
        "/etc/ssl/ca.pem",
        True,
        "tok-a",
        100,
    )
    assert settings_from_env({"ACRCTL_BOOTSTRAP_TOKEN": "tok-b"}).admin_token == "tok-b"


@pytest.mark.parametrize(
    "env, message",
    [
        ({"ACRCTL_SERVER_LRO_MODE": "later"}, "must be one of immediate, polls, seconds"),
        (
            {"ACRCTL_SERVER_DATAPLANE_DATA_REDIRECT": "sometimes"},
            "must be one of auto, client-region, always",
        ),
        ({"ACRCTL_SERVER_WEBHOOK_DENY": "10.0.0.0/8,nope"}, "ACRCTL_SERVER_WEBHOOK_DENY must be"),
        ({"ACRCTL_SERVER_RATE_LIMT_WRITES": "0"}, "unknown variable(s) ACRCTL_SERVER_RATE_LIMT"),
    ],
)
def test_the_factory_refuses_bad_variables(env: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        settings_from_env(env)


# -- the schema and the code that uses it ------------------------------------------------------
def test_server_options_are_the_commands_options() -> None:
    names = [p.name for p in server_cmd.server.params if isinstance(p, click.Option)]
    assert sorted(n for n in names if n != "help") == sorted(config.SERVER_OPTIONS)
    assert set(config.OPTION_FIELDS.values()) <= set(config.SERVER_OPTIONS)


def test_every_settings_field_is_in_the_schema_with_its_default() -> None:
    model = config.model()
    assert {k: f.default for k, f in model.model_fields.items()} == vars(Settings())


def test_the_backend_still_builds_with_plain_settings(tmp_path: Path) -> None:
    backend = Backend(SqliteStore(str(tmp_path / "s.db")), settings=Settings(lro_mode="polls"))
    try:
        assert (backend.settings.lro_mode, backend.settings.webhook_allow) == ("polls", [])
        assert Backend(SqliteStore(":memory:")).settings == Settings()
    finally:
        backend.store.close()
