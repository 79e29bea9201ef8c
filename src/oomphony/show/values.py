"""Setlist values: sizes and rates (absolute or a share of the cage), `until` triggers,
and the checker that turns a bad value into `file:line: what was expected`.

The checker collects: each key is checked on its own (`Checker.attempt`), so one run
reports every mistake in a file, sorted by line (`SetlistProblems`)."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from oomphony.errors import SetlistError, UsageError
from oomphony.show._lines import LineMap
from oomphony.units import parse_rate, parse_size

MAX_SECONDS = 24 * 3600.0
METRICS = ("cache", "swap", "used", "allocated", "pressure", "sleeper_swap")


@dataclass(frozen=True, slots=True)
class Amount:
    """Bytes (or bytes per second), or a fraction of the cage when `relative`."""

    value: float
    relative: bool = False

    def resolve(self, of_b: float) -> float:
        return self.value * of_b if self.relative else self.value


@dataclass(frozen=True, slots=True)
class RampSpec:
    from_bps: Amount
    to_bps: Amount
    over_s: float


@dataclass(frozen=True, slots=True)
class Condition:
    """`metric op value`, e.g. cache < 5 % of the cage. Pressure values are absolute."""

    metric: str
    op: str  # "<" or ">"
    value: Amount
    text: str


@dataclass(frozen=True, slots=True)
class Until:
    seconds: float | None = None
    on_kill: bool = False
    on_key: bool = False
    conditions: tuple[Condition, ...] = ()
    text: str = ""

    @property
    def waits_on_world(self) -> bool:
        """True when the act waits on memory or the kill, so it needs a timeout."""
        return self.on_kill or bool(self.conditions)


def show_value(value: Any) -> str:
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)


T = TypeVar("T")


class Problem(SetlistError):
    """One mistake at one line: `file:line: what was expected`."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line


class SetlistProblems(SetlistError):
    """Every mistake found in one file, sorted by line. `problems` holds one
    `file:line: what` line each; the message is the first, and how many more there are."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = tuple(problems)
        more = len(problems) - 1
        tail = f" (and {more} more; `oomphony check FILE` lists them all)" if more else ""
        super().__init__(f"{problems[0]}{tail}")


class Checker:
    def __init__(self, where: str, lines: LineMap) -> None:
        self.where = where
        self.lines = lines
        self._problems: list[Problem] = []

    def fail(self, line: int, what: str) -> Problem:
        return Problem(line, f"{self.where}:{line}: {what}")

    def note(self, problem: Problem) -> None:
        """Record a mistake and go on checking."""
        if all(str(p) != str(problem) for p in self._problems):
            self._problems.append(problem)

    def attempt(self, check: Callable[..., T], *args: Any, **kwargs: Any) -> T | None:
        """`check(*args)`, or None after recording the mistake it found."""
        try:
            return check(*args, **kwargs)
        except Problem as problem:
            self.note(problem)
            return None

    @property
    def n_problems(self) -> int:
        return len(self._problems)

    def raise_problems(self) -> None:
        """SetlistProblems with every mistake recorded, by line; nothing if there is none."""
        if self._problems:
            ordered = sorted(self._problems, key=lambda p: p.line)  # stable within a line
            raise SetlistProblems([str(p) for p in ordered])

    def string(self, table: dict[str, Any], key: str, line: int, *, required: bool) -> str:
        value = table.get(key)
        if value is None and not required:
            return ""
        if not isinstance(value, str) or (required and not value.strip()):
            if value is None:
                raise self.fail(line, f"'{key}' is missing: it must be a non-empty string")
            raise self.fail(line, f"'{key}' must be a non-empty string, got {show_value(value)}")
        return value.strip()

    def flag(self, value: Any, key: str, line: int) -> bool:
        if not isinstance(value, bool):
            raise self.fail(line, f"'{key}' must be true or false, got {show_value(value)}")
        return value

    def seconds(self, value: Any, key: str, line: int) -> float:
        if isinstance(value, str):
            m = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]*)?)\s*s\s*", value)
            value = float(m.group(1)) if m else value
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
            or not 0 < value <= MAX_SECONDS
        ):
            raise self.fail(
                line,
                f"'{key}' must be a number of seconds (like 30 or \"30s\"), "
                f"got {show_value(value)}",
            )
        return float(value)

    def amount(self, value: Any, key: str, line: int, *, max_fraction: float = 1.0) -> Amount:
        if isinstance(value, str) and value.strip().endswith("%"):
            frac = _percent(value)
            if frac is not None and 0 < frac <= max_fraction:
                return Amount(frac, relative=True)
        elif isinstance(value, str):
            try:
                size = parse_size(value)
            except UsageError:
                size = 0
            if size > 0:
                return Amount(float(size))
        raise self.fail(
            line,
            f"'{key}' must be a size like 128MiB or a share of the cage like 40% "
            f"(at most {max_fraction:.0%}), got {show_value(value)}",
        )

    def rate(self, value: Any, key: str, line: int) -> Amount:
        if isinstance(value, str):
            text = value.strip()
            if text.endswith("%/s"):
                frac = _percent(text[:-2])
                if frac is not None and 0 < frac <= 1:
                    return Amount(frac, relative=True)
            else:
                try:
                    return Amount(parse_rate(text))
                except UsageError:
                    pass
        raise self.fail(line, f"'{key}' must look like 50MiB/s or 2%/s, got {show_value(value)}")


def _percent(text: str) -> float | None:
    m = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]*)?)\s*%\s*", text)
    return float(m.group(1)) / 100 if m else None


_COND_RE = re.compile(r"^\s*([a-z_]+)\s*(<|>)\s*(.+?)\s*$")
UNTIL_HELP = (
    '\'until\' must be seconds ("30s"), a condition ("cache < 5%", "swap > 64MiB", '
    '"pressure > 0.2"), "oom_kill" or "key", or a list of these'
)


def parse_until_one(chk: Checker, item: Any, line: int) -> Until:
    if isinstance(item, int | float) and not isinstance(item, bool):
        return Until(seconds=chk.seconds(item, "until", line))
    if not isinstance(item, str):
        raise chk.fail(line, f"{UNTIL_HELP}, got {show_value(item)}")
    text = item.strip()
    if text in ("oom_kill", "kill"):
        return Until(on_kill=True)
    if text == "key":
        return Until(on_key=True)
    if re.fullmatch(r"[0-9.]+\s*s", text):
        return Until(seconds=chk.seconds(text, "until", line))
    m = _COND_RE.match(text)
    if not m or m.group(1) not in METRICS:
        raise chk.fail(line, f"{UNTIL_HELP}, got {show_value(item)}")
    metric, op, raw = m.groups()
    if metric == "pressure":
        frac = _percent(raw) if raw.endswith("%") else None
        if frac is None and re.fullmatch(r"[0-9]*\.?[0-9]+", raw):
            frac = float(raw)
        if frac is None or not 0 <= frac <= 1:
            raise chk.fail(
                line, f"pressure in 'until' must be a fraction 0..1 like 0.2, got {show_value(raw)}"
            )
        value = Amount(frac)
    else:
        value = chk.amount(raw, f"until {metric}", line)
    return Until(conditions=(Condition(metric, op, value, text),))


def parse_until(chk: Checker, value: Any, line: int) -> Until:
    items = value if isinstance(value, list) else [value]
    if not items:
        raise chk.fail(line, f"{UNTIL_HELP}, got []")
    parts = [parse_until_one(chk, item, line) for item in items]
    seconds = [p.seconds for p in parts if p.seconds is not None]
    return Until(
        seconds=min(seconds) if seconds else None,
        on_kill=any(p.on_kill for p in parts),
        on_key=any(p.on_key for p in parts),
        conditions=tuple(c for p in parts for c in p.conditions),
        text=" or ".join(str(i) for i in items),
    )
