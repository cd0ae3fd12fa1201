"""ARM paths for the resources acrctl manages (the CLI never builds URLs itself)."""

from __future__ import annotations

from urllib.parse import quote

ACR = "Microsoft.ContainerRegistry"


def _q(v: str) -> str:
    return quote(v, safe="")


def sub(s: str) -> str:
    return f"/subscriptions/{_q(s)}"


def group(s: str, rg: str) -> str:
    return f"{sub(s)}/resourcegroups/{_q(rg)}"


def registries(s: str, rg: str | None = None) -> str:
    if rg is None:
        return f"{sub(s)}/providers/{ACR}/registries"
    return f"{sub(s)}/resourceGroups/{_q(rg)}/providers/{ACR}/registries"


def registry(s: str, rg: str, name: str) -> str:
    return f"{registries(s, rg)}/{_q(name)}"


def child(s: str, rg: str, reg: str, collection: str, name: str | None = None) -> str:
    base = f"{registry(s, rg, reg)}/{collection}"
    return base if name is None else f"{base}/{_q(name)}"


def authz(scope: str, kind: str, name: str | None = None) -> str:
    base = f"{scope.rstrip('/')}/providers/Microsoft.Authorization/{kind}"
    return base if name is None else f"{base}/{_q(name)}"
