"""What a new user coming from az hits (issue 12 items 4, 5, 6, 8): global options before the
subcommand, `account show` in az's shape for a principal scoped to a resource group, the
default registry and `acrctl configure --defaults`, and the prompts, messages and colours.
CliRunner on the embedded backend; server-mode cases against a real ThreadedServer."""

from __future__ import annotations

import io
import json
import os
import uuid
from collections.abc import Iterator
from typing import Any

import click.testing
import httpx
import pytest
from click.testing import CliRunner

from acrctl import __version__
from acrctl.backend.clock import FakeClock
from acrctl.backend.core import Settings
from acrctl.cli import config
from acrctl.cli.main import cli
from acrctl.server.serve import ServerConfig, ThreadedServer
from acrctl.testing import AcrctlMock, WebhookReceiver

ACR_CONTRIBUTOR = "3bc748fc-213d-45c1-8d91-9da5725539b9"  # no */read, no subscriptions/read
ACR_PULL = "7f951dda-4ed3-4680-a7ca-43fe172d538d"
NO_KEYRING = (
    "ERROR: No usable keyring backend was found, so the token was not stored. Set "
    "PYTHON_KEYRING_BACKEND to a working backend, use ACRCTL_TOKEN, or opt into a "
    "0600 file with 'acrctl account login --store file'.\n"
)


def run(*args: str, input: Any = None, **env: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), input=input, env=env or None)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def reg(acrctl_mock: AcrctlMock) -> AcrctlMock:
    """rg1 with the Premium registry myreg1 (home westus) on the embedded backend."""
    client = acrctl_mock.client()
    client.create_group("rg1", "westus")
    client.create_registry(
        "rg1", "myreg1", {"location": "westus", "sku": {"name": "Premium"}, "properties": {}}
    )
    return acrctl_mock


@pytest.fixture
def tty(monkeypatch: pytest.MonkeyPatch) -> None:
    """CliRunner's stdin, stdout and stderr claim to be a terminal (without colours)."""
    monkeypatch.setattr(click.testing._NamedTextIOWrapper, "isatty", lambda self: True)
    monkeypatch.setenv("NO_COLOR", "1")


class CtrlC(io.BytesIO):
    """Standard input where the user presses Ctrl-C at the first read."""

    def read(self, size: int | None = -1, /) -> bytes:
        if size == 0:  # click asks whether the stream is binary
            return b""
        raise KeyboardInterrupt

    read1 = readline = read  # type: ignore[assignment]


# -- item 4: global options anywhere -------------------------------------------------------------


def test_output_before_the_subcommand(reg: AcrctlMock) -> None:
    assert run("-o", "tsv", "replication", "list", "-r", "myreg1", "--query", "[].name") == (
        0,
        "westus\n",
        "",
    )


def test_glued_global_options_before_the_subcommand(reg: AcrctlMock) -> None:
    assert run("--output=tsv", "--query=[].name", "list") == (0, "myreg1\n", "")
    assert run("-otsv", "list", "--query", "[].name") == (0, "myreg1\n", "")


def test_debug_before_the_subcommand(reg: AcrctlMock) -> None:
    code, _, err = run(
        "--debug",
        "webhook",
        "create",
        "-n",
        "hook1",
        "-r",
        "myreg1",
        "--uri",
        "http://127.0.0.1:9/x",
        "--actions",
        "push",
        "-o",
        "none",
    )
    assert code == 0
    assert "DEBUG: acrctl.client: Request: PUT " in err


def test_subscription_before_the_subcommand_reaches_the_command(reg: AcrctlMock) -> None:
    code, _, err = run("--subscription", "nosuch", "list")
    assert code == 1
    assert "over scope '/subscriptions/nosuch' or the scope is invalid" in err


def test_global_options_between_groups_and_the_command(reg: AcrctlMock) -> None:
    assert run("replication", "-o", "tsv", "list", "-r", "myreg1", "--query", "[].name") == (
        0,
        "westus\n",
        "",
    )


def test_the_command_own_global_option_wins_over_an_earlier_one(reg: AcrctlMock) -> None:
    assert run("-o", "json", "list", "-o", "none") == (0, "", "")


def test_help_and_version_are_unaffected() -> None:
    assert run("-o", "table", "--help") == run("--help")
    assert run("--version") == (0, f"acrctl, version {__version__}\n", "")


def test_a_command_without_global_options_still_refuses_them() -> None:
    assert run("--debug", "completion", "bash") == (
        2,
        "",
        "ERROR: unrecognized arguments: --debug\nTry 'acrctl completion --help' for help.\n",
    )


# -- item 5: account show ------------------------------------------------------------------------


def test_account_show_query_id_prints_the_subscription_id(acrctl_mock: AcrctlMock) -> None:
    assert run("account", "show", "--query", "id", "-o", "tsv") == (
        0,
        f"{acrctl_mock.subscription}\n",
        "",
    )


@pytest.fixture(scope="module")
def server() -> Iterator[ThreadedServer]:
    with ThreadedServer() as srv:
        with httpx.Client(
            base_url=srv.url, headers={"Authorization": f"Bearer {srv.admin_token}"}
        ) as client:
            rg = f"/subscriptions/{srv.subscription}/resourceGroups/rg1"
            client.put(rg, params={"api-version": "2022-09-01"}, json={"location": "westus"})
            client.put(
                f"{rg}/providers/Microsoft.ContainerRegistry/registries/myreg1",
                params={"api-version": "2025-11-01"},
                json={"location": "westus", "sku": {"name": "Basic"}},
            )
        yield srv


def scoped(srv: ThreadedServer, role: str, scope: str) -> str:
    """A new service principal's token, with `role` at `scope` only."""
    rbac = srv.app.backend.rbac
    doc, token = rbac.create_principal(f"p{uuid.uuid4().hex[:8]}")
    rbac.create_assignment(
        f"/subscriptions/{srv.subscription}{scope}",
        str(uuid.uuid4()),
        {"properties": {"roleDefinitionId": role, "principalId": doc["id"]}},
    )
    return token


def test_a_principal_scoped_to_a_group_sees_its_subscription(server: ThreadedServer) -> None:
    token = scoped(server, ACR_CONTRIBUTOR, "/resourceGroups/rg1")
    code, out, err = run("account", "show", "--endpoint", server.url, ACRCTL_TOKEN=token)
    assert (code, err) == (0, "")
    doc = json.loads(out)
    assert (doc["id"], doc["name"], doc["user"]["type"]) == (
        server.subscription,
        "acrctl",
        "servicePrincipal",
    )


def test_a_principal_scoped_to_a_group_lists_its_registries(server: ThreadedServer) -> None:
    token = scoped(server, ACR_CONTRIBUTOR, "/resourceGroups/rg1")
    assert run(
        "list",
        "-g",
        "rg1",
        "--query",
        "[].name",
        "-o",
        "tsv",
        "--endpoint",
        server.url,
        ACRCTL_TOKEN=token,
    ) == (0, "myreg1\n", "")


def test_a_principal_scoped_to_a_registry_logs_in(server: ThreadedServer) -> None:
    token = scoped(
        server,
        ACR_PULL,
        "/resourceGroups/rg1/providers/Microsoft.ContainerRegistry/registries/myreg1",
    )
    code, _, err = run(
        "account", "login", "--endpoint", server.url, "--store", "file", input=f"{token}\n"
    )
    assert (code, err) == (0, "")
    assert config.get("core.subscription") == server.subscription


def test_a_principal_scoped_to_a_group_lists_the_locations(server: ThreadedServer) -> None:
    token = scoped(server, ACR_PULL, "/resourceGroups/rg1")
    assert run(
        "account",
        "list-locations",
        "--query",
        "[?name=='eastus'].name",
        "-o",
        "tsv",
        "--endpoint",
        server.url,
        ACRCTL_TOKEN=token,
    ) == (0, "eastus\n", "")


def test_a_principal_without_assignments_sees_no_subscription(server: ThreadedServer) -> None:
    _, token = server.app.backend.rbac.create_principal("nobody")
    resp = httpx.get(
        f"{server.url}/subscriptions",
        params={"api-version": "2022-12-01"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert (resp.status_code, resp.json()) == (200, {"value": []})


# -- item 6: the default registry ----------------------------------------------------------------


@pytest.mark.parametrize(
    "args, out",
    [
        (("show", "--query", "name", "-o", "tsv"), "myreg1\n"),
        (("show-usage", "--query", "value[?name=='Webhooks'].limit", "-o", "tsv"), "500\n"),
        (("update", "--tags", "team=infra", "--query", "tags.team", "-o", "tsv"), "infra\n"),
        (("delete", "--yes"), ""),
    ],
)
def test_registry_commands_use_the_default_registry(
    reg: AcrctlMock, args: tuple[str, ...], out: str
) -> None:
    config.set_value("defaults.registry", "myreg1")
    assert run(*args) == (0, out, "")


def write_config(text: str) -> None:
    os.makedirs(config.config_dir(), exist_ok=True)
    with open(config.config_path(), "w", encoding="utf-8") as fh:
        fh.write(text)


def test_az_s_defaults_acr_is_the_default_registry(reg: AcrctlMock) -> None:
    write_config("[defaults]\nacr = myreg1\n")
    assert run("show", "--query", "name", "-o", "tsv") == (0, "myreg1\n", "")
    assert run("replication", "list", "--query", "[].name", "-o", "tsv") == (0, "westus\n", "")


def test_without_a_default_the_name_is_required(reg: AcrctlMock) -> None:
    assert run("show") == (
        2,
        "",
        "ERROR: the following arguments are required: --name/-n\n"
        "Try 'acrctl show --help' for help.\n",
    )


def test_configure_defaults_sets_the_config_keys(reg: AcrctlMock) -> None:
    assert run("configure", "--defaults", "acr=myreg1", "group=rg1", "location=eastus") == (
        0,
        "",
        "",
    )
    assert config.items() == {
        "defaults.registry": "myreg1",
        "defaults.group": "rg1",
        "defaults.location": "eastus",
    }
    assert run("show", "--query", "name", "-o", "tsv") == (0, "myreg1\n", "")


def test_configure_list_defaults(reg: AcrctlMock) -> None:
    run("configure", "--defaults", "acr=myreg1", "group=rg1")
    path = config.config_path()
    assert run("configure", "--list-defaults", "-o", "tsv") == (
        0,
        f"group\t{path}\trg1\nregistry\t{path}\tmyreg1\n",
        "",
    )


def test_configure_an_empty_value_clears_the_default_and_az_s_alias(reg: AcrctlMock) -> None:
    write_config("[defaults]\nacr = myreg1\ngroup = rg1\n")
    assert run("configure", "--defaults", "acr=") == (0, "", "")
    assert config.items() == {"defaults.group": "rg1"}


def test_configure_needs_defaults_or_list(acrctl_mock: AcrctlMock) -> None:
    assert run("configure") == (
        2,
        "",
        "ERROR: usage error: give --defaults NAME=VALUE [NAME=VALUE ...] or --list-defaults.\n",
    )


def test_configure_refuses_an_unknown_default(acrctl_mock: AcrctlMock) -> None:
    assert run("configure", "--defaults", "web=app1") == (
        2,
        "",
        "ERROR: usage error: --defaults takes NAME=VALUE pairs with NAME one of acr, "
        "registry, group, location; got 'web=app1'.\n",
    )
    assert config.items() == {}


def test_config_set_accepts_az_s_name(acrctl_mock: AcrctlMock) -> None:
    assert run("config", "set", "defaults.acr=myreg1") == (0, "", "")
    assert config.items() == {"defaults.registry": "myreg1"}


# -- item 8: prompts -----------------------------------------------------------------------------


def test_ctrl_c_at_the_delete_prompt_says_cancelled(reg: AcrctlMock, tty: None) -> None:
    assert run("delete", "-n", "myreg1", input=CtrlC()) == (
        1,
        "",
        "Are you sure you want to delete the registry 'myreg1'? (y/n): \n"
        "ERROR: Operation cancelled.\n",
    )


def test_ctrl_c_at_the_token_prompt_says_cancelled(acrctl_mock: AcrctlMock, tty: None) -> None:
    # the prompt, CliRunner's newline for the hidden input, click's newline after Ctrl-C
    assert run(
        "account", "login", "--endpoint", "http://127.0.0.1:1", "--store", "file", input=CtrlC()
    ) == (1, "", "Token: \n\nERROR: Operation cancelled.\n")


def test_ctrl_c_in_a_wait_says_the_operation_goes_on(
    reg: AcrctlMock, fake_time: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    from acrctl.cli import replication

    def interrupt(seconds: float) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(replication, "_sleep", interrupt)
    assert run("replication", "wait", "-r", "myreg1", "-n", "westus", "--deleted") == (
        1,
        "",
        "\nERROR: Long-running operation wait cancelled. The operation goes on: check "
        "it with 'show' or 'wait'.\n",
    )


def test_ctrl_c_elsewhere_says_only_interrupted(
    reg: AcrctlMock, monkeypatch: pytest.MonkeyPatch
) -> None:
    from acrctl.client.acr import AcrClient

    def interrupt(*a: Any, **kw: Any) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(AcrClient, "list_registries", interrupt)
    assert run("list") == (1, "", "\nERROR: Keyboard interrupt is captured.\n")


def test_login_checks_the_keyring_before_the_token_prompt(
    acrctl_mock: AcrctlMock, tty: None
) -> None:
    assert run(
        "account", "login", "--endpoint", "http://127.0.0.1:1", input="acr_typed_for_nothing\n"
    ) == (1, "", NO_KEYRING)


def test_a_missing_token_says_to_log_in(acrctl_mock: AcrctlMock) -> None:
    url = "http://127.0.0.1:1"
    assert run("list", "--endpoint", url) == (
        1,
        "",
        f"ERROR: No token is stored for {url}. Log in with 'acrctl account login "
        f"--endpoint {url}', or set ACRCTL_TOKEN.\n",
    )


# -- item 8: webhook ping reports a refused delivery ---------------------------------------------


def hook(uri: str, *extra: str) -> None:
    assert (
        run(
            "webhook",
            "create",
            "-n",
            "hook1",
            "-r",
            "myreg1",
            "--uri",
            uri,
            "--actions",
            "push",
            "-o",
            "none",
            *extra,
        )[0]
        == 0
    )


def test_ping_to_a_receiver_that_refuses_exits_1_with_the_reason(reg: AcrctlMock) -> None:
    with WebhookReceiver(statuses=[500]) as rx:
        hook(rx.url("/hook"))
        code, out, err = run("webhook", "ping", "-n", "hook1", "-r", "myreg1")
    assert (code, list(json.loads(out))) == (1, ["id"])
    assert err == (
        "ERROR: The ping to webhook 'hook1' was not delivered: 500 Internal Server "
        "Error. Its retries show in 'acrctl webhook list-events -n hook1 -r "
        "myreg1'.\n"
    )


def test_ping_to_a_receiver_that_is_down_exits_1_with_the_reason(reg: AcrctlMock) -> None:
    hook("http://127.0.0.1:9/hook")
    code, _, err = run("webhook", "ping", "-n", "hook1", "-r", "myreg1")
    assert code == 1
    assert err.startswith(
        "ERROR: The ping to webhook 'hook1' was not delivered: connection failed: "
    )


def test_ping_to_a_receiver_that_accepts_exits_0(reg: AcrctlMock) -> None:
    with WebhookReceiver() as rx:
        hook(rx.url("/hook"))
        code, out, err = run("webhook", "ping", "-n", "hook1", "-r", "myreg1")
    assert (code, list(json.loads(out)), err) == (0, ["id"], "")


def test_ping_waits_for_the_server_s_first_attempt() -> None:
    cfg = ServerConfig(settings=Settings(webhook_allow=["127.0.0.0/8"]))
    with ThreadedServer(cfg) as srv, WebhookReceiver(statuses=[503]) as rx:
        env = {"ACRCTL_TOKEN": str(srv.admin_token), "ACRCTL_ENDPOINT": srv.url}
        assert run("group", "create", "-n", "rg1", "-l", "westus", **env)[0] == 0
        assert run("create", "-n", "myreg1", "-g", "rg1", "--sku", "Basic", **env)[0] == 0
        assert (
            run(
                "webhook",
                "create",
                "-n",
                "hook1",
                "-r",
                "myreg1",
                "--uri",
                rx.url("/hook"),
                "--actions",
                "push",
                **env,
            )[0]
            == 0
        )
        code, _, err = run("webhook", "ping", "-n", "hook1", "-r", "myreg1", **env)
    assert (code, err) == (
        1,
        "ERROR: The ping to webhook 'hook1' was not delivered: 503 "
        "Service Unavailable. Its retries show in 'acrctl webhook "
        "list-events -n hook1 -r myreg1'.\n",
    )


def test_ping_says_when_no_attempt_came_in_time() -> None:
    with ThreadedServer(deliver=False) as srv:  # no delivery worker: nothing is sent
        env = {"ACRCTL_TOKEN": str(srv.admin_token), "ACRCTL_ENDPOINT": srv.url}
        assert run("group", "create", "-n", "rg1", "-l", "westus", **env)[0] == 0
        assert run("create", "-n", "myreg1", "-g", "rg1", "--sku", "Basic", **env)[0] == 0
        assert (
            run(
                "webhook",
                "create",
                "-n",
                "hook1",
                "-r",
                "myreg1",
                "--uri",
                "https://example.com/hook",
                "--actions",
                "push",
                **env,
            )[0]
            == 0
        )
        waited = run("webhook", "ping", "-n", "hook1", "-r", "myreg1", "--timeout", "0.3", **env)
        queued = run("webhook", "ping", "-n", "hook1", "-r", "myreg1", "--timeout", "0", **env)
    assert (waited[0], list(json.loads(waited[1])), waited[2]) == (
        0,
        ["id"],
        "WARNING: The ping was not attempted within 0.3 seconds; see 'acrctl "
        "webhook list-events -n hook1 -r myreg1'.\n",
    )
    assert (queued[0], list(json.loads(queued[1])), queued[2]) == (0, ["id"], "")


# -- item 8: replication wait and sync -----------------------------------------------------------


def test_replication_wait_shows_the_spinner(
    reg: AcrctlMock, fake_time: FakeClock, tty: None
) -> None:
    code, _, err = run(
        "replication", "wait", "-r", "myreg1", "-n", "westus", "--deleted", "--timeout", "2"
    )
    assert code == 1
    assert err == (
        "\x1b[K \\ Running ..\r\x1b[K | Running ..\r\x1b[K"
        "ERROR: Timed out after 2 seconds waiting for replication 'westus' to be "
        "deleted.\n"
    )


def test_sync_with_nothing_to_do_says_so(reg: AcrctlMock) -> None:
    assert run("replication", "sync", "-r", "myreg1", "--locations", "westus") == (
        0,
        "[]\n",
        "Nothing to do: the replicas of 'myreg1' match the layout.\n",
    )


def replica_names(mock: AcrctlMock) -> list[str]:
    docs, _ = mock.backend.replications.list(mock.subscription, "rg1", "myreg1")
    return sorted(str(d["name"]) for d in docs)


def test_sync_prune_asks_on_a_terminal(reg: AcrctlMock, tty: None) -> None:
    assert run("replication", "create", "-r", "myreg1", "-l", "eastus", "-o", "none")[0] == 0
    code, _, err = run(
        "replication", "sync", "-r", "myreg1", "--locations", "--prune", "-o", "none", input="n\n"
    )
    assert (code, err) == (
        1,
        "Are you sure you want to delete the replications eastus of the "
        "registry 'myreg1'? (y/n): n\nERROR: Operation cancelled.\n",
    )
    assert replica_names(reg) == ["eastus", "westus"]


def test_sync_prune_with_yes_does_not_ask(reg: AcrctlMock, tty: None) -> None:
    assert run("replication", "create", "-r", "myreg1", "-l", "eastus", "-o", "none")[0] == 0
    code, _, err = run(
        "replication", "sync", "-r", "myreg1", "--locations", "--prune", "--yes", "-o", "none"
    )
    assert (code, err.count("Are you sure")) == (0, 0)
    assert "Succeeded: delete eastus (eastus)\n" in err
    assert replica_names(reg) == ["westus"]


# -- item 8: colour, az's wording, request ids ---------------------------------------------------


def test_force_color_colours_output_on_a_pipe(reg: AcrctlMock) -> None:
    code, out, _ = run("show", "-n", "myreg1", "-o", "jsonc", "--query", "name", FORCE_COLOR="1")
    assert (code, out) == (0, '\x1b[33m"myreg1"\x1b[39;49;00m\n')


def test_force_color_colours_errors_on_a_pipe(acrctl_mock: AcrctlMock) -> None:
    assert run("configure", FORCE_COLOR="1")[2] == (
        "\x1b[91mERROR: usage error: give --defaults NAME=VALUE [NAME=VALUE ...] or "
        "--list-defaults.\x1b[0m\n"
    )


def test_no_color_wins_over_force_color(reg: AcrctlMock) -> None:
    assert run(
        "show", "-n", "myreg1", "-o", "jsonc", "--query", "name", FORCE_COLOR="1", NO_COLOR="1"
    ) == (0, '"myreg1"\n', "")


def test_sku_choices_as_az_lists_them() -> None:
    code, out, _ = run("create", "--help")
    assert code == 0
    assert "--sku [Basic|Standard|Premium]" in out


def test_a_bad_sku_gets_az_s_message(reg: AcrctlMock) -> None:
    assert run("create", "-n", "myreg2", "-g", "rg1", "--sku", "premum") == (
        2,
        "",
        "ERROR: 'premum' is not a valid value for '--sku'. Allowed values: Basic, "
        "Standard, Premium.\nDid you mean 'Premium' ?\n",
    )


def test_a_mistyped_command_gets_did_you_mean() -> None:
    assert run("shwo") == (
        2,
        "",
        "ERROR: 'shwo' is misspelled or not recognized by the "
        "system.\nDid you mean 'show' ?\nTry 'acrctl --help' for "
        "help.\n",
    )


def test_a_mistyped_subcommand_gets_did_you_mean() -> None:
    assert run("replication", "lsit") == (
        2,
        "",
        "ERROR: 'lsit' is misspelled or not recognized by the system.\nDid you mean "
        "'list' ?\nTry 'acrctl replication --help' for help.\n",
    )


def test_a_mistyped_option_gets_did_you_mean(acrctl_mock: AcrctlMock) -> None:
    assert run("list", "--outptu", "json") == (
        2,
        "",
        "ERROR: unrecognized arguments: --outptu\nDid you mean '--output' ?\n"
        "Try 'acrctl list --help' for help.\n",
    )


def test_no_request_id_in_embedded_mode(reg: AcrctlMock) -> None:
    code, _, err = run("show", "-n", "nosuchreg1", "-g", "rg1")
    assert code == 3
    assert err.startswith("ERROR: (ResourceNotFound) ")
    assert "Request id" not in err


def test_request_id_in_server_mode(server: ThreadedServer) -> None:
    code, _, err = run(
        "show",
        "-n",
        "nosuchreg1",
        "-g",
        "rg1",
        "--endpoint",
        server.url,
        ACRCTL_TOKEN=str(server.admin_token),
    )
    assert code == 3
    assert err.splitlines()[-1].startswith("Request id: ")
