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
from collections import OrderedDict
from collections.abc import Callable
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
    from acrctl.cli.output_table import format_table, format_tsv

    if name == "table":
        return format_table(data, None if expression is not None else table, expression)
    return format_tsv(data)


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
