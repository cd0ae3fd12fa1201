"""Which registry and repository a data-plane request names, and how names map into the
region's per-registry namespace (no I/O here).

Two forms reach the listener:
* host form: `Host: <registry>.<login domain>`, repository `web/api` -> `<registry>/web/api`
  inside the region;
* regional endpoint: `Host: <registry>.<region>.geo.<login domain>`, as the host form but
  pinned to one region (acrctl.dataplane.geo);
* data endpoint: `Host: <registry>.<region>.data.<login domain>`, blob downloads by a
  pre-signed URL only (acrctl.dataplane.dataep);
* path form: `Host: <listener>`, repository `<registry>/web/api` -> the same name (already
  namespaced).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# /v2/<name>/<tail>: the name is greedy, the tail one of distribution's routes
OCI_ROUTE = re.compile(
    r"^/v2/(?P<name>.+)/(?P<tail>manifests/[^/]+|blobs/uploads/[^/]*|"
    r"blobs/[^/]+|tags/list)$"
)
NAME_COMPONENT = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$")


def host_name(host: str) -> str:
    """A Host header without its port, lower case."""
    host = host.strip().lower()
    if host.startswith("["):
        return host.split("]", 1)[0] + "]"
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


@dataclass(frozen=True)
class Target:
    """What a request is about: the registry (lower case, "" when the path form names
    none), the repository as the client names it, and its name inside the region."""

    registry: str
    repository: str
    upstream: str
    host_form: bool

    def outward(self, name: str) -> str:
        """A region's repository name as this client sees it."""
        prefix = f"{self.registry}/"
        if self.host_form and name.startswith(prefix):
            return name[len(prefix) :]
        return name


class Router:
    def __init__(self, login_domain: str) -> None:
        self.domain = host_name(login_domain) if login_domain else ""

    def registry_of_host(self, host: str) -> str | None:
        """The registry a host-form Host names (`<name>.<domain>` or the regional endpoint
        `<name>.<region>.geo.<domain>`), None for any other host."""
        return self.parse_host(host)[0]

    def region_of_host(self, host: str) -> str | None:
        """The region a regional endpoint pins (`<name>.<region>.geo.<domain>`), else None."""
        return self.parse_host(host)[1]

    def data_host(self, host: str) -> tuple[str, str] | None:
        """(registry, region) of a data endpoint host `<name>.<region>.data.<domain>`."""
        name = host_name(host)
        if not self.domain or not name.endswith("." + self.domain):
            return None
        labels = name[: -len(self.domain) - 1].split(".")
        if len(labels) == 3 and labels[2] == "data" and labels[0] and labels[1]:
            return labels[0], labels[1]
        return None

    def parse_host(self, host: str) -> tuple[str | None, str | None]:
        name = host_name(host)
        if not self.domain or not name.endswith("." + self.domain):
            return None, None
        labels = name[: -len(self.domain) - 1].split(".")
        if len(labels) == 1 and labels[0]:
            return labels[0], None
        if len(labels) == 3 and labels[2] == "geo" and labels[0] and labels[1]:
            return labels[0], labels[1]
        return None, None

    def target(self, host: str, repository: str) -> Target:
        reg = self.registry_of_host(host)
        if reg is not None:
            return Target(reg, repository, f"{reg}/{repository}", True)
        first, sep, _ = repository.partition("/")
        return Target(first.lower() if sep else "", repository, repository, False)

    def resolve(self, host: str, name: str | None) -> tuple[str, str] | None:
        """For the token service: (registry, namespaced repository) of a scope's name, or
        (registry, "") for the catalog (name None); None when no registry is named."""
        reg = self.registry_of_host(host)
        if name is None:
            return (reg, "") if reg else None
        if not valid_repository(name):
            return None
        t = self.target(host, name)
        if not t.registry or (not t.host_form and t.upstream == t.registry):
            return None
        return t.registry, t.upstream


def valid_repository(name: str) -> bool:
    """distribution's repository grammar: lower-case components joined by '/'."""
    return 0 < len(name) <= 255 and all(NAME_COMPONENT.match(c) for c in name.split("/"))


def required(method: str) -> str:
    """The actions distribution needs for a request method (for the challenge)."""
    if method in ("GET", "HEAD"):
        return "pull"
    if method == "DELETE":
        return "delete"
    return "push,pull"
