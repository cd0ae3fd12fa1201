"""acrctl's configuration file (INI, like az's): defaults for registry, group, location and
output, and the server endpoint. Precedence: flag > ACRCTL_* environment > file > default."""

from __future__ import annotations

import configparser
import os

KEYS = {
    "defaults.registry": "ACRCTL_DEFAULTS_REGISTRY",
    "defaults.group": "ACRCTL_DEFAULTS_GROUP",
    "defaults.location": "ACRCTL_DEFAULTS_LOCATION",
    "core.output": "ACRCTL_CORE_OUTPUT",
    "core.endpoint": "ACRCTL_ENDPOINT",
    "core.subscription": "ACRCTL_SUBSCRIPTION",
    "core.token_store": "ACRCTL_TOKEN_STORE",
}


def config_dir() -> str:
    explicit = os.environ.get("ACRCTL_CONFIG_DIR")
    if explicit:
        return explicit
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return os.path.join(base, "acrctl")


def config_path() -> str:
    return os.path.join(config_dir(), "config")


def _read() -> configparser.ConfigParser:
    cp = configparser.ConfigParser()
    cp.read(config_path())
    return cp


def get(key: str, use_env: bool = True) -> str | None:
    """The effective value of `section.option`: environment first, then the file."""
    env = KEYS.get(key)
    if use_env and env and os.environ.get(env):
        return os.environ[env]
    section, _, option = key.partition(".")
    value = _read().get(section, option, fallback=None)
    return value or None


def set_value(key: str, value: str) -> None:
    check_key(key)
    cp = _read()
    section, _, option = key.partition(".")
    if not cp.has_section(section):
        cp.add_section(section)
    cp.set(section, option, value)
    _write(cp)


def unset(key: str) -> bool:
    check_key(key)
    cp = _read()
    section, _, option = key.partition(".")
    removed = cp.remove_option(section, option) if cp.has_section(section) else False
    _write(cp)
    return removed


def items() -> dict[str, str]:
    cp = _read()
    return {f"{s}.{k}": v for s in cp.sections() for k, v in cp.items(s)}


def check_key(key: str) -> None:
    if key not in KEYS:
        from acrctl.client.errors import UsageError

        raise UsageError(
            f"Unknown configuration key '{key}'. Known keys: {', '.join(sorted(KEYS))}."
        )


def _write(cp: configparser.ConfigParser) -> None:
    os.makedirs(config_dir(), exist_ok=True)
    path = config_path()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        cp.write(fh)
    os.chmod(path, 0o600)


# -- per-endpoint settings that `account login` remembers ---------------------------------------
# endpoints.json in the config dir (0600): {"<endpoint>": {"ca_bundle": "/abs/ca.pem",
# "token_store": "keyring" | "file", "keyring_backend": "<module>.<Class>"}}. Not secrets:
# the token itself stays in the keyring or the opt-in token file.


def endpoints_path() -> str:
    return os.path.join(config_dir(), "endpoints.json")


def _endpoints() -> dict[str, dict[str, str]]:
    import json

    try:
        with open(endpoints_path(), encoding="utf-8") as fh:
            found = json.load(fh)
    except (OSError, ValueError):
        return {}
    return found if isinstance(found, dict) else {}


def endpoint_settings(endpoint: str) -> dict[str, str]:
    """What was remembered for `endpoint` (trailing slashes ignored); {} if nothing."""
    found = _endpoints().get(endpoint.rstrip("/"))
    return {str(k): str(v) for k, v in found.items()} if isinstance(found, dict) else {}


def remember(endpoint: str, **values: str | None) -> None:
    """Set (or, with None, forget) settings of `endpoint`."""
    import json

    data = _endpoints()
    key = endpoint.rstrip("/")
    old = data.get(key)
    entry = {
        k: v
        for k, v in {**(old if isinstance(old, dict) else {}), **values}.items()
        if v is not None
    }
    if entry:
        data[key] = entry
    else:
        data.pop(key, None)
    os.makedirs(config_dir(), exist_ok=True)
    path = endpoints_path()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(data, fh, indent=1, sort_keys=True)
    os.chmod(path, 0o600)
