"""What the server and the data plane ask the backend instead of reading store rows
themselves (issue 14): the observer hook, operation reads, the webhook outbox's leases and
statistics, and reads across resource kinds."""

from __future__ import annotations

from typing import Any

from acrctl.backend.observers import Observer
from acrctl.backend.rbac import Caller
from acrctl.testing import AcrctlMock

RG, REG = "rg1", "hookreg1"


class Recorder(Observer):
    def __init__(self) -> None:
        self.attempts: list[tuple[Any, str | None]] = []
        self.calls: list[str] = []
        self.store_timer = lambda op, seconds: self.calls.append(op)

    def delivery_attempt(self, attempt: dict[str, Any], state: str | None) -> None:
        self.attempts.append((attempt["attempt"], state))


def with_hook(mock: AcrctlMock, sku: str = "Basic") -> None:
    client = mock.client()
    client.create_group(RG, "westus")
    client.create_registry(RG, REG, {"location": "westus", "sku": {"name": sku}})
    body = {
        "location": "westus",
        "properties": {"serviceUri": "http://127.0.0.1:9/hook", "actions": ["push"]},
    }
    client.create_webhook(RG, REG, "hook1", body)


def test_the_observer_hears_every_recorded_delivery_attempt(acrctl_mock: AcrctlMock) -> None:
    with_hook(acrctl_mock)
    b = acrctl_mock.backend
    seen = Recorder()
    b.observe(seen)
    b.webhooks.ping(acrctl_mock.subscription, RG, REG, "hook1")
    [claim] = b.webhooks.claim_due()
    assert b.webhooks.record_attempt(claim.event_key, {"attempt": 1, "statusCode": 200}) == (
        "delivered"
    )
    assert seen.attempts == [(1, "delivered")]


def test_the_observer_times_the_store_calls(acrctl_mock: AcrctlMock) -> None:
    b = acrctl_mock.backend
    seen = Recorder()
    b.observe(seen)
    b.list_subscriptions()
    assert "list" in seen.calls
    b.observe(Observer())
    seen.calls.clear()
    b.list_subscriptions()
    assert seen.calls == []


def test_released_leases_are_due_at_once_and_stale_ones_are_left(
    acrctl_mock: AcrctlMock,
) -> None:
    with_hook(acrctl_mock)
    b, sub = acrctl_mock.backend, acrctl_mock.subscription
    b.webhooks.ping(sub, RG, REG, "hook1")
    b.webhooks.ping(sub, RG, REG, "hook1")
    one, two = b.webhooks.claim_due()
    leases = {one.event_key: one.lease_id, two.event_key: "another worker's lease"}
    assert b.webhooks.release_leases(leases) == 1
    assert [c.event_key for c in b.webhooks.claim_due()] == [one.event_key]


def test_outbox_stats_count_waiting_events_and_the_oldest_age(acrctl_mock: AcrctlMock) -> None:
    with_hook(acrctl_mock)
    b = acrctl_mock.backend
    assert b.webhooks.outbox_stats() == (0, 0.0)
    created = b.clock.now()
    b.webhooks.ping(acrctl_mock.subscription, RG, REG, "hook1")
    depth, age = b.webhooks.outbox_stats()
    assert depth == 1 and 0.0 <= age <= b.clock.now() - created


def start_registry_create(mock: AcrctlMock, polls: int) -> dict[str, Any]:
    """A registry create left in flight for `polls` polls. Returns its operation."""
    b = mock.backend
    b.settings.lro_mode, b.settings.lro_polls = "polls", polls
    mock.client().create_group(RG, "westus")
    body = {"location": "westus", "sku": {"name": "Basic"}}
    return b.registries.put(Caller(id="u1", name="u1"), mock.subscription, RG, REG, body)[2]


def test_peek_reads_an_operation_without_counting_a_poll(acrctl_mock: AcrctlMock) -> None:
    b = acrctl_mock.backend
    op = start_registry_create(acrctl_mock, polls=2)
    for _ in range(3):
        peeked = b.ops.peek(op["id"].upper())
        assert peeked is not None and (peeked["status"], peeked["polls"]) == ("InProgress", 0)
    assert b.ops.peek("no-such-operation") is None


def test_unfinished_operations_are_counted_by_kind_and_state(acrctl_mock: AcrctlMock) -> None:
    start_registry_create(acrctl_mock, polls=5)
    assert acrctl_mock.backend.ops.unfinished_counts(100) == {("registry", "Creating"): 1}


def test_placement_maps_regions_to_the_registries_replicated_there(
    acrctl_mock: AcrctlMock,
) -> None:
    client = acrctl_mock.client()
    client.create_group(RG, "westus")
    client.create_registry(RG, "geo12345", {"location": "westus", "sku": {"name": "Premium"}})
    client.create_replication(RG, "geo12345", "eastus", {"location": "eastus"})
    client.create_registry(RG, "Plain1234", {"location": "westus", "sku": {"name": "Basic"}})
    placement = acrctl_mock.backend.resources.placement()
    assert placement == {"westus": {"geo12345", "plain1234"}, "eastus": {"geo12345"}}
