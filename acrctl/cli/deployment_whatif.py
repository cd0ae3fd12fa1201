"""The what-if report, printed like az (symbols, colours, the summary), and
--what-if-exclude-change-types."""

from __future__ import annotations

from typing import Any

CHANGE_TYPES = ("Create", "Delete", "Deploy", "Ignore", "Modify", "NoChange", "Unsupported")
SYMBOLS = {
    "Create": "+",
    "Delete": "-",
    "Modify": "~",
    "NoChange": "=",
    "Ignore": "*",
    "Deploy": "!",
    "Unsupported": "x",
    "Array": "~",
}
COLORS = {
    "Create": "32",
    "Delete": "31",
    "Modify": "35",
    "Deploy": "34",
    "Ignore": "90",
    "NoChange": "90",
    "Unsupported": "90",
    "Array": "35",
}
SUMMARY = {
    "Create": "to create",
    "Delete": "to delete",
    "Modify": "to modify",
    "Deploy": "to deploy",
    "NoChange": "no change",
    "Ignore": "to ignore",
    "Unsupported": "unsupported",
}


def _fmt(value: Any) -> str:
    import json

    return json.dumps(value, sort_keys=True)


def what_if_text(result: dict[str, Any], scope: str, color: bool = False) -> str:
    """az's what-if report: a legend, then each resource with its symbol and, for a
    Modify, the property changes; then the summary."""
    changes = (result.get("properties") or {}).get("changes") or []

    def paint(kind: str, s: str) -> str:
        return f"\x1b[{COLORS[kind]}m{s}\x1b[0m" if color and kind in COLORS else s

    present = [
        k
        for k in ("Delete", "Create", "Modify", "Deploy", "NoChange", "Ignore", "Unsupported")
        if any(c["changeType"] == k for c in changes)
    ]
    lines = [
        "Note: The result may contain false positive predictions (noise).",
        "",
        "Resource and property changes are indicated with these symbols:",
    ]
    lines += [f"  {paint(k, SYMBOLS[k])} {k}" for k in present]
    lines += ["", "The deployment will update the following scope:", "", f"Scope: {scope}", ""]
    for c in changes:
        kind, rid = c["changeType"], str(c["resourceId"])
        rel = rid.split("/providers/", 1)[1] if "/providers/" in rid else rid
        lines.append(f"  {paint(kind, SYMBOLS.get(kind, '?') + ' ' + rel)}")
        for d in c.get("delta") or []:
            pk = d["propertyChangeType"]
            if pk == "Create":
                change = _fmt(d["after"])
            elif pk == "Delete":
                change = _fmt(d["before"])
            else:
                change = f"{_fmt(d['before'])} => {_fmt(d['after'])}"
            lines.append(f"    {paint(pk, SYMBOLS.get(pk, '~'))} {d['path']}: {change}")
        if c.get("delta"):
            lines.append("")
    if changes and lines[-1] != "":
        lines.append("")
    counts = [
        f"{sum(c['changeType'] == k for c in changes)} {SUMMARY[k]}"
        for k in ("Create", "Delete", "Deploy", "Modify", "NoChange", "Ignore", "Unsupported")
        if any(c["changeType"] == k for c in changes)
    ]
    lines.append(f"Resource changes: {', '.join(counts) or 'no change'}.")
    return "\n".join(lines) + "\n"


def exclude_changes(result: dict[str, Any], excluded: tuple[str, ...] | None) -> dict[str, Any]:
    drop = {e.lower() for e in (excluded or ()) if isinstance(e, str)}
    unknown = drop - {t.lower() for t in CHANGE_TYPES}
    if unknown:
        from acrctl.client.errors import UsageError

        raise UsageError(
            f"'{sorted(unknown)[0]}' is not a valid change type. Allowed values: "
            f"{', '.join(CHANGE_TYPES)}."
        )
    if not drop:
        return result
    props = dict(result.get("properties") or {})
    props["changes"] = [
        c for c in props.get("changes") or [] if str(c["changeType"]).lower() not in drop
    ]
    return {**result, "properties": props}
