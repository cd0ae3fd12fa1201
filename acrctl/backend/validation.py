"""Validation of what enters through a request body: resource names, the `properties`
object and tags. A leaf module (ids and errors only), so that every service can use it
without importing the backend facade (acrctl.backend.core re-exports these names)."""

from __future__ import annotations

from typing import Any

from acrctl.backend import ids
from acrctl.backend.errors import (
    InvalidRequestContent,
    InvalidResourceName,
    InvalidTagCount,
    RegistryNameInvalid,
)


def check_name(name: str, what: str) -> None:
    """A registry, replication or webhook name where one enters (ids.is_name)."""
    if not ids.is_name(name):
        raise (InvalidResourceName if what != "registry" else RegistryNameInvalid)(
            f"The {what} name '{ids.printable(name)}' is invalid: {what} names must be 5 to "
            "50 characters long and contain only letters and digits.",
        )


def body_properties(body: dict[str, Any], required: bool = False) -> dict[str, Any]:
    """A request body's `properties` object; absent means {} unless `required`."""
    props = body.get("properties")
    if props is None and not required:
        return {}
    if not isinstance(props, dict):
        raise InvalidRequestContent(
            "The request content was invalid and could not be deserialized: "
            f"'properties' {'is required and ' if required else ''}must be an "
            "object.",
        )
    return props


def check_tags(tags: Any) -> dict[str, str]:
    if tags is None:
        return {}
    if not isinstance(tags, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in tags.items()
    ):
        raise InvalidRequestContent(
            "The request content was invalid and could not be deserialized: "
            "'tags' must be an object of string values.",
        )
    if len(tags) > 50:
        raise InvalidTagCount("A resource can have at most 50 tags.")
    return dict(tags)
