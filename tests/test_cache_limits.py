"""The per-process caches' bounds are settings (store_cache_entries,
rbac_decision_cache_entries, route_match_cache_entries): each cache holds at most that
many entries and is emptied when full, answers stay exact, and `acrctl server` refuses a
bound below 1."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from acrctl.backend.core import Backend, Settings
from acrctl.backend.sqlite import SqliteStore
from acrctl.cli.main import cli
from acrctl.server.app import App


def backend(tmp_path: Path, **bounds: int) -> Backend:
    settings = Settings()
    for name, value in bounds.items():
        setattr(settings, name, value)
    return Backend(SqliteStore(str(tmp_path / "s.db")), settings=settings)


def test_the_store_cache_holds_at_most_its_setting(tmp_path: Path) -> None:
    b = backend(tmp_path, store_cache_entries=2)
    for key in ("a", "b", "c"):
        assert b.cache.get(key, lambda k=key: k.upper()) == key.upper()  # type: ignore[misc]
    assert len(b.cache._data) <= 2  # noqa: SLF001 - emptied when full, then filled again
    assert b.cache.get("a", lambda: "A") == "A"
    assert b.read_cache.entries == 2


def test_the_decision_cache_holds_at_most_its_setting(tmp_path: Path) -> None:
    b = backend(tmp_path, rbac_decision_cache_entries=3)
    assert b.rbac._decisions.entries == 3  # noqa: SLF001


def test_the_route_cache_holds_at_most_its_setting(tmp_path: Path) -> None:
    app = App(backend(tmp_path, route_match_cache_entries=2))
    for i in range(5):
        app.routed("GET", f"/subscriptions/s{i}/resourcegroups")
    assert 0 < len(app._matched) <= 2  # noqa: SLF001


def test_a_bound_below_one_is_refused(tmp_path: Path) -> None:
    conf = tmp_path / "server.toml"
    conf.write_text("[settings]\nstore_cache_entries = 0\n")
    result = CliRunner().invoke(cli, ["server", "--config", str(conf), "--print-config"])
    assert result.exit_code == 2
    assert "store_cache_entries" in result.stderr
