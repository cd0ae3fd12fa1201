"""`replication wait --image`, `replication verify` and `import` on the embedded backend, with
a scripted stand-in for the data plane (acrctl.backend.imports.DataPlanePort): the polling
pace (the server's Retry-After), the timeout message, exit codes, usage errors, az's source
resolution, and the live table (rich on a terminal only). The real thing runs in
tests/test_replication_tools.py."""

from __future__ import annotations

import io
import json
import sys
from typing import Any

import pytest
from click.testing import CliRunner

from acrctl.backend.clock import FakeClock
from acrctl.backend.errors import InvalidInput
from acrctl.backend.imports import ImportOps, ImportSpec, parse
from acrctl.cli.main import cli
from acrctl.cli.progress import RegionProgress
from acrctl.testing import AcrctlMock

D1 = "sha256:" + "1" * 64
D2 = "sha256:" + "2" * 64


class ScriptedPlane:
    """Answers imagePresence from a script: each poll pops the next {region: digest}."""

    def __init__(self, backend: Any) -> None:
        self.b = backend
        self.script: list[dict[str, str | None]] = []
        self.polls = 0
        self.report: dict[str, Any] = {"inSync": True, "complete": True, "drift": []}
        self.imports: list[ImportSpec] = []

    def image_presence(
        self, reg: dict[str, Any], regions: list[str], repository: str, tag: str
    ) -> dict[str, str | None]:
        self.polls += 1
        return self.script.pop(0) if len(self.script) > 1 else self.script[0]

    def verify(self, reg: dict[str, Any], regions: list[str]) -> dict[str, Any]:
        return self.report

    def start_import(self, reg: dict[str, Any], spec: ImportSpec, what: str) -> dict[str, Any]:
        self.imports.append(spec)
        op = ImportOps(self.b).start(reg, what)
        ImportOps(self.b).update(reg, op["id"], status="Succeeded")
        return op

    def is_local_uri(self, registry_uri: str) -> str | None:
        return None


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def geo(cli_on_mock: AcrctlMock) -> ScriptedPlane:
    client = cli_on_mock.client()
    client.create_group("rg1", "westus")
    client.create_registry(
        "rg1", "myreg1", {"location": "westus", "sku": {"name": "Premium"}, "properties": {}}
    )
    client.create_replication("rg1", "myreg1", "eastus", {"location": "eastus"})
    client.create_replication("rg1", "myreg1", "westeurope", {"location": "westeurope"})
    plane = ScriptedPlane(cli_on_mock.backend)
    cli_on_mock.backend.dataplane = plane
    cli_on_mock.backend.settings.retry_after = 3
    return plane


# -- wait --image ----------------------------------------------------------------------------
def test_wait_image_sleeps_what_retry_after_says_until_every_region_has_it(
    geo: ScriptedPlane, fake_time: FakeClock
) -> None:
    geo.script = [
        {"westus": D1, "eastus": None, "westeurope": None},
        {"westus": D1, "eastus": D1, "westeurope": None},
        {"westus": D1, "eastus": D1, "westeurope": D1},
    ]
    code, out, err = run("replication", "wait", "-r", "myreg1", "--image", "web/app:v1")
    assert (code, err) == (0, "")
    assert (geo.polls, fake_time.now()) == (3, 6.0)  # two waits of Retry-After: 3
    doc = json.loads(out)
    assert (doc["complete"], doc["digest"], doc["home"]) == (True, D1, "westus")
    assert [(r["region"], r["state"]) for r in doc["value"]] == [
        ("eastus", "present"),
        ("westeurope", "present"),
        ("westus", "present"),
    ]


def test_wait_image_times_out_naming_the_regions_that_lack_it(
    geo: ScriptedPlane, fake_time: FakeClock
) -> None:
    geo.script = [{"westus": D1, "eastus": D2, "westeurope": None}]
    code, out, err = run(
        "replication", "wait", "-r", "myreg1", "--image", "web/app:v1", "--timeout", "10"
    )
    assert (code, out) == (1, "")
    assert err == (
        "ERROR: Timed out after 10 seconds waiting for image 'web/app:v1' in every replica "
        "region; missing in: eastus, westeurope.\n"
    )
    assert fake_time.now() == 10.0


def test_wait_image_table(geo: ScriptedPlane, fake_time: FakeClock) -> None:
    geo.script = [{"westus": D1, "eastus": D1, "westeurope": D1}]
    code, out, _ = run("replication", "wait", "-r", "myreg1", "--image", "a:v1", "-o", "table")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["REGION", "STATE", "DIGEST"]
    assert [line.split() for line in lines[2:]] == [
        [r, "present", D1] for r in ("eastus", "westeurope", "westus")
    ]


def test_wait_on_a_pipe_never_loads_rich(
    geo: ScriptedPlane, fake_time: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "rich", None)  # any import of rich would fail
    geo.script = [
        {"westus": D1, "eastus": None, "westeurope": None},
        {"westus": D1, "eastus": D1, "westeurope": D1},
    ]
    assert run("replication", "wait", "-r", "myreg1", "--image", "web/app:v1")[0] == 0


def test_wait_needs_a_name_or_an_image(geo: ScriptedPlane) -> None:
    code, _, err = run("replication", "wait", "-r", "myreg1", "--created")
    assert code == 2
    assert err.startswith("ERROR: the following arguments are required: --name/-n\n")


def test_wait_image_does_not_take_a_condition(geo: ScriptedPlane) -> None:
    code, _, err = run("replication", "wait", "-r", "myreg1", "--image", "a:v1", "--created")
    assert code == 2
    assert err.startswith(
        "ERROR: usage error: --image cannot be combined with --name or a condition\n"
    )


def test_wait_image_without_a_data_plane(cli_on_mock: AcrctlMock) -> None:
    client = cli_on_mock.client()
    client.create_group("rg1", "westus")
    client.create_registry(
        "rg1", "plain1", {"location": "westus", "sku": {"name": "Basic"}, "properties": {}}
    )
    code, out, err = run("replication", "wait", "-r", "plain1", "--image", "a:v1")
    assert (code, out) == (1, "")
    assert err.splitlines()[0] == (
        "ERROR: (DataPlaneOff) The data plane is not running on this server "
        "(see /readyz checks.dataplane)."
    )


# -- verify ----------------------------------------------------------------------------------
def test_verify_in_sync_exits_0(geo: ScriptedPlane) -> None:
    code, out, err = run("replication", "verify", "-r", "myreg1")
    assert (code, err) == (0, "")
    assert json.loads(out) == geo.report


def test_verify_drift_prints_the_table_and_exits_1(geo: ScriptedPlane) -> None:
    geo.report = {
        "inSync": False,
        "complete": True,
        "drift": [
            {"region": "eastus", "image": "a:v1", "problem": "missing", "expected": D1},
            {"region": "westeurope", "image": "a:v1", "problem": "missingBlob", "digest": D2},
        ],
    }
    code, out, err = run("replication", "verify", "-r", "myreg1", "-o", "table")
    assert code == 1
    assert err == "ERROR: Replication drift: 2 problems found.\n"
    lines = out.splitlines()
    assert lines[0].split() == ["REGION", "IMAGE", "PROBLEM", "EXPECTED", "ACTUAL"]
    assert [line.split() for line in lines[2:]] == [
        ["eastus", "a:v1", "missing", D1[:19]],
        ["westeurope", "a:v1", "missingBlob", D2[:19]],
    ]


# -- the live table ------------------------------------------------------------------------------
def test_the_live_table_renders_a_row_per_region_on_a_terminal() -> None:
    from rich.console import Console

    buf = io.StringIO()
    console = Console(file=buf, force_terminal=True, width=100, color_system=None)
    with RegionProgress("Waiting for web/app:v1", console=console) as progress:
        progress.update(
            [
                {"region": "eastus", "state": "present", "detail": D1[:19]},
                {"region": "westus", "state": "missing", "detail": "inFlight"},
            ]
        )
    text = buf.getvalue()
    assert "Waiting for web/app:v1" in text
    rows = [line for line in text.splitlines() if "eastus" in line or "westus" in line]
    assert [r.replace("│", " ").split() for r in rows[-2:]] == [
        ["eastus", "present", D1[:19]],
        ["westus", "missing", "inFlight"],
    ]


def test_the_live_table_is_off_unless_enabled(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "rich", None)
    with RegionProgress("x") as progress:
        progress.update([{"region": "eastus", "state": "present"}])


# -- import ----------------------------------------------------------------------------------
def test_import_sends_az_s_body_and_waits(geo: ScriptedPlane, fake_time: FakeClock) -> None:
    code, out, err = run(
        "import", "-n", "myreg1", "--source", "registry.example:5000/team/app:1.2",
        "-t", "app:1.2", "-t", "app:latest", "-u", "me", "-p", "pw", "--force",
    )  # fmt: skip
    assert (code, out, err) == (0, "", "")
    spec = geo.imports[0]
    assert (spec.registry_uri, spec.repository, spec.reference) == (
        "registry.example:5000",
        "team/app",
        "1.2",
    )
    assert (spec.target_tags, spec.untagged, spec.force) == (
        [("app", "1.2"), ("app", "latest")],
        [],
        True,
    )
    assert spec.credentials == ("me", "pw")


def test_import_keeps_the_source_name_by_default(geo: ScriptedPlane, fake_time: FakeClock) -> None:
    assert run("import", "-n", "myreg1", "--source", "registry.example/web/app:v3")[0] == 0
    assert geo.imports[0].target_tags == [("web/app", "v3")]
    assert geo.imports[0].force is False


def test_import_no_wait_warns(geo: ScriptedPlane) -> None:
    code, out, err = run(
        "import", "-n", "myreg1", "--source", "registry.example/web/app:v3", "--no-wait"
    )
    assert (code, out) == (0, "")
    assert err == (
        "WARNING: Import has started. Due to no-wait option, failures will not be reflected.\n"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--source", "app:v1"), "Source cannot be found. Please provide a valid image and "
         "source registry or a fully qualified source."),
        (("--source", "localhost:5000/app:v1"), "Login server of the registry is not valid "
         "because it is not a fully qualified domain name."),
        (("--source", "r.example/app:v1", "-u", "me"),
         "Authentication failed. Please provide password."),
        (("--source", "app:v1", "-r", "nosuchreg"), "The source container registry can not be "
         "found in the current subscription. Please provide a valid address and/or credentials."),
    ],
)  # fmt: skip
def test_import_source_errors_are_az_s(
    geo: ScriptedPlane, args: tuple[str, ...], message: str
) -> None:
    code, out, err = run("import", "-n", "myreg1", *args)
    assert (code, out, err) == (1, "", f"ERROR: {message}\n")
    assert geo.imports == []


def test_import_by_registry_name_sends_its_resource_id(
    geo: ScriptedPlane, cli_on_mock: AcrctlMock, fake_time: FakeClock
) -> None:
    cli_on_mock.client().create_registry(
        "rg1", "source1", {"location": "eastus", "sku": {"name": "Basic"}, "properties": {}}
    )
    assert run("import", "-n", "myreg1", "-r", "source1", "--source", "lib/x:v1")[0] == 0
    src = geo.imports[0].source_registry
    assert src is not None and src["name"] == "source1"
    assert geo.imports[0].registry_uri == ""


# -- the importImage body ----------------------------------------------------------------------
def test_parse_defaults_a_digest_source_to_an_untagged_copy() -> None:
    spec = parse({"source": {"registryUri": "r.example", "sourceImage": f"web/app@{D1}"}})
    assert (spec.repository, spec.reference, spec.target_tags, spec.untagged) == (
        "web/app",
        D1,
        [],
        ["web/app"],
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"source": {"registryUri": "r.example"}},
         "The source image (source.sourceImage) is required."),
        ({"source": {"sourceImage": "a:v1"}},
         "The source registry (registryUri or resourceId) is required."),
        ({"source": {"registryUri": "r", "resourceId": "/x", "sourceImage": "a:v1"}},
         "Give the source's registryUri or its resourceId, not both."),
        ({"source": {"registryUri": "r", "sourceImage": "A:v1"}},
         "The source image 'A:v1' is not a valid image name."),
        ({"source": {"registryUri": "r", "sourceImage": "a:v1"}, "mode": "Always"},
         "The mode 'Always' is not NoForce or Force."),
        ({"source": {"registryUri": "r", "sourceImage": "a:v1"}, "targetTags": [f"a@{D1}"]},
         f"The target tag 'a@{D1}' names a digest."),
    ],
)  # fmt: skip
def test_parse_rejects(body: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidInput) as info:
        parse(body)
    assert (info.value.code, info.value.message) == ("InvalidParameter", message)
