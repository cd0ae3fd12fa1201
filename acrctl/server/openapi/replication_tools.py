"""The data plane's tools: image presence, replication verify and image import: schemas
and path specs (acrctl.server.handlers.replication_tools)."""

from __future__ import annotations

from acrctl.server.openapi.base import (
    BOOL,
    DATETIME,
    LRO_HEADERS,
    STR,
    Schema,
    Specs,
    arr,
    enum,
    error,
    obj,
    ok,
    ref,
    spec,
)


def schemas() -> dict[str, Schema]:
    nullable = {**STR, "nullable": True}
    return {
        "ImagePresenceResult": obj(
            {
                "image": STR,
                "home": STR,
                "digest": nullable,
                "complete": BOOL,
                "missing": arr(STR),
                "value": arr(
                    obj(
                        {
                            "region": STR,
                            "state": enum("present", "missing", "differs"),
                            "digest": nullable,
                            "replication": STR,
                            "lastError": nullable,
                        },
                        ("region", "state"),
                    )
                ),
            },
            ("image", "complete", "missing", "value"),
        ),
        "VerifyReplicationResult": obj(
            {
                "registry": STR,
                "home": STR,
                "regions": arr(STR),
                "inSync": BOOL,
                "complete": BOOL,
                "checked": obj(
                    {
                        "tags": {"type": "integer"},
                        "manifests": {"type": "integer"},
                        "blobs": {"type": "integer"},
                    }
                ),
                "drift": arr(
                    obj(
                        {
                            "region": STR,
                            "image": nullable,
                            "problem": enum(
                                "missing",
                                "extra",
                                "digestMismatch",
                                "missingManifest",
                                "missingBlob",
                                "blobDigestMismatch",
                                "unreachable",
                            ),
                        },
                        ("region", "problem"),
                    )
                ),
            },
            ("inSync", "drift"),
        ),
        "ImportImageParameters": obj(
            {
                "source": obj(
                    {
                        "resourceId": STR,
                        "registryUri": STR,
                        "sourceImage": STR,
                        "credentials": obj(
                            {"username": STR, "password": {**STR, "writeOnly": True}}
                        ),
                    },
                    ("sourceImage",),
                ),
                "targetTags": arr(STR),
                "untaggedTargetRepositories": arr(STR),
                "mode": enum("NoForce", "Force"),
            },
            ("source",),
        ),
        "ImportOperationStatus": obj(
            {
                "id": STR,
                "name": STR,
                "status": enum("InProgress", "Succeeded", "Failed"),
                "startTime": DATETIME,
                "endTime": DATETIME,
                "percentComplete": {"type": "number", "minimum": 0, "maximum": 100},
                "resourceId": STR,
                "error": ref("ErrorDetail"),
                "properties": obj(
                    {
                        "image": STR,
                        "progress": obj(
                            {
                                "blobsTotal": {"type": "integer"},
                                "blobsDone": {"type": "integer"},
                                "bytes": {"type": "integer"},
                            }
                        ),
                    }
                ),
            },
            ("id", "status"),
        ),
    }


def specs() -> Specs:
    from acrctl.server.handlers import replication_tools as t

    off = {"409": error("The data plane is not running on this server (DataPlaneOff).")}
    retry = {"Retry-After": {**LRO_HEADERS["Retry-After"], "required": False}}
    return {
        ("GET", t.image_presence): spec(
            "Replications_ImagePresence",
            "Whether every region holds repository:tag at the home region's digest "
            "(acrctl; Retry-After while not).",
            "Replications",
            {"200": ok("ImagePresenceResult", headers=retry), **off},
            extra=("Image",),
        ),
        ("POST", t.verify): spec(
            "Replications_Verify",
            "Compare every region's tags, manifests and blobs with the home region (acrctl).",
            "Replications",
            {"200": ok("VerifyReplicationResult"), **off},
        ),
        ("POST", t.import_image): spec(
            "Registries_ImportImage",
            "Copy an image from another registry into this one; it then replicates.",
            "Registries",
            {"202": ok(None, "Importing; poll Azure-AsyncOperation.", LRO_HEADERS), **off},
            body="ImportImageParameters",
        ),
        ("GET", t.import_status): spec(
            "Registries_GetImportStatus",
            "An import's status (Azure-AsyncOperation of importImage).",
            "Registries",
            {"200": ok("ImportOperationStatus", headers=retry)},
        ),
    }
