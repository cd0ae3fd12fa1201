"""The route table's path templates and its row builder r() (acrctl.server.routes)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from acrctl.server.routing import Handler, Route

if TYPE_CHECKING:
    from acrctl.backend.core import Backend
    from acrctl.backend.rbac import Caller

SUB = "/subscriptions/{sub}"
RG = f"{SUB}/resourceGroups/{{rg}}"
ACR = "Microsoft.ContainerRegistry"
REG = f"{RG}/providers/{ACR}/registries/{{registry}}"
REPL = f"{REG}/replications/{{replication}}"
HOOK = f"{REG}/webhooks/{{webhook}}"
A = f"{ACR}/registries"
AUTHZ = "{scope:path}/providers/Microsoft.Authorization"
RES = "Microsoft.Resources/subscriptions"
DRILLS = f"{SUB}/providers/Acrctl.Admin/drills"
ELEVATE = "Microsoft.Authorization/elevateAccess/Action"
DEP = f"{RG}/providers/Microsoft.Resources/deployments"
DEPLOY = "Microsoft.Resources/deployments"
PRINCIPALS = f"{SUB}/providers/Microsoft.Authorization/principals"
IDP = "/{tenant}"  # the identity provider's tenant paths


def r(
    method: str,
    template: str,
    handler: Handler,
    action: str | None = None,
    scope: str = "",
    listing: bool = False,
    public: bool = False,
    acr: bool = True,
    fallback: Callable[[Backend, Caller, dict[str, str]], bool] | None = None,
) -> Route:
    return Route(
        method, template, handler, action, scope or template, listing, public, acr, fallback
    )
