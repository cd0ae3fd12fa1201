"""Replications and the image replication status: schemas and path specs
(acrctl.server.handlers.replications, .replication_status)."""

from __future__ import annotations

from acrctl.server.openapi.base import (
    BOOL,
    DATETIME,
    ETAG_HEADER,
    PROVISIONING,
    RESOURCE_BASE,
    STR,
    TAGS,
    ZONE,
    Schema,
    Specs,
    arr,
    enum,
    list_of,
    location_in,
    lro_delete,
    lro_put,
    obj,
    ok,
    spec,
)


def schemas() -> dict[str, Schema]:
    return {
        "Replication": obj(
            {
                **RESOURCE_BASE,
                "properties": obj(
                    {
                        "provisioningState": PROVISIONING,
                        "status": obj(
                            {"displayStatus": STR, "message": STR, "timestamp": DATETIME}
                        ),
                        "regionEndpointEnabled": BOOL,
                        "zoneRedundancy": ZONE,
                    },
                    ("provisioningState",),
                ),
            },
            ("id", "name", "type", "location", "properties"),
        ),
        "ReplicationCreateParameters": obj(
            {
                "location": location_in(),
                "tags": TAGS,
                "properties": obj({"regionEndpointEnabled": BOOL, "zoneRedundancy": ZONE}),
            },
            ("location",),
        ),
        "ReplicationUpdateParameters": obj(
            {
                "tags": TAGS,
                "properties": obj({"regionEndpointEnabled": BOOL}, additionalProperties=False),
            }
        ),
        "ReplicationListResult": list_of("Replication"),
        "ReplicationStatusResult": obj(
            {
                "value": arr(
                    obj(
                        {
                            "image": STR,
                            "region": STR,
                            "state": enum("present", "inFlight", "retrying", "failed", "unknown"),
                            "digest": {**STR, "nullable": True},
                            "updatedAt": {**DATETIME, "nullable": True},
                            "lastError": {**STR, "nullable": True},
                        }
                    )
                )
            },
            ("value",),
        ),
    }


def specs() -> Specs:
    from acrctl.server.handlers import replication_status, replications

    return {
        ("GET", replications.list_): spec(
            "Replications_List",
            "Replications (paged).",
            "Replications",
            {"200": ok("ReplicationListResult")},
            paging=True,
        ),
        ("GET", replications.get): spec(
            "Replications_Get",
            "One replication.",
            "Replications",
            {"200": ok("Replication", headers=ETAG_HEADER)},
        ),
        ("PUT", replications.put): spec(
            "Replications_Create",
            "Create or replace a replica.",
            "Replications",
            lro_put("Replication"),
            body="ReplicationCreateParameters",
            conditional=True,
        ),
        ("PATCH", replications.patch): spec(
            "Replications_Update",
            "Update a replica.",
            "Replications",
            lro_put("Replication"),
            body="ReplicationUpdateParameters",
            conditional=True,
        ),
        ("DELETE", replications.delete): spec(
            "Replications_Delete",
            "Delete a replica.",
            "Replications",
            lro_delete(),
            conditional=True,
        ),
        ("GET", replication_status.get): spec(
            "Replications_ImageStatus",
            "Where each image is, per replica region (acrctl).",
            "Replications",
            {"200": ok("ReplicationStatusResult")},
            extra=("Image",),
        ),
    }
