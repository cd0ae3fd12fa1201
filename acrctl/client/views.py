"""ArmView: a resource's JSON read through the typed models' attribute names, without
pydantic. `AcrClient(..., typed=False)` returns these (the CLI does: importing pydantic and
building the model classes costs more than the rest of a command's start-up).

    view = ArmView({"sku": {"name": "Premium"}, "properties": {"provisioningState": "Ok"}})
    view.sku.name                       # "Premium"
    view.properties.provisioning_state  # "Ok" (snake_case reads the camelCase key)
    view.to_arm()                       # the JSON as received

A view is the JSON dict itself (a dict subclass), so `.get()` and `["key"]` work too. A field
the wire did not carry reads as None, as the models' optional fields do; unlike the models
a view does not validate, and `isinstance(view, models.Registry)` is False."""

from __future__ import annotations

from typing import Any


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p[:1].upper() + p[1:] for p in rest)


def _wrap(value: Any) -> Any:
    if type(value) is dict:
        return ArmView(value)
    if type(value) is list:
        return [_wrap(v) for v in value]
    return value


def resource_group_of(resource_id: str) -> str:
    """The resource group named in an ARM id ("" when there is none)."""
    parts = resource_id.split("/")
    low = [p.lower() for p in parts]
    return parts[low.index("resourcegroups") + 1] if "resourcegroups" in low[:-1] else ""


class ArmView(dict[str, Any]):
    __slots__ = ()

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        if name in self:
            return _wrap(self[name])
        key = _camel(name)
        return _wrap(self[key]) if key in self else None

    def to_arm(self) -> dict[str, Any]:
        """The resource as JSON, exactly the fields received."""
        return dict(self)

    @property
    def resource_group(self) -> str:
        return resource_group_of(str(self.get("id") or ""))
