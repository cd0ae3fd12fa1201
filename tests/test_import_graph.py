"""The backend's import graph (issue 14): every acrctl.backend module imports on its own, in a
fresh interpreter, and the backend modules do not import each other in a circle.

The graph is read from the source (ast): every import statement of a backend module, at module
level or deferred inside a function, except those under `if TYPE_CHECKING:` (annotations only,
never run). Deferred imports count: a circle closed by an import inside a function is still a
circle (it is what made the backend's modules need each other in a fixed order). Importing
`pkg.sub` from outside `pkg` also runs `pkg/__init__`, so it is an edge to the package too.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import acrctl

BACKEND = Path(acrctl.__file__).parent / "backend"
PREFIX = "acrctl.backend"

# (importer, imported) edges that may close a circle for now, each with the reason. Each must
# still exist (test_known_edges_still_exist): delete an entry when its edge goes.


def modules(root: Path = BACKEND, prefix: str = PREFIX) -> dict[str, Path]:
    """Module name -> source file, for every module and package under `root`."""
    out = {}
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join((prefix, *parts))] = path
    return out


def _type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(node: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    """Every import statement below `node`, skipping `if TYPE_CHECKING:` bodies."""
    found: list[ast.Import | ast.ImportFrom] = []
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and _type_checking(child):
            for other in child.orelse:
                found += _imports(ast.Module(body=[other], type_ignores=[]))
            continue
        if isinstance(child, (ast.Import, ast.ImportFrom)):
            found.append(child)
        found += _imports(child)
    return found


def _targets(stmt: ast.Import | ast.ImportFrom, importer: str, is_package: bool) -> list[str]:
    """The modules an import statement names (not yet filtered to the backend)."""
    if isinstance(stmt, ast.Import):
        return [alias.name for alias in stmt.names]
    base = stmt.module or ""
    if stmt.level:
        package = importer.split(".")
        package = package if is_package else package[:-1]
        package = package[: len(package) - (stmt.level - 1)]
        base = ".".join([*package, base] if base else package)
    return [base] + [f"{base}.{alias.name}" for alias in stmt.names]


def graph(mods: dict[str, Path]) -> dict[str, set[str]]:
    """importer -> the backend modules it imports."""
    edges: dict[str, set[str]] = {name: set() for name in mods}
    for name, path in mods.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for stmt in _imports(tree):
            for target in _targets(stmt, name, path.name == "__init__.py"):
                if target not in mods or target == name:
                    continue
                edges[name].add(target)
                parts = target.split(".")
                for i in range(len(parts) - 1, 0, -1):
                    package = ".".join(parts[:i])
                    if package in mods and not (name + ".").startswith(package + "."):
                        edges[name].add(package)
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per back edge of a depth-first search (empty when there is none)."""
    found: list[list[str]] = []
    state: dict[str, int] = {}  # 1 = on the stack, 2 = done
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges[node]):
            if state.get(nxt) == 1:
                found.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node)
    return found


def _short(cycle: list[str]) -> str:
    return " -> ".join(m.removeprefix(PREFIX + ".") for m in cycle)


def test_no_import_cycle_among_backend_modules() -> None:
    assert [_short(c) for c in cycles(graph(modules()))] == []


def test_the_graph_sees_deferred_imports_and_skips_type_checking(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "a.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from pkg import c\n"
        "def f():\n    from pkg.b import x\n"
    )
    (pkg / "b.py").write_text("import pkg.sub.d\n")
    (pkg / "c.py").write_text("from pkg import a\n")
    (pkg / "sub" / "__init__.py").write_text("from pkg.sub.d import y\n")
    (pkg / "sub" / "d.py").write_text("from pkg import a\n")
    edges = graph(modules(pkg, "pkg"))
    assert edges == {
        "pkg.a": {"pkg.b"},
        "pkg.b": {"pkg.sub.d", "pkg.sub"},
        "pkg.c": {"pkg.a"},
        "pkg.sub": {"pkg.sub.d"},
        "pkg.sub.d": {"pkg.a"},
    }
    assert [_short(c) for c in cycles(edges)] == ["pkg.a -> pkg.b -> pkg.sub -> pkg.sub.d -> pkg.a"]


@pytest.mark.parametrize("module", sorted(modules()))
def test_module_imports_alone(module: str) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "import importlib, sys; importlib.import_module(sys.argv[1])",
            module,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (proc.returncode, proc.stderr) == (0, "")
