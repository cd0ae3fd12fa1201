"""Run acrctl's benchmarks (DESIGN.md §5 budgets) and optionally write the results into
docs/BENCHMARKS.md, each part between its markers:

    python benchmarks/run.py --write docs/BENCHMARKS.md            # everything (~8 minutes)
    python benchmarks/run.py --only server,lro                     # some parts
    python benchmarks/run.py --quick                               # shorter runs, rougher

Parts: cli (CLI start-up, cli_start.py), server (throughput and latency on SQLite and
PostgreSQL, server_load.py), scaling (10 to 10,000 webhooks, events and registries,
scaling.py), lro (long-running operations, lro.py), replication (the replication engine
against skopeo, replication.py; needs docker-registry and skopeo). Each part also runs
alone: `python benchmarks/<part>.py --help`. Needs the package installed (pip install
-e .); the server part uses wrk when installed (apt-get install -y wrk), else a Python
load generator, and PostgreSQL at ACRCTL_BENCH_PG_URL (else ACRCTL_TEST_PG_URL) when
reachable. Not part of the test run."""

from __future__ import annotations

import argparse
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import benchlib as bl  # noqa: E402
import cli_start  # noqa: E402
import lro  # noqa: E402
import replication  # noqa: E402
import scaling  # noqa: E402
import server_load  # noqa: E402

PARTS = ("cli", "server", "scaling", "lro", "replication")


def run_part(part: str, quick: bool) -> tuple[str, str]:
    """(marker name, markdown report) of one part."""
    if part == "cli":
        runs = 7 if quick else 15
        return "cli-start", cli_start.render(cli_start.run(runs), runs)
    if part == "server":
        duration = 2.0 if quick else 5.0
        return "server", server_load.render(server_load.run(duration), duration)
    if part == "scaling":
        sizes = (10, 1000) if quick else scaling.SIZES
        return "scaling", scaling.render(scaling.run(sizes))
    if part == "lro":
        runs = 3 if quick else 5
        return "lro", lro.render(lro.run(runs), runs)
    if part == "replication":
        runs, small = (1, 20) if quick else (3, 100)
        res = replication.run(runs, 100, 10, small, list(replication.SECTIONS))
        return "replication", replication.render(res)
    raise ValueError(f"unknown part {part!r}: one of {', '.join(PARTS)}")


def parse_parts(text: str | None) -> list[str]:
    if not text:
        return list(PARTS)
    parts = [p.strip().lower() for p in text.split(",") if p.strip()]
    unknown = [p for p in parts if p not in PARTS]
    if unknown:
        raise SystemExit(f"unknown part(s) {', '.join(unknown)}: choose from {', '.join(PARTS)}")
    return parts


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--only",
        default=None,
        metavar="PARTS",
        help=f"comma-separated parts to run: {', '.join(PARTS)} (default: all)",
    )
    ap.add_argument("--quick", action="store_true", help="shorter runs (rough figures)")
    ap.add_argument(
        "--write",
        default=None,
        metavar="MARKDOWN",
        help="write each part's results between its markers in this file",
    )
    args = ap.parse_args(argv)
    parts = parse_parts(args.only)
    started = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    load_start = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    for part in parts:
        print(f"== {part}", file=sys.stderr)
        t0 = time.perf_counter()
        name, report = run_part(part, args.quick)
        print(report)
        print(f"   ({time.perf_counter() - t0:.0f}s)", file=sys.stderr)
        if args.write:
            bl.write_block(args.write, name, report)
    if args.write:
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        bl.write_block(
            args.write,
            "machine",
            f"Last run {started} ({', '.join(parts)}"
            f"{', quick' if args.quick else ''}): {bl.machine()}; load average "
            f"{load_start:.2f} at the start, {load:.2f} at the end.",
        )


if __name__ == "__main__":
    main()
