"""Bounds on evaluating an ARM template, so that a small template cannot make a big value,
a long computation or a deep recursion (a "template bomb": a 1.5 KB template that doubles a
string 21 times, or an array that holds itself twice per level).

`Limits` holds the bounds (each one a `template_*` field of backend Settings); `Budget` is
what one Template spends against them. Sizes are checked before a value is built wherever
the size can be known in advance (concat, format, replace, resourceId, uniqueString,
string()), and every value is measured as it would serialize, a part that appears twice
counted twice, so a value that shares its parts cannot hide its size.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, fields
from typing import Any

SETTING_PREFIX = "template_"


@dataclass(frozen=True)
class Limits:
    """The bounds on one template evaluation; the defaults are the Settings defaults."""

    max_string_length: int = 1_048_576  # characters of one string (ARM: 1 MB per resource)
    max_value_size: int = 4_194_304  # serialized size of one array or object (ARM: 4 MB)
    max_total_size: int = 16_777_216  # sum of the sizes of everything built and produced
    max_steps: int = 50_000  # function calls, property reads and index reads
    max_depth: int = 100  # nesting of calls, variable references and arrays/objects
    max_seconds: float = 1.0  # evaluation time (store writes in between not counted)
    max_resources: int = 800  # resources in one template (ARM's limit)
    max_expression_length: int = 24_576  # characters of one expression (ARM's limit)

    @classmethod
    def from_settings(cls, settings: Any) -> Limits:
        """The limits set on a backend Settings (`template_max_steps`, ...)."""
        values: dict[str, Any] = {
            f.name: getattr(settings, SETTING_PREFIX + f.name, f.default) for f in fields(cls)
        }
        return cls(**values)


class LimitExceeded(Exception):
    """Raised by Budget; the template engine turns it into a TemplateError at its path."""

    def __init__(self, name: str, limit: float, what: str) -> None:
        unit = " seconds" if isinstance(limit, float) else ""
        super().__init__(f"{what}; the limit is {limit}{unit} (setting {SETTING_PREFIX}{name}).")


def _size(value: Any, memo: dict[int, tuple[Any, int]]) -> int:
    if isinstance(value, str):
        return len(value)
    if not isinstance(value, list | dict):
        return 1
    hit = memo.get(id(value))
    if hit is not None and hit[0] is value:
        return hit[1]
    if isinstance(value, dict):
        size = sum(len(str(k)) + _size(v, memo) for k, v in value.items())
    else:
        size = sum(_size(v, memo) for v in value)
    size += len(value) + 1
    memo[id(value)] = (value, size)  # keeps the value alive, so its id stays its own
    return size


class Budget:
    """What one template evaluation has spent: steps, total size, depth and time (the
    clock runs only while expressions are parsed or evaluated, not while a deployment
    writes the resources in between)."""

    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits or Limits()
        self.steps = 0
        self.total = 0
        self.depth = 0
        self.spent = 0.0
        self._origin = 0.0
        self._running = 0
        self._sizes: dict[int, tuple[Any, int]] = {}

    # -- nesting, steps and time -------------------------------------------------------
    def enter(self) -> None:
        """One level deeper (a variable, an array or object being built). Raises before
        changing anything; leave() undoes it."""
        if self.depth >= self.limits.max_depth:
            raise self._too_deep()
        self.depth += 1
        self.resume()

    def begin(self) -> None:
        """enter() for one step: a function call, property read or index read."""
        lim = self.limits
        if self.depth >= lim.max_depth:
            raise self._too_deep()
        if self.steps >= lim.max_steps:
            raise LimitExceeded(
                "max_steps",
                lim.max_steps,
                "The evaluation takes more than "
                f"{lim.max_steps} steps (function calls, property and index "
                "reads)",
            )
        if self._running:
            if time.monotonic() - self._origin > lim.max_seconds:
                self.tick()
        else:
            self.tick()
            self._origin = time.monotonic() - self.spent
        self._running += 1
        self.steps += 1
        self.depth += 1

    def _too_deep(self) -> LimitExceeded:
        lim = self.limits.max_depth
        return LimitExceeded(
            "max_depth",
            lim,
            "The expressions, variable references, arrays "
            f"and objects are nested too deeply (more than {lim} levels)",
        )

    def leave(self) -> None:
        self.depth -= 1
        self.pause()

    def resume(self) -> None:
        """Run the clock (nested calls count once; pause() stops it)."""
        if self._running == 0:
            self._origin = time.monotonic() - self.spent
        self._running += 1

    def pause(self) -> None:
        self._running -= 1
        if self._running == 0:
            self.spent = time.monotonic() - self._origin

    def tick(self) -> None:
        """Refuse to go on past the time limit."""
        elapsed = time.monotonic() - self._origin if self._running else self.spent
        if elapsed > self.limits.max_seconds:
            raise LimitExceeded(
                "max_seconds",
                self.limits.max_seconds,
                f"The evaluation takes longer than {self.limits.max_seconds} seconds",
            )

    # -- sizes -------------------------------------------------------------------------
    def size(self, value: Any) -> int:
        """A value's size as it would serialize: characters of its strings and keys, one
        per scalar and per element; a part that appears twice counts twice."""
        return _size(value, self._sizes)

    def string(self, length: int, what: str) -> None:
        """Refuse a string of `length` characters if it is too long; `what` starts the
        message ("The function 'concat' would return")."""
        lim = self.limits.max_string_length
        if length > lim:
            raise LimitExceeded("max_string_length", lim, f"{what} a string of {length} characters")

    def collection(self, size: int, what: str) -> None:
        """Refuse an array or object of `size` (see size()) if it is too big."""
        lim = self.limits.max_value_size
        if size > lim:
            raise LimitExceeded("max_value_size", lim, f"{what} an array or object of size {size}")

    def check(self, value: Any, what: str) -> int:
        """A built value's size, checked against the string or the array/object limit."""
        if type(value) is str:  # the common case, first and fast
            size = len(value)
            if size > self.limits.max_string_length:
                self.string(size, what)
            return size
        size = self.size(value)
        if isinstance(value, str):
            self.string(size, what)
        elif isinstance(value, list | dict):
            self.collection(size, what)
        return size

    def charge(self, size: int) -> None:
        """Count `size` towards the total of everything built and produced."""
        self.total += size
        lim = self.limits.max_total_size
        if self.total > lim:
            raise LimitExceeded(
                "max_total_size",
                lim,
                f"The values the template builds and produces add up to a size of {self.total}",
            )

    def produced(self, value: Any, what: str) -> None:
        """A value the template produces (a variable, a parameter default, a resource's
        name or body, an output): checked and counted in the total."""
        self.charge(self.check(value, what))

    def count(self, what: str, n: int) -> None:
        """Refuse a template with more resources than allowed."""
        lim = self.limits.max_resources
        if n > lim:
            raise LimitExceeded(
                "max_resources", lim, f"The template defines more than {lim} {what}"
            )

    def expression(self, length: int) -> None:
        lim = self.limits.max_expression_length
        if length > lim:
            raise LimitExceeded(
                "max_expression_length", lim, f"The expression is {length} characters long"
            )
