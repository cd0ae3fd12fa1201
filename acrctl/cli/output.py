"""The output layer of the CLI: ``--output`` formats and ``--query``.

Everything a command prints on stdout goes through :func:`render`. The rules follow
``az`` (azure-cli-core on knack 0.14 with tabulate), including its quirks:

* a ``None`` result prints nothing, whatever the format;
* ``--query`` is a JMESPath expression evaluated with ordered dicts, so a multiselect hash
  (``{b: x, a: y}``) keeps its order in ``table`` and ``tsv`` output (``json`` and ``yaml``
  always sort keys);
* ``table`` is tabulate's ``simple`` style without number parsing: left-aligned cells,
  stripped of surrounding whitespace, each column ``max(len(header) + 2, widest cell)``
  wide, two spaces between columns, trailing whitespace removed;
* ``tsv`` prints ``str()`` of nested scalars (so ``True`` and ``None``); only a bare boolean
  item is lower-cased.

Imports of ``yaml`` and ``jmespath`` are deferred: start-up time matters for a CLI.
"""

from __future__ import annotations

import json
import re
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any, Final

__all__ = [
    "OUTPUT_FORMATS",
    "QUERY_HINT",
    "TABLE_UNAVAILABLE",
    "QueryError",
    "QueryEvaluationError",
    "TableError",
    "TableTransformer",
    "compile_query",
    "render",
]

OUTPUT_FORMATS: Final[tuple[str, ...]] = (
    "json",
    "jsonc",
    "yaml",
    "yamlc",
    "table",
    "tsv",
    "none",
)

QUERY_HINT: Final = (
    "To learn more about --query, please visit: "
    "'https://learn.microsoft.com/cli/azure/query-azure-cli'"
)
TABLE_UNAVAILABLE: Final = (
    "Table output unavailable. Use the --query option to specify an appropriate query. "
    "Use --debug for more info."
)

#: A command's table transformer: takes the (JSON-shaped) result and returns rows, each an
#: ordered mapping from final column header (``"NAME"``) to cell value. A single mapping is
#: accepted too and gives one row.
TableTransformer = Callable[[Any], object]


class QueryError(Exception):
    """``--query`` is not a valid JMESPath expression (az: usage error, exit code 2)."""

    def __init__(self, expression: str) -> None:
        # argparse formats the rejected value with %r, hence repr().
        super().__init__(
            f"argument --query: invalid jmespath_type value: {expression!r}\n{QUERY_HINT}"
        )
        self.expression = expression


class QueryEvaluationError(Exception):
    """A valid expression failed while being evaluated, e.g. ``length(@)`` on a number.

    az reports these as ``InvalidArgumentValueError`` (exit code 1).
    """

    def __init__(self, detail: str) -> None:
        super().__init__(f"Invalid jmespath query supplied for `--query`: {detail}\n{QUERY_HINT}")
        self.detail = detail


class TableError(Exception):
    """The result cannot be shown as a table (az: CLIError, exit code 1)."""

    def __init__(self, message: str = TABLE_UNAVAILABLE) -> None:
        super().__init__(message)


# --------------------------------------------------------------------------------------------
# entry point
# --------------------------------------------------------------------------------------------


def compile_query(expression: str) -> Any:
    """Compile a JMESPath expression; raise :class:`QueryError` when it is invalid.

    az validates ``--query`` while parsing arguments, before the command runs, so the CLI
    may call this early; :func:`render` calls it too.
    """
    import jmespath
    from jmespath.exceptions import JMESPathError

    try:
        return jmespath.compile(expression)
    except (JMESPathError, ValueError, KeyError, TypeError) as exc:
        raise QueryError(expression) from exc


def render(
    result: object,
    fmt: str = "json",
    query: str | None = None,
    table: TableTransformer | None = None,
    color: bool = False,
) -> str:
    """Return the text to print on stdout (with its trailing newline), or ``""``.

    :param result: the command's JSON-shaped result (dicts, lists, scalars); ``None`` prints
        nothing.
    :param fmt: one of :data:`OUTPUT_FORMATS` (case-insensitive); anything else is a
        ``ValueError``.
    :param query: a JMESPath expression applied before formatting. When given, ``table`` is
        ignored and table columns keep the query's order.
    :param table: the command's table transformer, used only for ``table`` output.
    :param color: colour ``jsonc`` output (``jsonc``/``yamlc`` fall back to plain otherwise).
    :raises QueryError: ``query`` does not compile.
    :raises QueryEvaluationError: ``query`` fails while being evaluated.
    :raises TableError: ``table`` output cannot be produced (e.g. the transformer raised).
    """
    name = fmt.lower()
    if name not in OUTPUT_FORMATS:
        raise ValueError(
            f"invalid output format {fmt!r}: expected one of {', '.join(OUTPUT_FORMATS)}"
        )
    # The expression is validated even when nothing would be printed, as in az.
    expression = compile_query(query) if query is not None else None
    if result is None:
        return ""
    data: Any = result
    if expression is not None:
        data = _search(expression, result)
        if data is None:
            return ""
    if name == "none":
        return ""
    if name == "json" or (name == "jsonc" and not color):
        return _format_json(data)
    if name == "jsonc":
        return _format_json_color(data)
    if name in ("yaml", "yamlc"):
        return _format_yaml(data)
    if name == "table":
        return _format_table(data, None if expression is not None else table, expression)
    return _format_tsv(data)


def _search(expression: Any, data: object) -> Any:
    import jmespath
    from jmespath.exceptions import JMESPathError

    try:
        return expression.search(data, jmespath.Options(dict_cls=OrderedDict))
    except JMESPathError as exc:
        raise QueryEvaluationError(str(exc)) from exc


# --------------------------------------------------------------------------------------------
# json / jsonc
# --------------------------------------------------------------------------------------------


def _json_default(value: object) -> object:
    if isinstance(value, (bytes, bytearray)):
        return value.decode()
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _format_json(data: object) -> str:
    return (
        json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False, default=_json_default) + "\n"
    )


# Same palette as az's jsonc (pygments' TerminalFormatter): keys bright blue, strings
# yellow, numbers / true / false / null blue.
_KEY_COLOR: Final = "\x1b[94m"
_STRING_COLOR: Final = "\x1b[33m"
_LITERAL_COLOR: Final = "\x1b[34m"
_RESET: Final = "\x1b[39;49;00m"


def _json_key(key: object) -> str:
    """How ``json.dumps`` turns a dict key into a string."""
    if isinstance(key, str):
        return key
    if key is True:
        return "true"
    if key is False:
        return "false"
    if key is None:
        return "null"
    if isinstance(key, (int, float)):
        return json.dumps(key)
    raise TypeError(f"keys must be str, int, float, bool or None, not {type(key).__name__}")


def _format_json_color(data: object) -> str:
    parts: list[str] = []
    _emit_json_color(data, 0, parts)
    parts.append("\n")
    return "".join(parts)


def _emit_json_color(value: object, level: int, out: list[str]) -> None:
    """Append ``value`` as ``json.dumps(indent=2, sort_keys=True)`` would, with colours."""
    if isinstance(value, str):
        out.append(f"{_STRING_COLOR}{json.dumps(value, ensure_ascii=False)}{_RESET}")
    elif value is None or isinstance(value, (bool, int, float)):
        out.append(f"{_LITERAL_COLOR}{json.dumps(value)}{_RESET}")
    elif isinstance(value, dict):
        if not value:
            out.append("{}")
            return
        inner = "  " * (level + 1)
        out.append("{")
        for index, (key, item) in enumerate(sorted(value.items())):
            out.append(",\n" if index else "\n")
            key_text = json.dumps(_json_key(key), ensure_ascii=False)
            out.append(f"{inner}{_KEY_COLOR}{key_text}{_RESET}: ")
            _emit_json_color(item, level + 1, out)
        out.append("\n" + "  " * level + "}")
    elif isinstance(value, (list, tuple)):
        if not value:
            out.append("[]")
            return
        inner = "  " * (level + 1)
        out.append("[")
        for index, item in enumerate(value):
            out.append(",\n" if index else "\n")
            out.append(inner)
            _emit_json_color(item, level + 1, out)
        out.append("\n" + "  " * level + "]")
    else:
        _emit_json_color(_json_default(value), level, out)


# --------------------------------------------------------------------------------------------
# yaml / yamlc
# --------------------------------------------------------------------------------------------


def _format_yaml(data: object) -> str:
    import yaml

    try:
        return yaml.safe_dump(data, default_flow_style=False, allow_unicode=True, sort_keys=True)
    except yaml.representer.RepresenterError:
        # Query results hold OrderedDicts, which safe_dump refuses: go through JSON.
        plain = json.loads(json.dumps(data, default=_json_default))
        return yaml.safe_dump(plain, default_flow_style=False, allow_unicode=True, sort_keys=True)


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


def _format_table(data: object, transformer: TableTransformer | None, expression: Any) -> str:
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


def _format_tsv(data: object) -> str:
    items = data if isinstance(data, list) else [data]
    return "".join(_tsv_line(item) for item in items)
