"""Bounded ARM template evaluation (issue 11 item 4, "template bomb"): a small template cannot
make the server build a huge value, compute for long, recurse deeply or stall /healthz. Each
limit is a `template_*` setting; past one, the deployment PUT and what-if answer 400
InvalidTemplate naming the limit, its value and the setting.

The bomb itself runs against a real server (ThreadedServer over HTTP); the limits one by
one run in-process with small settings."""

from __future__ import annotations

import re
import threading
import time
import tracemalloc
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

pytest.register_assert_rewrite("api_harness")
pytest_plugins = ("api_harness",)

from api_harness import ACR, Api  # noqa: E402

from acrctl.backend import templates  # noqa: E402
from acrctl.backend.core import Settings  # noqa: E402
from acrctl.backend.template_limits import Limits  # noqa: E402
from acrctl.backend.templates import Scope, Template  # noqa: E402

RES_API = "2022-09-01"
REG = f"{ACR}/registries"
SERVER = pytest.mark.parametrize("api", ["server"], indirect=True)
INPROCESS = pytest.mark.parametrize("api", ["inprocess"], indirect=True)
FAILED = "Deployment template validation failed at"


# == helpers ==================================================================================
def dep_path(api: Api, name: str = "deploy1") -> str:
    return f"{api.rg_path()}/providers/Microsoft.Resources/deployments/{name}"


def deploy(
    api: Api, template: dict[str, Any], params: dict[str, Any] | None = None, name: str = "deploy1"
) -> httpx.Response:
    body = {"properties": {"template": template, "parameters": params or {}, "mode": "Incremental"}}
    return api.put(dep_path(api, name), body, api_version=RES_API)


def what_if(api: Api, template: dict[str, Any]) -> httpx.Response:
    body = {"properties": {"template": template, "mode": "Incremental"}}
    return api.post(f"{dep_path(api, 'whatif1')}/whatIf", body, api_version=RES_API)


def refusal(resp: httpx.Response) -> tuple[int, str, str]:
    """(status, code, message) of an error answer."""
    err = resp.json()["error"]
    return resp.status_code, err["code"], err["message"]


def limit_error(path: str, detail: str) -> tuple[int, str, str]:
    return 400, "InvalidTemplate", f"{FAILED} '{path}': {detail}"


def registry(name: str = "myreg1", **kw: Any) -> dict[str, Any]:
    return {
        "type": REG,
        "apiVersion": "2023-07-01",
        "name": name,
        "location": "westus",
        "sku": {"name": "Basic"},
        **kw,
    }


def template(*resources: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "$schema": "https://schema.management.azure.com/schemas/2019-04-01/"
        "deploymentTemplate.json#",
        "contentVersion": "1.0.0.0",
        "resources": list(resources),
        **extra,
    }


def doubling(seed: str, times: int) -> dict[str, str]:
    """Variables v0 = seed, v1 = concat(v0, v0), ... v<times>: the issue's bomb."""
    out = {"v0": seed}
    for i in range(1, times + 1):
        out[f"v{i}"] = f"[concat(variables('v{i - 1}'), variables('v{i - 1}'))]"
    return out


# 32 characters doubled 21 times is 64 Mi characters: before the limits this PUT took 3.1 s,
# grew the server by 453 MB and held /healthz for 3 s. v15 is 1 Mi characters, the limit.
BOMB = template(registry(tags={"t": "[variables('v21')]"}), variables=doubling("a" * 32, 21))
BOMB_ERROR = limit_error(
    "variables.v16",
    "The function 'concat' would return a string of "
    "2097152 characters; the limit is 1048576 (setting "
    "template_max_string_length).",
)


@pytest.fixture
def group(api: Api) -> Api:
    api.create_group()
    return api


@pytest.fixture
def traced() -> Iterator[None]:
    tracemalloc.start()
    try:
        yield
    finally:
        tracemalloc.stop()


# == the bomb, against a real server ==========================================================
@SERVER
def test_a_template_bomb_is_refused_with_400_naming_the_limit(group: Api) -> None:
    assert refusal(deploy(group, BOMB)) == BOMB_ERROR


@SERVER
def test_a_template_bomb_is_refused_in_well_under_a_second(group: Api) -> None:
    deploy(group, BOMB)  # the first deployment loads the template engine
    started = time.monotonic()
    resp = deploy(group, BOMB)
    elapsed = time.monotonic() - started
    assert resp.status_code == 400
    assert elapsed < 0.5, elapsed


@SERVER
def test_a_template_bomb_grows_server_memory_by_little(group: Api, traced: None) -> None:
    """tracemalloc sees the server's allocations too: it runs in this process."""
    deploy(group, BOMB)
    tracemalloc.reset_peak()
    before = tracemalloc.get_traced_memory()[0]
    resp = deploy(group, BOMB)
    peak = tracemalloc.get_traced_memory()[1] - before
    assert resp.status_code == 400
    assert peak < 16 * 1024 * 1024, f"{peak / 1e6:.1f} MB"


@SERVER
def test_healthz_answers_while_template_bombs_are_sent(group: Api) -> None:
    statuses: list[int] = []

    def bombs() -> None:
        with httpx.Client(base_url=group.base_url, timeout=30) as http:
            for _ in range(5):
                resp = http.put(
                    dep_path(group),
                    params={"api-version": RES_API},
                    json={"properties": {"template": BOMB}},
                    headers={"Authorization": f"Bearer {group.admin_token}"},
                )
                statuses.append(resp.status_code)

    sender = threading.Thread(target=bombs)
    sender.start()
    slowest, answers = 0.0, []
    with httpx.Client(base_url=group.base_url, timeout=30) as http:
        while sender.is_alive():
            started = time.monotonic()
            answers.append(http.get("/healthz").status_code)
            slowest = max(slowest, time.monotonic() - started)
            time.sleep(0.01)
        answers.append(http.get("/healthz").status_code)
    sender.join()
    assert statuses == [400] * 5
    assert set(answers) == {200}
    assert slowest < 0.25, slowest


@SERVER
def test_a_long_but_legal_variable_chain_still_deploys(group: Api) -> None:
    """45 variables deep is 90 levels of nesting: under the default of 100, and no
    RecursionError on the server's thread."""
    chain = {"v0": "myreg"} | {
        f"v{i}": f"[concat(variables('v{i - 1}'), '')]" for i in range(1, 46)
    }
    resp = deploy(group, template(registry("[concat(variables('v45'), '1')]"), variables=chain))
    assert resp.status_code == 201, resp.text


# == each limit, with a small template ========================================================
@INPROCESS
def test_concat_past_the_string_length_limit_is_refused(group: Api) -> None:
    group.set_settings(template_max_string_length=10)
    tmpl = template(
        variables={"s": "[concat('abcdef', 'ghijk')]"},
        outputs={"o": {"type": "string", "value": "[variables('s')]"}},
    )
    assert refusal(deploy(group, tmpl)) == limit_error(
        "variables.s",
        "The function 'concat' would return a string of 11 characters; the "
        "limit is 10 (setting template_max_string_length).",
    )


@INPROCESS
def test_format_is_measured_before_it_is_built(group: Api) -> None:
    group.set_settings(template_max_string_length=10)
    tmpl = template(outputs={"o": {"type": "string", "value": "[format('{0}{0}{0}', 'abcd')]"}})
    assert refusal(deploy(group, tmpl)) == limit_error(
        "outputs.o.value",
        "The function 'format' would return a string of 12 characters; "
        "the limit is 10 (setting template_max_string_length).",
    )


@INPROCESS
def test_replace_is_measured_before_it_is_built(group: Api) -> None:
    group.set_settings(template_max_string_length=10)
    tmpl = template(outputs={"o": {"type": "string", "value": "[replace('aaaa', 'a', 'bbb')]"}})
    assert refusal(deploy(group, tmpl)) == limit_error(
        "outputs.o.value",
        "The function 'replace' would return a string of 12 characters; "
        "the limit is 10 (setting template_max_string_length).",
    )


@INPROCESS
def test_string_of_an_object_is_measured_before_it_is_serialized(group: Api) -> None:
    group.set_settings(template_max_string_length=10)
    tmpl = template(
        variables={"o": {"key": "abcdefghij"}},
        outputs={"o": {"type": "string", "value": "[string(variables('o'))]"}},
    )
    assert refusal(deploy(group, tmpl)) == limit_error(
        "outputs.o.value",
        "The function 'string' would return a string of 15 characters; "
        "the limit is 10 (setting template_max_string_length).",
    )


@INPROCESS
def test_concat_of_arrays_past_the_value_size_limit_is_refused(group: Api) -> None:
    group.set_settings(template_max_value_size=20)
    tmpl = template(
        variables={"a": ["abcdefghij"], "b": "[concat(variables('a'), variables('a'))]"},
        outputs={"o": {"type": "array", "value": "[variables('b')]"}},
    )
    assert refusal(deploy(group, tmpl)) == limit_error(
        "variables.b",
        "The function 'concat' would return an array or object of size 24; "
        "the limit is 20 (setting template_max_value_size).",
    )


@INPROCESS
def test_an_array_holding_another_twice_per_level_is_measured_in_full(group: Api) -> None:
    """x1 = [x0, x0], x2 = [x1, x1], ...: few objects, but 2^16 copies of x0 once
    serialized. Each part is counted as often as it appears, so x13 is refused at its
    serialized size (before the limits the deployment stored 64 MB of outputs)."""
    variables: dict[str, Any] = {"x0": ["a" * 1000]}
    for i in range(1, 17):
        variables[f"x{i}"] = [f"[variables('x{i - 1}')]"] * 2
    tmpl = template(
        variables=variables, outputs={"o": {"type": "array", "value": "[variables('x16')]"}}
    )
    assert refusal(deploy(group, tmpl)) == limit_error(
        "variables.x13",
        "The value is an array or object of size 8232957; the limit is "
        "4194304 (setting template_max_value_size).",
    )


@INPROCESS
def test_a_value_repeated_across_resources_counts_towards_the_total(group: Api) -> None:
    """The variable is built once, but each resource body holds all of it."""
    group.set_settings(template_max_total_size=3000)
    tmpl = template(
        *[registry(f"myreg{i}", tags={"t": "[variables('v')]"}) for i in range(5)],
        variables={"v": "x" * 1000},
    )
    assert refusal(deploy(group, tmpl)) == limit_error(
        "resources[1]",
        "The values the template builds and produces add up to a size of "
        "3298; the limit is 3000 (setting template_max_total_size).",
    )


@INPROCESS
def test_more_steps_than_the_limit_are_refused(group: Api) -> None:
    group.set_settings(template_max_steps=5)
    tmpl = template(
        outputs={
            "o": {
                "type": "string",
                "value": "[concat(toLower('a'), "
                "toLower('b'), toLower('c'), toLower('d'), toUpper('e'))]",
            }
        }
    )
    assert refusal(deploy(group, tmpl)) == limit_error(
        "outputs.o.value",
        "The evaluation takes more than 5 steps (function calls, property "
        "and index reads); the limit is 5 (setting template_max_steps).",
    )


@INPROCESS
def test_an_expression_nested_past_the_depth_limit_is_refused(group: Api) -> None:
    group.set_settings(template_max_depth=3)
    tmpl = template(
        outputs={"o": {"type": "string", "value": "[concat(concat(concat(concat('a'))))]"}}
    )
    assert refusal(deploy(group, tmpl)) == limit_error(
        "outputs.o.value",
        "The expression is nested too deeply (more than 3 levels); the "
        "limit is 3 (setting template_max_depth).",
    )


@INPROCESS
def test_variables_nested_past_the_depth_limit_are_refused(group: Api) -> None:
    group.set_settings(template_max_depth=3)
    tmpl = template(
        variables={
            "a": "x",
            "b": "[variables('a')]",
            "c": "[variables('b')]",
            "d": "[variables('c')]",
            "e": "[variables('d')]",
        },
        outputs={"o": {"type": "string", "value": "[variables('e')]"}},
    )
    assert refusal(deploy(group, tmpl)) == limit_error(
        "variables.c",
        "The expressions, variable references, arrays and objects are nested "
        "too deeply (more than 3 levels); the limit is 3 (setting template_max_depth).",
    )


@INPROCESS
def test_an_evaluation_past_the_time_limit_is_refused(group: Api) -> None:
    group.set_settings(template_max_seconds=0.05, template_max_steps=10**7)
    calls = ",".join(["toLower('a')"] * 200)
    tmpl = template(
        variables={f"v{i}": f"[concat({calls}, '{i}')]" for i in range(300)},
        outputs={f"o{i}": {"type": "string", "value": f"[variables('v{i}')]"} for i in range(300)},
    )
    started = time.monotonic()
    status, code, message = refusal(deploy(group, tmpl))
    assert time.monotonic() - started < 1.0
    assert (status, code) == (400, "InvalidTemplate")
    assert re.fullmatch(
        rf"{FAILED} 'variables\.v\d+': The evaluation takes longer than 0\.05 "
        r"seconds; the limit is 0\.05 seconds \(setting "
        r"template_max_seconds\)\.",
        message,
    ), message


@INPROCESS
def test_more_resources_than_the_limit_are_refused(group: Api) -> None:
    group.set_settings(template_max_resources=2)
    tmpl = template(registry("myreg1"), registry("myreg2"), registry("myreg3"))
    assert refusal(deploy(group, tmpl)) == limit_error(
        "resources[2]",
        "The template defines more than 2 resources; the limit is 2 "
        "(setting template_max_resources).",
    )


@INPROCESS
def test_an_expression_past_the_length_limit_is_refused(group: Api) -> None:
    group.set_settings(template_max_expression_length=20)
    tmpl = template(outputs={"o": {"type": "string", "value": "[concat('aaaaaaaaaa', 'b')]"}})
    assert refusal(deploy(group, tmpl)) == limit_error(
        "outputs.o.value",
        "The expression is 25 characters long; the limit is 20 (setting "
        "template_max_expression_length).",
    )


@INPROCESS
def test_what_if_is_bounded_too(group: Api) -> None:
    assert refusal(what_if(group, BOMB)) == BOMB_ERROR


@INPROCESS
def test_a_bomb_in_the_outputs_is_refused_before_anything_is_deployed(group: Api) -> None:
    tmpl = template(
        registry(),
        variables=doubling("a" * 32, 21),
        outputs={"o": {"type": "string", "value": "[variables('v21')]"}},
    )
    assert refusal(deploy(group, tmpl)) == BOMB_ERROR
    assert group.get(group.reg_path()).status_code == 404


# == the other amplifiers =====================================================================
@INPROCESS
def test_a_copy_loop_of_a_million_is_refused_at_once(group: Api) -> None:
    tmpl = template(registry("myreg1", copy={"name": "regs", "count": 1_000_000}))
    started = time.monotonic()
    resp = deploy(group, tmpl)
    assert time.monotonic() - started < 0.5
    assert refusal(resp) == limit_error(
        "resources[0].copy", "copy loops are not supported by acrctl; list each resource."
    )


@INPROCESS
def test_a_nested_deployment_is_refused(group: Api) -> None:
    nested = {
        "type": "Microsoft.Resources/deployments",
        "apiVersion": "2022-09-01",
        "name": "inner",
        "properties": {"mode": "Incremental", "template": BOMB},
    }
    assert refusal(deploy(group, template(nested))) == limit_error(
        "resources[0].type",
        "The resource type 'Microsoft.Resources/deployments' is not "
        "supported by acrctl. Templates can deploy Microsoft.ContainerRegistry/registries, "
        "Microsoft.ContainerRegistry/registries/replications, "
        "Microsoft.ContainerRegistry/registries/webhooks.",
    )


@INPROCESS
def test_an_integer_literal_past_64_bits_is_refused(group: Api) -> None:
    tmpl = template(outputs={"o": {"type": "int", "value": f"[int({'9' * 5000})]"}})
    assert refusal(deploy(group, tmpl)) == limit_error(
        "outputs.o.value",
        f"The template language expression 'int({'9' * 5000})' is not "
        f"valid: the integer '{'9' * 40}' at position 5 is out of range (64-bit).",
    )


@INPROCESS
def test_int_of_a_5000_digit_string_is_a_400_not_a_500(group: Api) -> None:
    tmpl = template(
        registry(tags={"n": "[string(int(parameters('n')))]"}), parameters={"n": {"type": "string"}}
    )
    assert refusal(deploy(group, tmpl, {"n": {"value": "9" * 5000}})) == limit_error(
        "resources[0].tags.n",
        "Unable to evaluate template language function 'int': "
        f"'{'9' * 100}... (5000 characters)' is out of range for an integer (64-bit).",
    )


@INPROCESS
def test_a_format_index_of_5000_digits_is_a_400_not_a_500(group: Api) -> None:
    fmt = "{" + "9" * 5000 + "}"
    tmpl = template(registry(tags={"f": f"[format('{fmt}', 'a')]"}))
    assert refusal(deploy(group, tmpl)) == limit_error(
        "resources[0].tags.f",
        "Unable to evaluate template language function 'format': the "
        f"format string '{fmt}' is not valid.",
    )


@INPROCESS
def test_an_unknown_function_under_a_metadata_key_is_a_400_not_a_500(group: Api) -> None:
    """Keys named 'metadata' are skipped by the up-front check, but a resource's properties
    are evaluated whole."""
    tmpl = template(registry(properties={"metadata": {"k": "[listKeys('x')]"}}))
    assert refusal(deploy(group, tmpl)) == limit_error(
        "resources[0].properties.metadata.k",
        "The template function 'listKeys' is not "
        "supported by acrctl. Supported functions: and, bool, concat, deployment, empty, "
        "equals, false, format, if, int, length, not, null, or, parameters, reference, "
        "replace, resourceGroup, resourceId, string, subscription, toLower, toUpper, true, "
        "uniqueString, variables.",
    )


@INPROCESS
def test_many_dependencies_are_resolved_in_linear_time(group: Api) -> None:
    """400 resources depending on up to 200 earlier ones (a 770 KB template): resolving
    them took 35 s; the last one names a missing resource, so nothing is deployed."""
    names = [f"reg{i:05d}" for i in range(400)]
    resources = [registry(n, dependsOn=names[max(0, i - 200) : i]) for i, n in enumerate(names)]
    resources[-1]["dependsOn"].append("missing1")
    started = time.monotonic()
    resp = deploy(group, template(*resources))
    assert time.monotonic() - started < 2.0
    assert refusal(resp) == limit_error(
        "resources[399].dependsOn[200]", "The resource 'missing1' is not defined in the template."
    )


@INPROCESS
def test_many_variables_are_found_in_constant_time(group: Api) -> None:
    """10,000 variables read once each: each read scanned them all (5,000 took 2.6 s, 20,000
    21 s)."""
    group.set_settings(template_max_seconds=30.0)  # this measures the lookups, not the limit
    variables = {f"a{i}": "x" for i in range(10_000)}
    outputs = {
        f"o{j}": {
            "type": "int",
            "value": "[length(concat("
            + ",".join(f"variables('a{i}')" for i in range(j * 1000, (j + 1) * 1000))
            + "))]",
        }
        for j in range(10)
    }
    started = time.monotonic()
    resp = deploy(group, template(variables=variables, outputs=outputs))
    assert time.monotonic() - started < 2.0
    assert resp.status_code == 201, resp.text


# == the engine without HTTP ==================================================================
def test_the_default_limits_are_the_settings_defaults() -> None:
    assert Limits.from_settings(Settings()) == Limits()


def test_long_expressions_are_not_kept_in_the_shared_parse_cache() -> None:
    long = "concat(" + ", ".join([f"'{i}'" for i in range(200)]) + ")"
    group = {"id": "/subscriptions/s/resourceGroups/rg1", "name": "rg1", "location": "westus"}
    tmpl = Template(
        template(outputs={"o": {"type": "string", "value": f"[{long}]"}}),
        {},
        Scope("s", group, "d"),
    )
    assert len(long) > templates.PARSED_LENGTH
    assert tmpl.outputs()["o"]["value"] == "".join(str(i) for i in range(200))
    assert long not in templates._PARSED
