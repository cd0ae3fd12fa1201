"""THE route table: method + ARM path template -> handler, with the RBAC action each route
requires and the scope it is checked at. Both adapters (ASGI, in-process) serve this list."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from acrctl.server import drills, observability
from acrctl.server.app import Handler, Route
from acrctl.server.handlers import (
    activity,
    authz,
    credentials,
    deployments,
    discovery,
    identity,
    permissions,
    portal,
    principals,
    registries,
    replication_status,
    replication_tools,
    replications,
    resources,
    webhooks,
)
from acrctl.server.http import Ctx, Response

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


def openapi_document(c: Ctx) -> Response:
    """GET /openapi.json; the document's module loads only when someone asks for it."""
    from acrctl.server import openapi

    return openapi.serve(c)


ROUTES: list[Route] = [
    # health (public)
    r("GET", "/healthz", authz.health, public=True),
    r("GET", "/readyz", observability.readyz, public=True),
    r("GET", "/metrics", observability.metrics, public=True),  # 404 unless enabled
    r("GET", "/openapi.json", openapi_document, public=True),
    # the portal's map page and its files (acrctl.portal; 404 when portal_enabled is off)
    r("GET", "/portal", portal.page, public=True),
    r("GET", "/portal/{asset}", portal.asset, public=True),
    # the cloud's endpoints (az cloud register; az asks for //metadata/endpoints when the
    # endpoint is given with its trailing slash) and the identity provider (public: the
    # client secret or the managed-identity header is the credential)
    r("GET", "/metadata/endpoints", discovery.metadata_endpoints, public=True),
    r("GET", "//metadata/endpoints", discovery.metadata_endpoints_slash, public=True),
    r(
        "GET",
        f"{IDP}/v2.0/.well-known/openid-configuration",
        identity.openid_configuration,
        public=True,
    ),
    r("GET", f"{IDP}/oauth2/v2.0/authorize", identity.authorize, public=True),
    r("POST", f"{IDP}/oauth2/v2.0/token", identity.token, public=True),
    r("POST", f"{IDP}/oauth2/token", identity.token_v1, public=True),
    r("GET", "/msi/token", identity.managed_identity, public=True),
    # subscriptions, locations, resource groups
    r("GET", "/subscriptions", resources.list_subscriptions, acr=False),
    r(
        "GET",
        SUB,
        resources.get_subscription,
        f"{RES}/read",
        acr=False,
        fallback=resources.sees_subscription,
    ),
    r(
        "GET",
        f"{SUB}/locations",
        resources.list_locations,
        f"{RES}/locations/read",
        acr=False,
        fallback=resources.sees_subscription,
    ),
    # generic resources and resource providers (acrctl.server.handlers.discovery)
    r(
        "GET",
        f"{SUB}/resources",
        discovery.list_resources,
        f"{RES}/resources/read",
        SUB,
        listing=True,
        acr=False,
    ),
    r(
        "GET",
        f"{SUB}/providers",
        discovery.list_providers,
        f"{RES}/providers/read",
        SUB,
        acr=False,
        fallback=resources.sees_subscription,
    ),
    r(
        "GET",
        f"{SUB}/providers/{{namespace}}",
        discovery.get_provider,
        f"{RES}/providers/read",
        SUB,
        acr=False,
        fallback=resources.sees_subscription,
    ),
    r(
        "POST",
        f"{SUB}/providers/{ACR}/register",
        discovery.register_acr,
        f"{ACR}/register/action",
        SUB,
        acr=False,
    ),
    r(
        "GET",
        f"{SUB}/resourcegroups",
        resources.list_groups,
        f"{RES}/resourceGroups/read",
        SUB,
        listing=True,
        acr=False,
    ),
    r("GET", RG, resources.get_group, f"{RES}/resourceGroups/read", acr=False),
    r("HEAD", RG, resources.head_group, f"{RES}/resourceGroups/read", acr=False),
    r("PUT", RG, resources.put_group, f"{RES}/resourceGroups/write", acr=False),
    r("PATCH", RG, resources.patch_group, f"{RES}/resourceGroups/write", acr=False),
    r("DELETE", RG, resources.delete_group, f"{RES}/resourceGroups/delete", acr=False),
    # registries
    r(
        "GET",
        f"{SUB}/providers/{ACR}/registries",
        registries.list_all,
        f"{A}/read",
        SUB,
        listing=True,
    ),
    r(
        "POST",
        f"{SUB}/providers/{ACR}/checkNameAvailability",
        registries.check_name,
        f"{ACR}/checkNameAvailability/read",
        SUB,
    ),
    r(
        "GET",
        f"{SUB}/providers/{ACR}/locations/{{location}}/operationResults/{{op}}",
        registries.operation_result,
        f"{ACR}/locations/operationResults/read",
        SUB,
        fallback=registries.may_follow_operation,
    ),
    r(
        "GET",
        f"{RG}/providers/{ACR}/registries",
        registries.list_by_group,
        f"{A}/read",
        RG,
        listing=True,
    ),
    r("GET", REG, registries.get, f"{A}/read"),
    r("PUT", REG, registries.put, f"{A}/write"),
    r("PATCH", REG, registries.patch, f"{A}/write"),
    r("DELETE", REG, registries.delete, f"{A}/delete"),
    r("GET", f"{REG}/listUsages", registries.usages, f"{A}/listUsages/read", REG),
    # the admin user (acrctl.backend.admin_user)
    r("POST", f"{REG}/listCredentials", credentials.list_, f"{A}/listCredentials/action", REG),
    r(
        "POST",
        f"{REG}/regenerateCredential",
        credentials.regenerate,
        f"{A}/regenerateCredential/action",
        REG,
    ),
    r(
        "GET",
        f"{REG}/operationStatuses/{{op}}",
        registries.operation_status,
        f"{A}/operationStatuses/read",
        REG,
    ),
    # replications
    r(
        "GET",
        f"{REG}/replications",
        replications.list_,
        f"{A}/replications/read",
        REG,
        listing=True,
    ),
    r("GET", REPL, replications.get, f"{A}/replications/read"),
    r("PUT", REPL, replications.put, f"{A}/replications/write"),
    r("PATCH", REPL, replications.patch, f"{A}/replications/write"),
    r("DELETE", REPL, replications.delete, f"{A}/replications/delete"),
    r(
        "GET",
        f"{REPL}/operationStatuses/{{op}}",
        registries.operation_status,
        f"{A}/replications/operationStatuses/read",
        REPL,
    ),
    r("GET", f"{REG}/replicationStatus", replication_status.get, f"{A}/replications/read", REG),
    # the data plane's answers (acrctl.server.handlers.replication_tools)
    r(
        "GET",
        f"{REG}/imagePresence",
        replication_tools.image_presence,
        f"{A}/replications/read",
        REG,
    ),
    r("POST", f"{REG}/verifyReplication", replication_tools.verify, f"{A}/replications/read", REG),
    r("POST", f"{REG}/importImage", replication_tools.import_image, f"{A}/importImage/action", REG),
    r(
        "GET",
        f"{REG}/importOperations/{{op}}",
        replication_tools.import_status,
        f"{A}/operationStatuses/read",
        REG,
    ),
    # webhooks
    r("GET", f"{REG}/webhooks", webhooks.list_, f"{A}/webhooks/read", REG, listing=True),
    r("GET", HOOK, webhooks.get, f"{A}/webhooks/read"),
    r("PUT", HOOK, webhooks.put, f"{A}/webhooks/write"),
    r("PATCH", HOOK, webhooks.patch, f"{A}/webhooks/write"),
    r("DELETE", HOOK, webhooks.delete, f"{A}/webhooks/delete"),
    r("POST", f"{HOOK}/ping", webhooks.ping, f"{A}/webhooks/ping/action", HOOK),
    r(
        "POST",
        f"{HOOK}/getCallbackConfig",
        webhooks.callback_config,
        f"{A}/webhooks/getCallbackConfig/action",
        HOOK,
    ),
    r("POST", f"{HOOK}/listEvents", webhooks.list_events, f"{A}/webhooks/listEvents/action", HOOK),
    r("GET", f"{HOOK}/listEvents", webhooks.list_events, f"{A}/webhooks/listEvents/action", HOOK),
    # acrctl extension (Owner/Contributor hold it through `*`; ACR has no such action)
    r("POST", f"{HOOK}/redeliver", webhooks.redeliver, f"{A}/webhooks/redeliver/action", HOOK),
    r(
        "GET",
        f"{HOOK}/operationStatuses/{{op}}",
        registries.operation_status,
        f"{A}/webhooks/operationStatuses/read",
        HOOK,
    ),
    # ARM template deployments at a resource group (acrctl.backend.deployments)
    r("GET", DEP, deployments.list_, f"{DEPLOY}/read", RG, listing=True, acr=False),
    r("GET", f"{DEP}/{{deployment}}", deployments.get, f"{DEPLOY}/read", acr=False),
    r("PUT", f"{DEP}/{{deployment}}", deployments.put, f"{DEPLOY}/write", RG, acr=False),
    r("DELETE", f"{DEP}/{{deployment}}", deployments.delete, f"{DEPLOY}/delete", acr=False),
    r(
        "POST",
        f"{DEP}/{{deployment}}/whatIf",
        deployments.what_if,
        f"{DEPLOY}/whatIf/action",
        RG,
        acr=False,
    ),
    r(
        "GET",
        f"{DEP}/{{deployment}}/operationStatuses/{{op}}",
        registries.operation_status,
        f"{DEPLOY}/operationStatuses/read",
        f"{DEP}/{{deployment}}",
        acr=False,
    ),
    # authorization
    r(
        "GET",
        f"{AUTHZ}/roleDefinitions",
        authz.list_definitions,
        "Microsoft.Authorization/roleDefinitions/read",
        "{scope:path}",
        acr=False,
    ),
    r(
        "GET",
        f"{AUTHZ}/roleDefinitions/{{id}}",
        authz.get_definition,
        "Microsoft.Authorization/roleDefinitions/read",
        "{scope:path}",
        acr=False,
    ),
    r(
        "PUT",
        f"{AUTHZ}/roleDefinitions/{{id}}",
        authz.put_definition,
        "Microsoft.Authorization/roleDefinitions/write",
        "{scope:path}",
        acr=False,
    ),
    r(
        "DELETE",
        f"{AUTHZ}/roleDefinitions/{{id}}",
        authz.delete_definition,
        "Microsoft.Authorization/roleDefinitions/delete",
        "{scope:path}",
        acr=False,
    ),
    r(
        "GET",
        f"{AUTHZ}/roleAssignments",
        authz.list_assignments,
        "Microsoft.Authorization/roleAssignments/read",
        "{scope:path}",
        listing=True,
        acr=False,
    ),
    r(
        "GET",
        f"{AUTHZ}/roleAssignments/{{id}}",
        authz.get_assignment,
        "Microsoft.Authorization/roleAssignments/read",
        "{scope:path}",
        acr=False,
    ),
    r(
        "PUT",
        f"{AUTHZ}/roleAssignments/{{id}}",
        authz.put_assignment,
        "Microsoft.Authorization/roleAssignments/write",
        "{scope:path}",
        acr=False,
    ),
    r(
        "DELETE",
        f"{AUTHZ}/roleAssignments/{{id}}",
        authz.delete_assignment,
        "Microsoft.Authorization/roleAssignments/delete",
        "{scope:path}",
        acr=False,
    ),
    # the caller's own effective permissions at a scope (any signed-in caller)
    r("GET", f"{AUTHZ}/permissions", permissions.list_, acr=False),
    # the activity log (az monitor activity-log list)
    r(
        "GET",
        f"{SUB}/providers/Microsoft.Insights/eventtypes/management/values",
        activity.list_,
        "Microsoft.Insights/eventtypes/values/read",
        SUB,
        listing=True,
        acr=False,
    ),
    # principals (acrctl extension: a directory of its own) and admin endpoints
    r("GET", "/providers/Microsoft.Authorization/whoami", authz.whoami, acr=False),
    r(
        "POST",
        f"{SUB}/providers/Microsoft.Authorization/principals",
        authz.create_principal,
        "Microsoft.Authorization/principals/write",
        SUB,
        acr=False,
    ),
    r(
        "GET",
        f"{SUB}/providers/Microsoft.Authorization/principals",
        authz.list_principals,
        "Microsoft.Authorization/principals/read",
        SUB,
        acr=False,
    ),
    # the token lifecycle (acrctl.server.handlers.principals): az ad sp delete and
    # credential reset; principals/write (reset) or /delete at the subscription, like create
    r(
        "DELETE",
        f"{PRINCIPALS}/{{principal}}",
        principals.delete,
        "Microsoft.Authorization/principals/delete",
        SUB,
        acr=False,
    ),
    r(
        "POST",
        f"{PRINCIPALS}/{{principal}}/resetCredential",
        principals.reset_credential,
        "Microsoft.Authorization/principals/write",
        SUB,
        acr=False,
    ),
    r(
        "POST",
        f"{SUB}/providers/Acrctl.Admin/reset",
        authz.reset,
        "Microsoft.Authorization/elevateAccess/Action",
        SUB,
        acr=False,
    ),
    r(
        "PUT",
        f"{SUB}/providers/Acrctl.Admin/settings",
        authz.settings,
        "Microsoft.Authorization/elevateAccess/Action",
        SUB,
        acr=False,
    ),
    # failure drills (acrctl extension, admin only; acrctl.server.drills)
    r("GET", DRILLS, drills.list_, ELEVATE, SUB, acr=False),
    r("DELETE", DRILLS, drills.clear, ELEVATE, SUB, acr=False),
    r("GET", f"{DRILLS}/{{drill}}", drills.get, ELEVATE, SUB, acr=False),
    r("PUT", f"{DRILLS}/{{drill}}", drills.put, ELEVATE, SUB, acr=False),
    r("DELETE", f"{DRILLS}/{{drill}}", drills.delete, ELEVATE, SUB, acr=False),
]
