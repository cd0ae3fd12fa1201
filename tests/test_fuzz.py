"""Schemathesis against a real `acrctl server`: every operation of /openapi.json, positive
and negative cases, as the admin. The run is bounded (a few examples per operation and mode,
no shrinking) and derandomized, so CI sees the same cases every time, in well under two
minutes. Checks: no 5xx, documented status codes, JSON content type, documented response
headers, and response bodies that match the schema.

Two documents are fuzzed:
* "anchored": the served document with the path parameters narrowed to one subscription,
  group, registry, replica and webhook that exist (re-created before each case when a fuzzed
  DELETE removed them), so bodies reach the backend's validation;
* "served": the document as served, so names, ids and api-versions are fuzzed too.
"""

from __future__ import annotations

import contextlib
import copy
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import requests

pytestmark = pytest.mark.fuzz
schemathesis = pytest.importorskip("schemathesis")

from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from hypothesis.errors import Unsatisfiable  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.generation import GenerationMode  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from acrctl.backend.core import Backend  # noqa: E402
from acrctl.backend.rbac import Caller  # noqa: E402
from acrctl.server.serve import ServerConfig, ThreadedServer  # noqa: E402

TOKEN = "acr_fuzz_admin_token_0b6e2f41"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
# per operation and generation mode; ACRCTL_FUZZ_EXAMPLES=100 for a deeper local run
_DEEPER = os.environ.get("ACRCTL_FUZZ_EXAMPLES")
EXAMPLES = {"anchored": int(_DEEPER or 5), "served": int(_DEEPER or 3)}
# Operations that would pull the ground from under the run: reset wipes the store, settings
# change LRO pacing and page size, a drill throttles or fails what follows. test_bad_input
# covers their bodies.
SKIP = {"Admin_Reset", "Admin_Settings", "Drills_CreateOrUpdate"}
ANCHORS = {
    "rg": ["rg1"],
    "registry": ["myreg1"],
    "replication": ["eastus", "westus"],
    "webhook": ["hook1"],
    "location": ["westus"],
}


@dataclass
class Tally:
    cases: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreadedServer]:
    db = tmp_path_factory.mktemp("fuzz") / "state.db"
    with ThreadedServer(ServerConfig(database=str(db), admin_token=TOKEN), deliver=False) as srv:
        yield srv


def served_document(srv: ThreadedServer) -> dict[str, Any]:
    resp = httpx.get(f"{srv.url}/openapi.json", timeout=10)
    assert resp.status_code == 200, resp.text
    return dict(resp.json())


def anchored(doc: dict[str, Any], sub: str) -> dict[str, Any]:
    out = copy.deepcopy(doc)
    params = out["components"]["parameters"]
    params["path.sub"]["schema"] = {"type": "string", "enum": [sub]}
    for name, values in ANCHORS.items():
        params[f"path.{name}"]["schema"] = {"type": "string", "enum": values}
    return out


def ensure_baseline(b: Backend) -> None:
    """rg1 (westus) / Premium myreg1 / replica eastus / webhook hook1, whatever the fuzzer
    deleted or downgraded."""
    sub = b.list_subscriptions()[0]["subscriptionId"]
    admin = b.admin_principal_id() or ""
    caller = Caller(admin, "admin")
    b.settings.lro_mode = "immediate"
    if not b.groups.exists(sub, "rg1"):
        b.groups.put(caller, sub, "rg1", {"location": "westus"})
    reg = b.store.get("registry", b.registries.key(sub, "rg1", "myreg1"))
    if reg is None or reg.doc["sku"]["name"] != "Premium":
        b.registries.put(
            caller, sub, "rg1", "myreg1", {"location": "westus", "sku": {"name": "Premium"}}
        )
    if not any(r["name"] == "eastus" for r in b.replications.list(sub, "rg1", "myreg1")[0]):
        b.replications.put(caller, sub, "rg1", "myreg1", "eastus", {"location": "eastus"})
    if not any(h["name"] == "hook1" for h in b.webhooks.list(sub, "rg1", "myreg1")[0]):
        b.webhooks.put(
            caller,
            sub,
            "rg1",
            "myreg1",
            "hook1",
            {
                "location": "westus",
                "properties": {"serviceUri": "http://127.0.0.1:9/hook", "actions": ["push"]},
            },
        )


def fuzz(srv: ThreadedServer, doc: dict[str, Any], tally: Tally, examples: int) -> None:
    schema = schemathesis.openapi.from_dict(doc)
    session = requests.Session()  # one keep-alive connection for the whole run
    try:
        for result in schema.get_all_operations():
            operation = result.ok()
            if operation.definition.raw.get("operationId") in SKIP:
                continue
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                with contextlib.suppress(Unsatisfiable):  # nothing to negate, e.g. /healthz
                    _runner(srv, session, operation, mode, tally, examples)()
    finally:
        session.close()


def _runner(
    srv: ThreadedServer,
    session: requests.Session,
    operation: Any,
    mode: GenerationMode,
    tally: Tally,
    examples: int,
) -> Callable[[], None]:
    @settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],  # no shrinking: findings are listed
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        ensure_baseline(srv.app.backend)
        tally.cases += 1
        try:
            resp = case.call(
                base_url=srv.url,
                session=session,
                headers={"Authorization": f"Bearer {TOKEN}"},
                timeout=10,
            )
        except Exception as exc:  # noqa: BLE001 - a transport error is a finding
            tally.failures.append(f"{operation.label}: {type(exc).__name__}: {exc}")
            return
        tally.statuses[resp.status_code] = tally.statuses.get(resp.status_code, 0) + 1
        try:
            case.validate_response(resp, checks=CHECKS)
        except Exception as exc:  # noqa: BLE001 - collect, report all at the end
            tally.failures.append(
                f"{operation.label} [{mode.value}] -> {resp.status_code}: "
                f"{str(exc)[:1500]}\n    request: {case.method} "
                f"{case.formatted_path} query={case.query} body={case.body!r:.300}"
            )

    return run


@pytest.mark.server
@pytest.mark.parametrize("variant", ["anchored", "served"])
def test_schemathesis_finds_no_5xx_and_no_schema_violation(
    server: ThreadedServer, variant: str
) -> None:
    doc = served_document(server)
    if variant == "anchored":
        doc = anchored(doc, server.subscription)
    tally = Tally()
    started = time.monotonic()
    fuzz(server, doc, tally, EXAMPLES[variant])
    elapsed = time.monotonic() - started
    print(
        f"\n{variant}: {tally.cases} cases in {elapsed:.1f}s; statuses "
        f"{dict(sorted(tally.statuses.items()))}"
    )
    assert tally.cases > 100 * EXAMPLES[variant]
    assert not [s for s in tally.statuses if s >= 500], tally.failures
    assert not tally.failures, "\n\n".join(tally.failures[:20]) + (
        f"\n\n... {len(tally.failures)} failures" if len(tally.failures) > 20 else ""
    )
