"""The server's settings: one typed schema, the backend's Settings fields with ranges and
secrets marked, loaded from the sources `acrctl server` and the uvicorn app factory share.

Precedence, lowest first: the defaults < the config file < ACRCTL_SERVER_* environment
variables < command-line flags. A field with an option of its own (OPTION_FIELDS: --lro-mode,
--bootstrap-token...) comes from that option (its flag, its ACRCTL_SERVER_<OPTION> variable,
or a top-level key of the config file); every other field from the config file's [settings]
table or ACRCTL_SERVER_<FIELD>. A value that does not fit its field (type, range, choice), a
key the schema does not know and an ACRCTL_SERVER_* variable nothing reads are errors
(ConfigError) naming where the value came from and what was expected: never a silent default.

Validation uses pydantic (imported on first use: the backend's Settings stay a plain
dataclass, so the embedded CLI pays for no pydantic import it does not otherwise make)."""

from __future__ import annotations

import dataclasses
import functools
import ipaddress
import os
import typing
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from acrctl.backend.core import Settings

if TYPE_CHECKING:
    from pydantic import BaseModel

PREFIX = "ACRCTL_SERVER_"
BOOTSTRAP_ENV = "ACRCTL_BOOTSTRAP_TOKEN"
MASK = "******"
LRO_MODES = ("immediate", "polls", "seconds")
# string fields that take one of a few words (lower-cased on input)
CHOICES = {"lro_mode": LRO_MODES, "dataplane_data_redirect": ("auto", "client-region", "always")}
TRUE = ("1", "true", "yes", "on")
FALSE = ("0", "false", "no", "off")
# Settings fields set by an option of `acrctl server` (field -> option)
OPTION_FIELDS = {
    "lro_mode": "lro_mode",
    "lro_polls": "lro_polls",
    "lro_seconds": "lro_seconds",
    "retry_after": "retry_after",
    "activity_retention_days": "activity_retention_days",
    "allow_reset": "allow_reset",
    "webhook_allow": "webhook_allow",
    "webhook_allow_local": "webhook_allow_local",
    "admin_token": "bootstrap_token",
}
# the options of `acrctl server` (tests/test_operate_config.py checks them against Click's):
# their ACRCTL_SERVER_<OPTION> variables are known even where they are not read
SERVER_OPTIONS = (
    "config",
    "print_config",
    "host",
    "port",
    "database",
    "tls_cert",
    "tls_key",
    "bootstrap_token",
    "lro_mode",
    "lro_polls",
    "lro_seconds",
    "retry_after",
    "allow_reset",
    "webhook_allow",
    "webhook_allow_local",
    "metrics",
    "access_log",
    "activity_retention_days",
    "shutdown_timeout",
    "max_connections",
    "header_timeout",
    "body_timeout",
    "keep_alive_timeout",
    "max_header_bytes",
    "backlog",
    "handler_threads",
    "error_log_interval",
    "data_port",
    "login_domain",
    "region_registry",
    "registry_binary",
)
# fields whose values --print-config and error messages never show
SECRET_FIELDS = frozenset({"admin_token", "managed_identity_header"})
SECRET_OPTIONS = frozenset(OPTION_FIELDS.get(f, f) for f in SECRET_FIELDS)
# every number is >= 0; these have a range of their own (minimum, maximum or None)
RANGES: dict[str, tuple[int, int | None]] = {
    "lro_polls": (0, 1000),
    "lro_seconds": (0, 86400),
    "retry_after": (0, 3600),
    "page_size": (1, 1000),
    "webhook_max_attempts": (1, None),
    "webhook_workers": (1, None),
    "webhook_per_endpoint": (1, None),
    "webhook_max_answer_head": (1024, None),
    "replication_workers": (1, None),
    "replication_max_attempts": (1, None),
    "replication_blob_parallel": (1, None),
    "replication_chunk_bytes": (1, None),
    "replication_fanout_chunks": (1, None),
    "dataplane_upstream_connections": (1, None),
    "replication_verify_max_tags": (1, None),
    "import_max_concurrent": (1, None),
    "dataplane_push_pins_max": (1, None),
    "store_cache_entries": (1, None),
    "rbac_decision_cache_entries": (1, None),
    "route_match_cache_entries": (1, None),
}
NETWORK_FIELDS = ("webhook_allow", "webhook_deny")
CLIENT_REGIONS = "dataplane_client_regions"  # CIDR=region pairs (acrctl.dataplane.geo)
# options whose value is a path: relative ones in a config file are relative to it
PATH_KEYS = ("database", "tls_cert", "tls_key", "access_log")


class ConfigError(ValueError):
    """A configuration value, key or variable that is not valid; the message says which,
    where it came from and what is expected."""


@dataclasses.dataclass(frozen=True)
class Value:
    """A configured value and where it came from ("config file", "env NAME", "flag")."""

    value: Any
    source: str
    where: str  # how the source names it, for messages: a variable, a flag, file and key


def fields() -> list[str]:
    return [f.name for f in dataclasses.fields(Settings)]


def env_name(field: str) -> str:
    """The variable a field is read from (an option field: its option's)."""
    return PREFIX + OPTION_FIELDS.get(field, field).upper()


def settings_env_names() -> set[str]:
    """ACRCTL_SERVER_<FIELD> of the fields without an option of their own."""
    return {env_name(f) for f in fields() if f not in OPTION_FIELDS}


def known_env_names() -> set[str]:
    return {PREFIX + o.upper() for o in SERVER_OPTIONS} | {env_name(f) for f in fields()}


# -- the schema ----------------------------------------------------------------------------------
@functools.cache
def model() -> type[BaseModel]:
    """The pydantic model of Settings: its fields, types and defaults, with RANGES, the
    CHOICES and the networks of NETWORK_FIELDS checked."""
    import pydantic

    hints = typing.get_type_hints(Settings)
    defaults = vars(Settings())
    spec: dict[str, Any] = {n: (_annotation(n, hints[n]), defaults[n]) for n in fields()}
    config = pydantic.ConfigDict(extra="forbid")
    return pydantic.create_model("ServerSettings", __config__=config, **spec)


def _annotation(name: str, kind: Any) -> Any:
    from typing import Annotated, Literal

    from pydantic import AfterValidator, BeforeValidator, Field

    if name in CHOICES:
        words = CHOICES[name]
        return Annotated[Literal[words], BeforeValidator(_lower)]  # type: ignore[valid-type]
    if name in NETWORK_FIELDS:
        return list[Annotated[str, AfterValidator(_network)]]
    if name == CLIENT_REGIONS:
        return Annotated[str, AfterValidator(_client_regions)]
    if kind in (int, float):
        low, high = RANGES.get(name, (0, None))
        return Annotated[kind, Field(ge=low, le=high)]
    return kind


def _lower(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


def _network(value: str) -> str:
    ipaddress.ip_network(value.strip(), strict=False)  # ValueError: pydantic reports it
    return value.strip()


def _client_regions(value: str) -> str:
    from acrctl.dataplane.geo import parse_client_regions

    parse_client_regions(value)  # ValueError naming the bad entry: pydantic reports it
    return value


def expected(name: str, ranged: bool = True) -> str:
    """What a field takes, in words (without its range unless `ranged`)."""
    kind = typing.get_type_hints(Settings)[name]
    if name in CHOICES:
        return "one of " + ", ".join(CHOICES[name])
    if name in NETWORK_FIELDS:
        return "a list of networks (CIDRs such as 10.0.0.0/8)"
    if name == CLIENT_REGIONS:
        return "CIDR=region pairs separated by commas (10.1.0.0/16=eastus,...)"
    if kind in (int, float):
        word = "an integer" if kind is int else "a number"
        low, high = RANGES.get(name, (0, None))
        if not ranged:
            return word
        return f"{word} from {low:g} to {high:g}" if high is not None else f"{word} >= {low:g}"
    words = {
        bool: "true or false",
        str: "a string",
        bool | None: "true or false",
        str | None: "a string",
    }
    return words.get(kind, "true, false or a file" if kind == bool | str else str(kind))


def validate(values: Mapping[str, Value], strict: bool) -> dict[str, Value]:
    """The values checked against the schema and converted to their fields' types. `strict`:
    no conversion from strings (a config file's values are typed already)."""
    from pydantic import ValidationError

    unknown = sorted(set(values) - set(fields()))
    if unknown:
        raise ConfigError(f"unknown setting(s) {', '.join(unknown)}")
    try:
        checked = model().model_validate({k: v.value for k, v in values.items()}, strict=strict)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = str(err["loc"][0])
        ranged = err["type"] in ("greater_than_equal", "less_than_equal")
        raise ConfigError(_message(key, values[key], ranged)) from None
    return {k: dataclasses.replace(v, value=getattr(checked, k)) for k, v in values.items()}


def _message(key: str, got: Value, ranged: bool) -> str:
    shown = MASK if key in SECRET_FIELDS else got.value
    return f"{got.where} must be {expected(key, ranged)}, not {shown!r}."


def resolve(*layers: Mapping[str, Value]) -> dict[str, Value]:
    """Every field's value and source: the defaults, then each layer (lowest first)."""
    out = {k: Value(v, "default", k) for k, v in vars(Settings()).items()}
    for layer in layers:
        out.update(layer)
    return out


def to_settings(values: Mapping[str, Value]) -> Settings:
    return Settings(**{k: v.value for k, v in values.items()})


# -- the sources -------------------------------------------------------------------------------
def from_table(table: Mapping[str, Any], path: str) -> dict[str, Value]:
    """A config file's [settings] table, checked."""
    unknown = sorted(set(table) - set(fields()))
    if unknown:
        raise ConfigError(f"{path}: unknown [settings] key(s) {', '.join(unknown)}")
    options = sorted(set(table) & set(OPTION_FIELDS))
    if options:
        raise ConfigError(
            f"{path}: [settings] {', '.join(options)}: set by an option of its own; write "
            f"it at the top level of the file ({OPTION_FIELDS[options[0]]} = ...)"
        )
    layer = {k: Value(v, "config file", f"{path} [settings] {k}") for k, v in table.items()}
    return validate(layer, strict=True)


def from_env(environ: Mapping[str, str], options: bool = False) -> dict[str, Value]:
    """The fields set by ACRCTL_SERVER_<FIELD> variables (with `options`, also the option
    fields, from ACRCTL_SERVER_<OPTION>, and admin_token from ACRCTL_BOOTSTRAP_TOKEN too), as
    strings converted to their types: lists comma-separated; true/false as 1/0, yes/no, on/off.
    Empty variables are not set. Raises ConfigError for an ACRCTL_SERVER_* variable that is
    neither an option nor a setting."""
    unknown = sorted(n for n in environ if n.startswith(PREFIX) and n not in known_env_names())
    if unknown:
        raise ConfigError(
            f"unknown variable(s) {', '.join(unknown)}: not an option or setting of acrctl "
            "server (see docs/configuration.md)"
        )
    hints = typing.get_type_hints(Settings)
    layer: dict[str, Value] = {}
    for name in fields():
        if name in OPTION_FIELDS and not options:
            continue
        var = env_name(name)
        raw = environ.get(var, "").strip()
        if not raw and name == "admin_token" and environ.get(BOOTSTRAP_ENV, "").strip():
            var, raw = BOOTSTRAP_ENV, environ[BOOTSTRAP_ENV].strip()
        if raw:
            layer[name] = Value(_parse(raw, hints[name]), f"env {var}", var)
    return validate(layer, strict=False)


def _parse(raw: str, kind: Any) -> Any:
    if kind == list[str]:
        return [item.strip() for item in raw.split(",") if item.strip()]
    if kind == bool | str and raw.lower() in TRUE + FALSE:
        return raw.lower() in TRUE
    return raw


def read_file(path: str, options: set[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """A TOML config file: the values of its top-level keys (`options`; dashes or
    underscores; relative paths are relative to the file) and its [settings] table."""
    import tomllib

    try:
        with open(path, "rb") as fh:
            data = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None
    base = os.path.dirname(os.path.abspath(path))
    values: dict[str, Any] = {}
    table: dict[str, Any] = {}
    for raw_key, val in data.items():
        key = raw_key.replace("-", "_")
        if key == "settings" and isinstance(val, dict):
            table = dict(val)
            continue
        if key not in options:
            raise ConfigError(f"{path}: unknown key '{raw_key}'")
        if key in PATH_KEYS and isinstance(val, str) and val not in ("-", "off", ":memory:"):
            val = val if "://" in val else os.path.join(base, os.path.expanduser(val))
        values[key] = val
    return values, table


# -- defaults and display ----------------------------------------------------------------------
def default_database() -> str:
    """`server.db` next to the embedded state, under the XDG data dir."""
    from acrctl import embedded

    return os.path.join(os.path.dirname(embedded.state_path()), "server.db")


def mask_database(value: str) -> str:
    """A database URL with its password (user:password@, or password=) masked."""
    from urllib.parse import urlsplit, urlunsplit

    if "://" not in value:
        return value
    try:
        p = urlsplit(value)
    except ValueError:
        return MASK
    netloc = p.netloc
    if p.password is not None:
        user, _, host = netloc.rpartition("@")
        netloc = f"{user.partition(':')[0]}:{MASK}@{host}"
    query = (
        "&".join(
            f"{k}={MASK}" if k.lower() == "password" else f"{k}={v}"
            for k, _, v in (part.partition("=") for part in p.query.split("&"))
        )
        if p.query
        else ""
    )
    return urlunsplit((p.scheme, netloc, p.path, query, p.fragment))


def toml_value(value: object) -> str:
    import json

    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return json.dumps(str(value), ensure_ascii=False)


def settings_lines(values: Mapping[str, Value]) -> list[str]:
    """The [settings] table of --print-config: every field without an option of its own,
    secrets masked, each with its source."""
    lines = ["[settings]"]
    for name in fields():
        if name in OPTION_FIELDS:
            continue
        got = values[name]
        if got.value is None:
            lines.append(f"# {name} =  (not set; {got.source})")
            continue
        shown = MASK if name in SECRET_FIELDS and got.value else got.value
        lines.append(f"{name} = {toml_value(shown)}  # {got.source}")
    return lines
