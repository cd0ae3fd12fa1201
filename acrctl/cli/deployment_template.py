"""Reading ARM templates and parameters like az (deployment group create and what-if):
// and /* */ comments, parameter files, JSON objects, `name=value` typed by the template,
the prompt for missing values."""

from __future__ import annotations

import os
import sys
from typing import Any

import click


def strip_json_comments(text: str) -> str:
    """ARM templates may carry // and /* */ comments (az accepts them); strings are kept."""
    out: list[str] = []
    i, n, in_string = 0, len(text), False
    while i < n:
        ch = text[i]
        if in_string:
            out.append(ch)
            if ch == "\\" and i + 1 < n:
                out.append(text[i + 1])
                i += 2
                continue
            in_string = ch != '"'
            i += 1
        elif ch == '"':
            in_string = True
            out.append(ch)
            i += 1
        elif text.startswith("//", i):
            end = text.find("\n", i)
            i = n if end < 0 else end
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            i = n if end < 0 else end + 2
            out.append(" ")
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def read_json(path: str, what: str) -> Any:
    import json

    from acrctl.client.errors import AcrctlError

    if path.lower().endswith((".bicep", ".bicepparam")):
        raise AcrctlError(
            f"Bicep files are not supported: build the JSON template with "
            f"'az bicep build --file {path}' (or 'bicep build') and pass that."
        )
    try:
        with open(path, encoding="utf-8-sig") as f:
            text = f.read()
    except OSError as exc:
        raise AcrctlError(f"Cannot read the {what} '{path}': {exc.strerror}.") from None
    try:
        return json.loads(strip_json_comments(text))
    except ValueError as exc:
        raise AcrctlError(f"Failed to parse the {what} '{path}': {exc}.") from None


def _definitions(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    defs = template.get("parameters") or {}
    return (
        {k.lower(): v for k, v in defs.items() if isinstance(v, dict)}
        if isinstance(defs, dict)
        else {}
    )


def typed_value(name: str, value: str, definition: dict[str, Any]) -> Any:
    """az's `key=value`: the value converted by the template parameter's type."""
    import json

    from acrctl.client.errors import AcrctlError

    kind = str(definition.get("type", "")).lower()
    try:
        if kind in ("object", "array", "secureobject"):
            return json.loads(value)
        if kind == "bool":
            return value.lower() == "true"
        if kind == "int":
            return int(value)
    except ValueError:
        raise AcrctlError(
            f"The value '{value}' of parameter '{name}' is not a valid {kind}."
        ) from None
    return value


def parameter_values(
    items: tuple[tuple[str, ...], ...] | None, template: dict[str, Any]
) -> dict[str, Any]:
    """az's --parameters: each item `@file.json` (a parameters file or a plain object),
    a file path, a JSON object, or `name=value`; later items win."""
    import json

    from acrctl.client.errors import AcrctlError

    defs = _definitions(template)
    out: dict[str, Any] = {}
    for item in (i for group in (items or ()) for i in group if isinstance(i, str)):
        data: Any = None
        if item.startswith("@") or (os.path.isfile(item) and "=" not in item):
            data = read_json(item.lstrip("@"), "parameters file")
        elif item.lstrip().startswith("{"):
            try:
                data = json.loads(item)
            except ValueError as exc:
                raise AcrctlError(f"Unable to parse parameter: {item} ({exc}).") from None
        elif "=" in item:
            key, _, value = item.partition("=")
            d = defs.get(key.lower())
            if d is None:
                allowed = ", ".join(sorted(template.get("parameters") or {}))
                raise AcrctlError(
                    f"unrecognized template parameter '{key}'. Allowed parameters: {allowed}"
                )
            out[key] = {"value": typed_value(key, value, d)}
            continue
        else:
            raise AcrctlError(f"Unable to parse parameter: {item}")
        if (
            isinstance(data, dict)
            and isinstance(data.get("parameters"), dict)
            and ("$schema" in data or "contentVersion" in data)
        ):
            data = data["parameters"]
        if not isinstance(data, dict):
            raise AcrctlError(
                f"Unable to parse parameter: {item} (expected an object of "
                '{"name": {"value": ...}}).'
            )
        out.update(data)
    return out


def prompt_missing(template: dict[str, Any], values: dict[str, Any]) -> None:
    """az's prompt for required parameters without a value (only on a terminal)."""
    given = {k.lower() for k in values}
    for name, d in (template.get("parameters") or {}).items():
        if not isinstance(d, dict) or name.lower() in given or "defaultValue" in d:
            continue
        kind = str(d.get("type", "string")).lower()
        raw = click.prompt(
            f"Please provide {kind} value for '{name}'",
            err=True,
            hide_input=kind.startswith("secure"),
        )
        values[name] = {"value": typed_value(name, raw, d)}


def request_body(
    template_file: str, parameters: Any, mode: str, name: str | None, no_prompt: bool
) -> tuple[str, dict[str, Any]]:
    from acrctl.client.errors import AcrctlError

    template = read_json(template_file, "template file")
    if not isinstance(template, dict):
        raise AcrctlError(f"The template file '{template_file}' must hold a JSON object.")
    values = parameter_values(parameters, template)
    if not no_prompt and sys.stdin.isatty():
        prompt_missing(template, values)
    name = name or os.path.splitext(os.path.basename(template_file))[0]
    return name, {
        "properties": {"template": template, "parameters": values, "mode": mode.capitalize()}
    }
