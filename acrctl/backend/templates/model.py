"""What a template is made of, apart from its expressions: the resource types and keys it may
use, its errors, the scope a deployment runs in and the resources it expands to, and
uniqueString's hash (ARM's 64-bit Murmur variant)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from acrctl.backend import ids
from acrctl.backend.template_limits import LimitExceeded

# lower-case full type -> (canonical type, kind)
RESOURCE_TYPES: dict[str, tuple[str, str]] = {
    ids.REGISTRY_TYPE.lower(): (ids.REGISTRY_TYPE, "registry"),
    ids.REPLICATION_TYPE.lower(): (ids.REPLICATION_TYPE, "replication"),
    ids.WEBHOOK_TYPE.lower(): (ids.WEBHOOK_TYPE, "webhook"),
}
# what a resource sends to its provider; other keys (apiVersion, comments, metadata, ...) are
# template bookkeeping
BODY_KEYS = ("location", "sku", "tags", "properties", "identity", "zones", "kind", "plan")
UNSUPPORTED_RESOURCE_KEYS = {
    "copy": "copy loops are not supported by acrctl; list each resource.",
    "scope": "extension resources ('scope') are not supported by acrctl.",
    "subscriptionId": "cross-subscription resources are not supported by acrctl.",
    "resourceGroup": "cross-resource-group resources are not supported by acrctl.",
}
PARAMETER_TYPES = {
    "string": "String",
    "securestring": "SecureString",
    "int": "Int",
    "bool": "Bool",
    "object": "Object",
    "secureobject": "SecureObject",
    "array": "Array",
}
SECURE = {"securestring", "secureobject"}
NOT_EVALUATED = ("metadata", "comments", "$schema", "contentVersion", "apiProfile")


class TemplateError(Exception):
    """A template the engine cannot deploy. `path` names the place: `resources[1].name`,
    `parameters.acrSku`, `outputs.loginServer.value` ('' for the template as a whole)."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path
        self.message = message


class TemplateLimitError(TemplateError):
    """A template past one of the evaluation limits (template_limits.Limits)."""


def _limit(path: str, exc: LimitExceeded) -> TemplateLimitError:
    return TemplateLimitError(path, str(exc))


# == uniqueString: ARM's 64-bit Murmur variant, base32 encoded ================================
M32 = 0xFFFFFFFF
M64 = 0xFFFFFFFFFFFFFFFF
BASE32 = "abcdefghijklmnopqrstuvwxyz234567"


def _rotl(x: int, r: int) -> int:
    return ((x << r) | (x >> (32 - r))) & M32


def _fmix(h: int) -> int:
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & M32
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & M32
    return h ^ (h >> 16)


def murmur64(data: bytes, seed: int = 0) -> int:
    """The 64-bit MurmurHash variant ARM's uniqueString() is built on."""
    c1, c2 = 0x239B961B, 0xAB0E9789
    n, h1, h2, i = len(data), seed, seed, 0
    while i + 7 < n:
        k1 = int.from_bytes(data[i : i + 4], "little")
        k2 = int.from_bytes(data[i + 4 : i + 8], "little")
        k1 = (_rotl((k1 * c1) & M32, 15) * c2) & M32
        h1 = ((_rotl(h1 ^ k1, 19) + h2) * 5 + 0x561CCD1B) & M32
        k2 = (_rotl((k2 * c2) & M32, 17) * c1) & M32
        h2 = ((_rotl(h2 ^ k2, 13) + h1) * 5 + 0x0BCAA747) & M32
        i += 8
    tail = n - i
    if tail > 0:
        k1 = int.from_bytes(data[i : i + min(tail, 4)], "little")
        h1 ^= (_rotl((k1 * c1) & M32, 15) * c2) & M32
        if tail > 4:
            k2 = int.from_bytes(data[i + 4 : n], "little")
            h2 ^= (_rotl((k2 * c2) & M32, 17) * c1) & M32
    h1 ^= n & M32
    h2 ^= n & M32
    h1 = (h1 + h2) & M32
    h2 = (h2 + h1) & M32
    h1, h2 = _fmix(h1), _fmix(h2)
    h1 = (h1 + h2) & M32
    h2 = (h2 + h1) & M32
    return (h2 << 32) | h1


def unique_string(*values: str) -> str:
    """ARM's uniqueString(): 13 characters of [a-z2-7], deterministic for the values."""
    h = murmur64("-".join(values).encode())
    out = []
    for _ in range(13):
        out.append(BASE32[h >> 59])
        h = (h << 5) & M64
    return "".join(out)


# == the template ============================================================================
@dataclass(frozen=True)
class Scope:
    """Where a deployment runs: what resourceGroup(), subscription() and deployment()
    return."""

    subscription: str
    resource_group: dict[str, Any]  # the group's ARM document
    deployment: str
    tenant: str = ""

    @property
    def group_name(self) -> str:
        return str(self.resource_group["name"])


@dataclass
class Resource:
    """One resource of an expanded template."""

    path: str  # resources[1], resources[0].resources[0]
    type: str  # canonical full type
    kind: str  # registry | replication | webhook
    name: str  # full name: myreg, myreg/eastus
    id: str
    raw: dict[str, Any]
    depends_on: list[str] = field(default_factory=list)  # ids of template resources
    uses_reference: bool = False  # the body calls reference(): evaluated at deploy time

    @property
    def names(self) -> list[str]:
        return self.name.split("/")

    @property
    def registry_id(self) -> str:
        return self.id if self.kind == "registry" else self.id.rsplit("/", 2)[0]


Reference = Callable[[str, bool], Any]  # (resource id, full) -> the resource or its properties
