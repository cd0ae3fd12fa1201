"""How the data-plane commands (login, repository, manifest) reach a registry's login server
and get a token, in server mode and in embedded mode.

* The login server is the registry's `loginServer`. A `*.azurecr.io` one is not served by
  acrctl: the command stops and says what to start.
* A login server whose name does not resolve here is reached at the management endpoint's
  host (embedded mode: 127.0.0.1) on the login server's port, with the name as `Host`: the
  data-plane listener runs in the same `acrctl server` and serves both.
* The token: an ACR refresh token from `POST /oauth2/exchange` for the caller's ARM token
  (server mode: the stored token; embedded mode: a short-lived token of the local user minted
  in the state file, which the server running the data plane on that file accepts), or
  the admin user's (or a service principal's) username and password with -u/-p.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from acrctl.client.errors import AcrctlError

if TYPE_CHECKING:
    from acrctl.cli.env import Env
    from acrctl.client.oci import OciClient

EMBEDDED_TOKEN_SECONDS = 600  # life of the local user's token minted for one command
AZURE_SUFFIX = ".azurecr.io"


@dataclass(frozen=True)
class LoginServer:
    registry: str
    host: str  # host[:port], as clients name it
    scheme: str
    connect: str | None  # host:port to dial when `host` does not resolve here

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}"


def no_data_plane(registry: str, login_server: str) -> AcrctlError:
    return AcrctlError(
        f"The registry '{registry}' has no data plane here: its login server "
        f"'{login_server}' is not served by acrctl. Start 'acrctl server' with the "
        "docker-registry package installed (apt-get install docker-registry) so that it runs "
        "the data plane, and use that server (acrctl account login --endpoint URL; in "
        "embedded mode, the server must use this state file as its --database)."
    )


def _resolves(host: str) -> bool:
    try:
        socket.getaddrinfo(host, None)
    except (OSError, UnicodeError):
        return False
    return True


def login_server(env: Env, registry: str, resource_group: str | None) -> LoginServer:
    from acrctl.cli.env import group_for

    rg = group_for(env, registry, resource_group)
    doc = env.client().get_registry(rg, registry).to_arm()
    host = str((doc.get("properties") or {}).get("loginServer") or "")
    if not host or host.lower().endswith(AZURE_SUFFIX):
        raise no_data_plane(registry, host)
    endpoint = urlsplit(str(env.endpoint)) if env.mode == "server" else None
    scheme = endpoint.scheme if endpoint and endpoint.scheme in ("http", "https") else "http"
    name = urlsplit(f"//{host}").hostname or host
    port = urlsplit(f"//{host}").port or (443 if scheme == "https" else 80)
    connect = None
    if not _resolves(name):
        connect = f"{(endpoint.hostname if endpoint else None) or '127.0.0.1'}:{port}"
    return LoginServer(str(doc.get("name") or registry), host, scheme, connect)


def regional(env: Env, ls: LoginServer, region: str, resource_group: str | None) -> LoginServer:
    """The regional endpoint `<name>.<region>.geo.<domain>` of a login server (what ACR's
    `az acr login --endpoint REGION` does): it pins clients to that region (docs/dataplane.md). The
    registry must hold a replica there (its home region counts)."""
    from acrctl.backend import regions
    from acrctl.cli.env import group_for
    from acrctl.client.errors import UsageError

    found = regions.lookup(region)
    if found is None:
        raise UsageError(f"'{region}' is not a known region; see `acrctl account list-locations`.")
    name = str(found["name"])
    rg = group_for(env, ls.registry, resource_group)
    client = env.client()
    held = {regions.normalize(str(client.get_registry(rg, ls.registry).location))} | {
        regions.normalize(str(r.location)) for r in client.list_replications(rg, ls.registry)
    }
    if name not in held:
        raise AcrctlError(
            f"The registry '{ls.registry}' has no replica in '{name}'; its regions are: "
            f"{', '.join(sorted(held))}."
        )
    label, _, rest = ls.host.partition(".")
    host = f"{label}.{name}.geo.{rest}"
    hostname = urlsplit(f"//{host}").hostname or host
    connect = ls.connect
    if connect is None and not _resolves(hostname):
        connect = f"{urlsplit(f'//{ls.host}').hostname}:{urlsplit(f'//{host}').port or 80}"
    return LoginServer(ls.registry, host, ls.scheme, connect)


def arm_token(env: Env) -> str:
    """The caller's ARM token, for /oauth2/exchange."""
    if env.mode == "server":
        from acrctl.cli.credentials import load_token

        token = load_token(str(env.endpoint))
        if token is None:
            raise AcrctlError(
                f"No token is stored for {env.endpoint}. Log in with 'acrctl "
                f"account login --endpoint {env.endpoint}', or set ACRCTL_TOKEN."
            )
        return token
    from acrctl.backend import credentials

    transport: Any = env.client().transport  # the embedded InProcessTransport
    backend = transport.app.backend
    pid = backend.admin_principal_id()
    if pid is None:  # pragma: no cover - a state file bootstrapped by something else
        raise AcrctlError("The embedded state has no local user to log in as.")
    return credentials.mint(backend, pid, expires_on=backend.clock.now() + EMBEDDED_TOKEN_SECONDS)


def verify_for(env: Env) -> Any:
    """TLS verification for the login server: the management endpoint's (CA bundle and
    all), since the same server serves both."""
    if env.mode != "server":
        return True
    from acrctl.cli.env import tls_verify

    verify = tls_verify(str(env.endpoint))
    if isinstance(verify, str):
        import ssl

        return ssl.create_default_context(cafile=verify)
    return verify


def oci_client(
    env: Env,
    registry: str,
    resource_group: str | None,
    username: str | None = None,
    password: str | None = None,
) -> OciClient:
    from acrctl.client.oci import OciClient

    ls = login_server(env, registry, resource_group)
    verify = verify_for(env)
    if username:
        return OciClient(
            ls.url, username=username, password=password, connect=ls.connect, verify=verify
        )
    client = OciClient(ls.url, connect=ls.connect, verify=verify)
    client.refresh_token = client.exchange(arm_token(env))
    return client
