"""Subscriptions, locations and resource groups (Microsoft.Resources): schemas and path specs
(acrctl.server.handlers.resources)."""

from __future__ import annotations

from acrctl import models as m
from acrctl.server.openapi.base import (
    ETAG_HEADER,
    STR,
    STR_MAP,
    TAGS,
    Schema,
    Specs,
    arr,
    from_model,
    list_of,
    location_in,
    obj,
    ok,
    spec,
)


def schemas() -> dict[str, Schema]:
    return {
        "Subscription": from_model(m.Subscription),
        "SubscriptionListResult": list_of("Subscription", pageable=False),
        "Location": obj(
            {
                "id": STR,
                "name": STR,
                "type": STR,
                "displayName": STR,
                "regionalDisplayName": STR,
                "metadata": {"type": "object"},
                "availabilityZoneMappings": arr({"type": "object"}),
            },
            ("id", "name"),
        ),
        "LocationListResult": list_of("Location", pageable=False),
        "ResourceGroup": obj(
            {
                "id": STR,
                "name": STR,
                "type": STR,
                "location": STR,
                "tags": STR_MAP,
                "managedBy": {"type": "string", "nullable": True},
                "properties": obj({"provisioningState": STR}),
            },
            ("id", "name", "type", "location"),
        ),
        "ResourceGroupCreateParameters": obj(
            {
                "location": location_in(),
                "tags": TAGS,
                "managedBy": {"type": "string", "nullable": True},
            },
            ("location",),
        ),
        "ResourceGroupPatchable": obj(
            {"tags": TAGS, "managedBy": {"type": "string", "nullable": True}}, ()
        ),
        "ResourceGroupListResult": list_of("ResourceGroup"),
    }


def specs() -> Specs:
    from acrctl.server.handlers import resources

    return {
        ("GET", resources.list_subscriptions): spec(
            "Subscriptions_List",
            "Subscriptions the caller can see.",
            "Resources",
            {"200": ok("SubscriptionListResult")},
        ),
        ("GET", resources.get_subscription): spec(
            "Subscriptions_Get", "One subscription.", "Resources", {"200": ok("Subscription")}
        ),
        ("GET", resources.list_locations): spec(
            "Subscriptions_ListLocations",
            "The region catalog.",
            "Resources",
            {"200": ok("LocationListResult")},
        ),
        ("GET", resources.list_groups): spec(
            "ResourceGroups_List",
            "Resource groups (paged).",
            "Resources",
            {"200": ok("ResourceGroupListResult")},
            paging=True,
        ),
        ("GET", resources.get_group): spec(
            "ResourceGroups_Get",
            "One resource group.",
            "Resources",
            {"200": ok("ResourceGroup", headers=ETAG_HEADER)},
        ),
        ("HEAD", resources.head_group): spec(
            "ResourceGroups_CheckExistence",
            "204 when the group exists, else 404.",
            "Resources",
            {"204": ok(None, "Exists."), "404": ok(None, "Does not exist.")},
        ),
        ("PUT", resources.put_group): spec(
            "ResourceGroups_CreateOrUpdate",
            "Create or update a resource group.",
            "Resources",
            {
                "200": ok("ResourceGroup", headers=ETAG_HEADER),
                "201": ok("ResourceGroup", "Created.", ETAG_HEADER),
            },
            body="ResourceGroupCreateParameters",
            conditional=True,
        ),
        ("PATCH", resources.patch_group): spec(
            "ResourceGroups_Update",
            "Update a resource group's tags.",
            "Resources",
            {"200": ok("ResourceGroup", headers=ETAG_HEADER)},
            body="ResourceGroupPatchable",
            conditional=True,
        ),
        ("DELETE", resources.delete_group): spec(
            "ResourceGroups_Delete",
            "Delete a group and everything in it.",
            "Resources",
            {"200": ok(None, "Deleted."), "204": ok(None, "Nothing to delete.")},
            conditional=True,
        ),
    }
