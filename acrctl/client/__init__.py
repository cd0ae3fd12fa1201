"""The Python client for acrctl's management API (and any ARM endpoint speaking
Microsoft.ContainerRegistry): typed models, LRO polling, paging, typed errors."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from acrctl.client.errors import (
    AcrctlError,
    ConnectionFailed,
    NotFoundError,
    OperationFailed,
    ServiceError,
    TlsVerifyFailed,
    UsageError,
)

if TYPE_CHECKING:
    from acrctl.client.acr import AcrClient

__all__ = [
    "AcrClient",
    "AcrctlError",
    "ConnectionFailed",
    "NotFoundError",
    "OperationFailed",
    "ServiceError",
    "TlsVerifyFailed",
    "UsageError",
]


def __getattr__(name: str) -> Any:
    if name == "AcrClient":
        from acrctl.client.acr import AcrClient

        return AcrClient
    raise AttributeError(name)
