"""The registry admin user: listCredentials / regenerateCredential over ARM (in-process and
a real server), RBAC on them, the backend's password check for the data plane, and
`acrctl credential show|renew` through CliRunner."""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner

pytest.register_assert_rewrite("api_harness")
pytest_plugins = ("api_harness",)

from api_harness import ACR_CONFIG_READER, READER, Api  # noqa: E402

from acrctl.cli.main import cli  # noqa: E402
from acrctl.testing import AcrctlMock  # noqa: E402


def creds(api: Api, **kw: Any) -> Any:
    return api.post(api.reg_path() + "/listCredentials", **kw)


def passwords(body: dict[str, Any]) -> dict[str, str]:
    return {p["name"]: p["value"] for p in body["passwords"]}


def enabled_registry(api: Api) -> None:
    api.create_group()
    api.create_registry(properties={"adminUserEnabled": True})


# == ARM =======================================================================================


def test_list_credentials_gives_the_name_and_two_passwords(api: Api) -> None:
    enabled_registry(api)
    resp = creds(api)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["username"] == "myreg1"
    assert [p["name"] for p in body["passwords"]] == ["password", "password2"]
    pw = passwords(body)
    assert len(pw["password"]) == 52 and len(pw["password2"]) == 52
    assert pw["password"] != pw["password2"]
    assert creds(api).json() == body  # retrievable again, unchanged


def test_passwords_never_appear_in_the_registry_document(api: Api) -> None:
    enabled_registry(api)
    pw = passwords(creds(api).json())
    text = api.get(api.reg_path()).text
    assert pw["password"] not in text and pw["password2"] not in text


def test_list_credentials_with_admin_disabled_is_refused_as_arm_does(api: Api) -> None:
    api.create_group()
    reg = api.create_registry()
    resp = creds(api)
    assert resp.status_code == 400
    assert resp.json()["error"] == {
        "code": "UnAuthorizedForCredentialOperations",
        "message": f"Cannot perform credential operations for {reg['id']} as admin user is "
        "disabled. Kindly enable admin user as per docs: https://docs.microsoft.com/"
        "en-us/azure/container-registry/container-registry-authentication"
        "#admin-account",
    }


def test_regenerate_changes_only_the_named_password(api: Api) -> None:
    enabled_registry(api)
    before = passwords(creds(api).json())
    resp = api.post(api.reg_path() + "/regenerateCredential", {"name": "password2"})
    assert resp.status_code == 200, resp.text
    after = passwords(resp.json())
    assert after["password"] == before["password"]
    assert after["password2"] != before["password2"]
    assert passwords(creds(api).json()) == after


def test_regenerate_rejects_an_unknown_password_name(api: Api) -> None:
    enabled_registry(api)
    resp = api.post(api.reg_path() + "/regenerateCredential", {"name": "password3"})
    assert resp.status_code == 400
    assert resp.json()["error"] == {
        "code": "InvalidRequestContent",
        "message": "The request content was invalid and could not be deserialized: 'name' "
        "must be one of password, password2.",
    }


def test_passwords_survive_registry_updates_and_admin_toggling(api: Api) -> None:
    enabled_registry(api)
    before = creds(api).json()
    for value in (False, True):
        resp = api.patch(
            api.reg_path(), {"properties": {"adminUserEnabled": value}, "tags": {"t": str(value)}}
        )
        assert resp.status_code == 200, resp.text
    assert creds(api).json() == before


def test_list_credentials_on_a_missing_registry_is_404(api: Api) -> None:
    api.create_group()
    resp = creds(api)
    assert resp.status_code == 404
    assert resp.json()["error"]["code"] == "ResourceNotFound"


def test_reader_may_not_list_credentials(api: Api) -> None:
    enabled_registry(api)
    reader = api.principal(role=READER)
    resp = creds(api, token=reader)
    assert resp.status_code == 403
    assert resp.json()["error"]["code"] == "AuthorizationFailed"
    assert (
        "Microsoft.ContainerRegistry/registries/listCredentials/action"
        in resp.json()["error"]["message"]
    )


def test_config_reader_lists_but_may_not_regenerate(api: Api) -> None:
    enabled_registry(api)
    who = api.principal(role=ACR_CONFIG_READER)
    assert creds(api, token=who).status_code == 200
    resp = api.post(api.reg_path() + "/regenerateCredential", {"name": "password"}, token=who)
    assert resp.status_code == 403
    assert (
        "Microsoft.ContainerRegistry/registries/regenerateCredential/action"
        in resp.json()["error"]["message"]
    )


# == the backend's check for the token service ===================================================


def test_check_admin_password_accepts_both_passwords_by_name_or_login_server(api: Api) -> None:
    enabled_registry(api)
    pw = passwords(creds(api).json())
    check = api.backend.registries.check_admin_password
    assert check("myreg1", "myreg1", pw["password"])
    assert check("MyReg1.azurecr.io", "MYREG1", pw["password2"])


def test_check_admin_password_refuses_wrong_user_password_or_registry(api: Api) -> None:
    enabled_registry(api)
    api.create_registry("otherreg1", properties={"adminUserEnabled": True})
    pw = passwords(creds(api).json())["password"]
    check = api.backend.registries.check_admin_password
    assert not check("myreg1", "myreg1", pw + "x")
    assert not check("myreg1", "myreg1", "")
    assert not check("myreg1", "otherreg1", pw)
    assert not check("otherreg1", "otherreg1", pw)
    assert not check("nosuchreg", "nosuchreg", pw)


def test_check_admin_password_refuses_a_disabled_admin_user(api: Api) -> None:
    enabled_registry(api)
    pw = passwords(creds(api).json())["password"]
    api.patch(api.reg_path(), {"properties": {"adminUserEnabled": False}})
    assert not api.backend.registries.check_admin_password("myreg1", "myreg1", pw)


def test_check_admin_password_refuses_a_renewed_password(api: Api) -> None:
    enabled_registry(api)
    old = passwords(creds(api).json())["password"]
    api.post(api.reg_path() + "/regenerateCredential", {"name": "password"})
    assert not api.backend.registries.check_admin_password("myreg1", "myreg1", old)


# == the CLI =====================================================================================


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def cli_registry(admin: bool) -> None:
    assert run("group", "create", "-n", "rg1", "-l", "westus")[0] == 0
    assert (
        run(
            "create",
            "-n",
            "myreg1",
            "-g",
            "rg1",
            "--sku",
            "Basic",
            "--admin-enabled",
            "true" if admin else "false",
        )[0]
        == 0
    )


def test_cli_credential_show_prints_az_shape(acrctl_mock: AcrctlMock) -> None:
    cli_registry(admin=True)
    code, out, _ = run("credential", "show", "-n", "myreg1")
    assert code == 0
    doc = json.loads(out)
    assert sorted(doc) == ["passwords", "username"]
    assert doc["username"] == "myreg1"
    assert [p["name"] for p in doc["passwords"]] == ["password", "password2"]


def test_cli_credential_show_table(acrctl_mock: AcrctlMock) -> None:
    cli_registry(admin=True)
    pw = json.loads(run("credential", "show", "-n", "myreg1")[1])["passwords"]
    code, out, _ = run("credential", "show", "-n", "myreg1", "-o", "table")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["USERNAME", "PASSWORD", "PASSWORD2"]
    assert lines[2].split() == ["myreg1", pw[0]["value"], pw[1]["value"]]


def test_cli_credential_show_with_admin_disabled_says_how_to_enable(
    acrctl_mock: AcrctlMock,
) -> None:
    cli_registry(admin=False)
    code, out, err = run("credential", "show", "-n", "myreg1")
    assert (code, out) == (1, "")
    assert err == (
        "ERROR: Run 'acrctl update -n myreg1 --admin-enabled true' to enable admin first.\n"
    )


def test_cli_credential_renew_changes_one_password(acrctl_mock: AcrctlMock) -> None:
    cli_registry(admin=True)
    before = json.loads(run("credential", "show", "-n", "myreg1")[1])["passwords"]
    code, out, _ = run("credential", "renew", "-n", "myreg1", "--password-name", "password")
    assert code == 0
    after = json.loads(out)["passwords"]
    assert after[0]["value"] != before[0]["value"]
    assert after[1] == before[1]


def test_cli_credential_renew_rejects_a_bad_password_name(acrctl_mock: AcrctlMock) -> None:
    cli_registry(admin=True)
    code, _, err = run("credential", "renew", "-n", "myreg1", "--password-name", "pw3")
    assert code == 2
    assert (
        "'pw3' is not a valid value for '--password-name'. Allowed values: password, "
        "password2." in err
    )
