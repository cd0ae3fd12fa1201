"""The subscription-wide list of registries pages in key order through the store's
(kind, key) index (issue 12 item 15): every page is a bounded index scan, not a sort of
every registry of the subscription, and its $skipToken is an opaque key. One behaviour per
test; in-process and against a real server."""

from __future__ import annotations

import os
import tempfile
from urllib.parse import parse_qs, urlsplit

import pytest

pytest.register_assert_rewrite("api_harness")
pytest_plugins = ("api_harness",)

from api_harness import ACR, Api  # noqa: E402

from acrctl.backend.sqlite import SqliteStore, list_query  # noqa: E402


def registries_path(api: Api) -> str:
    return f"{api.sub_path}/providers/{ACR}/registries"


@pytest.fixture
def spread(api: Api) -> Api:
    """Five registries over two resource groups, created out of name order."""
    api.create_group("rg1")
    api.create_group("rg2")
    for name, rg in (
        ("regccccc", "rg2"),
        ("regaaaaa", "rg1"),
        ("regeeeee", "rg2"),
        ("regbbbbb", "rg1"),
        ("regddddd", "rg1"),
    ):
        api.create_registry(name, rg=rg)
    api.set_settings(page_size=2)
    return api


def test_subscription_list_pages_in_key_order_across_groups(spread: Api) -> None:
    items, pages = spread.collect(registries_path(spread))
    assert [(i["id"].split("/")[4], i["name"]) for i in items] == [
        ("rg1", "regaaaaa"),
        ("rg1", "regbbbbb"),
        ("rg1", "regddddd"),
        ("rg2", "regccccc"),
        ("rg2", "regeeeee"),
    ]
    assert pages == 3


def test_subscription_list_skip_token_is_an_opaque_key_token(spread: Api) -> None:
    first = spread.get(registries_path(spread)).json()
    token = parse_qs(urlsplit(first["nextLink"]).query)["$skipToken"][0]
    assert token.startswith("k") and not token[1:].isdigit()
    assert "regbbbbb" not in token  # not the key in clear text


def test_subscription_list_goes_on_after_the_last_item_of_a_page_is_deleted(spread: Api) -> None:
    first = spread.get(registries_path(spread)).json()
    assert [i["name"] for i in first["value"]] == ["regaaaaa", "regbbbbb"]
    assert spread.delete(spread.reg_path("regbbbbb")).status_code in (200, 202, 204)
    rest = spread.follow(first["nextLink"]).json()
    assert [i["name"] for i in rest["value"]] == ["regddddd", "regccccc"]


def test_subscription_list_rejects_a_token_that_is_not_a_key_token(spread: Api) -> None:
    for token in ("12", "kk!!", "k" + "A" * 5000, "k_w"):
        resp = spread.get(registries_path(spread), params={"$skipToken": token})
        assert resp.status_code == 400, (token, resp.text)
        assert resp.json()["error"] == {
            "code": "InvalidSkipToken",
            "message": "The $skipToken or $top query parameter is invalid.",
        }


def test_group_list_keeps_its_sequence_tokens(spread: Api) -> None:
    first = spread.get(f"{spread.rg_path('rg1')}/providers/{ACR}/registries").json()
    token = parse_qs(urlsplit(first["nextLink"]).query)["$skipToken"][0]
    assert token.isdigit()
    assert [i["name"] for i in first["value"]] == ["regaaaaa", "regbbbbb"]


def test_the_subscription_list_query_is_an_index_scan_without_a_sort() -> None:
    """The query behind a page: the (kind, key) index bounds it and gives its order, so a
    page costs O(page) however many registries the subscription holds (before: every one
    of them was read and sorted by sequence number for each page)."""
    store = SqliteStore(os.path.join(tempfile.mkdtemp(), "plan.db"))
    try:
        sql, args = list_query(
            "items",
            "registry",
            None,
            "/subscriptions/s1/",
            None,
            100,
            False,
            after_key="/subscriptions/s1/resourcegroups/a",
            by_key=True,
        )
        plan = " ".join(
            row[3] for row in store._db.execute("EXPLAIN QUERY PLAN " + sql, args).fetchall()
        )
    finally:
        store.close()
    assert "TEMP B-TREE" not in plan, plan
    assert "USING INDEX sqlite_autoindex_items_1 (kind=? AND key>? AND key<?)" in plan, plan


def test_the_last_page_does_the_same_work_as_the_first() -> None:
    """Counted in SQLite VM steps (a progress handler), not time: with 2,000 registries a
    page after the last-but-one cursor steps as often as the first page (before: the seek
    started at the subscription's first key and filtered its way to the cursor)."""
    store = SqliteStore(os.path.join(tempfile.mkdtemp(), "steps.db"))
    prefix = "/subscriptions/s1/"
    try:
        with store.transaction():
            for i in range(2000):
                key = f"{prefix}resourcegroups/rg{i % 7}/registries/reg{i:05d}"
                store.put(
                    "registry",
                    key,
                    f"{prefix}resourcegroups/rg{i % 7}",
                    f"reg{i:05d}",
                    {"name": f"reg{i:05d}"},
                )
        keys = [i.key for i in store.list("registry", prefix=prefix, by_key=True)]
        steps = []
        for after in (None, keys[-101]):
            count = [0]

            def step(count: list[int] = count) -> int:
                count[0] += 1
                return 0

            store._db.set_progress_handler(step, 10)
            page = store.list("registry", prefix=prefix, limit=100, after_key=after, by_key=True)
            store._db.set_progress_handler(None, 0)
            assert len(page) == 100
            steps.append(count[0])
        assert [i.key for i in page] == keys[-100:]
        assert steps[1] <= steps[0] * 1.5, steps
    finally:
        store.close()
