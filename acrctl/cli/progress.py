"""Live per-region progress for `replication wait --image` and `import`: a rich table on
stderr, redrawn in place, only when stderr is a terminal (and not --only-show-errors).
rich is imported here, on that path only (start-up budgets: `acrctl --help` must not load
it); on a pipe the commands print nothing while they wait."""

from __future__ import annotations

import sys
from types import TracebackType
from typing import Any

COLORS = {"present": "green", "missing": "yellow", "differs": "red", "copying": "cyan"}


class RegionProgress:
    """`with RegionProgress(title, enabled) as p: p.update(rows)`; each row a dict with
    region, state and an optional detail. `console` (a rich Console) forces the live path
    (tests render into a buffer with force_terminal)."""

    def __init__(self, title: str, enabled: bool = False, console: Any = None) -> None:
        self.title = title
        self.enabled = console is not None or enabled
        self.console = console
        self._live: Any = None

    @staticmethod
    def tty() -> bool:
        """Whether stderr is a terminal (the live table's only place)."""
        return sys.stderr.isatty()

    def __enter__(self) -> RegionProgress:
        if self.enabled:
            from rich.console import Console
            from rich.live import Live

            console = self.console or Console(stderr=True)
            self._live = Live(self._table([]), console=console, auto_refresh=False, transient=False)
            self._live.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._live is not None:
            self._live.__exit__(exc_type, exc, tb)
            self._live = None

    def update(self, rows: list[dict[str, Any]], note: str = "") -> None:
        if self._live is not None:
            self._live.update(self._table(rows, note), refresh=True)

    def _table(self, rows: list[dict[str, Any]], note: str = "") -> Any:
        from rich.table import Table
        from rich.text import Text

        table = Table(title=self.title, caption=note or None, title_justify="left")
        for name in ("REGION", "STATE", "DETAIL"):
            table.add_column(name)
        for row in rows:
            state = str(row.get("state", ""))
            color = COLORS.get(state)
            table.add_row(
                Text(str(row.get("region", ""))),
                Text(state, style=color or ""),
                Text(str(row.get("detail") or "")),
            )
        return table
