"""`acrctl manifest list-metadata|show|delete` (az acr manifest), over the OCI API of the
registry's login server (acrctl.client.oci).

distribution 2.8 keeps no push or update times and no per-manifest attributes, so the
metadata holds what the manifests and image configs say: digest, tags, media types, size,
os and architecture; `createdTime`, `lastUpdateTime` and `changeableAttributes` are left out."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import click

from acrctl.cli.base import AzGroup
from acrctl.cli.options import group_option, normalize_registry, registry_option

if TYPE_CHECKING:
    from acrctl.cli.env import Env
    from acrctl.client.oci import OciClient


def _env() -> Env:
    return click.get_current_context().obj  # type: ignore[no-any-return]


def split_image(image: str) -> tuple[str, str]:
    """`repo:tag`, `repo@sha256:...` or `repo` (tag `latest`) -> (repository, reference)."""
    if "@" in image:
        repo, _, ref = image.partition("@")
        return repo, ref
    head, sep, tail = image.rpartition(":")
    if sep and "/" not in tail:
        return head, tail
    return image, "latest"


def credentials_options(f: Any) -> Any:
    f = click.option(
        "-p",
        "--password",
        default=None,
        help="The password used to log into the container registry.",
    )(f)
    return click.option(
        "-u",
        "--username",
        default=None,
        help="The username used to log into the container registry (the "
        "admin user or a service principal's appId).",
    )(f)


def client_for(
    registry: str, resource_group: str | None, username: str | None, password: str | None
) -> OciClient:
    from acrctl.cli.oci_session import oci_client

    env = _env()
    registry = normalize_registry(registry) or registry
    return oci_client(env, registry, resource_group, username, password)


def tagged(oci: OciClient, repository: str) -> dict[str, list[str]]:
    """digest -> its tags, in tag-list order (distribution lists no untagged manifests)."""
    out: dict[str, list[str]] = {}
    for tag in oci.tags(repository):
        digest, _, _ = oci.head_manifest(repository, tag)
        out.setdefault(digest, []).append(tag)
    return out


def metadata(oci: OciClient, repository: str, digest: str, tags: list[str]) -> dict[str, Any]:
    from acrctl.client.oci import INDEX_TYPES

    m = oci.manifest(repository, digest)
    doc = m.json()
    out: dict[str, Any] = {
        "digest": digest,
        "mediaType": m.media_type or doc.get("mediaType"),
        "tags": tags,
    }
    if m.media_type in INDEX_TYPES:
        out["references"] = [
            {
                "digest": r.get("digest"),
                "mediaType": r.get("mediaType"),
                "architecture": (r.get("platform") or {}).get("architecture"),
                "os": (r.get("platform") or {}).get("os"),
            }
            for r in doc.get("manifests") or []
        ]
        return out
    config = doc.get("config") or {}
    out["configMediaType"] = config.get("mediaType")
    out["imageSize"] = int(config.get("size") or 0) + sum(
        int(layer.get("size") or 0) for layer in doc.get("layers") or []
    )
    image = oci.blob_json(repository, config["digest"]) if config.get("digest") else None
    if isinstance(image, dict):
        out["architecture"] = image.get("architecture")
        out["os"] = image.get("os")
    if doc.get("artifactType"):
        out["artifactType"] = doc["artifactType"]
    return out


def metadata_table(data: Any) -> list[dict[str, Any]]:
    return [
        {
            "DIGEST": d.get("digest"),
            "TAGS": ", ".join(d.get("tags") or []),
            "MEDIA TYPE": d.get("mediaType"),
            "SIZE": d.get("imageSize"),
        }
        for d in (data or [])
    ]


def confirm_delete(question: str, yes: bool) -> None:
    if not yes:
        from acrctl.cli.registry import confirm

        confirm(question)


@click.group("manifest", cls=AzGroup)
def group() -> None:
    """Manage artifact manifests in Azure Container Registries.

    \b
    Examples:
      acrctl manifest list-metadata -r myregistry -n hello-world
      acrctl manifest show -r myregistry -n hello-world:latest
    """


@group.command("list-metadata", table=metadata_table)
@registry_option()
@click.option("-n", "--name", "name", required=True, help="The name of the repository.")
@click.option("--top", type=int, default=None, help="Limit the number of items in the results.")
@group_option()
@credentials_options
def list_metadata(
    registry: str,
    name: str,
    top: int | None,
    resource_group: str | None,
    username: str | None,
    password: str | None,
) -> Any:
    """List the metadata of the manifests in a repository.

    One entry per tagged manifest: digest, tags, media type, size, os and architecture
    (distribution 2.8 keeps no push times).

    \b
    Examples:
      List the manifests of a repository:
        acrctl manifest list-metadata -r myregistry -n hello-world
      Digests of the manifests tagged 'latest':
        acrctl manifest list-metadata -r myregistry -n hello-world \\
            --query "[?contains(tags, 'latest')].digest"
    """
    with client_for(registry, resource_group, username, password) as oci:
        items = list(tagged(oci, name).items())
        items = items[:top] if top is not None else items
        return [metadata(oci, name, digest, tags) for digest, tags in items]


@group.command("show")
@registry_option()
@click.option(
    "-n",
    "--name",
    "name",
    required=True,
    help="The image: 'repository:tag' or 'repository@digest'.",
)
@click.option(
    "--raw",
    is_flag=True,
    default=False,
    help="Print the manifest's bytes exactly as the registry holds them.",
)
@group_option()
@credentials_options
def show(
    registry: str,
    name: str,
    raw: bool,
    resource_group: str | None,
    username: str | None,
    password: str | None,
) -> Any:
    """Get a manifest.

    \b
    Examples:
      Show the manifest of hello-world:latest:
        acrctl manifest show -r myregistry -n hello-world:latest
      Its layers' digests:
        acrctl manifest show -r myregistry -n hello-world:latest --query "layers[].digest"
    """
    repo, ref = split_image(name)
    with client_for(registry, resource_group, username, password) as oci:
        m = oci.manifest(repo, ref)
    if raw:
        sys.stdout.buffer.write(m.raw)
        sys.stdout.flush()
        return None
    return m.json()


@group.command("delete")
@registry_option()
@click.option(
    "-n",
    "--name",
    "name",
    required=True,
    help="The image: 'repository:tag' or 'repository@digest'.",
)
@click.option("-y", "--yes", is_flag=True, default=False, help="Do not prompt for confirmation.")
@group_option()
@credentials_options
def delete(
    registry: str,
    name: str,
    yes: bool,
    resource_group: str | None,
    username: str | None,
    password: str | None,
) -> None:
    """Delete a manifest, and with it every tag that references it.

    \b
    Examples:
      Delete the manifest that hello-world:latest names:
        acrctl manifest delete -r myregistry -n hello-world:latest --yes
    """
    repo, ref = split_image(name)
    with client_for(registry, resource_group, username, password) as oci:
        digest, _, _ = oci.head_manifest(repo, ref)
        confirm_delete(
            f"Are you sure you want to delete the artifact '{repo}@{digest}' and "
            "all the tags that reference it?",
            yes,
        )
        oci.delete_manifest(repo, digest)
