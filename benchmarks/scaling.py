"""Scaling: list latency and server memory with 10, 1,000 and 10,000 webhooks in one
registry, webhook events on one webhook, and registries across a subscription (spread over
GROUPS resource groups). Each page must cost O(page size), not O(total): the last page
(reached through $skipToken) may take at most 1.5x the first (DESIGN.md §5), the first page
should take about the same time at every size, and the server's memory should not grow with
the data.

    python benchmarks/scaling.py [--sizes 10,1000,10000] [--write docs/BENCHMARKS.md]

The store is seeded through the backend before the server starts: webhooks through
backend.webhooks.put, with the Premium quota (500 per registry) raised in the seeding
process only (the server keeps the real quota); events through backend.webhooks.enqueue;
Basic registries through backend.registries.put.
The server is `uvicorn --factory acrctl.server.factory:app` (one worker, delivery off);
latency is the median of sequential keep-alive requests, pages of 100 (the default).
Not part of the test run."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import benchlib as bl

SIZES = (10, 1000, 10000)
REPEAT = 40
PAGE = 100  # Settings.page_size
GROUPS = 10  # resource groups the registries are spread over
LAST_PAGE_BUDGET = 1.5  # the last page at most this many times the first (DESIGN.md §5)


@dataclass
class Row:
    what: str
    total: int
    pages: int
    first_ms: float
    deep_ms: float | None
    rss_mib: float


@contextlib.contextmanager
def raised_quota(count: int) -> Iterator[None]:
    """The Premium webhook quota, raised in this process while seeding."""
    from acrctl.backend import registries

    old = registries.WEBHOOK_QUOTA["Premium"]
    registries.WEBHOOK_QUOTA["Premium"] = max(old, count + 1)
    try:
        yield
    finally:
        registries.WEBHOOK_QUOTA["Premium"] = old


def seed(db: str, total: int) -> str:
    """A seeded store with `total` webhooks in benchreg1 and `total` events on benchhook1.
    Returns the subscription id."""
    with bl.seeded_store(db) as acr:
        b, caller = acr.backend, acr.admin
        sub = acr.subscription
        with raised_quota(total), b.store.transaction():
            for i in range(1, total):  # benchhook1 exists already
                b.webhooks.put(
                    caller, sub, bl.GROUP, bl.REGISTRY, f"hook{i:05d}", bl.webhook_body()
                )
            hook = b.webhooks.item(sub, bl.GROUP, bl.REGISTRY, bl.HOOK)
            for i in range(total):
                b.webhooks.enqueue(
                    hook,
                    {
                        "id": f"bench-{i}",
                        "action": "push",
                        "target": {"repository": "bench", "tag": str(i)},
                    },
                )
            groups = [f"scale{g:02d}" for g in range(GROUPS)]
            for g in groups:
                b.groups.put(caller, sub, g, {"location": "westus"})
            for i in range(1, total):  # benchreg1 exists already
                b.registries.put(
                    caller,
                    sub,
                    groups[i % GROUPS],
                    f"scalereg{i:05d}",
                    {"location": "westus", "sku": {"name": "Basic"}},
                )
        return str(sub)


def _registries_path(sub: str) -> str:
    return (
        f"/subscriptions/{sub}/providers/Microsoft.ContainerRegistry/registries"
        f"?api-version={bl.API}"
    )


def timed_get(conn: bl.KeepAlive, path: str, method: str = "GET") -> tuple[float, dict]:
    """Median milliseconds of REPEAT requests, and the last answer."""
    samples: list[float] = []
    body: dict[str, Any] = {}
    for _ in range(REPEAT):
        status, body, seconds = conn.request(method, path)
        if status != 200:
            raise SystemExit(f"{method} {path} answered {status}: {body}")
        samples.append(seconds * 1000)
    return bl.median(samples), body


def walk(conn: bl.KeepAlive, path: str, method: str) -> tuple[int, int, str | None]:
    """Follow nextLinks from `path`: (items, pages, path of the deepest full page reached
    through $skipToken, or None when there is only one page)."""
    items, pages, deep = 0, 0, None
    nxt: str | None = path
    while nxt:
        status, body, _ = conn.request(method if pages == 0 else "GET", nxt)
        if status != 200:
            raise SystemExit(f"{nxt} answered {status}: {body}")
        value = body.get("value", [])
        if pages and value and (deep is None or len(value) >= PAGE):
            deep = nxt
        items += len(value)
        pages += 1
        link = body.get("nextLink")
        nxt = f"{urlsplit(link).path}?{urlsplit(link).query}" if link else None
    return items, pages, deep


def run(sizes: tuple[int, ...] = SIZES, log: bool = True) -> list[Row]:
    rows: list[Row] = []
    for total in sizes:
        tmp = tempfile.mkdtemp(prefix="acrctl-bench-scale-")
        db = os.path.join(tmp, "server.db")
        t0 = time.perf_counter()
        sub = seed(db, total)
        if log:
            print(
                f"  seeded {total} webhooks and events in {time.perf_counter() - t0:.1f}s",
                file=sys.stderr,
            )
        env = {
            "ACRCTL_SERVER_DATABASE": db,
            "ACRCTL_BOOTSTRAP_TOKEN": bl.TOKEN,
            "ACRCTL_WEBHOOK_DELIVERY": "off",
        }
        paths = bl.paths(sub)
        with bl.Server("acrctl.server.factory:app", factory=True, env=env) as srv:
            conn = bl.KeepAlive(srv.url, bl.TOKEN)
            try:
                lists = (
                    ("webhooks", paths["webhooks"], "GET"),
                    ("webhook events", paths["events"], "POST"),
                    ("registries in the subscription", _registries_path(sub), "GET"),
                )
                for what, path, method in lists:
                    items, pages, last = walk(conn, path, method)
                    if items != total:
                        raise SystemExit(f"listed {items} {what}, expected {total}")
                    first, _ = timed_get(conn, path, method)
                    deep = timed_get(conn, last)[0] if last else None
                    rows.append(Row(what, total, pages, first, deep, srv.rss_kib() / 1024))
                    if log:
                        print(
                            f"  {what} x{total}: {pages} pages, first {first:.2f} ms, deep "
                            f"{deep if deep is None else round(deep, 2)} ms, "
                            f"RSS {rows[-1].rss_mib:.1f} MiB",
                            file=sys.stderr,
                        )
            finally:
                conn.close()
    return rows


def render(rows: list[Row]) -> str:
    out = []
    for r in rows:
        deep = f"{r.deep_ms:.2f}" if r.deep_ms is not None else "(one page)"
        out.append([r.what, f"{r.total:,}", r.pages, f"{r.first_ms:.2f}", deep, f"{r.rss_mib:.1f}"])
    verdicts = []
    for what in dict.fromkeys(r.what for r in rows):
        full = [r for r in rows if r.what == what and r.total >= 2 * PAGE]
        if not full:
            continue
        growth = full[-1].first_ms / full[0].first_ms
        worst = max((r.deep_ms or r.first_ms) / r.first_ms for r in full)
        ok = growth <= 2.0 and worst <= LAST_PAGE_BUDGET
        verdicts.append(
            f"{what}: first page at {full[-1].total:,} items = {growth:.2f}x the "
            f"first page at {full[0].total:,}; the last page costs at most "
            f"{worst:.2f}x the first (budget {LAST_PAGE_BUDGET}x) -> O(page "
            f"size): {'yes' if ok else '**no**'}"
        )
    return (
        f"Median of {REPEAT} sequential keep-alive requests per page (100 items a page); "
        "RSS of the server process after the requests.\n\n"
        + bl.table(
            ["list", "items", "pages", "first page (ms)", "last page (ms)", "server RSS (MiB)"], out
        )
        + ("\n" + "\n".join(f"- {v}" for v in verdicts) + "\n" if verdicts else "")
    )


def main(argv: list[str] | None = None) -> str:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default=",".join(str(s) for s in SIZES))
    ap.add_argument("--write", default=None, metavar="MARKDOWN")
    args = ap.parse_args(argv)
    report = render(run(tuple(int(s) for s in args.sizes.split(",") if s.strip())))
    print(report)
    if args.write:
        bl.write_block(args.write, "scaling", report)
    return report


if __name__ == "__main__":
    main()
