"""CLI start-up benchmark: whole-process wall time of acrctl commands, as medians and as
ratios to baselines measured in the same run (`python -c pass`; `python -c "import click,
httpx, pydantic"`), and to az when azure-cli happens to be installed.

    python benchmarks/cli_start.py [--runs 15] [--write docs/BENCHMARKS.md]

`replication list` runs against a running local server (a real uvicorn on loopback) logged
in as a user is (`acrctl account login --store file`: the endpoint in the config, the token
in the 0600 token file), with the token in ACRCTL_TOKEN instead, and in embedded mode. Every
command runs once untimed first, so Python's bytecode cache is warm (as for an installed
package; PYTHONDONTWRITEBYTECODE is dropped for the measured processes). Budgets (DESIGN.md
§5), against the import floor of click+httpx+pydantic measured in the same run: `acrctl
--help` <= 0.6x; `replication list` <= 1.4x against the server, logged in, and <= 1.5x
embedded. Not part of the test run."""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import benchlib as bl

PASS, IMPORTS = "python -c pass", "python -c 'import click, httpx, pydantic'"
HELP, SERVER, EMBEDDED = (
    "acrctl --help",
    "replication list (server, logged in)",
    "replication list (embedded)",
)
SERVER_ENV_TOKEN = "replication list (server, ACRCTL_TOKEN)"
BUDGETS = {HELP: 0.6, SERVER: 1.4, EMBEDDED: 1.5}  # x the import floor (IMPORTS)


def timed(cmd: list[str], env: dict[str, str], runs: int, check: bool = True) -> float:
    """Median wall time of `runs` runs, after one untimed warm-up run."""
    samples = []
    for i in range(runs + 1):
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        elapsed = time.perf_counter() - t0
        if check and proc.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} failed: {proc.stderr.decode()[:300]}")
        if i:
            samples.append(elapsed)
    return statistics.median(samples)


def acrctl_path() -> str:
    exe = os.path.join(os.path.dirname(sys.executable), "acrctl")
    return exe if os.path.exists(exe) else (shutil.which("acrctl") or exe)


def run(runs: int = 15) -> list[tuple[str, float]]:
    acrctl, py = acrctl_path(), sys.executable
    tmp = tempfile.mkdtemp(prefix="acrctl-bench-cli-")
    env = bl.bench_env(
        ACRCTL_CONFIG_DIR=os.path.join(tmp, "cfg"), ACRCTL_STATE=os.path.join(tmp, "state.db")
    )
    with bl.seeded_store(env["ACRCTL_STATE"]):
        pass
    server_db = os.path.join(tmp, "server.db")
    with bl.seeded_store(server_db) as acr:
        subscription = acr.subscription
    listing = [acrctl, "replication", "list", "-r", bl.REGISTRY]  # group discovered, as az
    rows: list[tuple[str, float]] = [
        (PASS, timed([py, "-c", "pass"], env, runs)),
        (IMPORTS, timed([py, "-c", "import click, httpx, pydantic"], env, runs)),
        (HELP, timed([acrctl, "--help"], env, runs)),
        (EMBEDDED, timed(listing, env, runs)),
    ]
    server_env = {
        "ACRCTL_SERVER_DATABASE": server_db,
        "ACRCTL_BOOTSTRAP_TOKEN": bl.TOKEN,
        "ACRCTL_WEBHOOK_DELIVERY": "off",
    }
    with bl.Server("acrctl.server.factory:app", factory=True, env=server_env) as srv:
        login_env = {**env, "ACRCTL_CONFIG_DIR": os.path.join(tmp, "login-cfg")}
        login = subprocess.run(
            [acrctl, "account", "login", "--endpoint", srv.url, "--store", "file"],
            env=login_env,
            input=bl.TOKEN + "\n",
            text=True,
            capture_output=True,
        )
        if login.returncode != 0:
            raise SystemExit(f"acrctl account login failed: {login.stderr[:300]}")
        rows.append((SERVER, timed(listing, login_env, runs)))
        token_env = {
            **env,
            "ACRCTL_ENDPOINT": srv.url,
            "ACRCTL_TOKEN": bl.TOKEN,
            "ACRCTL_SUBSCRIPTION": subscription,
        }
        rows.append((SERVER_ENV_TOKEN, timed(listing, token_env, runs)))
    az = shutil.which("az")
    if az:  # the peer: az stops at "please run az login" before any network call
        rows.append(
            (
                "az acr replication --help (peer)",
                timed([az, "acr", "replication", "--help"], env, min(runs, 5)),
            )
        )
        rows.append(
            (
                "az acr replication list (peer, not logged in)",
                timed(
                    [az, "acr", "replication", "list", "-r", bl.REGISTRY],
                    env,
                    min(runs, 5),
                    check=False,
                ),
            )
        )
    return rows


def render(rows: list[tuple[str, float]], runs: int) -> str:
    base = dict(rows)
    lines = []
    for name, med in rows:
        budget = BUDGETS.get(name)
        ratio = med / base[IMPORTS]
        lines.append(
            [
                name,
                f"{med:.3f}",
                f"{med / base[PASS]:.1f}",
                f"{ratio:.2f}",
                f"<= {budget}x" if budget is not None else "",
                bl.met(round(ratio, 2), budget),
            ]
        )
    peer = (
        ""
        if any("(peer" in n for n, _ in rows)
        else ("azure-cli is not installed here, so the az peer rows are skipped.\n\n")
    )
    return (
        f"Whole-process medians of {runs} runs each (after one warm-up run).\n\n"
        + peer
        + bl.table(
            [
                "command",
                "median (s)",
                "x python -c pass",
                "x import click, httpx, pydantic",
                "budget",
                "met",
            ],
            lines,
        )
    )


def main(argv: list[str] | None = None) -> str:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--write", default=None, metavar="MARKDOWN")
    args = ap.parse_args(argv)
    report = render(run(args.runs), args.runs)
    print(report)
    if args.write:
        bl.write_block(args.write, "cli-start", report)
    return report


if __name__ == "__main__":
    main()
