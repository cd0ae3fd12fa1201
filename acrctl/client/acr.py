"""AcrClient: the typed, subscription-aware API over ArmClient."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from acrctl.client import paths
from acrctl.client.arm import AUTHZ_API_VERSION, RESOURCES_API_VERSION, ArmClient
from acrctl.client.errors import AcrctlError
from acrctl.client.views import ArmView, resource_group_of

if TYPE_CHECKING:
    from acrctl import models as m

REPLICATIONS, WEBHOOKS = "replications", "webhooks"


class AcrClient(ArmClient):
    """`subscription`: the subscription id to work in (default: the first one visible).
    `typed`: return pydantic models (acrctl.models, the default); False returns ArmView
    objects instead, the JSON read through the same attribute names and `to_arm()`, without
    importing pydantic (the CLI's choice: start-up time)."""

    def __init__(
        self, endpoint: str, subscription: str | None = None, typed: bool = True, **kw: Any
    ) -> None:
        super().__init__(endpoint, **kw)
        self._subscription = subscription
        self.typed = typed
        self.transport = kw.get("transport")  # the in-process one in embedded mode

    def _one(self, model: str, data: Any) -> Any:
        if not isinstance(data, dict):
            raise AcrctlError(
                f"The server sent a {model} that is not a JSON object.", "InvalidResponse"
            )
        if not self.typed:
            return ArmView(data)
        from acrctl import models

        try:
            return getattr(models, model).model_validate(data)
        except ValueError as exc:  # pydantic's ValidationError
            raise AcrctlError(
                f"The server sent a {model} acrctl cannot read: {str(exc).splitlines()[0]}",
                "InvalidResponse",
            ) from None

    def _many(self, model: str, data: list[Any]) -> list[Any]:
        return [self._one(model, d) for d in data]

    # -- subscriptions, locations -------------------------------------------------------------
    def subscriptions(self) -> list[m.Subscription]:
        return self._many("Subscription", self.list("/subscriptions", RESOURCES_API_VERSION))

    @property
    def subscription(self) -> str:
        if self._subscription is None:
            subs = self.subscriptions()
            if not subs:
                raise AcrctlError(
                    "No subscription is visible to this principal. Ask the "
                    "server's administrator for a role assignment."
                )
            self._subscription = subs[0].subscription_id
        return self._subscription

    def locations(self) -> list[dict[str, Any]]:
        return self.list(f"{paths.sub(self.subscription)}/locations", RESOURCES_API_VERSION)

    def whoami(self) -> dict[str, Any]:
        return dict(
            self.call(
                "GET", "/providers/Microsoft.Authorization/whoami", api_version=AUTHZ_API_VERSION
            )
        )

    # -- resource groups ------------------------------------------------------------------------
    def create_group(
        self, name: str, location: str, tags: dict[str, str] | None = None
    ) -> m.ResourceGroup:
        body = {"location": location, "tags": tags or {}}
        return self._one(
            "ResourceGroup",
            self.call("PUT", paths.group(self.subscription, name), body, RESOURCES_API_VERSION),
        )

    def get_group(self, name: str) -> m.ResourceGroup:
        return self._one(
            "ResourceGroup",
            self.call(
                "GET", paths.group(self.subscription, name), api_version=RESOURCES_API_VERSION
            ),
        )

    def list_groups(self) -> list[m.ResourceGroup]:
        return self._many(
            "ResourceGroup",
            self.list(f"{paths.sub(self.subscription)}/resourcegroups", RESOURCES_API_VERSION),
        )

    def delete_group(self, name: str) -> None:
        self.call("DELETE", paths.group(self.subscription, name), api_version=RESOURCES_API_VERSION)

    # -- registries -------------------------------------------------------------------------------
    def create_registry(
        self, rg: str, name: str, body: dict[str, Any], wait: bool = True
    ) -> m.Registry | None:
        doc = self.lro("PUT", paths.registry(self.subscription, rg, name), body, wait)
        return self._one("Registry", doc) if doc else None

    def get_registry(self, rg: str, name: str) -> m.Registry:
        return self._one("Registry", self.call("GET", paths.registry(self.subscription, rg, name)))

    def list_registries(self, rg: str | None = None) -> list[m.Registry]:
        return self._many("Registry", self.list(paths.registries(self.subscription, rg)))

    def update_registry(
        self, rg: str, name: str, patch: dict[str, Any], wait: bool = True
    ) -> m.Registry | None:
        doc = self.lro("PATCH", paths.registry(self.subscription, rg, name), patch, wait)
        return self._one("Registry", doc) if doc else None

    def delete_registry(self, rg: str, name: str, wait: bool = True) -> None:
        self.lro("DELETE", paths.registry(self.subscription, rg, name), wait=wait)

    def registry_usages(self, rg: str, name: str) -> list[m.Usage]:
        data = self.call("GET", paths.registry(self.subscription, rg, name) + "/listUsages")
        return self._many("Usage", data.get("value", []))

    def list_credentials(self, rg: str, name: str) -> dict[str, Any]:
        """The admin user's username and passwords (`az acr credential show`)."""
        url = paths.registry(self.subscription, rg, name) + "/listCredentials"
        return dict(self.call("POST", url))

    def regenerate_credential(self, rg: str, name: str, password_name: str) -> dict[str, Any]:
        """A new `password` or `password2` (`az acr credential renew`)."""
        url = paths.registry(self.subscription, rg, name) + "/regenerateCredential"
        return dict(self.call("POST", url, {"name": password_name}))

    def check_name(self, name: str) -> m.NameStatus:
        body = {"name": name, "type": "Microsoft.ContainerRegistry/registries"}
        url = (
            f"{paths.sub(self.subscription)}/providers/Microsoft.ContainerRegistry/"
            "checkNameAvailability"
        )
        return self._one("NameStatus", self.call("POST", url, body))

    def registry_group(self, name: str) -> str:
        """The resource group of a registry, found by name (az's auto-discovery)."""
        matches = [
            r
            for r in self.list(paths.registries(self.subscription))
            if r["name"].lower() == name.lower()
        ]
        if not matches:
            raise AcrctlError(
                f"The resource with name '{name}' and type "
                f"'Microsoft.ContainerRegistry/registries' could not be found in subscription "
                f"'{self.subscription}'."
            )
        return resource_group_of(str(matches[0]["id"]))

    # -- replications ---------------------------------------------------------------------------
    def _child(self, rg: str, reg: str, kind: str, name: str | None = None) -> str:
        return paths.child(self.subscription, rg, reg, kind, name)

    def create_replication(
        self, rg: str, registry: str, name: str, body: dict[str, Any], wait: bool = True
    ) -> m.Replication | None:
        doc = self.lro("PUT", self._child(rg, registry, REPLICATIONS, name), body, wait)
        return self._one("Replication", doc) if doc else None

    def get_replication(self, rg: str, registry: str, name: str) -> m.Replication:
        return self._one(
            "Replication", self.call("GET", self._child(rg, registry, REPLICATIONS, name))
        )

    def list_replications(self, rg: str, registry: str) -> list[m.Replication]:
        return self._many("Replication", self.list(self._child(rg, registry, REPLICATIONS)))

    def update_replication(
        self, rg: str, registry: str, name: str, patch: dict[str, Any], wait: bool = True
    ) -> m.Replication | None:
        doc = self.lro("PATCH", self._child(rg, registry, REPLICATIONS, name), patch, wait)
        return self._one("Replication", doc) if doc else None

    def delete_replication(self, rg: str, registry: str, name: str, wait: bool = True) -> None:
        self.lro("DELETE", self._child(rg, registry, REPLICATIONS, name), wait=wait)

    # -- webhooks -------------------------------------------------------------------------------
    def create_webhook(
        self, rg: str, registry: str, name: str, body: dict[str, Any], wait: bool = True
    ) -> m.Webhook | None:
        doc = self.lro("PUT", self._child(rg, registry, WEBHOOKS, name), body, wait)
        return self._one("Webhook", doc) if doc else None

    def get_webhook(self, rg: str, registry: str, name: str) -> m.Webhook:
        return self._one("Webhook", self.call("GET", self._child(rg, registry, WEBHOOKS, name)))

    def list_webhooks(self, rg: str, registry: str) -> list[m.Webhook]:
        return self._many("Webhook", self.list(self._child(rg, registry, WEBHOOKS)))

    def update_webhook(
        self, rg: str, registry: str, name: str, patch: dict[str, Any], wait: bool = True
    ) -> m.Webhook | None:
        doc = self.lro("PATCH", self._child(rg, registry, WEBHOOKS, name), patch, wait)
        return self._one("Webhook", doc) if doc else None

    def delete_webhook(self, rg: str, registry: str, name: str, wait: bool = True) -> None:
        self.lro("DELETE", self._child(rg, registry, WEBHOOKS, name), wait=wait)

    def ping_webhook(self, rg: str, registry: str, name: str) -> m.EventInfo:
        return self._one(
            "EventInfo", self.call("POST", self._child(rg, registry, WEBHOOKS, name) + "/ping")
        )

    def webhook_config(self, rg: str, registry: str, name: str) -> m.CallbackConfig:
        url = self._child(rg, registry, WEBHOOKS, name) + "/getCallbackConfig"
        return self._one("CallbackConfig", self.call("POST", url))

    def webhook_events(
        self, rg: str, registry: str, name: str, limit: int | None = None
    ) -> list[m.Event]:
        url = self._child(rg, registry, WEBHOOKS, name) + "/listEvents"
        return self._many("Event", self.list(url, method="POST", limit=limit))

    def redeliver_webhook_event(
        self, rg: str, registry: str, name: str, event_id: str
    ) -> m.EventInfo:
        """Send a past event again (acrctl extension). Returns the new delivery's id."""
        url = self._child(rg, registry, WEBHOOKS, name) + "/redeliver"
        return self._one("EventInfo", self.call("POST", url, {"eventId": event_id}))

    # -- authorization ------------------------------------------------------------------------
    def list_role_definitions(
        self, scope: str, role_name: str | None = None
    ) -> list[m.RoleDefinition]:
        params = (
            {"$filter": "roleName eq '{}'".format(role_name.replace("'", "''"))}
            if role_name
            else None
        )
        data = self.call(
            "GET",
            paths.authz(scope, "roleDefinitions"),
            api_version=AUTHZ_API_VERSION,
            params=params,
        )
        return self._many("RoleDefinition", data.get("value", []))

    def create_role_definition(
        self, scope: str, guid: str, body: dict[str, Any]
    ) -> m.RoleDefinition:
        return self._one(
            "RoleDefinition",
            self.call("PUT", paths.authz(scope, "roleDefinitions", guid), body, AUTHZ_API_VERSION),
        )

    def list_role_assignments(
        self, scope: str, principal: str | None = None
    ) -> list[m.RoleAssignment]:
        params = {"$filter": f"principalId eq '{principal}'"} if principal else None
        data = self.call(
            "GET",
            paths.authz(scope, "roleAssignments"),
            api_version=AUTHZ_API_VERSION,
            params=params,
        )
        return self._many("RoleAssignment", data.get("value", []))

    def create_role_assignment(
        self, scope: str, guid: str, role: str, principal: str
    ) -> m.RoleAssignment:
        body = {"properties": {"roleDefinitionId": role, "principalId": principal}}
        return self._one(
            "RoleAssignment",
            self.call("PUT", paths.authz(scope, "roleAssignments", guid), body, AUTHZ_API_VERSION),
        )

    def delete_role_assignment(self, scope: str, guid: str) -> None:
        self.call(
            "DELETE", paths.authz(scope, "roleAssignments", guid), api_version=AUTHZ_API_VERSION
        )

    def create_principal(
        self, name: str, kind: str = "Application", end_date: str | None = None
    ) -> m.Principal:
        """`end_date`: ISO 8601, when its token expires (default: the server's lifetime)."""
        url = f"{paths.sub(self.subscription)}/providers/Microsoft.Authorization/principals"
        body = {"displayName": name, "type": kind}
        if end_date is not None:
            body["endDateTime"] = end_date
        return self._one("Principal", self.call("POST", url, body, AUTHZ_API_VERSION))

    def list_principals(self) -> list[m.Principal]:
        url = f"{paths.sub(self.subscription)}/providers/Microsoft.Authorization/principals"
        return self._many(
            "Principal", self.call("GET", url, api_version=AUTHZ_API_VERSION).get("value", [])
        )

    def _principal_url(self, principal_id: str) -> str:
        from urllib.parse import quote

        return (
            f"{paths.sub(self.subscription)}/providers/Microsoft.Authorization/principals/"
            f"{quote(principal_id, safe='')}"
        )

    def reset_principal_credential(
        self, principal_id: str, append: bool = False, end_date: str | None = None
    ) -> dict[str, Any]:
        """A new token for the principal (acrctl extension; `az ad sp credential reset`).
        Without `append` its other tokens stop working at once. `end_date`: ISO 8601, when
        the token expires (default: the server's token lifetime). Returns the principal
        with `token` (shown once) and `endDateTime`."""
        body: dict[str, Any] = {"append": append}
        if end_date is not None:
            body["endDateTime"] = end_date
        return dict(
            self.call(
                "POST",
                self._principal_url(principal_id) + "/resetCredential",
                body,
                AUTHZ_API_VERSION,
            )
        )

    def delete_principal(self, principal_id: str) -> None:
        """Delete a principal, its tokens and its role assignments (`az ad sp delete`)."""
        self.call("DELETE", self._principal_url(principal_id), api_version=AUTHZ_API_VERSION)

    # -- failure drills (acrctl extension; admin only: elevateAccess at the subscription) ------
    def _drills(self, name: str | None = None) -> str:
        url = f"{paths.sub(self.subscription)}/providers/Acrctl.Admin/drills"
        return f"{url}/{name}" if name else url

    def list_drills(self) -> list[dict[str, Any]]:
        data = self.call("GET", self._drills(), api_version=AUTHZ_API_VERSION)
        return [dict(d) for d in data.get("value", [])]

    def get_drill(self, name: str) -> dict[str, Any]:
        return dict(self.call("GET", self._drills(name), api_version=AUTHZ_API_VERSION))

    def put_drill(self, name: str, properties: dict[str, Any]) -> dict[str, Any]:
        """Start (or replace) a drill: properties.kind is RegionOutage, ReplicaOutage,
        Throttle or Latency; see docs/drills.md for the rest."""
        return dict(
            self.call("PUT", self._drills(name), {"properties": properties}, AUTHZ_API_VERSION)
        )

    def delete_drill(self, name: str) -> dict[str, Any] | None:
        """Clear one drill; returns it, or None when there was none by that name."""
        data = self.call("DELETE", self._drills(name), api_version=AUTHZ_API_VERSION)
        return dict(data) if data else None

    def clear_drills(self) -> list[dict[str, Any]]:
        """Clear every drill of the subscription; returns the ones removed."""
        data = self.call("DELETE", self._drills(), api_version=AUTHZ_API_VERSION)
        return [dict(d) for d in (data or {}).get("value", [])]

    # -- ARM template deployments (Microsoft.Resources/deployments at a resource group) -------
    def _deployment(self, rg: str, name: str | None = None) -> str:
        from urllib.parse import quote

        base = f"{paths.group(self.subscription, rg)}/providers/Microsoft.Resources/deployments"
        return base if name is None else f"{base}/{quote(name, safe='')}"

    def create_deployment(
        self, rg: str, name: str, body: dict[str, Any], wait: bool = True
    ) -> dict[str, Any] | None:
        """Run a deployment ({"properties": {"template", "parameters", "mode"}}). With
        wait, returns it when it Succeeded and raises OperationFailed (DeploymentFailed,
        with the failing step) when it Failed."""
        doc = self.lro(
            "PUT", self._deployment(rg, name), body, wait, api_version=RESOURCES_API_VERSION
        )
        return dict(doc) if doc else None

    def get_deployment(self, rg: str, name: str) -> dict[str, Any]:
        return dict(self.call("GET", self._deployment(rg, name), api_version=RESOURCES_API_VERSION))

    def list_deployments(self, rg: str) -> list[dict[str, Any]]:
        return [dict(d) for d in self.list(self._deployment(rg), RESOURCES_API_VERSION)]

    def delete_deployment(self, rg: str, name: str, wait: bool = True) -> None:
        self.lro("DELETE", self._deployment(rg, name), wait=wait, api_version=RESOURCES_API_VERSION)

    def what_if_deployment(self, rg: str, name: str, body: dict[str, Any]) -> dict[str, Any]:
        """The changes a deployment would make (ARM's WhatIfOperationResult)."""
        return dict(
            self.call("POST", self._deployment(rg, name) + "/whatIf", body, RESOURCES_API_VERSION)
        )
