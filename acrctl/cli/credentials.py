"""Bearer tokens for server mode: ACRCTL_TOKEN > OS keyring > an opt-in 0600 file.
A token never comes from argv and is never written in plain text without the opt-in."""

from __future__ import annotations

import contextlib
import json
import os

from acrctl.cli import config

SERVICE = "acrctl"


def token_file() -> str:
    return os.path.join(config.config_dir(), "tokens.json")


def _keyring_usable() -> bool:
    try:
        import keyring
        from keyring.backends import fail, null
    except ImportError:  # pragma: no cover
        return False
    kr = keyring.get_keyring()
    if isinstance(kr, fail.Keyring | null.Keyring):
        return False
    chained = getattr(kr, "backends", None)
    return chained is None or bool(chained)


def load_token(endpoint: str) -> str | None:
    env = os.environ.get("ACRCTL_TOKEN")
    if env:
        return env
    endpoint = endpoint.rstrip("/")
    if _keyring_usable():
        import keyring

        try:
            found = keyring.get_password(SERVICE, endpoint)
        except Exception:  # noqa: BLE001 - a broken keyring means "no token", never a crash
            found = None
        if found:
            return found
    if os.path.exists(token_file()):
        with open(token_file()) as fh:
            tokens = json.load(fh)
        if endpoint in tokens:
            return str(tokens[endpoint])
    return None


def store_token(endpoint: str, token: str, use_file: bool = False) -> str:
    """Store the token; returns where it went ("keyring" or the file path)."""
    if not use_file:
        if not _keyring_usable():
            from acrctl.client.errors import AcrctlError

            raise AcrctlError(
                "No usable keyring backend was found, so the token was not stored. Set "
                "PYTHON_KEYRING_BACKEND to a working backend, use ACRCTL_TOKEN, or opt into a "
                "0600 file with 'acrctl account login --store file'.")
        import keyring

        keyring.set_password(SERVICE, endpoint, token)
        return "keyring"
    path = token_file()
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tokens: dict[str, str] = {}
    if os.path.exists(path):
        with open(path) as fh:
            tokens = json.load(fh)
    tokens[endpoint] = token
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(tokens, fh)
    os.chmod(path, 0o600)
    return path


def forget_token(endpoint: str) -> None:
    path = token_file()
    if os.path.exists(path):
        with open(path) as fh:
            tokens = json.load(fh)
        tokens.pop(endpoint, None)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(tokens, fh)
    if _keyring_usable():
        import keyring

        with contextlib.suppress(Exception):  # nothing stored is fine
            keyring.delete_password(SERVICE, endpoint)
