"""The kinds of store items, in one place. A leaf module: the services, the drills and the
activity log name each other's items through it instead of importing each other (the
modules that own a kind re-export its constant under the old name)."""

from __future__ import annotations

SUBSCRIPTION = "subscription"
GROUP = "resourceGroup"
REGISTRY = "registry"
REPLICATION = "replication"
WEBHOOK = "webhook"
OPERATION = "operation"
DEPLOYMENT = "deployment"
DRILL = "drill"
ACTIVITY = "activity"
PRINCIPAL, TOKEN, ROLE_DEF, ROLE_ASSIGN = "principal", "token", "roleDefinition", "roleAssignment"
