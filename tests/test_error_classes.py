"""One error class per ARM code, its HTTP status through the class hierarchy (issue 14): a
code class answers its family's status, a subclass of a family keeps the family's status
(never a silent 400), and an ArmError outside the families is a 500."""

from __future__ import annotations

import ast
import functools
import inspect
import sqlite3
from pathlib import Path

import acrctl
from acrctl.backend import errors
from acrctl.server.app import error_response

FAMILIES = {
    errors.InvalidInput: 400,
    errors.AuthenticationFailed: 401,
    errors.AuthorizationFailed: 403,
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.PreconditionFailed: 412,
    errors.PayloadTooLarge: 413,
    errors.Throttled: 429,
    errors.Unavailable: 503,
}


def code_classes() -> list[type[errors.CodedError]]:
    return [
        cls
        for _, cls in inspect.getmembers(errors, inspect.isclass)
        if issubclass(cls, errors.CodedError) and cls is not errors.CodedError
    ]


def test_families_carry_their_status() -> None:
    assert {cls: cls.status for cls in FAMILIES} == FAMILIES


def test_every_code_class_is_under_one_family_with_its_own_code() -> None:
    seen: dict[tuple[type[errors.ArmError], str], str] = {}
    for cls in code_classes():
        family = [f for f in FAMILIES if issubclass(cls, f)]
        assert len(family) == 1, cls
        assert cls.status == FAMILIES[family[0]], cls
        assert "code" in vars(cls) and cls.code, cls
        assert seen.setdefault((family[0], cls.code), cls.__name__) == cls.__name__
    assert len(seen) == len(code_classes()) > 80


def test_a_code_class_answers_its_code_and_family_status() -> None:
    resp = error_response(errors.InvalidScope("The scope is bad."), "rid-1")
    assert (resp.status, resp.body) == (
        400,
        {"error": {"code": "InvalidScope", "message": "The scope is bad."}},
    )


def test_a_code_class_is_built_from_its_message_target_and_retry_after() -> None:
    exc = errors.RegionUnavailable("The region is down.", target="westus", retry_after=7)
    resp = error_response(exc, "rid-2")
    assert (resp.status, resp.headers["Retry-After"]) == (503, "7")
    assert resp.body == {
        "error": {"code": "RegionUnavailable", "message": "The region is down.", "target": "westus"}
    }
    assert str(exc) == "(RegionUnavailable) The region is down."


def test_a_subclass_of_a_family_keeps_the_family_status() -> None:
    class Gone(errors.NotFound):
        pass

    resp = error_response(Gone("Gone", "It went."), "rid-3")
    assert (resp.status, resp.body) == (404, {"error": {"code": "Gone", "message": "It went."}})


def test_an_arm_error_outside_the_families_answers_500() -> None:
    class Stray(errors.ArmError):
        pass

    resp = error_response(Stray("Stray", "Nobody mapped me."), "rid-4")
    assert (resp.status, resp.body) == (
        500,
        {
            "error": {
                "code": "InternalServerError",
                "message": "The server had an internal error. Request id: rid-4.",
            }
        },
    )


def test_a_family_still_takes_a_code_that_is_data() -> None:
    exc = errors.NotFound("ResourceNotFound", "gone")
    assert (type(exc).status, exc.code, exc.message) == (404, "ResourceNotFound", "gone")


def test_reworded_keeps_class_code_and_retry_after() -> None:
    exc = errors.RegionUnavailable("down", target="a", retry_after=3)
    new = exc.reworded("The deployment would fail: down", target="b")
    assert type(new) is errors.RegionUnavailable
    assert (new.code, new.message, new.target, new.retry_after) == (
        "RegionUnavailable",
        "The deployment would fail: down",
        "b",
        3,
    )
    assert str(new) == "(RegionUnavailable) The deployment would fail: down"
    assert (exc.message, exc.target) == ("down", "a")


def test_a_busy_sqlite_database_is_database_busy() -> None:
    lost = errors.connection_lost(sqlite3.OperationalError("database is locked"))
    assert type(lost) is errors.DatabaseBusy
    assert (lost.code, lost.retry_after) == ("DatabaseBusy", 1)
    resp = error_response(sqlite3.OperationalError("database is locked"), "rid-5")
    assert (resp.status, resp.headers["Retry-After"]) == (503, "1")


# ---- the raise sites, by an AST scan of acrctl/ -----------------------------------------

PACKAGE = Path(acrctl.__file__).parent
ERRORS_PKG = PACKAGE / "backend" / "errors"
ARM_ERRORS = [
    cls
    for _, cls in inspect.getmembers(errors, inspect.isclass)
    if issubclass(cls, errors.ArmError)
]
NOT_A_CODE = {cls.__name__ for cls in ARM_ERRORS} - {cls.__name__ for cls in code_classes()}


def in_errors_package(path: Path) -> bool:
    return ERRORS_PKG in path.parents


def test_the_errors_package_holds_only_the_families_and_code_classes() -> None:
    stray = NOT_A_CODE - {"ArmError", "CodedError", *(cls.__name__ for cls in FAMILIES)}
    assert stray == set()


def test_every_class_of_the_errors_package_is_importable_from_it() -> None:
    defined = {
        node.name
        for path in sorted(ERRORS_PKG.rglob("*.py"))
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.ClassDef)
    }
    assert len(defined) > 80
    assert defined - {cls.__name__ for cls in ARM_ERRORS} == set()


def imported_from(node: ast.ImportFrom, path: Path) -> str:
    """The absolute module an import reads from (relative ones resolved against `path`)."""
    if not node.level:
        return node.module or ""
    package = list(path.relative_to(PACKAGE.parent).parent.parts)
    base = package[: len(package) - node.level + 1]
    return ".".join([*base, node.module] if node.module else base)


def errors_names(tree: ast.Module, path: Path) -> tuple[dict[str, str], set[str]]:
    """A module's names for acrctl.backend.errors' classes (local -> class) and for the
    module itself, from its imports wherever they are."""
    names: dict[str, str] = {}
    modules: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            source = imported_from(node, path)
            for alias in node.names:
                if source == "acrctl.backend.errors":
                    names[alias.asname or alias.name] = alias.name
                elif f"{source}.{alias.name}" == "acrctl.backend.errors":
                    modules.add(alias.asname or alias.name)
        elif isinstance(node, ast.Import):
            modules.update(
                a.asname for a in node.names if a.name == "acrctl.backend.errors" and a.asname
            )
    return names, modules


def named(node: ast.expr, names: dict[str, str], modules: set[str]) -> list[str]:
    """The errors classes an expression names: a name, errors.X, or a conditional of them."""
    if isinstance(node, ast.IfExp):
        return named(node.body, names, modules) + named(node.orelse, names, modules)
    if isinstance(node, ast.Name) and node.id in names:
        return [names[node.id]]
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        return [node.attr] if node.value.id in modules else []
    return []


@functools.cache
def scan() -> tuple[set[str], list[str]]:
    """(code classes built somewhere in acrctl/, the sites that break the rule)."""
    own = {cls.__name__ for cls in code_classes()} | NOT_A_CODE
    built: set[str] = set()
    bad: list[str] = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text())
        names, modules = errors_names(tree, path)
        if in_errors_package(path):
            names = {name: name for name in own}
        where = str(path.relative_to(PACKAGE.parent))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                for name in named(node.func, names, modules):
                    built.add(name)
                    if name in NOT_A_CODE:
                        bad.append(f"{where}:{node.lineno}: {name}(code, ...) names no class")
            elif isinstance(node, ast.ClassDef) and not in_errors_package(path):
                for base in node.bases:
                    if named(base, names, modules):
                        bad.append(
                            f"{where}:{node.lineno}: error class {node.name} outside errors/"
                        )
    return built, bad


def test_every_raise_site_names_a_code_class() -> None:
    assert scan()[1] == []


def test_every_code_class_is_raised_somewhere() -> None:
    unused = {cls.__name__ for cls in code_classes()} - scan()[0]
    assert unused == set()
