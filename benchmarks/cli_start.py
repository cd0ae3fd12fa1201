"""CLI start-up benchmark: whole-process wall time of acrctl commands, as medians and as
ratios to baselines measured in the same run (python -c pass; importing click+httpx+pydantic).

    python benchmarks/cli_start.py [--runs 15] [--write docs/BENCHMARKS.md]

Budgets (DESIGN.md §5): `acrctl --help` <= 0.12 s; `replication list` <= 0.20 s against a
running local server and <= 0.35 s embedded. Not part of the test run."""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

from acrctl.server.serve import ServerConfig, ThreadedServer

BUDGETS = {"acrctl --help": 0.12, "replication list (server)": 0.20,
           "replication list (embedded)": 0.35}


def timed(cmd: list[str], env: dict[str, str], runs: int) -> float:
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        samples.append(time.perf_counter() - t0)
        if proc.returncode != 0:
            raise SystemExit(f"{' '.join(cmd)} failed: {proc.stderr.decode()[:300]}")
    return statistics.median(samples)


def seed(client: object) -> None:
    c = client
    c.create_group("bench", "westus")  # type: ignore[attr-defined]
    c.create_registry("bench", "benchreg1", {"location": "westus",  # type: ignore[attr-defined]
                                             "sku": {"name": "Premium"}})
    c.create_replication("bench", "benchreg1", "eastus",  # type: ignore[attr-defined]
                         {"location": "eastus"})


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--write", default=None)
    args = ap.parse_args()
    acrctl = shutil.which("acrctl") or os.path.join(os.path.dirname(sys.executable), "acrctl")
    py = sys.executable
    tmp = tempfile.mkdtemp(prefix="acrctl-bench-")
    base_env = {**os.environ, "ACRCTL_CONFIG_DIR": os.path.join(tmp, "cfg"),
                "ACRCTL_STATE": os.path.join(tmp, "state.db")}
    base_env.pop("ACRCTL_ENDPOINT", None)
    from acrctl.testing import mock_acrctl

    with mock_acrctl(base_env["ACRCTL_STATE"]) as acr:
        seed(acr.client())
    rows: list[tuple[str, float]] = []
    rows.append(("python -c pass", timed([py, "-c", "pass"], base_env, args.runs)))
    rows.append(("python -c 'import click, httpx, pydantic'",
                 timed([py, "-c", "import click, httpx, pydantic"], base_env, args.runs)))
    rows.append(("acrctl --help", timed([acrctl, "--help"], base_env, args.runs)))
    rows.append(("replication list (embedded)",
                 timed([acrctl, "replication", "list", "-r", "benchreg1", "-g", "bench"],
                       base_env, args.runs)))
    with ThreadedServer(ServerConfig(admin_token="bench-token")) as srv:
        from acrctl.client.acr import AcrClient

        seed(AcrClient(srv.url, token="bench-token"))
        env = {**base_env, "ACRCTL_ENDPOINT": srv.url, "ACRCTL_TOKEN": "bench-token",
               "ACRCTL_SUBSCRIPTION": srv.subscription}
        rows.append(("replication list (server)",
                     timed([acrctl, "replication", "list", "-r", "benchreg1", "-g", "bench"],
                           env, args.runs)))
    if shutil.which("az"):
        rows.append(("az acr replication list --help (peer)",
                     timed(["az", "acr", "replication", "list", "--help"], base_env, 3)))
    report = render(rows, args.runs)
    print(report)
    if args.write:
        write(args.write, report)


def render(rows: list[tuple[str, float]], runs: int) -> str:
    base = rows[0][1]
    lines = ["| command | median (s) | x python -c pass | budget (s) | met |",
             "|---|---|---|---|---|"]
    for name, med in rows:
        budget = BUDGETS.get(name)
        met = "" if budget is None else ("yes" if med <= budget else "**no**")
        lines.append(f"| {name} | {med:.3f} | {med / base:.1f} | "
                     f"{budget if budget is not None else ''} | {met} |")
    return f"Whole-process medians of {runs} runs each.\n\n" + "\n".join(lines) + "\n"


def write(path: str, report: str) -> None:
    start, end = "<!-- cli-start:begin -->", "<!-- cli-start:end -->"
    text = ""
    if os.path.exists(path):
        with open(path) as fh:
            text = fh.read()
    block = f"{start}\n{report}{end}"
    if start in text and end in text:
        text = text[:text.index(start)] + block + text[text.index(end) + len(end):]
    else:
        text += "\n" + block + "\n"
    with open(path, "w") as fh:
        fh.write(text)


if __name__ == "__main__":
    main()
