"""PostgreSQL for tests: where it is, whether it answers, and a private schema per use.

`ACRCTL_TEST_PG_URL` (default postgresql://postgres@127.0.0.1:5432/test) names the database.
Tests that need it call `require_pg()`, which skips them with the reason when PostgreSQL is
not reachable (.ci/run makes sure it is). Every test store lives in a schema of its own
(`acrctl_t_<what>_<random>`), dropped afterwards, so runs never see each other's data."""

from __future__ import annotations

import contextlib
import functools
import os
import uuid
from collections.abc import Iterator

import pytest

PG_URL = os.environ.get("ACRCTL_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")


@functools.lru_cache(maxsize=1)
def unreachable_reason() -> str | None:
    """None when PostgreSQL answers at PG_URL, else why not."""
    try:
        import psycopg
    except ImportError as exc:  # pragma: no cover - psycopg is a dependency
        return f"psycopg is not installed ({exc})"
    try:
        with psycopg.connect(PG_URL, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
        return f"PostgreSQL is not reachable at {PG_URL}: {' '.join(str(exc).split())[:200]}"
    return None


def require_pg() -> None:
    reason = unreachable_reason()
    if reason:
        pytest.skip(reason)


def new_schema(what: str) -> str:
    return f"acrctl_t_{what}_{uuid.uuid4().hex[:10]}"


def schema_url(schema: str) -> str:
    sep = "&" if "?" in PG_URL else "?"
    return f"{PG_URL}{sep}schema={schema}"


def drop_schema(schema: str) -> None:
    import psycopg

    with (
        contextlib.suppress(Exception),
        psycopg.connect(PG_URL, autocommit=True, connect_timeout=3) as conn,
    ):
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@contextlib.contextmanager
def pg_database(what: str) -> Iterator[str]:
    """A database URL whose store lives in a fresh schema, dropped on exit. Skips the test
    when PostgreSQL is not reachable."""
    require_pg()
    schema = new_schema(what)
    try:
        yield schema_url(schema)
    finally:
        drop_schema(schema)
