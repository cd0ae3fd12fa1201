"""Request ids (acrctl.server.requestid): version-4 GUIDs, unique within a process, across
forked processes and past the counter's end; and the route memo of App.routed()."""

from __future__ import annotations

import itertools
import os
import uuid

import pytest

from acrctl.server import requestid
from acrctl.server.app import App
from acrctl.server.routes import ROUTES

REPLICA = (
    "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.ContainerRegistry/registries/"
    "reg1/replications/eastus"
)


def test_request_ids_are_version_4_guids() -> None:
    for rid in (requestid.new_request_id() for _ in range(100)):
        parsed = uuid.UUID(rid)
        assert (str(parsed), parsed.version, parsed.variant) == (rid, 4, uuid.RFC_4122)


def test_request_ids_do_not_repeat_in_a_process() -> None:
    ids = [requestid.new_request_id() for _ in range(10_000)]
    assert len(set(ids)) == len(ids)


def test_request_ids_of_a_forked_child_differ_from_its_parents() -> None:
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report its next id and leave without cleanup
        os.close(read)
        os.write(write, requestid.new_request_id().encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as fh:
        child = fh.read()
    os.waitpid(pid, 0)
    parent = requestid.new_request_id()
    assert len(child) == 36
    assert child[:24] != parent[:24]  # another random part, not the parent's numbering


def test_request_ids_draw_new_random_bits_when_the_counter_ends(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    prefix = requestid._state[0]
    monkeypatch.setattr(
        requestid, "_state", (prefix, itertools.count(2**requestid.COUNTER_BITS - 1))
    )
    last = requestid.new_request_id()
    after = requestid.new_request_id()
    assert last == prefix + "ffffffffffff"
    assert after[:24] != prefix and after.endswith("000000000000")
    assert uuid.UUID(after).version == 4


def test_routed_gives_each_caller_its_own_params() -> None:
    app = App.__new__(App)  # routing needs only the route table
    app.routes = ROUTES
    first = app.routed("GET", REPLICA)
    first[1]["replication"] = "changed"
    route, params, known, scope = app.routed("GET", REPLICA)
    assert route is first[0] and route is not None and known
    assert params["replication"] == "eastus"
    assert scope == REPLICA


def test_routed_follows_a_changed_route_table() -> None:
    app = App.__new__(App)
    app.routes = ROUTES
    assert app.routed("GET", REPLICA)[0] is not None
    app.routes = [r for r in ROUTES if not r.template.endswith("/replications/{replication}")]
    assert app.routed("GET", REPLICA)[0] is None
