"""The ARM template language (acrctl.backend.templates): expression parsing, every supported
function, parameters, variables, resource expansion, dependsOn ordering and the errors that
name the template path. Pure: no store, no HTTP."""

from __future__ import annotations

from typing import Any

import pytest

from acrctl.backend.errors import NotFound
from acrctl.backend.templates import (
    FUNCTION_NAMES,
    Scope,
    Template,
    TemplateError,
    murmur64,
    parse,
    unique_string,
)

SUB = "00000000-0000-0000-0000-000000000000"
RG_ID = f"/subscriptions/{SUB}/resourceGroups/rg1"
GROUP = {
    "id": RG_ID,
    "name": "rg1",
    "type": "Microsoft.Resources/resourceGroups",
    "location": "westus",
    "tags": {"env": "test"},
    "properties": {"provisioningState": "Succeeded"},
}
SCOPE = Scope(SUB, GROUP, "deploy1", "tenant1")
REG_TYPE = "Microsoft.ContainerRegistry/registries"
REPL_TYPE = f"{REG_TYPE}/replications"
HOOK_TYPE = f"{REG_TYPE}/webhooks"
REG_ID = f"{RG_ID}/providers/{REG_TYPE}"

DEFS = {
    "name": {"type": "string", "defaultValue": "myreg1"},
    "count": {"type": "int", "defaultValue": 3},
    "flag": {"type": "bool", "defaultValue": True},
    "arr": {"type": "array", "defaultValue": ["eastus", "westeurope"]},
    "obj": {"type": "object", "defaultValue": {"k": "v", "list": [{"name": "n0"}]}},
    "secret": {"type": "securestring", "defaultValue": "s3cret"},
}
VARIABLES = {
    "v": "[concat('var-', parameters('name'))]",
    "w": "[variables('v')]",
    "o": {"nested": "[toUpper(parameters('name'))]", "plain": 1},
}


def template(resources: list[Any] | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "$schema": "https://schema.management.azure.com/schemas/2019-04-01/"
        "deploymentTemplate.json#",
        "contentVersion": "1.0.0.0",
        "parameters": DEFS,
        "variables": VARIABLES,
        "resources": resources or [],
        **extra,
    }


def ev(expression: Any, reference: Any = None, params: dict[str, Any] | None = None) -> Any:
    t = Template(template(), params or {}, SCOPE, reference)
    return t.value(expression, "test")


def error(tmpl: dict[str, Any], params: dict[str, Any] | None = None) -> TemplateError:
    with pytest.raises(TemplateError) as info:
        Template(tmpl, params or {}, SCOPE).ordered()
    return info.value


def registry(name: str = "myreg1", **kw: Any) -> dict[str, Any]:
    return {
        "type": REG_TYPE,
        "apiVersion": "2023-07-01",
        "name": name,
        "location": "westus",
        "sku": {"name": "Premium"},
        **kw,
    }


def replica(name: str, location: str | None = None, **kw: Any) -> dict[str, Any]:
    return {
        "type": REPL_TYPE,
        "apiVersion": "2023-07-01",
        "name": name,
        "location": location or name.split("/")[-1],
        **kw,
    }


# -- uniqueString ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("test",), "rbgf3xv4ufgzg"),
        (("hello", "world"), "a7wkljktk6wne"),
        (("abc",), "cgtzqvhu4i23s"),
        ((f"/subscriptions/{SUB}/resourceGroups/my-rg",), "bmg7c6xu4tw46"),
        (("foo", "bar", "baz"), "xzi4ioaxtmth4"),
    ],
)
def test_unique_string_matches_arm(args: tuple[str, ...], expected: str) -> None:
    assert unique_string(*args) == expected


def test_unique_string_is_13_base32_characters_for_any_length() -> None:
    for n in range(0, 40):
        value = unique_string("x" * n)
        assert len(value) == 13 and set(value) <= set("abcdefghijklmnopqrstuvwxyz234567")
    assert murmur64(b"") != murmur64(b"a")


# -- parsing -----------------------------------------------------------------------------------
def test_nested_calls() -> None:
    assert ev("[concat(toLower('AB'), '-', format('{0}/{1}', 'x', 1))]") == "ab-x/1"


def test_string_literals_escape_quotes_by_doubling() -> None:
    assert ev("['it''s']") == "it's"
    assert ev("[concat('a''b', '''')]") == "a'b'"
    assert ev("['']") == ""


def test_property_access_and_indexing() -> None:
    assert ev("[resourceGroup().location]") == "westus"
    assert ev("[resourceGroup().LOCATION]") == "westus"  # property names: any case
    assert ev("[resourceGroup().tags.env]") == "test"
    assert ev("[parameters('arr')[1]]") == "westeurope"
    assert ev("[parameters('obj')['k']]") == "v"
    assert ev("[parameters('obj').list[0].name]") == "n0"


def test_whitespace_between_tokens() -> None:
    assert ev("[ concat( 'a' , 'b' ) ]") == "ab"


def test_double_bracket_is_a_literal_and_other_strings_pass_through() -> None:
    assert ev("[[not an expression]") == "[not an expression]"
    assert ev("plain") == "plain"
    assert ev("[half open") == "[half open"
    assert ev({"a": ["[toUpper('x')]", 1, None]}) == {"a": ["X", 1, None]}


def test_integers_and_negative_numbers() -> None:
    assert ev("[string(-5)]") == "-5"
    assert ev("[parameters('arr')[0]]") == "eastus"


@pytest.mark.parametrize(
    ("expression", "detail"),
    [
        ("[concat('a']", "expected ')' but the expression ended"),
        ("[concat('a)]", "an unterminated string literal"),
        ("[true]", "must be a function call"),
        ("[string(1.5)]", "floating point numbers are not supported"),
        ("[concat('a') 'b']", "unexpected ''b''"),
        ("[concat('a', )]", "unexpected ')'"),
        ("[parameters('obj').]", "the expression ended early"),
        ("[ ]", "the expression is empty"),
    ],
)
def test_syntax_errors_name_the_template_path(expression: str, detail: str) -> None:
    err = error(template([registry(location=expression)]))
    assert err.path == "resources[0].location"
    assert "is not valid" in err.message and detail in err.message


def test_parse_builds_a_tree() -> None:
    node = parse("parameters('a').b[0]")
    assert type(node).__name__ == "Index"


def test_an_unsupported_function_is_refused_with_its_path() -> None:
    tmpl = template(
        [
            registry(),
            replica(
                "myreg1/eastus",
                properties={"location": "[listKeys(resourceId('x.y/z', 'a'), '2020-01-01').key1]"},
            ),
        ]
    )
    err = error(tmpl)
    assert err.path == "resources[1].properties.location"
    assert "The template function 'listKeys' is not supported by acrctl" in err.message
    assert "uniqueString" in err.message  # the supported ones are listed


def test_unsupported_functions_are_found_before_anything_runs() -> None:
    """Even in a resource whose condition is false, or in an output."""
    err = error(template([registry()], outputs={"x": {"type": "string", "value": "[utcNow()]"}}))
    assert err.path == "outputs.x.value"


# -- every function ----------------------------------------------------------------------------
FUNCTION_CASES: list[tuple[str, Any]] = [
    ("[parameters('name')]", "myreg1"),
    ("[parameters('NAME')]", "myreg1"),
    ("[variables('v')]", "var-myreg1"),
    ("[variables('w')]", "var-myreg1"),
    ("[variables('o')]", {"nested": "MYREG1", "plain": 1}),
    ("[resourceGroup().id]", RG_ID),
    ("[resourceGroup().name]", "rg1"),
    ("[resourceGroup().location]", "westus"),
    ("[subscription().subscriptionId]", SUB),
    ("[subscription().id]", f"/subscriptions/{SUB}"),
    ("[subscription().tenantId]", "tenant1"),
    ("[deployment().name]", "deploy1"),
    ("[concat('a', 'b', 'c')]", "abc"),
    ("[concat('n', 1, true())]", "n1True"),
    (
        "[concat(parameters('arr'), parameters('arr'))]",
        ["eastus", "westeurope", "eastus", "westeurope"],
    ),
    ("[format('{0}-{1}-{0}', 'a', 2)]", "a-2-a"),
    ("[format('{{literal}} {0}', false())]", "{literal} False"),
    ("[format('acr{0}', uniqueString(resourceGroup().id))]", "acr" + unique_string(RG_ID)),
    ("[resourceId('Microsoft.ContainerRegistry/registries', 'r1')]", f"{REG_ID}/r1"),
    ("[resourceId('Microsoft.ContainerRegistry/registries/', 'r1')]", f"{REG_ID}/r1"),
    (
        "[resourceId('Microsoft.ContainerRegistry/registries/replications', 'r1', 'eastus')]",
        f"{REG_ID}/r1/replications/eastus",
    ),
    (
        "[resourceId('other', 'Microsoft.ContainerRegistry/registries', 'r1')]",
        f"/subscriptions/{SUB}/resourceGroups/other/providers/{REG_TYPE}/r1",
    ),
    (
        "[resourceId('s2', 'other', 'Microsoft.ContainerRegistry/registries', 'r1')]",
        f"/subscriptions/s2/resourceGroups/other/providers/{REG_TYPE}/r1",
    ),
    ("[toLower('MiXeD')]", "mixed"),
    ("[toUpper('MiXeD')]", "MIXED"),
    ("[uniqueString('test')]", "rbgf3xv4ufgzg"),
    ("[uniqueString('hello', 'world')]", "a7wkljktk6wne"),
    ("[equals('a', 'a')]", True),
    ("[equals(1, true())]", False),
    ("[equals(parameters('arr'), parameters('arr'))]", True),
    ("[if(parameters('flag'), 'yes', 'no')]", "yes"),
    ("[if(false(), parameters('nosuch'), 'lazy')]", "lazy"),
    ("[not(true())]", False),
    ("[and(true(), true(), false())]", False),
    ("[or(false(), true())]", True),
    ("[length('abcd')]", 4),
    ("[length(parameters('arr'))]", 2),
    ("[length(parameters('obj'))]", 2),
    ("[empty('')]", True),
    ("[empty(parameters('arr'))]", False),
    ("[empty(null())]", True),
    ("[string(parameters('count'))]", "3"),
    ("[string(true())]", "True"),
    ("[string(parameters('obj'))]", '{"k":"v","list":[{"name":"n0"}]}'),
    ("[int('42')]", 42),
    ("[int(parameters('count'))]", 3),
    ("[bool('true')]", True),
    ("[bool(0)]", False),
    ("[replace('a-b-c', '-', '')]", "abc"),
    ("[true()]", True),
    ("[false()]", False),
    ("[null()]", None),
]


@pytest.mark.parametrize(("expression", "expected"), FUNCTION_CASES)
def test_function(expression: str, expected: Any) -> None:
    assert ev(expression) == expected


def test_every_supported_function_is_covered() -> None:
    used = {
        n.lower() for e, _ in FUNCTION_CASES for n in FUNCTION_NAMES if f"{n.lower()}(" in e.lower()
    }
    assert used | {"reference"} == {n.lower() for n in FUNCTION_NAMES}


def test_reference_reads_through_the_callback() -> None:
    seen: list[tuple[str, bool]] = []

    def read(rid: str, full: bool) -> Any:
        seen.append((rid, full))
        return {"properties": {"loginServer": "x"}} if full else {"loginServer": "x"}

    assert (
        ev(
            "[reference(resourceId('Microsoft.ContainerRegistry/registries', 'r1')).loginServer]",
            read,
        )
        == "x"
    )
    assert (
        ev(
            "[reference(resourceId('Microsoft.ContainerRegistry/registries', 'r1'), "
            "'2023-07-01', 'Full').properties.loginServer]",
            read,
        )
        == "x"
    )
    assert seen == [(f"{REG_ID}/r1", False), (f"{REG_ID}/r1", True)]


def test_reference_errors_become_template_errors() -> None:
    def read(rid: str, full: bool) -> Any:
        raise NotFound("ResourceNotFound", "gone")

    with pytest.raises(TemplateError, match=r"'reference': \(ResourceNotFound\) gone"):
        ev("[reference('x').a]", read)


def test_reference_where_nothing_is_deployed_is_refused() -> None:
    err = error(
        template(
            [registry(tags={"a": "[reference('x').y]"})],
            variables={"bad": "[reference('x')]"},
            parameters={"p": {"type": "string", "defaultValue": "[reference('x').y]"}},
        )
    )
    assert err.path == "parameters.p.defaultValue"
    assert "'reference' is not expected at this location" in err.message


@pytest.mark.parametrize(
    ("expression", "detail"),
    [
        ("[toLower()]", "'toLower': function requires 1 argument(s) while 0 were provided"),
        ("[toLower('a', 'b')]", "requires 1 argument(s) while 2 were provided"),
        ("[toLower(1)]", "argument 1 must be a string, not a value of type 'Integer'"),
        ("[uniqueString(1)]", "must be a string"),
        ("[concat('a', parameters('arr'))]", "all be arrays or all be strings"),
        ("[format('{1}', 'a')]", "the format item '{1}' has no argument"),
        ("[format('{0:D2}', 1)]", "format specifiers ('{0:D2}') are not supported"),
        ("[format('{oops', 1)]", "is not valid"),
        ("[resourceId('r1')]", "requires at least 2"),
        (
            "[resourceId('Microsoft.ContainerRegistry/registries/replications', 'r1')]",
            "requires 2 resource name argument(s), 1 were given",
        ),
        (
            "[resourceId('a', 'b', 'c', 'Microsoft.ContainerRegistry/registries', 'r')]",
            "a resource type such as",
        ),
        ("[not('x')]", "must be a boolean"),
        ("[if('x', 1, 2)]", "the condition must be a boolean"),
        ("[int('x')]", "cannot be converted to an integer"),
        ("[bool('maybe')]", "cannot be converted to a boolean"),
        ("[length(1)]", "must be a string, an array or an object"),
        ("[parameters('nosuch')]", "The template parameter 'nosuch' is not found"),
        ("[variables('nosuch')]", "The template variable 'nosuch' is not found"),
        ("[resourceGroup().nosuch]", "'nosuch' doesn't exist, available properties are 'id, "),
        ("[parameters('arr')[5]]", "The index 5 is out of range for an array of length 2"),
        ("[parameters('name').x]", "cannot be read from a value of type 'String'"),
        ("[parameters('arr')['k']]", "cannot be indexed with a value of type 'String'"),
    ],
)
def test_function_errors(expression: str, detail: str) -> None:
    with pytest.raises(TemplateError) as info:
        ev(expression)
    assert detail in info.value.message
    assert info.value.path == "test"


# -- parameters and variables ------------------------------------------------------------------
def test_defaults_are_expressions_and_may_use_other_parameters() -> None:
    t = Template(
        {
            "parameters": {
                "location": {"type": "string", "defaultValue": "[resourceGroup().location]"},
                "name": {"type": "string", "defaultValue": "[concat('r', parameters('location'))]"},
            },
            "resources": [],
        },
        {},
        SCOPE,
    )
    assert t.parameter("name", "x") == "rwestus"


def test_given_values_win_and_names_are_case_insensitive() -> None:
    t = Template(template(), {"NAME": {"value": "other1"}}, SCOPE)
    assert t.parameter("name", "x") == "other1"


def test_parameters_record_leaves_secure_values_out() -> None:
    record = Template(template(), {}, SCOPE).parameters_record()
    assert record["name"] == {"type": "String", "value": "myreg1"}
    assert record["count"] == {"type": "Int", "value": 3}
    assert record["secret"] == {"type": "SecureString"}


@pytest.mark.parametrize(
    ("defs", "given", "path", "detail"),
    [
        (
            {"sku": {"type": "string", "allowedValues": ["Premium"]}},
            {"sku": {"value": "Basic"}},
            "parameters.sku",
            "The value 'Basic' is not part of the allowed value(s): 'Premium'",
        ),
        (
            {"sku": {"type": "string", "defaultValue": "Basic", "allowedValues": ["Premium"]}},
            {},
            "parameters.sku",
            "is not part of the allowed value(s)",
        ),
        (
            {"n": {"type": "int"}},
            {"n": {"value": "5"}},
            "parameters.n",
            "Expected a value of type 'Int', but received a value of type 'String'",
        ),
        ({"b": {"type": "bool"}}, {"b": {"value": 1}}, "parameters.b", "of type 'Bool'"),
        (
            {"a": {"type": "string"}},
            {},
            "parameters.a",
            "The value for the template parameter 'a' is not provided",
        ),
        (
            {"a": {"type": "string"}},
            {"b": {"value": "x"}},
            "parameters.b",
            "The template parameters 'b' are not valid",
        ),
        ({"a": {"type": "string"}}, {"a": "x"}, "parameters.a", "must be an object with a 'value'"),
        (
            {"a": {"type": "string"}},
            {"a": {"reference": {"keyVault": {}}}},
            "parameters.a",
            "Key Vault references in parameters are not supported",
        ),
        (
            {"a": {"type": "string", "minLength": 5}},
            {"a": {"value": "abc"}},
            "parameters.a",
            "the minimum length is 5",
        ),
        (
            {"a": {"type": "string", "maxLength": 2}},
            {"a": {"value": "abc"}},
            "parameters.a",
            "the maximum length is 2",
        ),
        (
            {"n": {"type": "int", "minValue": 1}},
            {"n": {"value": 0}},
            "parameters.n",
            "less than the minimum value 1",
        ),
        (
            {"n": {"type": "int", "maxValue": 1}},
            {"n": {"value": 2}},
            "parameters.n",
            "greater than the maximum value 1",
        ),
        (
            {"a": {"type": "text"}},
            {},
            "parameters.a.type",
            "The parameter type 'text' is not valid",
        ),
        (
            {
                "a": {"type": "string", "defaultValue": "[parameters('b')]"},
                "b": {"type": "string", "defaultValue": "[parameters('a')]"},
            },
            {},
            "parameters.a",
            "depend on each other in a cycle",
        ),
    ],
)
def test_parameter_errors(
    defs: dict[str, Any], given: dict[str, Any], path: str, detail: str
) -> None:
    err = error({"parameters": defs, "resources": []}, given)
    assert (err.path, detail in err.message) == (path, True), err.message


def test_variable_cycles_and_copy_are_refused() -> None:
    with pytest.raises(TemplateError, match="depend on each other in a cycle"):
        Template(
            {"variables": {"a": "[variables('b')]", "b": "[variables('a')]"}, "resources": []},
            {},
            SCOPE,
        ).variable("a", "x")
    with pytest.raises(TemplateError) as info:
        Template({"variables": {"copy": []}, "resources": []}, {}, SCOPE).variable("a", "x")
    assert info.value.path == "variables.copy"


def test_metadata_is_not_evaluated() -> None:
    Template(
        {
            "metadata": {"description": "[not an expression]"},
            "parameters": {
                "a": {
                    "type": "string",
                    "defaultValue": "x",
                    "metadata": {"description": "[optional]"},
                }
            },
            "resources": [],
        },
        {},
        SCOPE,
    )


# -- resources ---------------------------------------------------------------------------------
def test_nested_children_take_relative_type_and_name() -> None:
    t = Template(
        template(
            [
                registry(
                    resources=[
                        {"type": "replications", "name": "eastus", "location": "eastus"},
                        {"type": REPL_TYPE, "name": "myreg1/japaneast", "location": "japaneast"},
                        {
                            "type": "webhooks",
                            "name": "hook1",
                            "location": "westus",
                            "properties": {"serviceUri": "http://h", "actions": ["push"]},
                        },
                    ]
                )
            ]
        ),
        {},
        SCOPE,
    )
    assert [(r.kind, r.name, r.path) for r in t.resources] == [
        ("registry", "myreg1", "resources[0]"),
        ("replication", "myreg1/eastus", "resources[0].resources[0]"),
        ("replication", "myreg1/japaneast", "resources[0].resources[1]"),
        ("webhook", "myreg1/hook1", "resources[0].resources[2]"),
    ]
    assert t.resources[1].id == f"{REG_ID}/myreg1/replications/eastus"
    assert t.resources[3].id == f"{REG_ID}/myreg1/webhooks/hook1"
    # a child depends on its registry without saying so
    assert all(r.depends_on == [f"{REG_ID}/myreg1"] for r in t.resources[1:])


def test_body_is_evaluated_and_holds_only_what_the_provider_gets() -> None:
    t = Template(
        template(
            [
                registry(
                    "[parameters('name')]",
                    tags={"n": "[parameters('name')]"},
                    properties={"adminUserEnabled": "[parameters('flag')]"},
                    comments="x",
                    metadata={"a": 1},
                )
            ]
        ),
        {},
        SCOPE,
    )
    assert t.body(t.resources[0]) == {
        "location": "westus",
        "sku": {"name": "Premium"},
        "tags": {"n": "myreg1"},
        "properties": {"adminUserEnabled": True},
    }


@pytest.mark.parametrize(
    ("resource", "path", "detail"),
    [
        (replica("eastus"), "resources[0].name", "has incorrect segment lengths"),
        (registry("a/b"), "resources[0].name", "has incorrect segment lengths"),
        (
            {"type": "Microsoft.Storage/storageAccounts", "name": "s"},
            "resources[0].type",
            "The resource type 'Microsoft.Storage/storageAccounts' is not supported by acrctl",
        ),
        (
            registry(copy={"name": "c", "count": 2}),
            "resources[0].copy",
            "copy loops are not supported",
        ),
        (registry(scope="x"), "resources[0].scope", "extension resources"),
        (registry(resourceGroup="other"), "resources[0].resourceGroup", "cross-resource-group"),
        ({"type": REG_TYPE}, "resources[0].name", "needs a 'name'"),
        (registry(condition="yes"), "resources[0].condition", "must be a boolean"),
        (registry(dependsOn="x"), "resources[0].dependsOn", "must be an array"),
        (
            registry(resources=[{"type": "replications", "name": "a/b"}]),
            "resources[0].resources[0].name",
            "incorrect segment lengths",
        ),
        (
            registry(resources=[{"type": REPL_TYPE, "name": "other/eastus"}]),
            "resources[0].resources[0].name",
            "names another parent",
        ),
        ("nope", "resources[0]", "must be an object"),
    ],
)
def test_resource_errors(resource: Any, path: str, detail: str) -> None:
    err = error(template([resource]))
    assert (err.path, detail in err.message) == (path, True), err.message


def test_resources_must_be_a_list() -> None:
    assert error({"resources": {"a": registry()}}).path == "resources"


def test_a_resource_listed_twice_is_refused() -> None:
    err = error(template([registry(), registry("MYREG1")]))
    assert err.path == "resources[1]" and "defined multiple times" in err.message


def test_condition_false_skips_the_resource_and_dependencies_on_it() -> None:
    t = Template(
        template(
            [
                registry(condition="[equals(parameters('name'), 'other')]"),
                registry("second1", dependsOn=["myreg1"]),
            ]
        ),
        {},
        SCOPE,
    )
    assert [r.name for r in t.ordered()] == ["second1"]
    assert t.resources[0].depends_on == []


# -- dependsOn ordering ------------------------------------------------------------------------
def test_dependencies_by_id_type_and_name_order_the_resources() -> None:
    t = Template(
        template(
            [
                replica("myreg1/japaneast", dependsOn=["myreg1/eastus"]),
                replica(
                    "myreg1/eastus",
                    dependsOn=["[resourceId('Microsoft.ContainerRegistry/registries', 'myreg1')]"],
                ),
                {
                    "type": HOOK_TYPE,
                    "name": "myreg1/hook1",
                    "location": "japaneast",
                    "dependsOn": [f"{REPL_TYPE}/myreg1/japaneast"],
                },
                registry(),
            ]
        ),
        {},
        SCOPE,
    )
    assert [r.name for r in t.ordered()] == [
        "myreg1",
        "myreg1/eastus",
        "myreg1/japaneast",
        "myreg1/hook1",
    ]
    assert t.resources[2].depends_on == [
        f"{REG_ID}/myreg1/replications/japaneast",
        f"{REG_ID}/myreg1",
    ]


def test_independent_resources_keep_template_order() -> None:
    t = Template(
        template([registry("zzzreg1"), registry("aaareg1"), registry("mmmreg1")]), {}, SCOPE
    )
    assert [r.name for r in t.ordered()] == ["zzzreg1", "aaareg1", "mmmreg1"]


def test_a_dependency_cycle_is_a_clear_error() -> None:
    err = error(
        template(
            [
                registry("rega1", dependsOn=["regc1"]),
                registry("regb1", dependsOn=["rega1"]),
                registry("regc1", dependsOn=["regb1"]),
                registry("free1"),
            ]
        )
    )
    assert err.path == "resources[0].dependsOn"
    assert "Circular dependency detected on resources: " in err.message
    for name in ("rega1", "regb1", "regc1"):
        assert f"{REG_ID}/{name}'" in err.message
    assert "free1" not in err.message


def test_depending_on_itself_is_a_cycle() -> None:
    err = error(template([registry(dependsOn=["myreg1"])]))
    assert "Circular dependency" in err.message


def test_an_unknown_dependency_is_named() -> None:
    err = error(template([registry(), replica("myreg1/eastus", dependsOn=["nosuch1"])]))
    assert err.path == "resources[1].dependsOn[0]"
    assert err.message == "The resource 'nosuch1' is not defined in the template."


def test_reference_in_a_body_is_detected() -> None:
    t = Template(
        template(
            [
                registry(),
                replica("myreg1/eastus", tags={"login": "[reference('myreg1').loginServer]"}),
            ]
        ),
        {},
        SCOPE,
    )
    assert [r.uses_reference for r in t.resources] == [False, True]


# -- outputs -----------------------------------------------------------------------------------
def test_outputs() -> None:
    t = Template(
        template(
            outputs={
                "name": {"type": "string", "value": "[parameters('name')]"},
                "n": {"type": "int", "value": "[parameters('count')]"},
                "hidden": {"type": "securestring", "value": "[parameters('secret')]"},
                "skipped": {"type": "string", "value": "x", "condition": "[false()]"},
            }
        ),
        {},
        SCOPE,
    )
    assert t.outputs() == {
        "name": {"type": "String", "value": "myreg1"},
        "n": {"type": "Int", "value": 3},
        "hidden": {"type": "SecureString"},
    }


def test_absurdly_deep_nesting_is_a_template_error() -> None:
    deep = "[" + "concat(" * 5000 + "'a'" + ")" * 5000 + "]"
    err = error(template([registry(location=deep)]))
    assert err.path == "resources[0].location" and "nested too deeply" in err.message
