"""The benchmarks (benchmarks/, not part of the test run) import and their pure helpers work;
no timing assertions. Also the pieces the performance work added that the benchmarks rely
on: the uvicorn app factory, the route matcher (the same answers as the route regexes), the
per-process RBAC cache (exact across processes) and the CLI's pydantic-free result views."""

from __future__ import annotations

import asyncio
import copy
import importlib
import random
import re
import sys
import uuid
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


# -- the app factory (uvicorn --factory acrctl.server.factory:app) ---------------------------
def _asgi_get(app: Any, path: str, token: str | None = None) -> tuple[int, bytes]:
    sent: list[dict[str, Any]] = []
    headers = [(b"host", b"127.0.0.1")]
    if token:
        headers.append((b"authorization", f"Bearer {token}".encode()))
    scope = {
        "type": "http",
        "method": "GET",
        "path": path.split("?")[0],
        "query_string": path.partition("?")[2].encode(),
        "headers": headers,
        "scheme": "http",
        "server": ("127.0.0.1", 80),
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(msg: dict[str, Any]) -> None:
        sent.append(msg)

    asyncio.run(app(scope, receive, send))
    return sent[0]["status"], sent[1]["body"]


def test_factory_builds_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from acrctl.server import factory

    monkeypatch.setenv("ACRCTL_SERVER_DATABASE", str(tmp_path / "s.db"))
    monkeypatch.setenv("ACRCTL_BOOTSTRAP_TOKEN", "tok-1")
    monkeypatch.setenv("ACRCTL_SERVER_LRO_MODE", "polls")
    monkeypatch.setenv("ACRCTL_SERVER_LRO_POLLS", "3")
    monkeypatch.setenv("ACRCTL_WEBHOOK_DELIVERY", "off")
    app = factory.app()
    try:
        s = app.app.backend.settings
        assert (s.lro_mode, s.lro_polls, s.retry_after) == ("polls", 3, 1)
        assert not app.deliver
        assert _asgi_get(app, "/healthz")[0] == 200
        assert _asgi_get(app, "/subscriptions?api-version=2022-09-01", "tok-1")[0] == 200
        assert _asgi_get(app, "/subscriptions?api-version=2022-09-01", "wrong")[0] == 401
        second = factory.app()  # another worker process on the same file: no new bootstrap
        assert _asgi_get(second, "/subscriptions?api-version=2022-09-01", "tok-1")[0] == 200
        second.stop()
    finally:
        app.stop()
    for name, value in (("LRO_MODE", "later"), ("LRO_POLLS", "x"), ("DATABASE", ":memory:")):
        monkeypatch.setenv(f"ACRCTL_SERVER_{name}", value)
        with pytest.raises(ValueError):
            factory.app()
        monkeypatch.delenv(f"ACRCTL_SERVER_{name}")
        if name == "LRO_MODE":
            monkeypatch.setenv("ACRCTL_SERVER_DATABASE", str(tmp_path / "s.db"))


# -- the route matcher: the same answers as the route regexes ---------------------------------
def test_route_matching_agrees_with_the_route_regexes() -> None:
    from acrctl.server.app import App
    from acrctl.server.routes import ROUTES

    regex_routes = [copy.copy(r) for r in ROUTES]
    for r in regex_routes:
        r.compile()

    def by_regex(method: str, path: str) -> tuple[Any, ...]:
        known = False
        for r in regex_routes:
            m = r.regex.match(path) if r.regex else None
            if m:
                known = True
                if r.method == method:
                    return r.template, r.method, m.groupdict(), True
        return None, None, {}, known

    app = App.__new__(App)  # match() needs only the route table
    app.routes = ROUTES
    literals = sorted({t for r in ROUTES for t in r.template.split("/") if t and "{" not in t})
    odd = ["x", "abc\n", "ſubscriptions", "roleAßignments", "K", "é", "a b", ""]
    rnd = random.Random(6)
    for r in ROUTES:
        for _ in range(12):

            def fill(m: re.Match[str]) -> str:
                if m.group(2):
                    return "".join(
                        "/" + rnd.choice(literals + odd[:-1]) for _ in range(rnd.randint(0, 3))
                    )
                return rnd.choice(["eastus", "Myreg1", "x\n", "ſ", *odd])

            path = re.sub(r"\{(\w+)(:path)?\}", fill, r.template)
            path = "".join(c.swapcase() if rnd.random() < 0.2 else c for c in path)
            for tail in ("", "/", "\n", "//"):
                for method in ("GET", "PUT", r.method):
                    found, params, known = app.match(method, path + tail)
                    got = (
                        (found.template, found.method, params, True)
                        if found
                        else (None, None, {}, known)
                    )
                    assert got == by_regex(method, path + tail), repr(path + tail)


# -- the RBAC cache: exact across connections (several server processes) ---------------------
def test_rbac_cache_sees_other_processes_changes(tmp_path: Path) -> None:
    from acrctl.backend.core import Backend
    from acrctl.backend.errors import AuthenticationFailed
    from acrctl.backend.rbac import TOKEN, hash_token
    from acrctl.backend.sqlite import SqliteStore

    db = str(tmp_path / "s.db")
    a = Backend(SqliteStore(db))
    sub, _ = a.bootstrap(admin_token="t0")
    b = Backend(SqliteStore(db))  # another server process on the same file
    doc, token = b.rbac.create_principal("ci")
    caller = a.rbac.authenticate(token)
    action, scope = "Microsoft.ContainerRegistry/registries/read", sub["id"]
    assert not a.rbac.allowed(caller, action, scope)
    assert not a.rbac.allowed(caller, action, scope)  # now cached
    grant = b.rbac.create_assignment(
        scope,
        str(uuid.uuid4()),
        {"properties": {"roleDefinitionId": "Reader", "principalId": doc["id"]}},
    )
    assert a.rbac.allowed(caller, action, scope)
    b.rbac.delete_assignment(grant["name"])
    assert not a.rbac.allowed(caller, action, scope)
    b.store.delete(TOKEN, hash_token(token))
    with pytest.raises(AuthenticationFailed):
        a.rbac.authenticate(token)
    with a.store.transaction():  # inside a transaction nothing is cached
        assert a.store.generation() is None  # type: ignore[attr-defined]
    a.store.close()
    b.store.close()


# -- ArmView: the CLI's results without pydantic ------------------------------------------------
def test_arm_view_reads_like_the_models() -> None:
    from acrctl import models
    from acrctl.client.views import ArmView

    doc = {
        "id": "/subscriptions/s/resourceGroups/Rg1/providers/Microsoft.ContainerRegistry/"
        "registries/r1",
        "name": "r1",
        "type": "t",
        "location": "westus",
        "sku": {"name": "Premium"},
        "extraField": [{"innerKey": 1}],
        "properties": {
            "provisioningState": "Succeeded",
            "loginServer": "r1.io",
            "status": {"displayStatus": "Ready"},
        },
    }
    view, model = ArmView(copy.deepcopy(doc)), models.Registry.model_validate(doc)
    for attr in ("name", "location", "resource_group"):
        assert getattr(view, attr) == getattr(model, attr)
    assert view.sku.name == model.sku.name == "Premium"
    assert view.properties.provisioning_state == model.properties.provisioning_state
    assert view.properties.login_server == "r1.io"
    assert view.properties.status.display_status == "Ready"
    assert view.tags is None and view.properties.get("loginServer") == "r1.io"
    assert view.extra_field[0].inner_key == 1
    assert view.to_arm() == doc == model.to_arm() and type(view.to_arm()) is dict
    with pytest.raises(AttributeError):
        view.__missing_dunder__  # noqa: B018


# -- the CLI's http.client transport under httpx ------------------------------------------------
def test_stdlib_transport_keeps_alive_and_maps_errors(
    bench: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import httpx

    from acrctl.client.stdlib_transport import StdlibTransport, proxies_configured

    bl = bench["benchlib"]
    with bl.Server("bare_asgi:app") as srv:
        transport = StdlibTransport()
        with httpx.Client(base_url=srv.url, transport=transport) as client:
            first = client.get("/a?x=1")
            [conn] = transport.idle_connections()
            second = client.post("/b", json={"k": "v"})
            assert first.status_code == second.status_code == 200
            assert first.json()["name"] == "eastus" and first.headers["content-type"]
            assert transport.idle_connections() == [conn]  # one kept-alive connection
    with (
        httpx.Client(transport=StdlibTransport()) as client,
        pytest.raises(httpx.ConnectError, match="refused"),
    ):
        client.get(f"http://127.0.0.1:{bl.free_port()}/")
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    assert not proxies_configured()
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.invalid:3128")
    assert proxies_configured()


def test_replication_report_rows(bench: Any) -> None:
    rep = bench["replication"]
    res = rep.Results(mb=100, layers=10, runs=2, small=4, load=[0.5, 1.0])
    res.one = ([2.0, 4.0], [3.0, 3.0])
    res.batch = (1.0, 4.0)
    res.lags = [0.1, 0.2, 0.3, 3.0]
    text = rep.render(res)
    assert "| 100 MB / 10 layers to 1 region (median of 2) | 3.00 |" in text
    assert "| 1.00x | <= 1.1x | yes |" in text
    assert (
        "| 4 small images to 1 region | 1.00 | 4 sequential `skopeo copy`: 4.00 | 0.25x |" in text
    )
    assert "| lag p50, 4 small images pushed one by one | 0.250 |  |  | <= 0.5 s | yes |" in text
    assert "| lag p99, 4 small images pushed one by one | 2.919 |  |  | <= 2.0 s | **no** |" in text
    assert "3 regions" not in text
    assert "Load average (1 min) at the start and the end: 0.50 -> 1.00." in text
