"""ARM resource ids: building them, the lower-cased keys the store uses, and the rules
for the names in them (resource groups, registries, replications, webhooks)."""

from __future__ import annotations

import re
import unicodedata

PROVIDER = "Microsoft.ContainerRegistry"
REGISTRY_TYPE = f"{PROVIDER}/registries"
REPLICATION_TYPE = f"{REGISTRY_TYPE}/replications"
WEBHOOK_TYPE = f"{REGISTRY_TYPE}/webhooks"

# Registry, replication and webhook names: 5-50 ASCII letters and digits. Always use
# fullmatch: with match(), `$` would also match before a trailing newline ("abcde\n").
NAME_RE = re.compile(r"[A-Za-z0-9]{5,50}")
GROUP_NAME_MAX = 90
GROUP_PUNCTUATION = frozenset("-_.()")
# .NET's Char.IsLetterOrDigit, which ARM applies to resource group names: the letter
# categories and decimal digits (not Python's wider str.isalnum: no '²', '½', 'Ⅻ').
GROUP_CATEGORIES = frozenset({"Lu", "Ll", "Lt", "Lm", "Lo", "Nd"})


def is_name(name: object) -> bool:
    """A valid registry, replication or webhook name."""
    return isinstance(name, str) and NAME_RE.fullmatch(name) is not None


def _group_char(ch: str) -> bool:
    # ARM checks UTF-16 code units: a character outside the BMP is two surrogates, neither
    # of them a letter or digit.
    return ch in GROUP_PUNCTUATION or (
        ord(ch) <= 0xFFFF and unicodedata.category(ch) in GROUP_CATEGORIES
    )


def group_name_problem(rg: str) -> str | None:
    """Why `rg` is not a valid resource group name (ARM's message), or None."""
    shown = printable(rg)
    bad = "".join(dict.fromkeys(ch for ch in rg if not _group_char(ch)))
    if bad:
        return (
            f"The provided resource group name '{shown}' has these invalid characters: "
            f"'{printable(bad)}'. The name can only be a letter, digit, '-', '.', '(', "
            "')' or '_'."
        )
    if not 1 <= len(rg) <= GROUP_NAME_MAX:
        return (
            f"The provided resource group name '{shown}' is {len(rg)} characters long; "
            f"the name must be 1 to {GROUP_NAME_MAX} characters long."
        )
    if rg.endswith("."):
        return f"The provided resource group name '{shown}' cannot end with a period."
    return None


def printable(text: str, limit: int = 100) -> str:
    """`text` fit for an error message or a log line: control and other unprintable
    characters escaped (a newline shows as \\n), at most `limit` characters then '...'."""
    out = "".join(
        ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii")
        for ch in text[:limit]
    )
    return out + ("..." if len(text) > limit else "")


def key(resource_id: str) -> str:
    """The store key of an ARM id: ARM compares ids case-insensitively."""
    return resource_id.lower()


def subscription_id(sub: str) -> str:
    return f"/subscriptions/{sub}"


def group_id(sub: str, rg: str) -> str:
    return f"/subscriptions/{sub}/resourceGroups/{rg}"


def registry_id(sub: str, rg: str, name: str) -> str:
    return f"{group_id(sub, rg)}/providers/{REGISTRY_TYPE}/{name}"


def child_id(sub: str, rg: str, registry: str, collection: str, name: str) -> str:
    return f"{registry_id(sub, rg, registry)}/{collection}/{name}"


def parse(resource_id: str) -> dict[str, str]:
    """Split an ARM id into its parts: subscription, resourceGroup, registry, child kind/name."""
    parts = resource_id.strip("/").split("/")
    out: dict[str, str] = {}
    i = 0
    while i + 1 < len(parts):
        seg, val = parts[i].lower(), parts[i + 1]
        if seg == "subscriptions":
            out["subscription"] = val
        elif seg == "resourcegroups":
            out["resourceGroup"] = val
        elif seg == "providers":
            i += 1
            if i + 2 < len(parts):
                out["registry"] = parts[i + 2]
            i += 3
            if i + 1 < len(parts):
                out["childType"] = parts[i]
                out["child"] = parts[i + 1]
            break
        i += 2
    return out


def is_within(scope: str, target: str) -> bool:
    """True when `target` is `scope` or below it (segment boundaries, case-insensitive)."""
    s, t = scope.rstrip("/").lower(), target.rstrip("/").lower()
    return s == "" or t == s or t.startswith(s + "/")
