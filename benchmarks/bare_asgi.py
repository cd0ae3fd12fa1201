"""The throughput baseline: a bare ASGI app that answers every request with a replication's
JSON from memory (no routing, no authentication, no store). Served by the same uvicorn, with
the same flags, as acrctl in the same benchmark run:

    uvicorn bare_asgi:app --app-dir benchmarks --http h11"""

from __future__ import annotations

import json
from typing import Any

REPLICATION: dict[str, Any] = {
    "id": "/subscriptions/00000000-0000-0000-0000-000000000000/resourceGroups/bench/providers/"
    "Microsoft.ContainerRegistry/registries/benchreg1/replications/eastus",
    "name": "eastus",
    "type": "Microsoft.ContainerRegistry/registries/replications",
    "location": "eastus",
    "tags": {},
    "systemData": {
        "createdBy": "admin",
        "createdByType": "User",
        "createdAt": "2026-01-01T00:00:00.000000Z",
        "lastModifiedBy": "admin",
        "lastModifiedByType": "User",
        "lastModifiedAt": "2026-01-01T00:00:00.000000Z",
    },
    "properties": {
        "provisioningState": "Succeeded",
        "status": {
            "displayStatus": "Ready",
            "message": "The replication is ready.",
            "timestamp": "2026-01-01T00:00:00.000000Z",
        },
        "regionEndpointEnabled": True,
        "zoneRedundancy": "Disabled",
    },
}


async def app(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while True:
            msg = await receive()
            if msg["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif msg["type"] == "lifespan.shutdown":
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body"):
        pass
    payload = json.dumps(REPLICATION, separators=(",", ":")).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [
                (b"content-type", b"application/json; charset=utf-8"),
                (b"content-length", str(len(payload)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
