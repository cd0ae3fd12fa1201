"""Tests for acrctl.cli.output: every --output format and --query, as az prints them."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections import OrderedDict
from pathlib import Path
from typing import Any

import pytest

from acrctl.cli.output import (
    OUTPUT_FORMATS,
    QueryError,
    QueryEvaluationError,
    TableError,
    compile_query,
    render,
)

HINT = "To learn more about --query, please visit: 'https://learn.microsoft.com/cli/azure/query-azure-cli'"
TABLE_UNAVAILABLE = (
    "Table output unavailable. Use the --query option to specify an appropriate query. "
    "Use --debug for more info."
)


def _replica(name: str) -> dict[str, Any]:
    return {
        "id": f"/subscriptions/0000/resourceGroups/rg/providers/Microsoft.ContainerRegistry/"
        f"registries/reg/replications/{name}",
        "location": name,
        "name": name,
        "provisioningState": "Succeeded",
        "regionEndpointEnabled": True,
        "resourceGroup": "rg",
        "status": {"displayStatus": "Ready", "message": None, "timestamp": None},
        "tags": {},
        "type": "Microsoft.ContainerRegistry/registries/replications",
        "zoneRedundancy": "Disabled",
    }


def _replication_table(result: Any) -> list[dict[str, object]]:
    items = result if isinstance(result, list) else [result]
    return [
        OrderedDict(
            [
                ("NAME", item.get("name") or " "),
                ("LOCATION", item.get("location") or " "),
                ("PROVISIONING STATE", item.get("provisioningState") or " "),
                ("STATUS", (item.get("status") or {}).get("displayStatus") or " "),
                ("REGION ENDPOINT ENABLED", item.get("regionEndpointEnabled")),
            ]
        )
        for item in items
    ]


REPLICATION_TABLE = (
    "NAME       LOCATION    PROVISIONING STATE    STATUS    REGION ENDPOINT ENABLED\n"
    "---------  ----------  --------------------  --------  -------------------------\n"
    "japaneast  japaneast   Succeeded             Ready     True\n"
    "eastus     eastus      Succeeded             Ready     True\n"
)


# --- json ---------------------------------------------------------------------------------


def test_json_sorts_keys_indents_two_and_keeps_unicode() -> None:
    result = {"b": [1, True, None], "a": {"z": "ü", "y": {}}, "c": []}
    assert render(result, "json") == (
        "{\n"
        '  "a": {\n'
        '    "y": {},\n'
        '    "z": "ü"\n'
        "  },\n"
        '  "b": [\n'
        "    1,\n"
        "    true,\n"
        "    null\n"
        "  ],\n"
        '  "c": []\n'
        "}\n"
    )


def test_json_is_the_default_format() -> None:
    assert render([1, "x"]) == '[\n  1,\n  "x"\n]\n'


def test_json_empty_list_prints_brackets() -> None:
    assert render([], "json") == "[]\n"


@pytest.mark.parametrize("fmt", OUTPUT_FORMATS)
def test_none_result_prints_nothing_in_every_format(fmt: str) -> None:
    assert render(None, fmt) == ""


@pytest.mark.parametrize("result", [{"a": 1}, [1, 2], "x", 0, False, []])
def test_none_format_prints_nothing(result: object) -> None:
    assert render(result, "none") == ""


def test_unknown_format_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="xml"):
        render({"a": 1}, "xml")


def test_format_name_is_case_insensitive() -> None:
    assert render({"a": 1}, "JSON") == render({"a": 1}, "json")


# --- jsonc ---------------------------------------------------------------------------------


def test_jsonc_without_colour_equals_json() -> None:
    result = [{"name": "reg", "n": 1.5, "ok": False, "tags": {}, "none": None}]
    assert render(result, "jsonc", color=False) == render(result, "json")


def test_jsonc_with_colour_colours_keys_strings_and_literals() -> None:
    text = render({"name": "reg", "count": 2, "ok": True, "x": None}, "jsonc", color=True)
    assert text == (
        "{\n"
        '  \x1b[94m"count"\x1b[39;49;00m: \x1b[34m2\x1b[39;49;00m,\n'
        '  \x1b[94m"name"\x1b[39;49;00m: \x1b[33m"reg"\x1b[39;49;00m,\n'
        '  \x1b[94m"ok"\x1b[39;49;00m: \x1b[34mtrue\x1b[39;49;00m,\n'
        '  \x1b[94m"x"\x1b[39;49;00m: \x1b[34mnull\x1b[39;49;00m\n'
        "}\n"
    )


def test_jsonc_with_colour_is_json_once_the_colours_are_removed() -> None:
    result = [_replica("eastus"), {"nested": [[], {}, [1, {"k": "日本"}]], "e": "a\tb\x1b"}]
    coloured = render(result, "jsonc", color=True)
    assert re.sub(r"\x1b\[[0-9;]*m", "", coloured) == render(result, "json")


# --- yaml ----------------------------------------------------------------------------------


def test_yaml_is_block_style_with_sorted_keys() -> None:
    result = {"name": "reg", "tags": {"b": "2", "a": "ü"}, "ids": [1, 2], "empty": {}}
    assert render(result, "yaml") == (
        "empty: {}\nids:\n- 1\n- 2\nname: reg\ntags:\n  a: ü\n  b: '2'\n"
    )


def test_yamlc_equals_yaml() -> None:
    result = {"name": "reg", "ok": True}
    assert render(result, "yamlc", color=True) == render(result, "yaml")


def test_yaml_of_a_query_result_is_sorted() -> None:
    assert render({"b": 1, "a": 2}, "yaml", query="{z: b, a: a}") == "a: 2\nz: 1\n"


# --- query -----------------------------------------------------------------------------------


def test_query_projects_before_formatting() -> None:
    result = [_replica("japaneast"), _replica("eastus")]
    assert render(result, "json", query="[].name") == '[\n  "japaneast",\n  "eastus"\n]\n'


def test_query_yielding_null_prints_nothing() -> None:
    assert render({"a": 1}, "json", query="missing") == ""


def test_invalid_query_raises_query_error_with_the_az_message() -> None:
    with pytest.raises(QueryError) as info:
        render({"a": 1}, "json", query="[].name[")
    assert str(info.value) == (
        "argument --query: invalid jmespath_type value: '[].name['\n"
        "To learn more about --query, please visit: "
        "'https://learn.microsoft.com/cli/azure/query-azure-cli'"
    )


def test_invalid_query_quotes_the_expression_like_argparse() -> None:
    # argparse shows the value with repr(): an expression holding ' is double-quoted.
    with pytest.raises(QueryError) as info:
        compile_query("[?name=='a'")
    assert str(info.value).splitlines()[0] == (
        "argument --query: invalid jmespath_type value: \"[?name=='a'\""
    )


def test_empty_query_is_invalid() -> None:
    with pytest.raises(QueryError):
        render({"a": 1}, "json", query="")


def test_invalid_query_is_reported_even_when_nothing_would_print() -> None:
    with pytest.raises(QueryError):
        render(None, "none", query="{")


def test_query_failing_at_evaluation_raises_query_evaluation_error() -> None:
    with pytest.raises(QueryEvaluationError) as info:
        render({"a": 1}, "json", query="length(a)")
    assert str(info.value) == (
        "Invalid jmespath query supplied for `--query`: In function length(), invalid type "
        "for value: 1, expected one of: ['string', 'array', 'object'], received: \"number\"\n"
        + HINT
    )


# --- table ---------------------------------------------------------------------------------


def test_table_with_transformer_matches_az_replication_list() -> None:
    result = [_replica("japaneast"), _replica("eastus")]
    assert render(result, "table", table=_replication_table) == REPLICATION_TABLE


def test_table_column_is_header_plus_two_or_widest_cell() -> None:
    rows = [OrderedDict([("AB", "x"), ("C", "wide-value"), ("D", "y")])]
    assert render({}, "table", table=lambda _: rows) == (
        "AB    C           D\n----  ----------  ---\nx     wide-value  y\n"
    )


def test_table_transformer_blank_cells_print_empty() -> None:
    rows = [
        OrderedDict([("NAME", "a"), ("SCOPE", " "), ("STATUS", "enabled")]),
        OrderedDict([("NAME", "b"), ("SCOPE", ""), ("STATUS", " ")]),
    ]
    assert render([1, 2], "table", table=lambda _: rows) == (
        "NAME    SCOPE    STATUS\n------  -------  --------\na                enabled\nb\n"
    )


def test_table_transformer_none_cell_is_dropped_like_az() -> None:
    # knack drops None cells before tabulate collects the headers, so a column whose
    # value is None in every row vanishes and one that is None in the first row moves
    # to the end. (Hence az's transformers write `value or " "`.)
    first = OrderedDict([("NAME", "a"), ("SCOPE", None), ("STATUS", "enabled")])
    second = OrderedDict([("NAME", "b"), ("SCOPE", "x"), ("STATUS", "ok")])
    assert render([1], "table", table=lambda _: [first]) == (
        "NAME    STATUS\n------  --------\na       enabled\n"
    )
    assert render([1, 2], "table", table=lambda _: [first, second]) == (
        "NAME    STATUS    SCOPE\n------  --------  -------\na       enabled\nb       ok        x\n"
    )


def test_table_transformer_dict_result_is_one_row() -> None:
    assert render({}, "table", table=lambda _: {"ID": "abc"}) == "ID\n----\nabc\n"


def test_table_transformer_failure_raises_table_error() -> None:
    def broken(result: Any) -> list[dict[str, object]]:
        raise KeyError("name")

    with pytest.raises(TableError) as info:
        render({"a": 1}, "table", table=broken)
    assert str(info.value) == TABLE_UNAVAILABLE


def test_table_without_transformer_drops_ids_and_nested_and_capitalises() -> None:
    result = {
        "name": "reg",
        "id": "/subscriptions/x",
        "type": "Microsoft.ContainerRegistry/registries",
        "etag": "abc",
        "provisioningState": "Succeeded",
        "resourceGroup": "rg",
        "tags": {"a": "b"},
        "zones": ["1"],
        "adminUserEnabled": False,
        "dataEndpointEnabled": None,
    }
    assert render(result, "table") == (
        "AdminUserEnabled    Name    ProvisioningState    ResourceGroup\n"
        "------------------  ------  -------------------  ---------------\n"
        "False               reg     Succeeded            rg\n"
    )


def test_table_with_query_ignores_transformer_and_keeps_query_order() -> None:
    result = [_replica("japaneast"), _replica("eastus")]
    text = render(
        result, "table", query="[].{Zone: zoneRedundancy, Name: name}", table=_replication_table
    )
    assert text == ("Zone      Name\n--------  ---------\nDisabled  japaneast\nDisabled  eastus\n")


def test_table_of_a_scalar_has_result_column() -> None:
    assert render("myregistry.azurecr.io", "table") == (
        "Result\n---------------------\nmyregistry.azurecr.io\n"
    )


def test_table_of_a_list_of_scalars_has_one_result_row_each() -> None:
    assert render(["a", 10], "table") == "Result\n--------\na\n10\n"


def test_table_of_a_list_of_lists_numbers_the_columns() -> None:
    assert render([["a", "b"], ["c"]], "table") == (
        "Column1    Column2\n---------  ---------\na          b\nc\n"
    )


def test_table_of_an_empty_list_prints_an_empty_line_like_az() -> None:
    # knack returns tabulate's "" plus its usual "\n" for an empty list.
    assert render([], "table") == "\n"


def test_table_of_an_empty_list_from_a_transformer_prints_an_empty_line() -> None:
    assert render([], "table", table=_replication_table) == "\n"


def test_table_cells_are_stripped() -> None:
    assert render([{"a": "  x  "}], "table") == "A\n---\nx\n"


def test_table_multiline_cell_spans_several_lines() -> None:
    result = [{"a": "one\ntwo", "b": "x"}, {"a": "three", "b": "y"}]
    assert render(result, "table") == ("A      B\n-----  ---\none    x\ntwo\nthree  y\n")


# --- tsv -----------------------------------------------------------------------------------


def test_tsv_dict_values_in_sorted_key_order() -> None:
    assert render({"b": "2", "a": "1", "c": 3}, "tsv") == "1\t2\t3\n"


def test_tsv_nested_dict_is_an_empty_field_and_nested_list_its_length() -> None:
    assert render({"a": {"x": 1}, "b": [1, 2, 3], "c": "z"}, "tsv") == "\t3\tz\n"


def test_tsv_top_level_bool_is_lower_case() -> None:
    assert render(True, "tsv") == "true\n"
    assert render([False, True], "tsv") == "false\ntrue\n"


def test_tsv_bool_and_none_inside_a_dict_print_like_python() -> None:
    # az (knack) prints str() of nested scalars: True / None, not true / "".
    assert render({"a": True, "b": None, "c": 1.5}, "tsv") == "True\tNone\t1.5\n"


def test_tsv_list_of_scalars_prints_one_per_line() -> None:
    assert render(["japaneast", "eastus"], "tsv") == "japaneast\neastus\n"


def test_tsv_list_of_dicts_prints_one_line_each() -> None:
    result = [{"name": "a", "location": "x"}, {"name": "b", "location": "y"}]
    assert render(result, "tsv") == "x\ta\ny\tb\n"


def test_tsv_with_a_multiselect_query_keeps_the_query_order() -> None:
    result = [_replica("japaneast")]
    assert render(result, "tsv", query="[].{n: name, l: location, s: provisioningState}") == (
        "japaneast\tjapaneast\tSucceeded\n"
    )
    assert render(result, "tsv", query="[].{s: provisioningState, n: name}") == (
        "Succeeded\tjapaneast\n"
    )


def test_tsv_scalar_query_prints_the_bare_value() -> None:
    assert render(_replica("eastus"), "tsv", query="regionEndpointEnabled") == "true\n"
    assert render(_replica("eastus"), "tsv", query="name") == "eastus\n"


# --- start-up cost -------------------------------------------------------------------------


def test_importing_the_module_does_not_import_yaml_or_jmespath() -> None:
    code = (
        "import sys, acrctl.cli.output; "
        "print(sorted(m for m in ('yaml', 'jmespath') if m in sys.modules))"
    )
    root = Path(__file__).resolve().parents[1]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")]),
    }
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True, cwd=root, env=env
    ).stdout
    assert out == "[]\n"
