"""`acrctl repository list|show|show-tags|show-manifests|update|untag|delete`
(az acr repository), over the OCI API of the registry's login server (acrctl.client.oci).

What distribution 2.8 cannot give is left out rather than made up: push and update times,
ordering by time, repository attributes (`update`), untagged manifests."""

from __future__ import annotations

from typing import Any

import click

from acrctl.cli.base import AzGroup
from acrctl.cli.manifest import (
    client_for,
    confirm_delete,
    credentials_options,
    metadata,
    split_image,
    tagged,
)
from acrctl.cli.options import group_option, registry_name_option
from acrctl.client.errors import AcrctlError, UsageError


def _one_of(repository: str | None, image: str | None) -> None:
    if bool(repository) == bool(image):
        raise UsageError("Usage error: supply either --repository or --image, not both.")


def top_option(f: Any) -> Any:
    return click.option(
        "--top", type=int, default=None, help="Limit the number of items in the results."
    )(f)


def repository_option(required: bool = True) -> Any:
    return click.option(
        "--repository",
        "repository",
        required=required,
        default=None,
        help="The name of the repository.",
    )


def image_option() -> Any:
    return click.option(
        "--image", "image", default=None, help="The image: 'repository:tag' or 'repository@digest'."
    )


@click.group("repository", cls=AzGroup)
def group() -> None:
    """Manage repositories (image names) in Azure Container Registries.

    \b
    Examples:
      acrctl repository list -n myregistry
      acrctl repository show-tags -n myregistry --repository hello-world
    """


@group.command("list")
@registry_name_option()
@top_option
@group_option()
@credentials_options
def list_(
    name: str,
    top: int | None,
    resource_group: str | None,
    username: str | None,
    password: str | None,
) -> Any:
    """List the repositories of a registry.

    \b
    Examples:
      List repositories:
        acrctl repository list -n myregistry
      The first ten, one per line:
        acrctl repository list -n myregistry --top 10 -o tsv
    """
    with client_for(name, resource_group, username, password) as oci:
        return oci.catalog(top)


@group.command("show")
@registry_name_option()
@repository_option(required=False)
@image_option()
@group_option()
@credentials_options
def show(
    name: str,
    repository: str | None,
    image: str | None,
    resource_group: str | None,
    username: str | None,
    password: str | None,
) -> Any:
    """Get the attributes of a repository or an image.

    \b
    Examples:
      Show a repository:
        acrctl repository show -n myregistry --repository hello-world
      Show an image by tag:
        acrctl repository show -n myregistry --image hello-world:latest
    """
    _one_of(repository, image)
    with client_for(name, resource_group, username, password) as oci:
        if image:
            repo, ref = split_image(image)
            digest, media, size = oci.head_manifest(repo, ref)
            out: dict[str, Any] = {"digest": digest, "mediaType": media, "size": size}
            if not ref.startswith("sha256:"):
                out["name"] = ref
            return out
        by_digest = tagged(oci, str(repository))
        return {
            "imageName": repository,
            "registry": oci.login_host,
            "manifestCount": len(by_digest),
            "tagCount": sum(len(t) for t in by_digest.values()),
        }


@group.command("show-tags")
@registry_name_option()
@repository_option()
@top_option
@click.option("--detail", is_flag=True, default=False, help="Show each tag's digest.")
@group_option()
@credentials_options
def show_tags(
    name: str,
    repository: str,
    top: int | None,
    detail: bool,
    resource_group: str | None,
    username: str | None,
    password: str | None,
) -> Any:
    """Show the tags of a repository.

    \b
    Examples:
      Show the tags:
        acrctl repository show-tags -n myregistry --repository hello-world
      With their digests:
        acrctl repository show-tags -n myregistry --repository hello-world --detail
    """
    with client_for(name, resource_group, username, password) as oci:
        tags = oci.tags(repository, top)
        if not detail:
            return tags
        return [{"name": t, "digest": oci.head_manifest(repository, t)[0]} for t in tags]


@group.command("show-manifests")
@registry_name_option()
@repository_option()
@top_option
@click.option(
    "--detail",
    is_flag=True,
    default=False,
    help="Show media types, sizes, os and architecture too.",
)
@group_option()
@credentials_options
def show_manifests(
    name: str,
    repository: str,
    top: int | None,
    detail: bool,
    resource_group: str | None,
    username: str | None,
    password: str | None,
) -> Any:
    """Show the manifests of a repository (its tagged manifests).

    Like `acrctl manifest list-metadata`; distribution 2.8 keeps no push times, so there is
    no `timestamp`.

    \b
    Examples:
      Show the manifests:
        acrctl repository show-manifests -n myregistry --repository hello-world
    """
    with client_for(name, resource_group, username, password) as oci:
        items = list(tagged(oci, repository).items())
        items = items[:top] if top is not None else items
        if detail:
            return [metadata(oci, repository, d, t) for d, t in items]
        return [{"digest": d, "tags": t} for d, t in items]


@group.command("update")
@registry_name_option()
@repository_option(required=False)
@image_option()
@click.option("--delete-enabled", default=None, help="Allow deleting (true|false).")
@click.option("--list-enabled", default=None, help="Allow listing (true|false).")
@click.option("--read-enabled", default=None, help="Allow reading (true|false).")
@click.option("--write-enabled", default=None, help="Allow writing (true|false).")
@group_option()
@credentials_options
def update(name: str, repository: str | None, image: str | None, **_: Any) -> None:
    """Update the attributes of a repository or an image (not supported by acrctl's data plane).

    ACR's lock attributes (delete/list/read/write-enabled) have no counterpart in the CNCF
    distribution registry acrctl runs; the command says so and changes nothing.

    \b
    Examples:
      Lock an image (refused: not supported):
        acrctl repository update -n myregistry --image hello-world:latest \\
            --write-enabled false
    """
    _one_of(repository, image)
    raise AcrctlError(
        "Repository and image attributes (delete/list/read/write-enabled) are "
        "not supported by acrctl's data plane (CNCF distribution 2.8 has no "
        "such attributes); nothing was changed. Use role assignments (AcrPull, "
        "AcrPush, AcrDelete) to control access."
    )


@group.command("untag")
@registry_name_option()
@click.option("--image", "image", required=True, help="The image: 'repository:tag'.")
@group_option()
@credentials_options
def untag(
    name: str, image: str, resource_group: str | None, username: str | None, password: str | None
) -> None:
    """Remove a tag; the manifest and its other tags stay.

    distribution 2.8 cannot delete a tag alone, so acrctl deletes the manifest and writes it
    back (same bytes, same digest) under its remaining tags. An image left with no tag is
    kept by digest.

    \b
    Examples:
      Remove the tag 'latest':
        acrctl repository untag -n myregistry --image hello-world:latest
    """
    repo, tag = split_image(image)
    if tag.startswith("sha256:"):
        raise UsageError("Usage error: --image must name a tag ('repository:tag').")
    with client_for(name, resource_group, username, password) as oci:
        manifest = oci.manifest(repo, tag)
        others = [
            t
            for t, d in ((t, oci.head_manifest(repo, t)[0]) for t in oci.tags(repo))
            if d == manifest.digest and t != tag
        ]
        oci.delete_manifest(repo, manifest.digest)
        for ref in others or [manifest.digest]:
            oci.put_manifest(repo, ref, manifest)


@group.command("delete")
@registry_name_option()
@repository_option(required=False)
@image_option()
@click.option("-y", "--yes", is_flag=True, default=False, help="Do not prompt for confirmation.")
@group_option()
@credentials_options
def delete(
    name: str,
    repository: str | None,
    image: str | None,
    yes: bool,
    resource_group: str | None,
    username: str | None,
    password: str | None,
) -> None:
    """Delete a repository (all its manifests) or an image (its manifest and every tag of it).

    \b
    Examples:
      Delete a repository:
        acrctl repository delete -n myregistry --repository hello-world --yes
      Delete the manifest that hello-world:latest names, with all its tags:
        acrctl repository delete -n myregistry --image hello-world:latest --yes
    """
    _one_of(repository, image)
    with client_for(name, resource_group, username, password) as oci:
        if image:
            repo, ref = split_image(image)
            digest, _, _ = oci.head_manifest(repo, ref)
            confirm_delete(
                f"This operation will delete the manifest '{digest}' and all the "
                "images that reference it. Are you sure you want to continue?",
                yes,
            )
            oci.delete_manifest(repo, digest)
            return
        digests = list(tagged(oci, str(repository)))
        confirm_delete(
            f"This operation will delete the repository '{repository}' and all "
            "the images in it. Are you sure you want to continue?",
            yes,
        )
        for digest in digests:
            oci.delete_manifest(str(repository), digest)
