"""ARM template deployments: schemas and path specs (acrctl.server.handlers.deployments)."""

from __future__ import annotations

from acrctl.server.openapi.base import (
    LRO_HEADERS,
    STR,
    STR_MAP,
    TAGS,
    Schema,
    Specs,
    arr,
    enum,
    list_of,
    obj,
    ok,
    spec,
)


def schemas() -> dict[str, Schema]:
    return {
        "Deployment": obj(
            {
                "id": STR,
                "name": STR,
                "type": STR,
                "tags": STR_MAP,
                "properties": obj(
                    {
                        "provisioningState": STR,
                        "mode": STR,
                        "outputs": {"type": "object"},
                        "outputResources": arr({"type": "object"}),
                        "error": {"type": "object", "nullable": True},
                    }
                ),
            },
            ("id", "name", "properties"),
        ),
        "DeploymentCreateParameters": obj(
            {
                "tags": TAGS,
                "properties": obj(
                    {
                        "template": {"type": "object"},
                        "parameters": {"type": "object"},
                        "mode": enum("Incremental", "Complete"),
                    },
                    ("template",),
                ),
            },
            ("properties",),
        ),
        "DeploymentListResult": list_of("Deployment"),
        "WhatIfResult": obj(
            {
                "status": STR,
                "properties": obj({"changes": arr({"type": "object"})}),
                "error": {"type": "object", "nullable": True},
            },
            ("status",),
        ),
    }


def specs() -> Specs:
    from acrctl.server.handlers import deployments

    return {
        ("GET", deployments.list_): spec(
            "Deployments_ListByResourceGroup",
            "Deployments of a group (paged).",
            "Deployments",
            {"200": ok("DeploymentListResult")},
            paging=True,
        ),
        ("GET", deployments.get): spec(
            "Deployments_Get", "One deployment.", "Deployments", {"200": ok("Deployment")}
        ),
        ("PUT", deployments.put): spec(
            "Deployments_CreateOrUpdate",
            "Run an ARM template (inline).",
            "Deployments",
            {
                "200": ok("Deployment", "Redeployed; see Azure-AsyncOperation.", LRO_HEADERS),
                "201": ok("Deployment", "Deployed; see Azure-AsyncOperation.", LRO_HEADERS),
            },
            body="DeploymentCreateParameters",
        ),
        ("DELETE", deployments.delete): spec(
            "Deployments_Delete",
            "Delete the record (its resources stay).",
            "Deployments",
            {"204": ok(None, "Deleted (or nothing to delete).")},
        ),
        ("POST", deployments.what_if): spec(
            "Deployments_WhatIf",
            "What a deployment would change.",
            "Deployments",
            {"200": ok("WhatIfResult")},
            body="DeploymentCreateParameters",
        ),
    }
