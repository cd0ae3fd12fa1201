"""`acrctl import` (az acr import): copy an image from another registry into a registry
through POST .../registries/{r}/importImage (an LRO the server's data plane runs); the
image then replicates like a push. Flags, messages and the source resolution are az's."""

from __future__ import annotations

from typing import Any

import click

from acrctl.cli.base import AzCommand
from acrctl.cli.options import group_option, no_wait_option, registry_name_option
from acrctl.client.errors import AcrctlError, OperationFailed, ServiceError

SOURCE_REGISTRY_NOT_FOUND = (
    "The source container registry can not be found in the current subscription. "
    "Please provide a valid address and/or credentials."
)
SOURCE_NOT_FOUND = (
    "Source cannot be found. "
    "Please provide a valid image and source registry or a fully qualified source."
)
LOGIN_SERVER_NOT_VALID = (
    "Login server of the registry is not valid because it is not a fully qualified domain name."
)
CREDENTIALS_INVALID = "Authentication failed. Please provide password."
NO_WAIT = "Import has started. Due to no-wait option, failures will not be reflected."


def split_source(source: str) -> tuple[str, str]:
    """`<login server>/<image>` -> (login server, image), az's rules."""
    slash = source.find("/")
    if slash <= 0:
        raise AcrctlError(SOURCE_NOT_FOUND)
    uri = source[:slash]
    if "." not in uri:
        raise AcrctlError(LOGIN_SERVER_NOT_VALID)
    return uri, source[slash + 1 :]


def find_registry(client: Any, name_or_server: str) -> Any:
    """A registry of the subscription by name or login server (az's lookup), or None."""
    key = name_or_server.lower()
    for reg in client.list_registries():
        if key in (reg.name.lower(), str(reg.properties.login_server or "").lower()):
            return reg
    return None


def source_body(
    client: Any,
    source: str,
    registry: str | None,
    username: str | None,
    password: str | None,
    env: Any,
) -> tuple[dict[str, Any], str]:
    """The importImage `source` object and the source image (without a login server)."""
    if registry:
        if registry.lower().startswith("/subscriptions/"):
            return {"resourceId": registry, "sourceImage": source}, source
        reg = find_registry(client, registry)
        if reg is None:
            raise AcrctlError(SOURCE_REGISTRY_NOT_FOUND)
        prefix = f"{reg.properties.login_server}/"
        if source.lower().startswith(prefix.lower()):
            env.warn(
                f'The login server name of "{prefix[:-1]}" in the "--source" argument will be '
                'ignored as "--registry" already supplies the same information'
            )
            source = source[len(prefix) :]
        return {"resourceId": reg.id, "sourceImage": source}, source
    uri, image = split_source(source)
    if password:
        creds = {"username": username or "", "password": password}
        return {"registryUri": uri, "sourceImage": image, "credentials": creds}, image
    reg = find_registry(client, uri)
    if reg is not None:
        return {"resourceId": reg.id, "sourceImage": image}, image
    return {"registryUri": uri, "sourceImage": image}, image


@click.command("import", cls=AzCommand)
@registry_name_option()
@click.option(
    "--source",
    required=True,
    help="Source image name or fully qualified source containing the registry login "
    "server. If --registry is used, --source is always a source image.",
)
@click.option(
    "--image",
    "-t",
    "target_tags",
    multiple=True,
    help="The name and tag of the image using the format: '-t repo/image:tag'. "
    "Multiple tags are supported by passing -t multiple times.",
)
@click.option(
    "--repository",
    multiple=True,
    help="The repository name for a manifest-only copy of images. Multiple copies "
    "supported by passing --repository multiple times.",
)
@click.option(
    "--registry",
    "-r",
    "source_registry",
    default=None,
    help="The source container registry: its name, login server or resource ID.",
)
@click.option("--username", "-u", default=None, help="The username of source container registry")
@click.option("--password", "-p", default=None, help="The password of source container registry")
@click.option(
    "--force", is_flag=True, help="Overwrite the existing tag of the image to be imported."
)
@group_option()
@no_wait_option()
def import_(
    name: str,
    source: str,
    target_tags: tuple[str, ...],
    repository: tuple[str, ...],
    source_registry: str | None,
    username: str | None,
    password: str | None,
    force: bool,
    resource_group: str | None,
    no_wait: bool,
) -> None:
    """Import an image to a registry from another registry (an acrctl registry, or any OCI
    registry the server may reach); it then replicates to every replica like a push. Run
    `acrctl replication wait --image` to wait for the replicas. On a terminal, shows live
    progress on stderr.

    \b
    Examples:
      Import from another registry of this server; the image keeps its name:
        acrctl import -n myregistry --source sourceregistry.acrctl.test:8444/web/app:v1
      Import from a registry outside acrctl with credentials, under another name:
        acrctl import -n myregistry --source registry.example.com/team/app:1.2 \\
          -t app:1.2 -u puller -p "$PASSWORD"
      Import from a registry of the subscription named with -r (its name, login server or
      resource ID), overwriting the target tag:
        acrctl import -n myregistry -r sourceregistry --source web/app:v1 --force
    """
    from acrctl.cli.replication import target

    if username and not password:
        raise AcrctlError(CREDENTIALS_INVALID)
    env, rg, registry = target(name, resource_group)
    client = env.client()
    client.get_registry(rg, registry)  # az's managed-registry check (and its 404)
    src, image = source_body(client, source, source_registry, username, password, env)
    tags = list(target_tags)
    if not tags and not repository:
        tags = [image.split("@", 1)[0]]
    body = {
        "source": src,
        "targetTags": tags,
        "untaggedTargetRepositories": list(repository),
        "mode": "Force" if force else "NoForce",
    }
    from acrctl.client import paths

    url = f"{paths.registry(client.subscription, rg, registry)}/importImage"
    resp = client.request("POST", url, body)
    if resp.status_code >= 400:
        raise client.error(resp)
    if no_wait:
        env.warn(NO_WAIT)
        return
    status_url = resp.headers.get("azure-asyncoperation")
    if status_url:
        follow(env, client, status_url, resp, tags[0] if tags else None, rg, registry)


def follow(
    env: Any, client: Any, status_url: str, first: Any, tag: str | None, rg: str, registry: str
) -> None:
    """Poll the import's status to its end (the delay the server asks); on a terminal the
    live table shows the home region's copy and, for a tagged import, the replicas."""
    from acrctl.cli import replication
    from acrctl.cli.progress import RegionProgress
    from acrctl.client import paths
    from acrctl.client.arm import retry_after

    live = not env.only_show_errors and RegionProgress.tty()
    presence = f"{paths.registry(client.subscription, rg, registry)}/imagePresence"
    delay = retry_after(first, 1.0)
    with RegionProgress("Importing image...", enabled=live) as progress:
        while True:
            replication._sleep(delay)
            resp = client.request("GET", status_url, api_version=None)
            if resp.status_code >= 400:
                raise client.error(resp)
            body = resp.json()
            if live:
                progress.update(_rows(client, presence, tag, body))
            status = str(body.get("status", ""))
            if status == "Failed":
                raise failure(body, resp.status_code)
            if status != "InProgress":
                return
            delay = retry_after(resp, 1.0)


def failure(body: dict[str, Any], status: int) -> AcrctlError:
    """A failed import as az prints it: `(Code) Message`, then Code: and Message: lines."""
    err = body.get("error") or {}
    message = str(err.get("message") or "The import failed.")
    code = str(err.get("code") or "")
    return ServiceError(message, code, status) if code else OperationFailed(message)


def _rows(client: Any, presence: str, tag: str | None, status: dict[str, Any]) -> list[Any]:
    done = status.get("status") == "Succeeded"
    p = (status.get("properties") or {}).get("progress") or {}
    copy = f"{p.get('blobsDone', 0)}/{p.get('blobsTotal', 0)} blobs, {p.get('bytes', 0)} bytes"
    rows: list[dict[str, Any]] = []
    if tag:
        resp = client.request("GET", presence, params={"image": tag})
        if resp.status_code == 200:
            doc = resp.json()
            for r in doc.get("value", []):
                home = r.get("region") == doc.get("home")
                state = r.get("state") if done or not home else "copying"
                rows.append(
                    {"region": r.get("region"), "state": state, "detail": copy if home else ""}
                )
    return rows or [{"region": "home", "state": "copying" if not done else "done", "detail": copy}]
