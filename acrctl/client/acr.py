"""AcrClient: the typed, subscription-aware API over ArmClient."""

from __future__ import annotations

from typing import Any, TypeVar

from acrctl import models as m
from acrctl.client import paths
from acrctl.client.arm import AUTHZ_API_VERSION, RESOURCES_API_VERSION, ArmClient
from acrctl.client.errors import AcrctlError

T = TypeVar("T", bound=m.ArmModel)
REPLICATIONS, WEBHOOKS = "replications", "webhooks"


def _one(cls: type[T], data: Any) -> T:
    return cls.model_validate(data)


def _many(cls: type[T], data: list[Any]) -> list[T]:
    return [cls.model_validate(d) for d in data]


class AcrClient(ArmClient):
    """`subscription`: the subscription id to work in (default: the first one visible)."""

    def __init__(self, endpoint: str, subscription: str | None = None, **kw: Any) -> None:
        super().__init__(endpoint, **kw)
        self._subscription = subscription
        self.transport = kw.get("transport")  # the in-process one in embedded mode

    # -- subscriptions, locations -------------------------------------------------------------
    def subscriptions(self) -> list[m.Subscription]:
        return _many(m.Subscription, self.list("/subscriptions", RESOURCES_API_VERSION))

    @property
    def subscription(self) -> str:
        if self._subscription is None:
            subs = self.subscriptions()
            if not subs:
                raise AcrctlError("No subscription is visible to this principal. Ask the "
                                  "server's administrator for a role assignment.")
            self._subscription = subs[0].subscription_id
        return self._subscription

    def locations(self) -> list[dict[str, Any]]:
        return self.list(f"{paths.sub(self.subscription)}/locations", RESOURCES_API_VERSION)

    def whoami(self) -> dict[str, Any]:
        return dict(self.call("GET", "/providers/Microsoft.Authorization/whoami",
                              api_version=AUTHZ_API_VERSION))

    # -- resource groups ------------------------------------------------------------------------
    def create_group(self, name: str, location: str,
                     tags: dict[str, str] | None = None) -> m.ResourceGroup:
        body = {"location": location, "tags": tags or {}}
        return _one(m.ResourceGroup, self.call("PUT", paths.group(self.subscription, name), body,
                                               RESOURCES_API_VERSION))

    def get_group(self, name: str) -> m.ResourceGroup:
        return _one(m.ResourceGroup, self.call("GET", paths.group(self.subscription, name),
                                               api_version=RESOURCES_API_VERSION))

    def list_groups(self) -> list[m.ResourceGroup]:
        return _many(m.ResourceGroup, self.list(f"{paths.sub(self.subscription)}/resourcegroups",
                                                RESOURCES_API_VERSION))

    def delete_group(self, name: str) -> None:
        self.call("DELETE", paths.group(self.subscription, name),
                  api_version=RESOURCES_API_VERSION)

    # -- registries -------------------------------------------------------------------------------
    def create_registry(self, rg: str, name: str, body: dict[str, Any],
                        wait: bool = True) -> m.Registry | None:
        doc = self.lro("PUT", paths.registry(self.subscription, rg, name), body, wait)
        return _one(m.Registry, doc) if doc else None

    def get_registry(self, rg: str, name: str) -> m.Registry:
        return _one(m.Registry, self.call("GET", paths.registry(self.subscription, rg, name)))

    def list_registries(self, rg: str | None = None) -> list[m.Registry]:
        return _many(m.Registry, self.list(paths.registries(self.subscription, rg)))

    def update_registry(self, rg: str, name: str, patch: dict[str, Any],
                        wait: bool = True) -> m.Registry | None:
        doc = self.lro("PATCH", paths.registry(self.subscription, rg, name), patch, wait)
        return _one(m.Registry, doc) if doc else None

    def delete_registry(self, rg: str, name: str, wait: bool = True) -> None:
        self.lro("DELETE", paths.registry(self.subscription, rg, name), wait=wait)

    def registry_usages(self, rg: str, name: str) -> list[m.Usage]:
        data = self.call("GET", paths.registry(self.subscription, rg, name) + "/listUsages")
        return _many(m.Usage, data.get("value", []))

    def check_name(self, name: str) -> m.NameStatus:
        body = {"name": name, "type": "Microsoft.ContainerRegistry/registries"}
        url = f"{paths.sub(self.subscription)}/providers/Microsoft.ContainerRegistry/" \
              "checkNameAvailability"
        return _one(m.NameStatus, self.call("POST", url, body))

    def registry_group(self, name: str) -> str:
        """The resource group of a registry, found by name (az's auto-discovery)."""
        matches = [r for r in self.list(paths.registries(self.subscription))
                   if r["name"].lower() == name.lower()]
        if not matches:
            raise AcrctlError(
                f"The resource with name '{name}' and type "
                f"'Microsoft.ContainerRegistry/registries' could not be found in subscription "
                f"'{self.subscription}'.")
        return m.Resource.model_validate(matches[0]).resource_group

    # -- replications ---------------------------------------------------------------------------
    def _child(self, rg: str, reg: str, kind: str, name: str | None = None) -> str:
        return paths.child(self.subscription, rg, reg, kind, name)

    def create_replication(self, rg: str, registry: str, name: str, body: dict[str, Any],
                           wait: bool = True) -> m.Replication | None:
        doc = self.lro("PUT", self._child(rg, registry, REPLICATIONS, name), body, wait)
        return _one(m.Replication, doc) if doc else None

    def get_replication(self, rg: str, registry: str, name: str) -> m.Replication:
        return _one(m.Replication, self.call("GET", self._child(rg, registry, REPLICATIONS, name)))

    def list_replications(self, rg: str, registry: str) -> list[m.Replication]:
        return _many(m.Replication, self.list(self._child(rg, registry, REPLICATIONS)))

    def update_replication(self, rg: str, registry: str, name: str, patch: dict[str, Any],
                           wait: bool = True) -> m.Replication | None:
        doc = self.lro("PATCH", self._child(rg, registry, REPLICATIONS, name), patch, wait)
        return _one(m.Replication, doc) if doc else None

    def delete_replication(self, rg: str, registry: str, name: str, wait: bool = True) -> None:
        self.lro("DELETE", self._child(rg, registry, REPLICATIONS, name), wait=wait)

    # -- webhooks -------------------------------------------------------------------------------
    def create_webhook(self, rg: str, registry: str, name: str, body: dict[str, Any],
                       wait: bool = True) -> m.Webhook | None:
        doc = self.lro("PUT", self._child(rg, registry, WEBHOOKS, name), body, wait)
        return _one(m.Webhook, doc) if doc else None

    def get_webhook(self, rg: str, registry: str, name: str) -> m.Webhook:
        return _one(m.Webhook, self.call("GET", self._child(rg, registry, WEBHOOKS, name)))

    def list_webhooks(self, rg: str, registry: str) -> list[m.Webhook]:
        return _many(m.Webhook, self.list(self._child(rg, registry, WEBHOOKS)))

    def update_webhook(self, rg: str, registry: str, name: str, patch: dict[str, Any],
                       wait: bool = True) -> m.Webhook | None:
        doc = self.lro("PATCH", self._child(rg, registry, WEBHOOKS, name), patch, wait)
        return _one(m.Webhook, doc) if doc else None

    def delete_webhook(self, rg: str, registry: str, name: str, wait: bool = True) -> None:
        self.lro("DELETE", self._child(rg, registry, WEBHOOKS, name), wait=wait)

    def ping_webhook(self, rg: str, registry: str, name: str) -> m.EventInfo:
        return _one(m.EventInfo,
                    self.call("POST", self._child(rg, registry, WEBHOOKS, name) + "/ping"))

    def webhook_config(self, rg: str, registry: str, name: str) -> m.CallbackConfig:
        url = self._child(rg, registry, WEBHOOKS, name) + "/getCallbackConfig"
        return _one(m.CallbackConfig, self.call("POST", url))

    def webhook_events(self, rg: str, registry: str, name: str,
                       limit: int | None = None) -> list[m.Event]:
        url = self._child(rg, registry, WEBHOOKS, name) + "/listEvents"
        return _many(m.Event, self.list(url, method="POST", limit=limit))

    def redeliver_webhook_event(self, rg: str, registry: str, name: str,
                                event_id: str) -> m.EventInfo:
        """Send a past event again (acrctl extension). Returns the new delivery's id."""
        url = self._child(rg, registry, WEBHOOKS, name) + "/redeliver"
        return _one(m.EventInfo, self.call("POST", url, {"eventId": event_id}))

    # -- authorization ------------------------------------------------------------------------
    def list_role_definitions(self, scope: str,
                              role_name: str | None = None) -> list[m.RoleDefinition]:
        params = {"$filter": f"roleName eq '{role_name}'"} if role_name else None
        data = self.call("GET", paths.authz(scope, "roleDefinitions"),
                         api_version=AUTHZ_API_VERSION, params=params)
        return _many(m.RoleDefinition, data.get("value", []))

    def create_role_definition(self, scope: str, guid: str,
                               body: dict[str, Any]) -> m.RoleDefinition:
        return _one(m.RoleDefinition, self.call("PUT", paths.authz(scope, "roleDefinitions", guid),
                                                body, AUTHZ_API_VERSION))

    def list_role_assignments(self, scope: str,
                              principal: str | None = None) -> list[m.RoleAssignment]:
        params = {"$filter": f"principalId eq '{principal}'"} if principal else None
        data = self.call("GET", paths.authz(scope, "roleAssignments"),
                         api_version=AUTHZ_API_VERSION, params=params)
        return _many(m.RoleAssignment, data.get("value", []))

    def create_role_assignment(self, scope: str, guid: str, role: str,
                               principal: str) -> m.RoleAssignment:
        body = {"properties": {"roleDefinitionId": role, "principalId": principal}}
        return _one(m.RoleAssignment, self.call("PUT", paths.authz(scope, "roleAssignments", guid),
                                                body, AUTHZ_API_VERSION))

    def delete_role_assignment(self, scope: str, guid: str) -> None:
        self.call("DELETE", paths.authz(scope, "roleAssignments", guid),
                  api_version=AUTHZ_API_VERSION)

    def create_principal(self, name: str, kind: str = "Application") -> m.Principal:
        url = f"{paths.sub(self.subscription)}/providers/Microsoft.Authorization/principals"
        return _one(m.Principal, self.call("POST", url, {"displayName": name, "type": kind},
                                           AUTHZ_API_VERSION))

    def list_principals(self) -> list[m.Principal]:
        url = f"{paths.sub(self.subscription)}/providers/Microsoft.Authorization/principals"
        return _many(m.Principal, self.call("GET", url,
                                            api_version=AUTHZ_API_VERSION).get("value", []))
