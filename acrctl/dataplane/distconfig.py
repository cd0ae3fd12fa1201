"""A region's distribution configuration (acrctl.dataplane.supervisor): the registry binary,
a loopback port, what every region trusts (Auth) and the config.yml built from them."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from typing import Any


def binary_path(binary: str) -> str | None:
    """The registry binary's full path, or None when it is not installed."""
    if os.sep in binary:
        return binary if os.access(binary, os.X_OK) else None
    return shutil.which(binary)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Auth:
    """What every region is told to trust (same in all regions, or tokens do not travel)."""

    issuer: str
    service: str
    realm: str
    bundle: str
    http_secret: str
    events_url: str  # where notifications go (the front), "" for none
    events_token: str


def region_config(root: str, port: int, auth: Auth) -> dict[str, Any]:
    """distribution's configuration for one region."""
    cfg: dict[str, Any] = {
        "version": 0.1,
        "log": {"level": "info", "accesslog": {"disabled": True}},
        "storage": {
            "filesystem": {"rootdirectory": root},
            "delete": {"enabled": True},
            "maintenance": {
                "uploadpurging": {
                    "enabled": True,
                    "age": "168h",
                    "interval": "24h",
                    "dryrun": False,
                }
            },
        },
        "http": {"addr": f"127.0.0.1:{port}", "secret": auth.http_secret, "relativeurls": True},
        "auth": {
            "token": {
                "realm": auth.realm,
                "service": auth.service,
                "issuer": auth.issuer,
                "rootcertbundle": auth.bundle,
            }
        },
    }
    if auth.events_url:
        # 2.8.2 ignores ignore.actions unless a media type is ignored too: octet-stream
        # (blob events) is one we want dropped anyway; pulls and mounts are no webhooks
        cfg["notifications"] = {
            "events": {"includereferences": True},
            "endpoints": [
                {
                    "name": "acrctl",
                    "url": auth.events_url,
                    "headers": {"Authorization": [f"Bearer {auth.events_token}"]},
                    "timeout": "5s",
                    "threshold": 5,
                    "backoff": "1s",
                    "ignore": {
                        "mediatypes": ["application/octet-stream"],
                        "actions": ["pull", "mount"],
                    },
                }
            ],
        }
    return cfg
