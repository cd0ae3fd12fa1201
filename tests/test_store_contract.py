"""The store contract: every method of acrctl.backend.store.Store, run unchanged against
the SQLite store and the PostgreSQL store. The backend only relies on what is tested here."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from acrctl.backend.errors import Unavailable
from acrctl.backend.sqlite import SqliteStore, prefix_end
from acrctl.backend.store import EtagMismatch, Item, Store, open_store

pytest.register_assert_rewrite("pg_harness")
from pg_harness import (  # noqa: E402
    PG_URL,
    drop_schema,
    new_schema,
    pg_database,
    require_pg,
    schema_url,
)

Opener = Callable[[], Store]


@pytest.fixture(scope="module")
def pg_url() -> Iterator[str]:
    with pg_database("contract") as url:
        yield url


@pytest.fixture(params=["sqlite", "postgres"])
def opener(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Opener]:
    """Opens the store under test; every call opens one more store object on the same
    database (what a second server instance does). The database starts empty."""
    opened: list[Store] = []
    if request.param == "sqlite":
        path = str(tmp_path / "contract.db")

        def open_sqlite() -> Store:
            opened.append(SqliteStore(path))
            return opened[-1]

        yield open_sqlite
    else:
        url = request.getfixturevalue("pg_url")

        def open_pg() -> Store:
            opened.append(open_store(url))
            return opened[-1]

        open_pg().reset()
        yield open_pg
    for s in opened:
        s.close()


@pytest.fixture
def store(opener: Opener) -> Store:
    return opener()


def put(
    s: Store, key: str, kind: str = "thing", parent: str = "/p", name: str | None = None, **doc: Any
) -> Item:
    return s.put(kind, key, parent, name or key.rsplit("/", 1)[-1], doc or {"k": key})


def keys(items: list[Item]) -> list[str]:
    return [i.key for i in items]


# -- get / put ---------------------------------------------------------------------------
def test_get_of_a_missing_item_is_none(store: Store) -> None:
    assert store.get("thing", "/nope") is None


def test_put_then_get_round_trips_every_field(store: Store) -> None:
    doc = {"b": 1, "a": {"z": [1, 2.5, None, True], "y": "é\u0000\U0001f600"}, "big": 2**53 + 1}
    made = store.put("thing", "/subs/1/rg/a", "/subs/1", "MyName", doc, {"uri": "http://x"})
    got = store.get("thing", "/subs/1/rg/a")
    assert got == made
    assert (got.kind, got.key, got.parent, got.name) == (
        "thing",
        "/subs/1/rg/a",
        "/subs/1",
        "myname",
    )
    assert got.doc == doc and list(got.doc) == ["b", "a", "big"]  # key order kept
    assert got.secret == {"uri": "http://x"}
    assert got.etag.startswith('"') and got.etag.endswith('"') and len(got.etag) > 2
    assert got.seq > 0


def test_the_same_key_under_two_kinds_is_two_items(store: Store) -> None:
    put(store, "/a", kind="one", x=1)
    put(store, "/a", kind="two", x=2)
    assert store.get("one", "/a").doc == {"x": 1}  # type: ignore[union-attr]
    assert store.get("two", "/a").doc == {"x": 2}  # type: ignore[union-attr]


def test_a_replace_changes_the_etag_and_keeps_the_position(store: Store) -> None:
    first = put(store, "/a", v=1)
    put(store, "/b")
    second = store.put("thing", "/a", "/q", "A2", {"v": 2})
    got = store.get("thing", "/a")
    assert got is not None and got.etag == second.etag != first.etag
    assert got.seq == first.seq == second.seq
    assert (got.parent, got.name, got.doc, got.secret) == ("/q", "a2", {"v": 2}, None)
    assert keys(store.list("thing")) == ["/a", "/b"]


def test_put_returns_a_fresh_seq_in_insertion_order(store: Store) -> None:
    seqs = [put(store, f"/i{n}").seq for n in range(5)]
    assert seqs == sorted(seqs) and len(set(seqs)) == 5


# -- compare-and-set ---------------------------------------------------------------------
def test_if_etag_empty_creates_only_when_missing(store: Store) -> None:
    made = store.put("thing", "/a", "/p", "a", {"v": 1}, if_etag="")
    with pytest.raises(EtagMismatch):
        store.put("thing", "/a", "/p", "a", {"v": 2}, if_etag="")
    assert store.get("thing", "/a") == made


def test_if_etag_updates_only_with_the_current_etag(store: Store) -> None:
    first = put(store, "/a", v=1)
    second = store.put("thing", "/a", "/p", "a", {"v": 2}, if_etag=first.etag)
    assert second.etag != first.etag
    with pytest.raises(EtagMismatch):
        store.put("thing", "/a", "/p", "a", {"v": 3}, if_etag=first.etag)
    assert store.get("thing", "/a") == second


def test_if_etag_on_a_missing_item_fails_and_creates_nothing(store: Store) -> None:
    with pytest.raises(EtagMismatch):
        store.put("thing", "/a", "/p", "a", {}, if_etag='"whatever"')
    assert store.get("thing", "/a") is None


# -- delete ------------------------------------------------------------------------------
def test_delete_says_whether_something_was_deleted(store: Store) -> None:
    put(store, "/a")
    put(store, "/a", kind="other")
    assert store.delete("thing", "/a") is True
    assert store.delete("thing", "/a") is False
    assert store.get("thing", "/a") is None
    assert store.get("other", "/a") is not None


def test_delete_tree_stops_at_the_path_boundary(store: Store) -> None:
    inside = ["/a/b", "/a/b/c", "/a/b/c/d", "/a/b//e"]
    outside = [
        "/a",
        "/a/bc",
        "/a/b0",
        "/a/b.x",
        "/a/b-x",
        "/a/b\U0001f600",
        "/a/B/c",
        "/a/ab",
        "/a/b\uffff",
        "/x/a/b/c",
    ]
    for n, k in enumerate(inside + outside):
        put(store, k, kind=("one", "two")[n % 2])
    assert store.delete_tree("/a/b") == len(inside)
    left = sorted(keys(store.list("one")) + keys(store.list("two")))
    assert left == sorted(outside)
    assert store.delete_tree("/a/b") == 0


def test_lookups_with_a_nul_character_find_nothing(store: Store) -> None:
    put(store, "/a", parent="/p")
    store.meta_set("k", "v")
    assert store.get("thing", "/a\x00") is None
    assert store.find_by_name("thing", "a\x00") == []
    assert store.list("thing", parent="/p\x00") == [] and store.list("thing", prefix="/a\x00") == []
    assert store.count("thing", "/p\x00") == 0
    assert store.meta_get("k\x00") is None
    assert store.delete("thing", "/a\x00") is False and store.delete_tree("/a\x00") == 0
    assert keys(store.list("thing")) == ["/a"]


# -- list / count ------------------------------------------------------------------------
def test_list_is_in_insertion_order_and_pages_both_ways(store: Store) -> None:
    made = [put(store, f"/p/i{n}") for n in range(7)]
    put(store, "/p/other", kind="other")
    assert keys(store.list("thing")) == [m.key for m in made]
    assert keys(store.list("thing", newest_first=True)) == [m.key for m in reversed(made)]
    assert keys(store.list("thing", limit=3)) == ["/p/i0", "/p/i1", "/p/i2"]
    assert keys(store.list("thing", after=made[2].seq, limit=2)) == ["/p/i3", "/p/i4"]
    assert keys(store.list("thing", after=made[5].seq, newest_first=True, limit=2)) == [
        "/p/i4",
        "/p/i3",
    ]
    assert store.list("thing", after=made[-1].seq) == []
    assert store.list("thing", limit=0) == []
    for newest_first in (False, True):
        seen: list[str] = []
        after = None
        while True:
            page = store.list("thing", after=after, limit=3, newest_first=newest_first)
            seen += keys(page)
            if len(page) < 3:
                break
            after = page[-1].seq
        expect = [m.key for m in made]
        assert seen == (expect[::-1] if newest_first else expect)


def test_list_filters_by_parent_and_by_key_prefix(store: Store) -> None:
    for k, parent in [
        ("/s/1/rg/a", "/s/1/rg"),
        ("/s/1/rg/b", "/s/1/rg"),
        ("/s/1/rh/c", "/s/1/rh"),
        ("/s/10/rg/d", "/s/10/rg"),
        ("/s/1\U0001f600/e", "/s/x"),
        ("/s/2/rg/f", "/s/2/rg"),
    ]:
        put(store, k, parent=parent)
    assert keys(store.list("thing", parent="/s/1/rg")) == ["/s/1/rg/a", "/s/1/rg/b"]
    assert keys(store.list("thing", parent="/nobody")) == []
    assert keys(store.list("thing", prefix="/s/1/")) == ["/s/1/rg/a", "/s/1/rg/b", "/s/1/rh/c"]
    assert keys(store.list("thing", prefix="/s/1")) == [
        "/s/1/rg/a",
        "/s/1/rg/b",
        "/s/1/rh/c",
        "/s/10/rg/d",
        "/s/1\U0001f600/e",
    ]
    assert keys(store.list("thing", prefix="/s/1\U0001f600")) == ["/s/1\U0001f600/e"]
    assert keys(store.list("thing", prefix="/s/1/", parent="/s/1/rh")) == ["/s/1/rh/c"]
    assert keys(store.list("thing", prefix="/s/1/", limit=2, newest_first=True)) == [
        "/s/1/rh/c",
        "/s/1/rg/b",
    ]
    assert len(store.list("thing", prefix="")) == 6


def test_prefix_end_is_the_tight_upper_bound() -> None:
    assert prefix_end("/a/") == "/a0"
    assert prefix_end("ab") == "ac"
    assert prefix_end("a\U0010ffff") == "b"
    assert prefix_end("\U0010ffff") is None
    assert prefix_end("") is None
    assert prefix_end("a\ud7ff") == "a\ue000"


def test_count_counts_one_kind_under_one_parent(store: Store) -> None:
    for n in range(3):
        put(store, f"/r/w{n}", parent="/r")
    put(store, "/r/x", parent="/r", kind="other")
    put(store, "/q/w", parent="/q")
    assert store.count("thing", "/r") == 3
    assert store.count("thing", "/nobody") == 0


def test_find_by_name_ignores_case_and_keeps_insertion_order(store: Store) -> None:
    put(store, "/rg1/MyReg", name="MyReg", parent="/rg1")
    put(store, "/rg2/myreg", name="myreg", parent="/rg2")
    put(store, "/rg3/other", name="other", parent="/rg3")
    put(store, "/rg1/MyReg", name="MyReg", kind="webhook")
    for probe in ("myreg", "MYREG", "MyReg"):
        assert keys(store.find_by_name("thing", probe)) == ["/rg1/MyReg", "/rg2/myreg"]
    assert store.find_by_name("thing", "myre") == []
    assert keys(store.find_by_name("webhook", "MYREG")) == ["/rg1/MyReg"]


# -- meta --------------------------------------------------------------------------------
def test_meta_get_set_and_overwrite(store: Store) -> None:
    assert store.meta_get("version") is None
    store.meta_set("version", "1")
    store.meta_set("other", "x")
    store.meta_set("version", "2")
    assert (store.meta_get("version"), store.meta_get("other")) == ("2", "x")
    assert store.list("meta") == []


# -- reset / close -----------------------------------------------------------------------
def test_reset_empties_items_and_meta_and_the_store_stays_usable(store: Store) -> None:
    old = put(store, "/a")
    store.meta_set("k", "v")
    store.reset()
    assert store.get("thing", "/a") is None and store.meta_get("k") is None
    assert store.list("thing") == []
    new = put(store, "/b")
    assert store.get("thing", "/b") == new and new.seq > 0 and old.seq > 0


def test_what_was_written_survives_closing_and_reopening(opener: Opener) -> None:
    s1 = opener()
    made = put(s1, "/a", v=1)
    s1.meta_set("k", "v")
    s1.close()
    s2 = opener()
    assert s2.get("thing", "/a") == made and s2.meta_get("k") == "v"


def test_a_second_store_object_sees_every_write_at_once(opener: Opener) -> None:
    a, b = opener(), opener()
    made = put(a, "/a", v=1)
    assert b.get("thing", "/a") == made
    b.delete("thing", "/a")
    assert a.get("thing", "/a") is None
    a.meta_set("k", "1")
    assert b.meta_get("k") == "1"


# -- transactions ------------------------------------------------------------------------
def test_a_transaction_commits_all_its_writes(store: Store) -> None:
    put(store, "/gone")
    with store.transaction():
        put(store, "/a")
        put(store, "/b")
        store.delete("thing", "/gone")
        store.meta_set("k", "v")
    assert keys(store.list("thing")) == ["/a", "/b"] and store.meta_get("k") == "v"


def test_an_exception_rolls_the_whole_transaction_back(store: Store) -> None:
    put(store, "/keep", v=1)
    put(store, "/tree/x")
    with pytest.raises(RuntimeError), store.transaction():
        put(store, "/new")
        store.put("thing", "/keep", "/p", "keep", {"v": 2})
        store.delete_tree("/tree")
        store.meta_set("k", "v")
        raise RuntimeError("boom")
    assert keys(store.list("thing")) == ["/keep", "/tree/x"]
    assert store.get("thing", "/keep").doc == {"v": 1}  # type: ignore[union-attr]
    assert store.meta_get("k") is None


def test_a_failed_inner_transaction_rolls_back_alone(store: Store) -> None:
    with store.transaction():
        put(store, "/outer1")
        try:
            with store.transaction():
                put(store, "/inner")
                store.delete("thing", "/outer1")
                raise ValueError("inner")
        except ValueError:
            pass
        assert keys(store.list("thing")) == ["/outer1"]
        put(store, "/outer2")
    assert keys(store.list("thing")) == ["/outer1", "/outer2"]


def test_an_outer_failure_rolls_back_committed_inner_blocks(store: Store) -> None:
    with pytest.raises(KeyError), store.transaction():
        with store.transaction():
            put(store, "/a")
            with store.transaction():
                put(store, "/b")
        assert len(store.list("thing")) == 2
        raise KeyError("outer")
    assert store.list("thing") == []
    with store.transaction(), store.transaction(), store.transaction():
        put(store, "/c")
    assert keys(store.list("thing")) == ["/c"]


def test_an_etag_mismatch_inside_a_transaction_leaves_it_usable(store: Store) -> None:
    put(store, "/a")
    with store.transaction():
        with pytest.raises(EtagMismatch):
            store.put("thing", "/a", "/p", "a", {}, if_etag="")
        with pytest.raises(EtagMismatch):
            store.put("thing", "/b", "/p", "b", {}, if_etag='"stale"')
        put(store, "/c")
    assert keys(store.list("thing")) == ["/a", "/c"]


def test_reads_inside_a_transaction_see_its_own_writes(store: Store) -> None:
    with store.transaction():
        made = put(store, "/a", parent="/r", name="Ann")
        assert store.get("thing", "/a") == made
        assert keys(store.find_by_name("thing", "ann")) == ["/a"]
        assert store.count("thing", "/r") == 1
        store.meta_set("k", "v")
        assert store.meta_get("k") == "v"
        store.delete("thing", "/a")
        assert store.list("thing") == []


def test_no_other_thread_sees_uncommitted_writes(opener: Opener) -> None:
    store, other = opener(), opener()
    started, committed = threading.Event(), threading.Event()
    seen: list[Item | None] = []

    def writer() -> None:
        with store.transaction():
            put(store, "/a")
            started.set()
            time.sleep(0.3)
            committed.set()

    def reader(s: Store) -> None:
        started.wait(5)
        got = s.get("thing", "/a")
        assert got is None or committed.is_set()  # waited for the commit, or saw nothing
        seen.append(got)

    threads = [threading.Thread(target=writer)] + [
        threading.Thread(target=reader, args=(s,)) for s in (store, other)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert len(seen) == 2
    assert store.get("thing", "/a") is not None and other.get("thing", "/a") is not None


# -- concurrency -------------------------------------------------------------------------
def run_threads(n: int, target: Callable[[int], None]) -> None:
    errors: list[BaseException] = []

    def wrap(i: int) -> None:
        try:
            target(i)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=wrap, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    assert not any(t.is_alive() for t in threads)


def test_concurrent_compare_and_set_loses_no_increment(opener: Opener) -> None:
    stores = [opener(), opener()]  # two store objects: two server instances
    put(stores[0], "/counter", n=0)
    threads, rounds = 8, 15
    conflicts = [0]

    def work(i: int) -> None:
        s = stores[i % 2]
        for _ in range(rounds):
            while True:
                cur = s.get("thing", "/counter")
                assert cur is not None
                try:
                    s.put(
                        "thing",
                        "/counter",
                        "/p",
                        "counter",
                        {"n": cur.doc["n"] + 1},
                        if_etag=cur.etag,
                    )
                    break
                except EtagMismatch:
                    conflicts[0] += 1

    run_threads(threads, work)
    assert stores[1].get("thing", "/counter").doc == {"n": threads * rounds}  # type: ignore


def test_concurrent_creates_with_if_etag_empty_make_exactly_one(opener: Opener) -> None:
    stores = [opener(), opener()]
    wins: list[int] = []

    def work(i: int) -> None:
        try:
            stores[i % 2].put("thing", "/one", "/p", "one", {"by": i}, if_etag="")
            wins.append(i)
        except EtagMismatch:
            pass

    run_threads(12, work)
    assert len(wins) == 1
    assert stores[0].get("thing", "/one").doc == {"by": wins[0]}  # type: ignore[union-attr]
    assert len(stores[0].list("thing")) == 1


def test_read_modify_write_transactions_take_turns(opener: Opener) -> None:
    """What the backend relies on: a transaction that reads, checks and writes is never
    interleaved with another writer (no lost update, no duplicate create)."""
    stores = [opener(), opener()]
    threads, rounds = 8, 10

    def work(i: int) -> None:
        s = stores[i % 2]
        for r in range(rounds):
            with s.transaction():
                cur = s.get("thing", "/counter")
                n = cur.doc["n"] if cur else 0
                if s.get("thing", f"/made/{r}") is None:  # check-then-create
                    put(s, f"/made/{r}", by=i)
                put(s, "/counter", n=n + 1)

    run_threads(threads, work)
    assert stores[0].get("thing", "/counter").doc == {"n": threads * rounds}  # type: ignore
    made = stores[1].list("thing", prefix="/made/")
    assert sorted(keys(made)) == sorted(f"/made/{r}" for r in range(rounds))


# -- PostgreSQL specifics ----------------------------------------------------------------
def test_pg_schemas_isolate_stores_and_reset_touches_only_its_own() -> None:
    require_pg()
    one, two = new_schema("iso"), new_schema("iso")
    a = open_store(schema_url(one))
    sep = "&" if "?" in PG_URL else "?"
    b = open_store(f"{PG_URL}{sep}options=-csearch_path%3D{two}")  # schema via search_path
    try:
        assert getattr(b, "schema", None) == two
        put(a, "/a")
        put(b, "/b")
        a.meta_set("k", "a")
        assert keys(a.list("thing")) == ["/a"] and keys(b.list("thing")) == ["/b"]
        a.reset()
        assert a.list("thing") == [] and keys(b.list("thing")) == ["/b"]
    finally:
        a.close()
        b.close()
        drop_schema(one)
        drop_schema(two)


def test_pg_accepts_postgres_scheme_and_rejects_a_bad_schema_name() -> None:
    require_pg()
    from acrctl.backend.pg import PostgresStore

    schema = new_schema("scheme")
    url = schema_url(schema).replace("postgresql://", "postgres://", 1)
    s = open_store(url)
    try:
        assert isinstance(s, PostgresStore) and s.schema == schema
    finally:
        s.close()
        drop_schema(schema)
    with pytest.raises(ValueError):
        PostgresStore(schema_url('x"; DROP TABLE y; --'))


def test_pg_unreachable_database_is_unavailable() -> None:
    from acrctl.backend.pg import PostgresStore

    t0 = time.monotonic()
    with pytest.raises(Unavailable) as info:
        PostgresStore("postgresql://postgres@127.0.0.1:1/test?connect_timeout=2")
    assert info.value.retry_after and time.monotonic() - t0 < 10


def test_pg_store_recovers_when_the_server_drops_its_connections(pg_url: str) -> None:
    import psycopg

    app = f"acrctl_test_{uuid.uuid4().hex[:8]}"
    s = open_store(f"{pg_url}&application_name={app}")

    def drop_connections() -> None:
        with psycopg.connect(PG_URL, autocommit=True) as admin:
            row = admin.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM "
                "pg_stat_activity WHERE application_name = %s",
                (app,),
            ).fetchone()
        assert row and row[0] >= 1

    try:
        s.reset()
        made = put(s, "/a")
        drop_connections()
        assert s.get("thing", "/a") == made  # the read retries on a fresh connection
        drop_connections()
        with s.transaction():  # so does starting a transaction
            put(s, "/b")
        drop_connections()
        put(s, "/c")
        assert keys(s.list("thing")) == ["/a", "/b", "/c"]
    finally:
        s.reset()
        s.close()
