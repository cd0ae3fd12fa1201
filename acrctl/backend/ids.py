"""ARM resource ids: building them, and the lower-cased keys the store uses."""

from __future__ import annotations

import re

PROVIDER = "Microsoft.ContainerRegistry"
REGISTRY_TYPE = f"{PROVIDER}/registries"
REPLICATION_TYPE = f"{REGISTRY_TYPE}/replications"
WEBHOOK_TYPE = f"{REGISTRY_TYPE}/webhooks"

NAME_RE = re.compile(r"^[A-Za-z0-9]{5,50}$")
RG_RE = re.compile(r"^[-\w._()]{1,90}$")


def key(resource_id: str) -> str:
    """The store key of an ARM id: ARM compares ids case-insensitively."""
    return resource_id.lower()


def subscription_id(sub: str) -> str:
    return f"/subscriptions/{sub}"


def group_id(sub: str, rg: str) -> str:
    return f"/subscriptions/{sub}/resourceGroups/{rg}"


def registry_id(sub: str, rg: str, name: str) -> str:
    return f"{group_id(sub, rg)}/providers/{REGISTRY_TYPE}/{name}"


def child_id(sub: str, rg: str, registry: str, collection: str, name: str) -> str:
    return f"{registry_id(sub, rg, registry)}/{collection}/{name}"


def parse(resource_id: str) -> dict[str, str]:
    """Split an ARM id into its parts: subscription, resourceGroup, registry, child kind/name."""
    parts = resource_id.strip("/").split("/")
    out: dict[str, str] = {}
    i = 0
    while i + 1 < len(parts):
        seg, val = parts[i].lower(), parts[i + 1]
        if seg == "subscriptions":
            out["subscription"] = val
        elif seg == "resourcegroups":
            out["resourceGroup"] = val
        elif seg == "providers":
            i += 1
            if i + 2 < len(parts):
                out["registry"] = parts[i + 2]
            i += 3
            if i + 1 < len(parts):
                out["childType"] = parts[i]
                out["child"] = parts[i + 1]
            break
        i += 2
    return out


def is_within(scope: str, target: str) -> bool:
    """True when `target` is `scope` or below it (segment boundaries, case-insensitive)."""
    s, t = scope.rstrip("/").lower(), target.rstrip("/").lower()
    return s == "" or t == s or t.startswith(s + "/")
