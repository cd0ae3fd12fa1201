"""The benchmarks (benchmarks/, not part of the test run) import and their pure helpers work;
no timing assertions. (The app factory, the route matcher, the RBAC cache, ArmView and the
stdlib transport are tested in test_server_factory, test_route_matcher, test_store_generation,
test_client_views and test_transport_pool.)"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parent.parent / "benchmarks"
MODULES = (
    "benchlib",
    "bare_asgi",
    "cli_start",
    "server_load",
    "scaling",
    "lro",
    "replication",
    "run",
    "uvicorn_nodelay",
)


@pytest.fixture(scope="module")
def bench() -> Any:
    sys.path.insert(0, str(BENCH))
    try:
        yield {name: importlib.import_module(name) for name in MODULES}
    finally:
        sys.path.remove(str(BENCH))


WRK_OUTPUT = """Running 5s test @ http://127.0.0.1:8000/x
  2 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     3.61ms    1.20ms  25.02ms   90.00%
    Req/Sec     4.40k   300.00     5.00k    70.00%
  Latency Distribution
     50%    3.40ms
     75%    3.90ms
     90%    4.50ms
     99%  850.00us
  43880 requests in 5.00s, 30.00MB read
  Socket errors: connect 0, read 1, write 0, timeout 2
  Non-2xx or 3xx responses: 4
Requests/sec:   8775.51
Transfer/sec:      6.00MB
"""


def test_modules_import_and_lua_scripts_exist(bench: Any) -> None:
    assert set(bench) == set(MODULES)
    for script in ("get.lua", "put.lua"):
        text = (BENCH / "wrk" / script).read_text()
        assert "ACRCTL_BENCH_TOKEN" in text and "Authorization" in text
    assert "ACRCTL_BENCH_BODY" in (BENCH / "wrk" / "put.lua").read_text()


def test_statistics_and_tables(bench: Any) -> None:
    bl = bench["benchlib"]
    assert bl.percentile([1, 2, 3, 4, 5], 50) == 3
    assert bl.percentile([1, 2], 99) == pytest.approx(1.99)
    assert bl.median([3, 1, 2]) == 2
    with pytest.raises(ValueError):
        bl.percentile([], 50)
    assert bl.table(["a", "b"], [[1, 2]]) == "| a | b |\n|---|---|\n| 1 | 2 |\n"
    assert bl.met(0.1, 0.2) == "yes" and bl.met(0.3, 0.2) == "**no**"
    assert bl.met(5, 3, higher_is_better=True) == "yes" and bl.met(1, None) == ""
    assert "cores" in bl.machine()


def test_parse_wrk(bench: Any) -> None:
    load = bench["benchlib"].parse_wrk(WRK_OUTPUT)
    assert (load.requests, load.seconds, load.rps) == (43880, 5.0, 8775.51)
    assert (load.p50_ms, load.p99_ms, load.errors) == (3.4, 0.85, 7)
    with pytest.raises(ValueError):
        bench["benchlib"].parse_wrk("wrk: connection refused")


def test_write_block_replaces_between_markers(bench: Any, tmp_path: Path) -> None:
    bl, doc = bench["benchlib"], tmp_path / "B.md"
    doc.write_text("# B\n\n<!-- x:begin -->\nold\n<!-- x:end -->\ntail\n")
    bl.write_block(str(doc), "x", "new\n")
    bl.write_block(str(doc), "y", "added")
    assert doc.read_text() == (
        "# B\n\n<!-- x:begin -->\nnew\n<!-- x:end -->\ntail\n\n"
        "<!-- y:begin -->\nadded\n<!-- y:end -->\n"
    )


def test_server_command_and_env(bench: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    bl = bench["benchlib"]
    monkeypatch.setenv("PYTHONDONTWRITEBYTECODE", "1")
    monkeypatch.setenv("ACRCTL_ENDPOINT", "http://elsewhere")
    env = bl.bench_env(EXTRA="1")
    assert "PYTHONDONTWRITEBYTECODE" not in env and "ACRCTL_ENDPOINT" not in env
    assert env["EXTRA"] == "1" and str(BENCH) in env["PYTHONPATH"]
    cmd = bl.Server("acrctl.server.factory:app", workers=2, factory=True, port=1).command()
    assert cmd[1].endswith("uvicorn_nodelay.py") and cmd[2] == "acrctl.server.factory:app"
    assert {"--factory", "--no-access-log"} <= set(cmd) and cmd[-2:] == ["--workers", "2"]
    assert cmd[cmd.index("--http") + 1] == bl.stack()[0]  # as acrctl server picks
    assert cmd[cmd.index("--loop") + 1] == bl.stack()[1]
    h11 = bl.Server("bare_asgi:app", port=1, http="h11", loop="asyncio").command()
    assert h11[h11.index("--http") + 1] == "h11" and h11[h11.index("--loop") + 1] == "asyncio"
    assert bl.Server("bare_asgi:app", port=1).command()[1:4] == ["-m", "uvicorn", "bare_asgi:app"]
    paths = bl.paths("sub1")
    assert paths["get"].endswith("/replications/eastus?api-version=2025-11-01")


def test_renderers(bench: Any) -> None:
    bl, sl, sc, lro, cli = (
        bench[m] for m in ("benchlib", "server_load", "scaling", "lro", "cli_start")
    )
    load = bl.Load(100, 1.0, 4400.0, 2.0, 9.0, 0, "wrk")
    stack = "httptools, uvloop"
    rows = [
        sl.Row(sl.BASELINE, 1, 32, bl.Load(100, 1.0, 8000.0, 1.0, 4.0, 0, "wrk"), stack=stack),
        sl.Row(sl.CASES["get"], 1, 32, load, 8000.0, sl.SQLITE, stack),
        sl.Row(
            sl.CASES["get"],
            1,
            32,
            bl.Load(100, 1.0, 1600.0, 2.0, 9.0, 0, "wrk"),
            8000.0,
            sl.POSTGRES,
            stack,
        ),
    ]
    text = sl.render(rows, 5)
    assert (
        "| GET one replication | SQLite | httptools, uvloop | 1 | 32 | 4,400 | 0.55 | "
        "2.00 | 9.00 | 0 | >= 0.5x, p99 <= 15 ms | yes |"
    ) in text
    assert (
        "| GET one replication | PostgreSQL | httptools, uvloop | 1 | 32 | 1,600 | 0.20 | "
        "2.00 | 9.00 | 0 | >= 0.25x | **no** |"
    ) in text
    text = sc.render(
        [
            sc.Row("webhooks", 1000, 11, 2.0, 2.2, 40.0),
            sc.Row("webhooks", 10000, 101, 2.1, 2.3, 41.0),
        ]
    )
    assert "O(page size): yes" in text
    text = lro.render([lro.Row("polls", 2.4, 2.0, 0.2)], 5)
    assert "| polls | 2.400 | 2.0 | 0.400 |" in text and "| yes |" in text
    text = cli.render([(cli.PASS, 0.02), (cli.IMPORTS, 0.15), (cli.HELP, 0.06)], 3)
    assert "| acrctl --help | 0.060 | 3.0 | 0.40 | <= 0.6x | yes |" in text
    assert bench["run"].parse_parts("lro, cli") == ["lro", "cli"]
    assert bench["run"].parse_parts(None) == list(bench["run"].PARTS)
    with pytest.raises(SystemExit):
        bench["run"].parse_parts("nope")


def test_python_load_generator_against_the_bare_app(bench: Any) -> None:
    """The wrk fallback and the baseline app, end to end for a fraction of a second."""
    bl = bench["benchlib"]
    with bl.Server("bare_asgi:app") as srv:
        load = bl.pyload(srv.url + "/", 2, 0.3)
    assert load.requests > 0 and load.errors == 0 and load.tool == "python"
