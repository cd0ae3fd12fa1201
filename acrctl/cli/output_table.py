"""``table`` and ``tsv`` output, as az prints them (see acrctl.cli.output, which calls
:func:`format_table` and :func:`format_tsv` only for those formats)."""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any, Final

from acrctl.cli.output import TableError, TableTransformer

# --------------------------------------------------------------------------------------------
# table
# --------------------------------------------------------------------------------------------

_SKIP_KEYS: Final = frozenset({"id", "type", "etag"})
_MIN_PADDING: Final = 2  # tabulate: every column is at least len(header) + 2 wide
_COLUMN_SEPARATOR: Final = "  "
# CSI sequences (colours, ...) and OSC 8 hyperlinks, which take no room on screen.
_ANSI: Final = re.compile(
    r"\x1b\[[\x30-\x3f]*[\x20-\x2f]*[\x40-\x7e]"
    r"|\x1b\]8;(?:\w+=\w+:?)*;[^\x1b]+\x1b\\([^\x1b]+)\x1b\]8;;\x1b\\"
)
_LINE_BREAK: Final = re.compile(r"[\r\n]")


def format_table(data: object, transformer: TableTransformer | None, expression: Any) -> str:
    try:
        if transformer is not None:
            data = transformer(data)
        items = data if isinstance(data, list) else [data]
        # Keys are sorted only for the automatic layout of an unqueried result.
        sort_keys = expression is None and transformer is None
        rows = [_table_row(item, sort_keys) for item in items]
        return _tabulate(rows) + "\n"
    except Exception as exc:
        raise TableError() from exc


def _capitalize(key: str) -> str:
    return key[0].upper() + key[1:] if key else key


def _table_row(item: object, sort_keys: bool) -> dict[str, object]:
    """One table row from one result item, the way knack lays out any table row.

    Transformer rows go through this too: ``None``, list and dict cells are dropped (the
    cell prints empty), and a lower-case ``id``/``type``/``etag`` key is skipped.
    """
    row: dict[str, object] = {}
    if isinstance(item, Mapping):
        keys = sorted(item) if sort_keys and isinstance(item, dict) else list(item)
        for key in keys:
            if key in _SKIP_KEYS:
                continue
            value = item[key]
            if value is not None and not isinstance(value, (list, dict, set)):
                row[_capitalize(key)] = value
    elif isinstance(item, list):
        for number, value in enumerate(item, start=1):
            row[f"Column{number}"] = value
    else:
        row["Result"] = item
    return row


def _visible_width(text: str, has_ansi: bool) -> int:
    return len(_ANSI.sub(r"\1", text)) if has_ansi else len(text)


def _pad(text: str, width: int, has_ansi: bool) -> str:
    return text + " " * max(0, width - _visible_width(text, has_ansi))


def _tabulate(rows: list[dict[str, object]]) -> str:
    """tabulate(rows, headers="keys", tablefmt="simple", disable_numparse=True)."""
    headers: list[str] = []
    seen: set[str] = set()
    for row in rows:
        for key in row:
            if key not in seen:
                seen.add(key)
                headers.append(key)
    if not rows or not headers:
        return ""

    raw = [["" if (value := row.get(h)) is None else f"{value}" for h in headers] for row in rows]
    everything = [*headers, *(cell for cells in raw for cell in cells)]
    has_ansi = any(_ANSI.search(text) for text in everything)
    multiline = any(_LINE_BREAK.search(text) for text in everything)
    columns = [[cells[index].strip() for cells in raw] for index in range(len(headers))]

    def width(text: str) -> int:
        if multiline:
            return max(_visible_width(part, has_ansi) for part in _LINE_BREAK.split(text))
        return _visible_width(text, has_ansi)

    widths = [
        max(width(header) + _MIN_PADDING, *(width(cell) for cell in column))
        for header, column in zip(headers, columns, strict=True)
    ]

    lines = _table_lines(headers, widths, has_ansi, multiline, header=True)
    lines.append(_COLUMN_SEPARATOR.join("-" * w for w in widths).rstrip())
    for index in range(len(rows)):
        cells = [column[index] for column in columns]
        lines.extend(_table_lines(cells, widths, has_ansi, multiline, header=False))
    return "\n".join(lines)


def _table_lines(
    cells: list[str], widths: list[int], has_ansi: bool, multiline: bool, header: bool
) -> list[str]:
    """The printed line(s) of one header or data row."""
    if not multiline:
        padded = [_pad(cell, w, has_ansi) for cell, w in zip(cells, widths, strict=True)]
        return [_COLUMN_SEPARATOR.join(padded).rstrip()]
    # A multi-line cell spans several printed lines; shorter cells are blank below.
    # (tabulate splits headers on \r, \n and \r\n but data cells with str.splitlines.)
    split: Callable[[str], list[str]] = (
        (lambda text: re.split(r"\r|\n|\r\n", text)) if header else str.splitlines
    )
    stacks = [split(cell) for cell in cells]
    height = max(len(stack) for stack in stacks)
    lines = []
    for number in range(height):
        padded = [
            _pad(stack[number], w, has_ansi) if number < len(stack) else " " * w
            for stack, w in zip(stacks, widths, strict=True)
        ]
        lines.append(_COLUMN_SEPARATOR.join(padded).rstrip())
    return lines


# --------------------------------------------------------------------------------------------
# tsv
# --------------------------------------------------------------------------------------------


def _tsv_field(value: object) -> str:
    if isinstance(value, list):
        return str(len(value))
    if isinstance(value, dict):
        return ""  # keeps the column count stable when a value is sometimes a dict
    return value if isinstance(value, str) else str(value)


def _tsv_line(item: object) -> str:
    if isinstance(item, OrderedDict):  # a query's multiselect hash keeps its order
        fields = [_tsv_field(value) for value in item.values()]
    elif isinstance(item, dict):
        fields = [_tsv_field(value) for _, value in sorted(item.items())]
    elif isinstance(item, list):
        fields = [_tsv_field(value) for value in item]
    elif isinstance(item, bool):
        fields = [str(item).lower()]
    else:
        fields = [_tsv_field(item)]
    return "\t".join(fields) + "\n"


def format_tsv(data: object) -> str:
    items = data if isinstance(data, list) else [data]
    return "".join(_tsv_line(item) for item in items)
