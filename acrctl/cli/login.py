"""`acrctl login` (az acr login): docker's config.json gets the registry's login server.

As az does through `docker login`: the null-GUID user with an identity token, which is an
ACR refresh token from the login server's `POST /oauth2/exchange` (docker, skopeo, oras and
crane then trade it for access tokens by themselves), or the -u/-p credential checked
against the token service first. `--expose-token` prints the refresh token instead and
touches no docker config."""

from __future__ import annotations

import base64
import json
import os
import tempfile
from typing import Any

import click

from acrctl.cli.base import AzCommand
from acrctl.cli.options import group_option, normalize_registry, registry_name_option
from acrctl.client.errors import AcrctlError, UsageError

NULL_USER = "00000000-0000-0000-0000-000000000000"  # az's user for a refresh token


def docker_config_path() -> str:
    base = os.environ.get("DOCKER_CONFIG") or os.path.join(os.path.expanduser("~"), ".docker")
    return os.path.join(base, "config.json")


def write_docker_auth(host: str, entry: dict[str, str]) -> list[str]:
    """Set `auths[host]` in docker's config.json, keeping everything else; written whole to
    a temporary file and renamed (0600). Returns warnings."""
    path = docker_config_path()
    doc: dict[str, Any] = {}
    if os.path.exists(path):
        try:
            with open(path, encoding="utf-8") as fh:
                doc = json.load(fh)
        except (OSError, ValueError) as exc:
            raise AcrctlError(f"Could not read docker's config {path}: {exc}") from None
        if not isinstance(doc, dict):
            raise AcrctlError(f"Docker's config {path} is not a JSON object.")
    auths: dict[str, Any] = doc["auths"] if isinstance(doc.get("auths"), dict) else {}
    auths[host] = entry
    doc["auths"] = auths
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".config.json.", dir=os.path.dirname(path))
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(doc, fh, indent="\t")
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
    helper = (doc.get("credHelpers") or {}).get(host) or doc.get("credsStore")
    return (
        [
            f"Docker's config {path} names the credential helper '{helper}'; docker asks it "
            f"instead of the entry acrctl wrote for {host}."
        ]
        if helper
        else []
    )


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@click.command("login", cls=AzCommand)
@registry_name_option()
@group_option()
@click.option(
    "-u",
    "--username",
    default=None,
    help="The username used to log into the container registry (the admin user or "
    "a service principal's appId).",
)
@click.option(
    "-p", "--password", default=None, help="The password used to log into the container registry."
)
@click.option(
    "--region",
    "region",
    default=None,
    metavar="REGION",
    help="Log in to the registry's regional endpoint in REGION "
    "(<name>.<region>.geo.<domain>), which pins docker and skopeo to that replica.",
)
@click.option(
    "-t",
    "--expose-token",
    is_flag=True,
    default=False,
    help="Expose the access token instead of configuring docker.",
)
def login(
    name: str,
    resource_group: str | None,
    username: str | None,
    password: str | None,
    region: str | None,
    expose_token: bool,
) -> Any:
    """Log in to an Azure Container Registry through the Docker config.

    Writes the login server's entry into docker's config.json ($DOCKER_CONFIG, else
    ~/.docker), which docker, skopeo, oras and crane read.

    \b
    Examples:
      Log in with your acrctl identity:
        acrctl login -n myregistry
      Log in with the admin user:
        acrctl login -n myregistry -u myregistry -p "$PASSWORD"
      Get a token for another tool:
        acrctl login -n myregistry --expose-token --query accessToken -o tsv
      Pin docker to the West Europe replica (its regional endpoint):
        acrctl login -n myregistry --region westeurope
    """
    from acrctl.cli import oci_session
    from acrctl.client.oci import OciClient

    env = click.get_current_context().obj
    name = normalize_registry(name) or name
    if expose_token and (username or password):
        raise UsageError(
            "Usage error: --expose-token cannot be used with --username or --password."
        )
    if bool(username) != bool(password):
        raise UsageError("Usage error: supply both --username and --password.")
    ls = oci_session.login_server(env, name, resource_group)
    if region:
        ls = oci_session.regional(env, ls, region, resource_group)
    with OciClient(
        ls.url,
        connect=ls.connect,
        username=username,
        password=password,
        verify=oci_session.verify_for(env),
    ) as oci:
        if username:
            oci.check_basic()
            entry = {"auth": _b64(f"{username}:{password}")}
        else:
            refresh = oci.exchange(oci_session.arm_token(env))
            if expose_token:
                env.warn(
                    "You can perform manual login using the provided access token "
                    f"below, for example: 'docker login {ls.host} -u {NULL_USER} -p "
                    "accessToken'"
                )
                return {"accessToken": refresh, "loginServer": ls.host, "username": NULL_USER}
            entry = {"auth": _b64(f"{NULL_USER}:"), "identitytoken": refresh}
    for warning in write_docker_auth(ls.host, entry):
        env.warn(warning)
    if ls.connect:
        env.warn(
            f"The login server {ls.host} does not resolve on this machine; docker and "
            f"skopeo need it to (for example a line '{ls.connect.rsplit(':', 1)[0]} "
            f"{ls.host.rsplit(':', 1)[0]}' in /etc/hosts)."
        )
    click.echo("Login Succeeded")
    return None
