"""Bearer tokens for server mode: ACRCTL_TOKEN > OS keyring > an opt-in 0600 file.
A token never comes from argv and is never written in plain text without the opt-in.

Finding the keyring costs: `keyring.get_keyring()` imports and probes every installed backend
(~100-190 ms, on every command). So login remembers where the token went, per endpoint, in
acrctl's config (config.remember: token_store "file", or "keyring" and the backend's class):
a command then reads the token file without importing keyring at all, or loads the
remembered backend class directly. PYTHON_KEYRING_BACKEND, when set, still decides (keyring
loads it without probing). A token not found where it was remembered is looked for
everywhere, as before, and where it is found is remembered."""

from __future__ import annotations

import contextlib
import json
import os
from typing import Any

from acrctl.cli import config

SERVICE = "acrctl"


def token_file() -> str:
    return os.path.join(config.config_dir(), "tokens.json")


def _keyring(remembered: str | None = None) -> Any:
    """A usable keyring backend (the remembered class when there is one), else None."""
    try:
        import keyring
        from keyring.backends import fail, null
    except ImportError:  # pragma: no cover
        return None
    kr = None
    if remembered and not os.environ.get("PYTHON_KEYRING_BACKEND"):
        with contextlib.suppress(Exception):  # gone or not viable: probe as usual
            kr = keyring.core.load_keyring(remembered)
    if kr is None:
        kr = keyring.get_keyring()
    if isinstance(kr, fail.Keyring | null.Keyring):
        return None
    chained = getattr(kr, "backends", None)
    return kr if chained is None or chained else None


def _backend_name(backend: Any) -> str:
    cls = type(backend)
    return f"{cls.__module__}.{cls.__qualname__}"


def _from_keyring(endpoint: str, remembered: str | None = None) -> tuple[str, str] | None:
    """(token, the class name of the backend holding it)."""
    kr = _keyring(remembered)
    if kr is None:
        return None
    for backend in getattr(kr, "backends", None) or [kr]:  # a chainer: the one holding it
        try:
            found = backend.get_password(SERVICE, endpoint)
        except Exception:  # noqa: BLE001 - a broken keyring means "no token", never a crash
            found = None
        if found:
            return str(found), _backend_name(backend)
    return None


def _from_file(endpoint: str) -> str | None:
    if not os.path.exists(token_file()):
        return None
    with open(token_file()) as fh:
        tokens = json.load(fh)
    return str(tokens[endpoint]) if endpoint in tokens else None


def _remember(endpoint: str, store: str, backend: str | None = None) -> None:
    with contextlib.suppress(OSError):  # a read-only config dir: just no shortcut next time
        config.remember(endpoint, token_store=store, keyring_backend=backend)


def load_token(endpoint: str) -> str | None:
    env = os.environ.get("ACRCTL_TOKEN")
    if env:
        return env
    endpoint = endpoint.rstrip("/")
    where = config.endpoint_settings(endpoint)
    if where.get("token_store") == "file":
        token = _from_file(endpoint)
        if token:
            return token
    elif where.get("token_store") == "keyring":
        held = _from_keyring(endpoint, where.get("keyring_backend"))
        if held:
            return held[0]
    held = _from_keyring(endpoint)
    if held:
        _remember(endpoint, "keyring", held[1])
        return held[0]
    token = _from_file(endpoint)
    if token:
        _remember(endpoint, "file")
    return token


def usable_keyring() -> Any:
    """The keyring backend a login would store its token in; an AcrctlError when there is
    none (`account login` asks before it prompts for the token)."""
    kr = _keyring()
    if kr is None:
        from acrctl.client.errors import AcrctlError

        raise AcrctlError(
            "No usable keyring backend was found, so the token was not stored. Set "
            "PYTHON_KEYRING_BACKEND to a working backend, use ACRCTL_TOKEN, or opt into a "
            "0600 file with 'acrctl account login --store file'."
        )
    return kr


def store_token(endpoint: str, token: str, use_file: bool = False) -> str:
    """Store the token; returns where it went ("keyring" or the file path)."""
    if not use_file:
        kr = usable_keyring()
        kr.set_password(SERVICE, endpoint, token)
        held = _from_keyring(endpoint)
        _remember(endpoint, "keyring", held[1] if held else None)
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
    _remember(endpoint, "file")
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
    kr = _keyring()
    if kr is not None:
        with contextlib.suppress(Exception):  # nothing stored is fine
            kr.delete_password(SERVICE, endpoint)
    if config.endpoint_settings(endpoint):
        with contextlib.suppress(OSError):
            config.remember(endpoint, token_store=None, keyring_backend=None)
