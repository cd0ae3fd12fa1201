"""Long-running operations: wall time of a whole `acrctl replication create` process, from
start to the replica Succeeded, against a local server that finishes operations at once
(`immediate`) and one that finishes them after two status polls with Retry-After 1
(`--lro-mode polls --lro-polls 2 --retry-after 1`: 2 s of expected waiting). The overhead is
the wall time beyond that waiting; `acrctl replication show` in the same run is the floor of
a command's own cost (start-up and two requests).

    python benchmarks/lro.py [--runs 5] [--write docs/BENCHMARKS.md]

Budget (DESIGN.md §5): <= 1 s beyond the configured provisioning time. Not part of the test
run."""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass

import benchlib as bl
import cli_start

BUDGET = 1.0
# regions to create replicas in, one per run (the registry is in westus, its replica eastus)
LOCATIONS = (
    "westeurope",
    "northeurope",
    "eastus2",
    "centralus",
    "southcentralus",
    "westus2",
    "uksouth",
    "japaneast",
    "australiaeast",
    "canadacentral",
)
MODES = {
    "immediate": ({}, 0.0),
    "polls 2, retry-after 1": (
        {
            "ACRCTL_SERVER_LRO_MODE": "polls",
            "ACRCTL_SERVER_LRO_POLLS": "2",
            "ACRCTL_SERVER_RETRY_AFTER": "1",
        },
        2.0,
    ),
}


@dataclass
class Row:
    mode: str
    create_s: float
    expected_s: float
    show_s: float

    @property
    def overhead_s(self) -> float:
        return self.create_s - self.expected_s


def wall(cmd: list[str], env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed: {proc.stderr.decode()[:300]}")
    return elapsed


def run(runs: int = 5, log: bool = True) -> list[Row]:
    runs = min(runs, len(LOCATIONS))
    acrctl = cli_start.acrctl_path()
    rows = []
    for mode, (settings, expected) in MODES.items():
        tmp = tempfile.mkdtemp(prefix="acrctl-bench-lro-")
        db = os.path.join(tmp, "server.db")
        with bl.seeded_store(db) as acr:
            subscription = acr.subscription
        env = {
            "ACRCTL_SERVER_DATABASE": db,
            "ACRCTL_BOOTSTRAP_TOKEN": bl.TOKEN,
            "ACRCTL_WEBHOOK_DELIVERY": "off",
            **settings,
        }
        with bl.Server("acrctl.server.factory:app", factory=True, env=env) as srv:
            client_env = bl.bench_env(
                ACRCTL_CONFIG_DIR=os.path.join(tmp, "cfg"),
                ACRCTL_ENDPOINT=srv.url,
                ACRCTL_TOKEN=bl.TOKEN,
                ACRCTL_SUBSCRIPTION=subscription,
            )
            base = [acrctl, "replication"]
            target = ["-r", bl.REGISTRY, "-g", bl.GROUP]
            show = [*base, "show", *target, "-n", bl.REPLICA]
            wall(show, client_env)  # warm-up: bytecode cache
            creates, shows = [], []
            for loc in LOCATIONS[:runs]:
                creates.append(wall([*base, "create", *target, "-l", loc], client_env))
                shows.append(wall(show, client_env))
            rows.append(Row(mode, statistics.median(creates), expected, statistics.median(shows)))
            if log:
                print(
                    f"  {mode}: create {rows[-1].create_s:.3f}s, show {rows[-1].show_s:.3f}s",
                    file=sys.stderr,
                )
    return rows


def render(rows: list[Row], runs: int) -> str:
    out = [
        [
            r.mode,
            f"{r.create_s:.3f}",
            f"{r.expected_s:.1f}",
            f"{r.overhead_s:.3f}",
            f"{r.show_s:.3f}",
            f"{r.create_s - r.expected_s - r.show_s:+.3f}",
            f"<= {BUDGET:g}",
            bl.met(r.overhead_s, BUDGET),
        ]
        for r in rows
    ]
    return (
        f"Whole-process medians of {runs} creates (one new region each) and of `acrctl "
        "replication show` run between them.\n\n"
        + bl.table(
            [
                "server LRO mode",
                "create -> Succeeded (s)",
                "expected waiting (s)",
                "overhead (s)",
                "show (s)",
                "overhead - show (s)",
                "budget (s)",
                "met",
            ],
            out,
        )
    )


def main(argv: list[str] | None = None) -> str:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=5, help=f"creates per mode (<= {len(LOCATIONS)})")
    ap.add_argument("--write", default=None, metavar="MARKDOWN")
    args = ap.parse_args(argv)
    report = render(run(args.runs), min(args.runs, len(LOCATIONS)))
    print(report)
    if args.write:
        bl.write_block(args.write, "lro", report)
    return report


if __name__ == "__main__":
    main()
