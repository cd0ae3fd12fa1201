"""Names as ARM validates them, wherever a name enters (issue 11 item 10), in-process and
against a real server: a resource group is 1-90 letters, digits (Unicode, as .NET's
Char.IsLetterOrDigit), '-', '_', '.', '(' and ')', not ending in a period; a registry,
replication or webhook is 5-50 ASCII letters and digits. A trailing newline (`%0A`) is no
exception (Python's `$` matches before one)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

pytest.register_assert_rewrite("api_harness")
pytest_plugins = ("api_harness",)

from api_harness import ACR, Api  # noqa: E402

GROUP_CHARS = "The name can only be a letter, digit, '-', '.', '(', ')' or '_'."


def error(resp: httpx.Response, status: int, code: str, message: str) -> None:
    assert resp.status_code == status, (resp.status_code, resp.text)
    assert resp.json() == {"error": {"code": code, "message": message}}


def group_names(api: Api) -> list[str]:
    return [
        g["name"]
        for g in api.get(f"{api.sub_path}/resourcegroups", api_version="2022-09-01").json()["value"]
    ]


# == resource groups ===========================================================================


@pytest.mark.parametrize(
    ("raw", "shown", "bad"),
    [
        ("rg%0A", "rg\\n", "\\n"),  # the case: a trailing newline
        ("rg%00x", "rg\\x00x", "\\x00"),
        ("my%20rg", "my rg", " "),
        ("rg%C2%B2", "rg\u00b2", "\u00b2"),  # superscript two: Python's \w, not a .NET digit
        ("rg%E2%80%A8", "rg\\u2028", "\\u2028"),  # a line separator
        ("rg%F0%9D%92%9C", "rg\U0001d49c", "\U0001d49c"),  # a letter outside the BMP (surrogates)
        ("a%2Bb%21", "a+b!", "+!"),
    ],
)
def test_group_name_with_invalid_characters_is_400(
    api: Api, raw: str, shown: str, bad: str
) -> None:
    resp = api.put(api.rg_path(raw), {"location": "westus"})
    error(
        resp,
        400,
        "InvalidResourceGroup",
        f"The provided resource group name '{shown}' has these invalid characters: "
        f"'{bad}'. {GROUP_CHARS}",
    )
    assert group_names(api) == []


def test_group_name_ending_in_a_period_is_400(api: Api) -> None:
    error(
        api.put(api.rg_path("rg."), {"location": "westus"}),
        400,
        "InvalidResourceGroup",
        "The provided resource group name 'rg.' cannot end with a period.",
    )


def test_group_name_of_91_characters_is_400(api: Api) -> None:
    error(
        api.put(api.rg_path("a" * 91), {"location": "westus"}),
        400,
        "InvalidResourceGroup",
        f"The provided resource group name '{'a' * 91}' is 91 characters long; the name "
        "must be 1 to 90 characters long.",
    )


def test_a_long_invalid_group_name_is_cut_in_the_message(api: Api) -> None:
    resp = api.put(api.rg_path("a" * 200 + "%0A"), {"location": "westus"})
    error(
        resp,
        400,
        "InvalidResourceGroup",
        f"The provided resource group name '{'a' * 100}...' has these invalid characters: "
        f"'\\n'. {GROUP_CHARS}",
    )


@pytest.mark.parametrize("name", ["a" * 90, "r", "Grüppe-1_(x).y", "日本語のグループ", "rg٣"])
def test_valid_group_names_are_created(api: Api, name: str) -> None:
    resp = api.put(api.rg_path(name), {"location": "westus"})
    assert resp.status_code == 201, resp.text
    assert resp.json()["name"] == name


# == registries, replications, webhooks ===========================================================

KINDS = {
    "registry": (
        "RegistryNameInvalid",
        lambda api, n: api.reg_path(n),
        {"location": "westus", "sku": {"name": "Premium"}},
    ),
    "replication": ("InvalidResourceName", lambda api, n: api.repl_path(n), {"location": "eastus"}),
    "webhook": (
        "InvalidResourceName",
        lambda api, n: api.hook_path(n),
        {
            "location": "westus",
            "properties": {"serviceUri": "http://127.0.0.1:9/x", "actions": ["push"]},
        },
    ),
}
BAD_NAMES = [  # (in the URL, in the message)
    ("abcde%0A", "abcde\\n"),  # the case
    ("abcde%0D%0A", "abcde\\r\\n"),
    ("abcde.", "abcde."),
    ("a" * 51, "a" * 51),
    ("abcd", "abcd"),
    ("abcdé", "abcdé"),
    ("abcd١", "abcd١"),  # an Arabic-Indic digit: str.isalnum, not ASCII
]


@pytest.fixture
def premium(api: Api) -> Api:
    api.create_group()
    api.create_registry(sku="Premium")
    return api


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize(("raw", "shown"), BAD_NAMES)
def test_invalid_resource_names_are_400(premium: Api, kind: str, raw: str, shown: str) -> None:
    code, path, body = KINDS[kind]
    resp = premium.put(path(premium, raw), body)
    error(
        resp,
        400,
        code,
        f"The {kind} name '{shown}' is invalid: {kind} names must be 5 to 50 characters "
        "long and contain only letters and digits.",
    )


@pytest.mark.parametrize("kind", list(KINDS))
def test_nothing_is_created_under_a_newline_name(premium: Api, kind: str) -> None:
    _, path, body = KINDS[kind]
    name = "abcdefg%0A"
    assert premium.put(path(premium, name), body).status_code == 400
    listing: dict[str, Any] = {
        "registry": f"{premium.rg_path()}/providers/{ACR}/registries",
        "replication": f"{premium.reg_path()}/replications",
        "webhook": f"{premium.reg_path()}/webhooks",
    }
    names = [x["name"] for x in premium.get(listing[kind]).json()["value"]]
    assert not any(n.startswith("abcdefg") for n in names), names


@pytest.mark.parametrize("name", ["abcde\n", "abcde\r\n", "abcde\u0000", "abcdé"])
def test_check_name_availability_says_invalid(api: Api, name: str) -> None:
    resp = api.post(
        f"{api.sub_path}/providers/{ACR}/checkNameAvailability",
        {"name": name, "type": f"{ACR}/registries"},
    )
    assert resp.status_code == 200
    assert resp.json() == {
        "nameAvailable": False,
        "reason": "Invalid",
        "message": "Registry names must be 5 to 50 characters long and "
        "contain only letters and digits.",
    }
