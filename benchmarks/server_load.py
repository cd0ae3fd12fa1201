"""Server throughput and latency: GET one replication, list replications and PUT a webhook
with 1, 8 and 32 concurrent connections, on 1 and 2 uvicorn worker processes, on SQLite and
on PostgreSQL; requests per second, p50 and p99, and the ratio to a bare ASGI app
(benchmarks/bare_asgi.py) served by the same uvicorn with the same flags in the same run.

    python benchmarks/server_load.py [--duration 5] [--write docs/BENCHMARKS.md]

acrctl runs as `uvicorn --factory acrctl.server.factory:app --workers N` with the HTTP and
event-loop implementations `acrctl server` uses (httptools and uvloop when installed, else
h11 and asyncio; `--http h11` for the old stack), on a SQLite file (WAL) or a PostgreSQL
schema seeded beforehand; every request is authenticated (bearer token) and served from the
store. The write rate limit (`rate_limit_writes`, 100 a second per principal by default) is
off for the run: the PUT rows measure the server, not the limit. The load comes from wrk with
Lua scripts for the auth header and the PUT body (benchmarks/wrk/); without wrk a Python
load generator stands in (see benchlib.WRK_MISSING). Budgets (DESIGN.md §5): GET of one
replication at 32 connections >= 0.5x the bare app's req/s with p99 <= 15 ms on SQLite,
>= 0.25x on PostgreSQL. PostgreSQL comes from ACRCTL_BENCH_PG_URL (else
ACRCTL_TEST_PG_URL, else postgres@127.0.0.1/test); its rows are skipped when it is not
reachable. Not part of the test run."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass

import benchlib as bl

CASES = {"get": "GET one replication", "list": "list replications", "put": "PUT a webhook"}
PG_CASES = ("get", "put")  # on PostgreSQL
BASELINE = "bare ASGI app (baseline)"
SQLITE, POSTGRES = "SQLite", "PostgreSQL"
RATIO_BUDGET = {SQLITE: 0.5, POSTGRES: 0.25}
P99_BUDGET_MS, BUDGET_CONNECTIONS = 15.0, 32
SERVER_ENV = {
    "ACRCTL_BOOTSTRAP_TOKEN": bl.TOKEN,
    "ACRCTL_WEBHOOK_DELIVERY": "off",
    "ACRCTL_SERVER_RATE_LIMIT_WRITES": "0",
}


@dataclass
class Row:
    case: str
    workers: int
    connections: int
    load: bl.Load
    baseline_rps: float | None = None
    store: str = ""  # "" for the baseline
    stack: str = ""  # e.g. "httptools, uvloop"

    @property
    def ratio(self) -> float | None:
        return self.load.rps / self.baseline_rps if self.baseline_rps else None

    def budgeted(self) -> bool:
        return (
            self.case == CASES["get"]
            and self.connections == BUDGET_CONNECTIONS
            and self.store in RATIO_BUDGET
        )

    def budget(self) -> str:
        if self.store == SQLITE:
            return f">= {RATIO_BUDGET[SQLITE]}x, p99 <= {P99_BUDGET_MS:g} ms"
        return f">= {RATIO_BUDGET[POSTGRES]}x"

    def met(self) -> bool:
        ok = (self.ratio or 0) >= RATIO_BUDGET[self.store]
        return ok and (self.store != SQLITE or self.load.p99_ms <= P99_BUDGET_MS)


def drive(
    url: str, connections: int, seconds: float, method: str, body: str, use_wrk: bool
) -> bl.Load:
    if use_wrk:
        script = os.path.join(bl.HERE, "wrk", "put.lua" if method == "PUT" else "get.lua")
        return bl.run_wrk(
            url,
            connections,
            seconds,
            script,
            {"ACRCTL_BENCH_TOKEN": bl.TOKEN, "ACRCTL_BENCH_BODY": body},
        )
    headers = {"Authorization": f"Bearer {bl.TOKEN}"}
    if method == "PUT":
        headers["Content-Type"] = "application/json"
    return bl.pyload(url, connections, seconds, method, headers, body.encode())


def run(
    duration: float = 5.0,
    workers: tuple[int, ...] = (1, 2),
    connections: tuple[int, ...] = (1, 8, 32),
    use_wrk: bool | None = None,
    log: bool = True,
    postgres: bool = True,
    http: str = "auto",
    h11_reference: bool = True,
) -> list[Row]:
    """Every row; `h11_reference` adds GET at 32 connections on one worker with uvicorn's
    h11 and asyncio beside its own baseline (the stack of the older figures)."""
    use_wrk = bl.wrk_path() is not None if use_wrk is None else use_wrk
    if not use_wrk and log:
        print(bl.WRK_MISSING, file=sys.stderr)
    tmp = tempfile.mkdtemp(prefix="acrctl-bench-server-")
    db = os.path.join(tmp, "server.db")
    rows = _store_rows(db, SQLITE, tuple(CASES), duration, workers, connections, use_wrk, log, http)
    if postgres:
        with bl.pg_schema("server") as url:
            if url is not None:
                rows += _store_rows(
                    url, POSTGRES, PG_CASES, duration, workers, connections, use_wrk, log, http
                )
    if h11_reference and bl.stack(http)[0] != "h11":
        rows += _store_rows(
            db,
            SQLITE,
            ("get",),
            duration,
            (1,),
            (BUDGET_CONNECTIONS,),
            use_wrk,
            log,
            "h11",
            "asyncio",
        )
    return rows


def _store_rows(
    db: str,
    store: str,
    cases: tuple[str, ...],
    duration: float,
    workers: tuple[int, ...],
    connections: tuple[int, ...],
    use_wrk: bool,
    log: bool,
    http: str,
    loop: str = "auto",
) -> list[Row]:
    """The rows of one store: at each worker and connection count the baseline runs right
    before acrctl's rows (both servers up at once), so a change in the machine's load
    between rows skews few ratios."""
    if store == POSTGRES or not os.path.exists(db):
        with bl.seeded_store(db):
            pass
    with _subscription(db) as sub:
        paths = bl.paths(sub)
    body = json.dumps(bl.webhook_body())
    label = ", ".join(bl.stack(http, loop))
    rows: list[Row] = []
    warm = min(1.0, duration)
    env = {**SERVER_ENV, "ACRCTL_SERVER_DATABASE": db}
    for n in workers:
        with (
            bl.Server("bare_asgi:app", workers=n, http=http, loop=loop) as bare,
            bl.Server(
                "acrctl.server.factory:app", workers=n, factory=True, env=env, http=http, loop=loop
            ) as srv,
        ):
            status, _ = bl.http_get(srv.url + paths["get"], bl.TOKEN)
            if status != 200:
                raise SystemExit(f"GET of the seeded replication answered {status}")
            drive(bare.url + "/", 8, warm, "GET", "", use_wrk)
            drive(srv.url + paths["get"], 8, warm, "GET", "", use_wrk)
            for c in connections:
                base = drive(bare.url + "/", c, duration, "GET", "", use_wrk)
                rows.append(Row(BASELINE, n, c, base, stack=label))
                _log(log, rows[-1])
                for key in cases:
                    method = "PUT" if key == "put" else "GET"
                    load = drive(srv.url + paths[key], c, duration, method, body, use_wrk)
                    rows.append(Row(CASES[key], n, c, load, base.rps, store, label))
                    _log(log, rows[-1])
                    time.sleep(0.2)
    return rows


@contextlib.contextmanager
def _subscription(db: str) -> Iterator[str]:
    """The subscription of a seeded store."""
    from acrctl.backend.core import Backend
    from acrctl.backend.store import open_store

    store = open_store(db)
    try:
        yield str(Backend(store).list_subscriptions()[0]["subscriptionId"])
    finally:
        store.close()


def _log(enabled: bool, row: Row) -> None:
    if enabled:
        print(
            f"  {row.case} ({row.store or 'bare'}, {row.stack}), {row.workers} worker(s), "
            f"{row.connections} conn: {row.load.rps:,.0f} req/s, p50 {row.load.p50_ms:.2f} "
            f"ms, p99 {row.load.p99_ms:.2f} ms, errors {row.load.errors}",
            file=sys.stderr,
        )


def render(rows: list[Row], duration: float) -> str:
    tool = rows[0].load.tool if rows else "wrk"
    out = []
    for r in rows:
        ratio = f"{r.ratio:.2f}" if r.ratio is not None else ("1.00" if r.case == BASELINE else "")
        budget, ok = ("", "") if not r.budgeted() else (r.budget(), "yes" if r.met() else "**no**")
        out.append(
            [
                r.case,
                r.store,
                r.stack,
                r.workers,
                r.connections,
                f"{r.load.rps:,.0f}",
                ratio,
                f"{r.load.p50_ms:.2f}",
                f"{r.load.p99_ms:.2f}",
                r.load.errors,
                budget,
                ok,
            ]
        )
    note = "" if tool == "wrk" else f"\n{bl.WRK_MISSING}\n"
    return (
        f"{duration:g} s per row, load from {tool}; x bare = req/s over the bare ASGI "
        "app's on the same stack at the same workers and connections (the baseline row "
        "above it).\n"
        + note
        + "\n"
        + bl.table(
            [
                "case",
                "store",
                "stack",
                "workers",
                "connections",
                "req/s",
                "x bare",
                "p50 (ms)",
                "p99 (ms)",
                "errors",
                "budget",
                "met",
            ],
            out,
        )
    )


def main(argv: list[str] | None = None) -> str:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--duration", type=float, default=5.0, help="seconds per row")
    ap.add_argument("--workers", default="1,2", help="worker process counts, e.g. 1,2")
    ap.add_argument("--connections", default="1,8,32", help="e.g. 1,8,32")
    ap.add_argument(
        "--http",
        default="auto",
        choices=("auto", "h11", "httptools"),
        help="uvicorn's HTTP implementation (auto: as acrctl server)",
    )
    ap.add_argument("--no-postgres", action="store_true", help="skip the PostgreSQL rows")
    ap.add_argument(
        "--python-load",
        action="store_true",
        help="use the Python load generator even when wrk is installed",
    )
    ap.add_argument(
        "--write",
        default=None,
        metavar="MARKDOWN",
        help="write the table into this file (between server markers)",
    )
    args = ap.parse_args(argv)
    rows = run(
        args.duration,
        _ints(args.workers),
        _ints(args.connections),
        use_wrk=False if args.python_load else None,
        postgres=not args.no_postgres,
        http=args.http,
    )
    report = render(rows, args.duration)
    print(report)
    if args.write:
        bl.write_block(args.write, "server", report)
    return report


def _ints(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in text.split(",") if x.strip())


if __name__ == "__main__":
    main()
