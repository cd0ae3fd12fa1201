"""The front's side of data endpoints (issue 17; the URLs and the serving are in
acrctl.dataplane.dataep): whether a blob GET is answered by a 307, to which region, and
which requests are for a data endpoint."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, NamedTuple

from acrctl.dataplane import dataep, routing

if TYPE_CHECKING:
    from acrctl.dataplane.plane import DataPlane

REGION_HEADER = b"x-acrctl-region"


class Client(NamedTuple):
    """What the policy knows of the client: its address, its region hint, and whether its
    request keeps the connection (see `keeps_alive`)."""

    address: str | None
    hint: str | None
    keeps: bool


def keeps_alive(scope: dict[str, Any]) -> bool:
    """Whether the client keeps this connection for its next request: HTTP/1.1 without
    `Connection: close`, or HTTP/1.0 with `Connection: keep-alive`. containers/image
    (skopeo, podman, CRI-O) sends `Connection: close` on every request."""
    words = {
        w.strip().lower()
        for k, v in scope["headers"]
        if k.lower() == b"connection"
        for w in v.decode("latin-1").split(",")
    }
    if scope.get("http_version") == "1.0":
        return "keep-alive" in words
    return "close" not in words


def data_region(
    plane: DataPlane,
    target: routing.Target,
    regions: list[str],
    token: str,
    digest: str,
    client: Client,
) -> str | None:
    """The region whose data endpoint serves this blob GET, or None (proxy it: the region
    then gives the exact answer, a challenge or a 404). The checks distribution makes, done
    here without a round trip: the token is one this server signed for the regions and
    grants pull on the repository, and the blob is linked into the repository in the first
    healthy region of the plan that holds it (a local region: its storage is here). Then the
    policy (`dataplane_data_redirect`, see `paying`)."""
    if not plane.data_endpoints(target.registry):
        return None
    near = paying(plane, target.registry, regions, client)
    if not near or not grants_pull(plane, token, target.upstream):
        return None
    for region in regions:
        if not plane.geo.healthy(region):
            continue
        root = plane.data_root(region)
        if root is None:
            return None
        if dataep.linked(root, target.upstream, digest):
            return region if region in near else None
    return None


def paying(plane: DataPlane, registry: str, regions: list[str], client: Client) -> list[str]:
    """The regions of the plan whose data endpoint may get this client's 307: all of them
    with `always`, and with `auto` when the client keeps its connections; else (and with
    `client-region`) the client's own region if it is in the plan. Routing puts the login
    server as near the client as anything (its links to the regions start from the
    client's region), so a data endpoint elsewhere is farther than the login server: a
    client that opens a connection per request would pay a new far connection for each
    blob, where the front's proxy has warm ones; a client that keeps its connection to the
    data endpoint pays that once."""
    policy = plane.settings.dataplane_data_redirect
    if policy == "always" or (policy == "auto" and client.keeps):
        return regions
    origin = plane.geo.origin(registry, client.address, client.hint)
    return [origin] if origin in regions else []


def grants_pull(plane: DataPlane, token: str, upstream: str) -> bool:
    """A bearer token this server signed for the regions, granting pull on `upstream`."""
    import jwt

    try:
        claims = plane.keys.verify(token, plane.service)
    except (jwt.InvalidTokenError, ValueError):
        return False
    if claims.get("iss") != plane.issuer:
        return False
    return any(
        isinstance(grant, dict)
        and grant.get("type") == "repository"
        and grant.get("name") == upstream
        and any(a in ("pull", "*") for a in grant.get("actions") or [])
        for grant in claims.get("access") or []
    )


def headers(
    plane: DataPlane, scope: dict[str, Any], target: routing.Target, region: str, digest: str
) -> list[tuple[bytes, bytes]]:
    """The 307's Location (host form: the data host; path form: this listener) and region."""
    host = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"host"), "")
    data_host = (
        dataep.host_name(target.registry, region, plane.login_domain) if target.host_form else None
    )
    url = dataep.location(
        plane.data_signer,
        scheme=plane.scheme,
        host=data_host,
        listener=host,
        registry=target.registry,
        region=region,
        digest=digest,
        exp=int(time.time()) + plane.settings.dataplane_data_url_seconds,
    )
    return [(b"location", url.encode()), (REGION_HEADER, region.encode())]


def data_target(router: routing.Router, scope: dict[str, Any]) -> tuple[str, str, str] | None:
    """(registry, region, digest) of a data-endpoint request (("", "", "") when it names
    none properly: 404), else None (not for a data endpoint)."""
    path: str = scope["path"]
    if path.startswith(dataep.PATH_PREFIX):
        return dataep.parse_path(path) or ("", "", "")
    host = next((v.decode("latin-1") for k, v in scope["headers"] if k == b"host"), "")
    named = router.data_host(host)
    if named is None:
        return None
    if not path.startswith("/blobs/") or "/" in path[7:]:
        return ("", "", "")
    return named[0], named[1], path[7:]
