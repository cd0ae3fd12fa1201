"""Replica layouts kept in code: the plan that brings a registry's replicas to a desired
layout, and a bounded parallel runner for its steps.

Pure: no Click, no HTTP. `plan()` takes the current replicas (ARM documents, flattened or
not) and the desired layout and returns the steps; `apply_plan()` runs steps through any
callable on a thread pool. `acrctl replication sync` (acrctl.cli.replication_sync) joins
them to the client.

Rules: a replica is matched by location (whitespace-free, lower-case). A desired location
without a replica is created; a replica whose regionEndpointEnabled or tags differ from what
the layout states is updated (a layout that leaves a field out leaves it alone); a replica
the layout does not list is deleted only with prune, and the home replica never is. A plan
computed against the result of applying it is empty."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

ACTIONS = ("create", "update", "delete")
ENTRY_KEYS = {"location", "name", "regionEndpointEnabled", "tags"}


class LayoutError(ValueError):
    """A layout that cannot be used (the message names the place)."""


def normalize(location: str) -> str:
    """`West Europe` and `westeurope` name the same region."""
    return "".join(location.split()).lower()


@dataclass(frozen=True)
class Replica:
    """One desired replica. None fields are left as they are."""

    location: str
    name: str | None = None
    region_endpoint_enabled: bool | None = None
    tags: Mapping[str, str] | None = None


@dataclass
class Step:
    action: str  # create | update | delete
    name: str
    location: str
    changes: dict[str, list[Any]] = field(default_factory=dict)  # field -> [before, after]
    body: dict[str, Any] = field(default_factory=dict)  # PUT body (create), PATCH (update)

    def to_dict(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "name": self.name,
            "location": self.location,
            "changes": self.changes,
        }


@dataclass
class Outcome:
    step: Step
    status: str  # Succeeded | Failed
    error: str | None = None
    result: Any = None

    def to_dict(self) -> dict[str, Any]:
        return {**self.step.to_dict(), "status": self.status, "error": self.error}


def parse_layout(data: Any, source: str = "layout") -> list[Replica]:
    """A layout document: {"locations": [...]} or the list itself, each entry a location
    name or {"location", "name"?, "regionEndpointEnabled"?, "tags"?}."""
    entries = data.get("locations") if isinstance(data, dict) else data
    if isinstance(data, dict) and set(data) - {"locations"}:
        extra = ", ".join(sorted(set(data) - {"locations"}))
        raise LayoutError(f"{source}: unknown key(s) {extra}; a layout has 'locations' only.")
    if not isinstance(entries, list):
        raise LayoutError(f'{source}: expected a list of locations (or {{"locations": [...]}}}}).')
    out = []
    for i, entry in enumerate(entries):
        where = f"{source}: locations[{i}]"
        if isinstance(entry, str):
            entry = {"location": entry}
        if not isinstance(entry, dict):
            raise LayoutError(f"{where}: expected a location name or an object.")
        unknown = set(entry) - ENTRY_KEYS
        if unknown:
            raise LayoutError(
                f"{where}: unknown key(s) {', '.join(sorted(unknown))}; allowed: "
                f"{', '.join(sorted(ENTRY_KEYS))}."
            )
        loc, name = entry.get("location"), entry.get("name")
        endpoint, tags = entry.get("regionEndpointEnabled"), entry.get("tags")
        if not isinstance(loc, str) or not loc.strip():
            raise LayoutError(f"{where}: 'location' must be a region name.")
        if name is not None and not isinstance(name, str):
            raise LayoutError(f"{where}: 'name' must be a string.")
        if endpoint is not None and not isinstance(endpoint, bool):
            raise LayoutError(f"{where}: 'regionEndpointEnabled' must be true or false.")
        if tags is not None and not (
            isinstance(tags, dict)
            and all(isinstance(k, str) and isinstance(v, str) for k, v in tags.items())
        ):
            raise LayoutError(f"{where}: 'tags' must be an object of string values.")
        out.append(Replica(loc, name, endpoint, tags))
    return out


def _endpoint(doc: Mapping[str, Any]) -> Any:
    props = doc.get("properties")
    if isinstance(props, Mapping) and "regionEndpointEnabled" in props:
        return props["regionEndpointEnabled"]
    return doc.get("regionEndpointEnabled", True)


def plan(
    current: Sequence[Mapping[str, Any]], desired: Sequence[Replica], home: str, prune: bool = False
) -> list[Step]:
    """The steps from `current` (the registry's replicas) to `desired`. `home`: the
    registry's location, whose replica is never deleted. Creates come first, then updates,
    then deletes, each by location."""
    seen: dict[str, str] = {}
    for d in desired:
        loc = normalize(d.location)
        if loc in seen:
            raise LayoutError(
                f"The location '{d.location}' is listed twice (also as '{seen[loc]}')."
            )
        seen[loc] = d.location
    by_location = {normalize(str(r.get("location", ""))): r for r in current}
    creates, updates, deletes = [], [], []
    for d in desired:
        loc = normalize(d.location)
        cur = by_location.get(loc)
        if cur is None:
            body: dict[str, Any] = {"location": loc, "properties": {}}
            changes: dict[str, list[Any]] = {"location": [None, loc]}
            if d.region_endpoint_enabled is not None:
                body["properties"]["regionEndpointEnabled"] = d.region_endpoint_enabled
                changes["regionEndpointEnabled"] = [None, d.region_endpoint_enabled]
            if d.tags is not None:
                body["tags"] = dict(d.tags)
                changes["tags"] = [None, dict(d.tags)]
            creates.append(Step("create", d.name or loc, loc, changes, body))
            continue
        changes = {}
        patch: dict[str, Any] = {}
        before = _endpoint(cur)
        if d.region_endpoint_enabled is not None and before != d.region_endpoint_enabled:
            changes["regionEndpointEnabled"] = [before, d.region_endpoint_enabled]
            patch["properties"] = {"regionEndpointEnabled": d.region_endpoint_enabled}
        tags = dict(cur.get("tags") or {})
        if d.tags is not None and tags != dict(d.tags):
            changes["tags"] = [tags, dict(d.tags)]
            patch["tags"] = dict(d.tags)
        if changes:
            updates.append(Step("update", str(cur.get("name")), loc, changes, patch))
    if prune:
        for loc, cur in by_location.items():
            if loc not in seen and loc != normalize(home):
                deletes.append(Step("delete", str(cur.get("name")), loc, {"location": [loc, None]}))
    return [
        s for group in (creates, updates, deletes) for s in sorted(group, key=lambda s: s.location)
    ]


def apply_plan(
    steps: Sequence[Step],
    execute: Callable[[Step], Any],
    workers: int = 4,
    on_done: Callable[[Outcome], None] | None = None,
) -> list[Outcome]:
    """Run every step through `execute` on at most `workers` threads. A step that raises is
    Failed (the others still run). `on_done` sees each outcome as it finishes, on the
    calling thread. Returns the outcomes in plan order."""
    if not steps:
        return []
    from concurrent.futures import ThreadPoolExecutor, as_completed

    outcomes: dict[int, Outcome] = {}
    with ThreadPoolExecutor(
        max_workers=max(1, min(workers, len(steps))), thread_name_prefix="acrctl-sync"
    ) as pool:
        futures = {pool.submit(execute, s): i for i, s in enumerate(steps)}
        for fut in as_completed(futures):
            i = futures[fut]
            try:
                outcome = Outcome(steps[i], "Succeeded", result=fut.result())
            except Exception as exc:  # noqa: BLE001 - a failed step is an outcome, not a crash
                outcome = Outcome(steps[i], "Failed", str(exc) or type(exc).__name__)
            outcomes[i] = outcome
            if on_done is not None:
                on_done(outcome)
    return [outcomes[i] for i in range(len(steps))]
