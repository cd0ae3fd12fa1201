"""No module in acrctl/ over 400 lines (issue 14): a plain count of lines, so a module that
grows past it is split along its seams before it gets hard to read."""

from __future__ import annotations

from pathlib import Path

import acrctl

PACKAGE = Path(acrctl.__file__).parent
LIMIT = 400


def oversized(root: Path, limit: int = LIMIT) -> list[str]:
    """'path: N lines' for every .py file under `root` longer than `limit` lines."""
    out = []
    for path in sorted(root.rglob("*.py")):
        lines = len(path.read_bytes().splitlines())
        if lines > limit:
            out.append(f"{path.relative_to(root.parent)}: {lines} lines")
    return out


def test_no_module_in_acrctl_is_over_400_lines() -> None:
    offenders = oversized(PACKAGE)
    assert offenders == [], f"modules over {LIMIT} lines (split them): {offenders}"


def test_the_count_names_a_module_one_line_over(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "ok.py").write_text("x = 1\n" * LIMIT)
    (pkg / "sub" / "big.py").write_text("x = 1\n" * (LIMIT + 1))
    assert oversized(pkg) == [f"pkg/sub/big.py: {LIMIT + 1} lines"]
