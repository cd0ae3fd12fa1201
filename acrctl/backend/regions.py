"""The catalog of Azure regions (azure-regions.json, 59 physical regions)."""

from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Any

from acrctl.backend.errors import LocationNotAvailableForResourceType


@functools.cache
def catalog() -> dict[str, dict[str, Any]]:
    text = resources.files("acrctl.backend").joinpath("data/azure-regions.json").read_text()
    return {r["name"]: r for r in json.loads(text)}


def normalize(location: str) -> str:
    """`West US`, `westus` and `WestUS` all name the region `westus`."""
    return "".join(location.split()).lower()


def lookup(location: Any) -> dict[str, Any] | None:
    if not isinstance(location, str) or not location:
        return None  # a JSON number, list or object is no region either (400, not 500)
    return catalog().get(normalize(location))


def require(location: Any, resource_type: str) -> dict[str, Any]:
    region = lookup(location)
    if region is None:
        names = ",".join(sorted(catalog()))
        raise LocationNotAvailableForResourceType(
            f"The provided location '{location}' is not available for resource type "
            f"'{resource_type}'. List of available regions for the resource type is '{names}'.",
        )
    return region


def has_zones(location: str) -> bool:
    region = lookup(location)
    return bool(region and region.get("availabilityZones"))
