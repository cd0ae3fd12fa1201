"""Server throughput and latency: GET one replication, list replications and PUT a webhook
with 1, 8 and 32 concurrent connections, on 1 and 2 uvicorn worker processes; requests per
second, p50 and p99, and the ratio to a bare ASGI app (benchmarks/bare_asgi.py) served by the
same uvicorn with the same flags in the same run.

    python benchmarks/server_load.py [--duration 5] [--write docs/BENCHMARKS.md]

acrctl runs as `uvicorn --factory acrctl.server.factory:app --workers N` on a shared SQLite
file (WAL) seeded beforehand; every request is authenticated (bearer token) and served from
the store. The load comes from wrk with Lua scripts for the auth header and the PUT body
(benchmarks/wrk/); without wrk a Python load generator stands in (see benchlib.WRK_MISSING).
Budget (DESIGN.md §5): GET of one replication at 32 connections >= 0.35x the bare app's
req/s, p99 <= 15 ms. Not part of the test run."""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from dataclasses import dataclass

import benchlib as bl

CASES = {"get": "GET one replication", "list": "list replications", "put": "PUT a webhook"}
BASELINE = "bare ASGI app (baseline)"
RATIO_BUDGET, P99_BUDGET_MS, BUDGET_CONNECTIONS = 0.35, 15.0, 32


@dataclass
class Row:
    case: str
    workers: int
    connections: int
    load: bl.Load
    baseline_rps: float | None = None

    @property
    def ratio(self) -> float | None:
        return self.load.rps / self.baseline_rps if self.baseline_rps else None

    def budgeted(self) -> bool:
        return self.case == CASES["get"] and self.connections == BUDGET_CONNECTIONS


def drive(url: str, connections: int, seconds: float, method: str, body: str,
          use_wrk: bool) -> bl.Load:
    if use_wrk:
        script = os.path.join(bl.HERE, "wrk", "put.lua" if method == "PUT" else "get.lua")
        return bl.run_wrk(url, connections, seconds, script,
                          {"ACRCTL_BENCH_TOKEN": bl.TOKEN, "ACRCTL_BENCH_BODY": body})
    headers = {"Authorization": f"Bearer {bl.TOKEN}"}
    if method == "PUT":
        headers["Content-Type"] = "application/json"
    return bl.pyload(url, connections, seconds, method, headers, body.encode())


def run(duration: float = 5.0, workers: tuple[int, ...] = (1, 2),
        connections: tuple[int, ...] = (1, 8, 32), use_wrk: bool | None = None,
        log: bool = True) -> list[Row]:
    use_wrk = bl.wrk_path() is not None if use_wrk is None else use_wrk
    if not use_wrk and log:
        print(bl.WRK_MISSING, file=sys.stderr)
    tmp = tempfile.mkdtemp(prefix="acrctl-bench-server-")
    db = os.path.join(tmp, "server.db")
    with bl.seeded_store(db) as acr:
        paths = bl.paths(acr.subscription)
    body = json.dumps(bl.webhook_body())
    rows: list[Row] = []
    warm = min(1.0, duration)
    env = {"ACRCTL_SERVER_DATABASE": db, "ACRCTL_BOOTSTRAP_TOKEN": bl.TOKEN,
           "ACRCTL_WEBHOOK_DELIVERY": "off"}
    for n in workers:
        # both servers up at once; at each connection count the baseline runs right before
        # acrctl's rows, so a change in the machine's load between rows skews few ratios
        with bl.Server("bare_asgi:app", workers=n) as bare, \
                bl.Server("acrctl.server.factory:app", workers=n, factory=True, env=env) as srv:
            status, _ = bl.http_get(srv.url + paths["get"], bl.TOKEN)
            if status != 200:
                raise SystemExit(f"GET of the seeded replication answered {status}")
            drive(bare.url + "/", 8, warm, "GET", "", use_wrk)
            drive(srv.url + paths["get"], 8, warm, "GET", "", use_wrk)
            for c in connections:
                base = drive(bare.url + "/", c, duration, "GET", "", use_wrk)
                rows.append(Row(BASELINE, n, c, base))
                _log(log, rows[-1])
                for key, name in CASES.items():
                    method = "PUT" if key == "put" else "GET"
                    load = drive(srv.url + paths[key], c, duration, method, body, use_wrk)
                    rows.append(Row(name, n, c, load, base.rps))
                    _log(log, rows[-1])
                    time.sleep(0.2)
    return rows


def _log(enabled: bool, row: Row) -> None:
    if enabled:
        print(f"  {row.case}, {row.workers} worker(s), {row.connections} conn: "
              f"{row.load.rps:,.0f} req/s, p50 {row.load.p50_ms:.2f} ms, "
              f"p99 {row.load.p99_ms:.2f} ms, errors {row.load.errors}", file=sys.stderr)


def render(rows: list[Row], duration: float) -> str:
    tool = rows[0].load.tool if rows else "wrk"
    out = []
    for r in rows:
        ratio = f"{r.ratio:.2f}" if r.ratio is not None else ("1.00" if r.case == BASELINE
                                                              else "")
        budget, ok = "", ""
        if r.budgeted():
            budget = f">= {RATIO_BUDGET}x, p99 <= {P99_BUDGET_MS:g} ms"
            good = (r.ratio or 0) >= RATIO_BUDGET and r.load.p99_ms <= P99_BUDGET_MS
            ok = "yes" if good else "**no**"
        out.append([r.case, r.workers, r.connections, f"{r.load.rps:,.0f}", ratio,
                    f"{r.load.p50_ms:.2f}", f"{r.load.p99_ms:.2f}", r.load.errors, budget, ok])
    note = "" if tool == "wrk" else f"\n{bl.WRK_MISSING}\n"
    return (f"{duration:g} s per row, load from {tool}; x bare = req/s over the bare ASGI "
            "app's at the same workers and connections.\n" + note + "\n"
            + bl.table(["case", "workers", "connections", "req/s", "x bare", "p50 (ms)",
                        "p99 (ms)", "errors", "budget", "met"], out))


def main(argv: list[str] | None = None) -> str:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--duration", type=float, default=5.0, help="seconds per row")
    ap.add_argument("--workers", default="1,2", help="worker process counts, e.g. 1,2")
    ap.add_argument("--connections", default="1,8,32", help="e.g. 1,8,32")
    ap.add_argument("--python-load", action="store_true",
                    help="use the Python load generator even when wrk is installed")
    ap.add_argument("--write", default=None, metavar="MARKDOWN",
                    help="write the table into this file (between server markers)")
    args = ap.parse_args(argv)
    rows = run(args.duration, _ints(args.workers), _ints(args.connections),
               use_wrk=False if args.python_load else None)
    report = render(rows, args.duration)
    print(report)
    if args.write:
        bl.write_block(args.write, "server", report)
    return report


def _ints(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in text.split(",") if x.strip())


if __name__ == "__main__":
    main()
