"""docs/configuration.md documents every ACRCTL_* environment variable the package reads, and
nothing else: the names in the code (every ACRCTL_ name written in acrctl/, the
ACRCTL_SERVER_<OPTION> variables Click derives from `acrctl server`'s options, and those the
settings model (acrctl.server.config) builds from its prefix and the Settings fields) equal
the names in the doc's table (where the row ACRCTL_SERVER_<SETTING> stands for the Settings
fields without an option of their own)."""

from __future__ import annotations

import re
from pathlib import Path

import click

from acrctl.cli.server import SERVER_ENV, server

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "configuration.md"
NAME = re.compile(r"\bACRCTL_[A-Z0-9_]*[A-Z0-9]\b")
FAMILY = "ACRCTL_SERVER_<SETTING>"


def written_in_the_package() -> set[str]:
    names: set[str] = set()
    for path in (ROOT / "acrctl").rglob("*.py"):
        names |= set(NAME.findall(path.read_text(encoding="utf-8")))
    names.discard(SERVER_ENV)  # the prefix of the server's variables, not a variable
    return names


def derived_from_server_options() -> set[str]:
    names: set[str] = set()
    for param in server.params:
        if not isinstance(param, click.Option) or not param.allow_from_autoenv:
            continue
        envvar = param.envvar
        if isinstance(envvar, str):
            names.add(envvar)
        elif envvar:
            names.update(envvar)
        else:
            names.add(f"{SERVER_ENV}_{(param.name or '').upper()}")
    return names


def read_by_the_settings_model() -> set[str]:
    """What acrctl.server.config reads (for `acrctl server` and the factory): every Settings
    field's variable, ACRCTL_SERVER_<OPTION> for a field with an option of its own."""
    from acrctl.server import config

    return {config.env_name(f) for f in config.fields()}


def settings_family() -> set[str]:
    """ACRCTL_SERVER_<SETTING>: the Settings fields without an option of their own."""
    from acrctl.server import config

    return config.settings_env_names()


def documented() -> list[str]:
    """The first cell of each row of the table whose first column is `variable`."""
    rows: list[str] = []
    in_table = False
    for line in DOC.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if not line.startswith("|"):
            in_table = False
        elif cells[0] == "variable":
            in_table = True
        elif in_table and not set(cells[0]) <= set("-: "):
            rows.append(cells[0].strip("`"))
    return rows


def test_every_acrctl_variable_is_documented_once_and_every_documented_one_exists() -> None:
    in_code = (
        written_in_the_package() | derived_from_server_options() | read_by_the_settings_model()
    )
    rows = documented()
    assert sorted(n for n in set(rows) if rows.count(n) > 1) == []
    in_doc = set(rows) - {FAMILY}
    if FAMILY in rows:
        in_doc |= settings_family()
    assert {
        "undocumented": sorted(in_code - set(in_doc)),
        "no longer read": sorted(set(in_doc) - in_code),
    } == {"undocumented": [], "no longer read": []}


def test_the_readme_links_the_configuration_doc() -> None:
    assert "(docs/configuration.md)" in (ROOT / "README.md").read_text(encoding="utf-8")
