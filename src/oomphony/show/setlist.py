"""Setlists: a TOML show header and a sequence of acts, validated into typed objects.

```toml
[show]
title = "Rearrange your RAM"
description = "the talk's three observations, about 3 minutes"   # optional, for `setlists`
memory = "auto"          # or "512MiB" (at least 16MiB)
swap = "auto"            # or "256MiB" (at least 1MiB), or "none" / "0" / "0MiB": no swap
sound = "stage"          # sound preset: stage, classroom or booth (sound.presets)
picture = "stage"        # picture preset: stage or classroom (cues.PICTURE_PRESETS)
loop = false             # kiosk: start again after the last act
pause_between_acts = false   # classroom: hold the allocator and wait for a key after each act

[[act]]
name = "overture"
kind = "overture"        # an oomphony.cues.Act; defaults to the name when it is one
title = "A full cache"   # short caption (defaults to the name)
caption = "One plain sentence."
explanation = "The longer classroom text."
fill_cache = "40%"       # sizes are bytes ("128MiB") or a share of the cage ("40%")
rate = "1%/s"            # or "50MiB/s"; also ramp = { from = "1%/s", to = "3%/s", over = 20 }
until = "used > 95%"     # or "30s", "cache < 5%", "swap > 64MiB", "pressure > 0.2",
                         # "oom_kill", "key", or a list: the first that happens
timeout = 90             # seconds; an act waiting on memory or the kill never hangs
```
Other act keys: `hold = true`, `release = true | "64MiB"`, `sleeper = "25%"` (start a
sleeper), `wake = true` (wake it), `sound`, `picture` (presets for that act). Every
mistake is reported, each naming the file, the line and what was expected.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from typing import Any

from oomphony.cage.sizing import MIN_MEMORY_B
from oomphony.cues import Act
from oomphony.errors import UsageError
from oomphony.show._lines import LineMap
from oomphony.show.values import (
    UNTIL_HELP,
    Amount,
    Checker,
    Condition,
    RampSpec,
    SetlistProblems,
    Until,
    parse_until,
    show_value,
)
from oomphony.units import SWAP_HELP, parse_size, parse_swap

__all__ = [
    "ActSpec",
    "Amount",
    "Condition",
    "RampSpec",
    "Setlist",
    "SetlistProblems",
    "Until",
]

SHOW_KEYS = ("title", "description", "memory", "swap", "sound", "picture", "loop",
             "pause_between_acts")  # fmt: skip
ACT_KEYS = ("name", "kind", "title", "caption", "explanation", "rate", "ramp", "hold",
            "release", "fill_cache", "sleeper", "wake", "until", "timeout", "sound",
            "picture")  # fmt: skip


@dataclass(frozen=True, slots=True)
class ActSpec:
    name: str
    kind: Act
    title: str
    caption: str
    explanation: str
    until: Until
    rate: Amount | None = None
    ramp: RampSpec | None = None
    hold: bool = False
    release: bool = False
    release_amount: Amount | None = None  # None with release=True: all of it
    fill_cache: Amount | None = None
    sleeper: Amount | None = None
    wake: bool = False
    timeout_s: float | None = None
    sound_preset: str | None = None
    picture_preset: str | None = None
    line: int = 0


@dataclass(frozen=True, slots=True)
class Setlist:
    name: str
    title: str
    description: str
    memory_b: int | None  # None: auto
    swap_b: int | None  # None: auto; 0: no swap
    sound_preset: str
    picture_preset: str
    loop: bool
    acts: tuple[ActSpec, ...]
    path: str
    pause_between_acts: bool = False


def _preset_names() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The sound and the picture preset registries (imported late: the sound package
    brings numpy)."""
    from oomphony.cues import PICTURE_PRESETS
    from oomphony.sound.presets import PRESETS as SOUND_PRESETS

    return SOUND_PRESETS, PICTURE_PRESETS


def _preset(chk: Checker, table: dict[str, Any], key: str, line: int) -> str | None:
    """A `sound` or `picture` preset name from its registry, or None when not given."""
    name = chk.string(table, key, line, required=False)
    if not name:
        return None
    sound, picture = _preset_names()
    known = sound if key == "sound" else picture
    if name not in known:
        raise chk.fail(
            line,
            f"'{key}' must be one of the {key} presets {', '.join(known)}, got {show_value(name)}",
        )
    return name


def _ramp(chk: Checker, r: Any, line: int) -> RampSpec | None:
    if not isinstance(r, dict) or set(r) != {"from", "to", "over"}:
        raise chk.fail(
            line,
            f'\'ramp\' must look like {{ from = "1%/s", to = "5%/s", over = 20 }}, '
            f"got {show_value(r)}",
        )
    return RampSpec(
        chk.rate(r["from"], "ramp.from", line),
        chk.rate(r["to"], "ramp.to", line),
        chk.seconds(r["over"], "ramp.over", line),
    )


def _kind(chk: Checker, raw: dict[str, Any], name: str | None, line: int) -> Act:
    kinds = [a.value for a in Act]
    kind_text = raw.get("kind", name)
    if kind_text not in kinds:
        what = "'kind'" if "kind" in raw else f"act '{name}' needs a 'kind'; it"
        got = show_value(kind_text)
        raise chk.fail(line, f"{what} must be one of {', '.join(kinds)}, got {got}")
    return Act(kind_text)


def _act(chk: Checker, raw: Any, index: int) -> ActSpec | None:
    """The act at `index`, or None when it has mistakes (each recorded in `chk`)."""
    line0 = chk.lines.header("act", index)
    if not isinstance(raw, dict):
        chk.note(chk.fail(line0, f"act {index + 1} must be a [[act]] table"))
        return None
    n0 = chk.n_problems

    def at(key: str) -> int:
        return chk.lines.key("act", index, key)

    for key in raw:
        if key not in ACT_KEYS:
            chk.note(
                chk.fail(
                    at(key), f"unknown key '{key}' in act; expected one of {', '.join(ACT_KEYS)}"
                )
            )
    name = chk.attempt(chk.string, raw, "name", at("name"), required=True)
    kind = None
    if name is not None or "kind" in raw:
        kind = chk.attempt(_kind, chk, raw, name, at("kind" if "kind" in raw else "name"))
    until = None
    if "until" not in raw:
        chk.note(chk.fail(line0, f"act '{name or index + 1}' has no 'until': {UNTIL_HELP}"))
    else:
        until = chk.attempt(parse_until, chk, raw["until"], at("until"))
    ramp = chk.attempt(_ramp, chk, raw["ramp"], at("ramp")) if "ramp" in raw else None
    release, release_amount = False, None
    if "release" in raw:
        if isinstance(raw["release"], bool):
            release = raw["release"]
        else:
            release = True
            release_amount = chk.attempt(chk.amount, raw["release"], "release", at("release"))

    def opt(key: str, conv: Any, **kw: Any) -> Any:
        return chk.attempt(conv, raw[key], key, at(key), **kw) if key in raw else None

    spec = dict(
        title=chk.attempt(chk.string, raw, "title", at("title"), required=False) or name,
        caption=chk.attempt(chk.string, raw, "caption", at("caption"), required=True),
        explanation=chk.attempt(chk.string, raw, "explanation", at("explanation"), required=False),
        rate=opt("rate", chk.rate),
        hold=bool(opt("hold", chk.flag)),
        fill_cache=opt("fill_cache", chk.amount, max_fraction=0.9),
        sleeper=opt("sleeper", chk.amount, max_fraction=0.6),
        wake=bool(opt("wake", chk.flag)),
        timeout_s=opt("timeout", chk.seconds),
        sound_preset=chk.attempt(_preset, chk, raw, "sound", at("sound")),
        picture_preset=chk.attempt(_preset, chk, raw, "picture", at("picture")),
    )
    if chk.n_problems > n0 or name is None or kind is None or until is None:
        return None
    return ActSpec(
        name=name,
        kind=kind,
        until=until,
        ramp=ramp,
        release=release,
        release_amount=release_amount,
        line=line0,
        **spec,
    )


def _size_or_auto(chk: Checker, value: Any, key: str, line: int) -> int | None:
    """`memory`: "auto" (None) or a size of at least 16MiB."""
    if value is None or value == "auto":
        return None
    if isinstance(value, str):
        try:
            size = parse_size(value)
        except UsageError:
            size = 0
        if size >= MIN_MEMORY_B:
            return size
    raise chk.fail(
        line, f"'{key}' must be \"auto\" or a size of at least 16MiB, got {show_value(value)}"
    )


def _swap(chk: Checker, value: Any, line: int) -> int | None:
    """`swap`: the command line's grammar (units.parse_swap); a TOML integer is bytes."""
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if isinstance(value, str):
        try:
            return parse_swap(value, what="'swap'")
        except UsageError:
            pass
    raise chk.fail(line, f"'swap' must be {SWAP_HELP}, got {show_value(value)}")


def _header(chk: Checker, show: dict[str, Any]) -> dict[str, Any]:
    """The [show] table's values, by Setlist field; mistakes recorded in `chk`."""

    def at(key: str) -> int:
        return chk.lines.key("show", 0, key)

    for key in show:
        if key not in SHOW_KEYS:
            chk.note(
                chk.fail(
                    at(key),
                    f"unknown key '{key}' in [show]; expected one of {', '.join(SHOW_KEYS)}",
                )
            )

    def flag(key: str) -> bool:
        return bool(chk.attempt(chk.flag, show.get(key, False), key, at(key)))

    return dict(
        title=chk.attempt(chk.string, show, "title", at("title"), required=True),
        description=chk.attempt(chk.string, show, "description", at("description"), required=False)
        or "",
        memory_b=chk.attempt(_size_or_auto, chk, show.get("memory"), "memory", at("memory")),
        swap_b=chk.attempt(_swap, chk, show.get("swap"), at("swap")),
        sound_preset=chk.attempt(_preset, chk, show, "sound", at("sound")) or "stage",
        picture_preset=chk.attempt(_preset, chk, show, "picture", at("picture")) or "stage",
        loop=flag("loop"),
        pause_between_acts=flag("pause_between_acts"),
    )


def parse_setlist(text: str, *, where: str, name: str) -> Setlist:
    """Validate TOML text into a Setlist; `where` is the file name used in errors.

    SetlistError otherwise: `SetlistProblems` lists every mistake found, by line (a file
    that is not TOML at all has one)."""
    lines = LineMap(text)
    chk = Checker(where, lines)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        msg = str(err)
        m = re.search(r"\(at line (\d+), column \d+\)", msg)
        line = int(m.group(1)) if m else lines.n_lines
        what = re.sub(r"\s*\(at (line \d+, column \d+|end of document)\)", "", msg)
        chk.note(chk.fail(line, f"not valid TOML: {what}"))
        chk.raise_problems()
    for key in data:
        if key not in ("show", "act"):
            chk.note(
                chk.fail(
                    lines.key("", 0, key) if not isinstance(data[key], dict) else lines.header(key),
                    f"unknown table or key '{key}'; expected [show] and [[act]]",
                )
            )
    show = data.get("show")
    header: dict[str, Any] = {}
    if not isinstance(show, dict):
        chk.note(chk.fail(1, "a [show] table is missing (title, memory, swap, …)"))
    else:
        header = _header(chk, show)
    acts_raw = data.get("act")
    acts: tuple[ActSpec | None, ...] = ()
    if not isinstance(acts_raw, list) or not acts_raw:
        chk.note(chk.fail(lines.n_lines, "a setlist needs at least one [[act]]"))
    else:
        acts = tuple(_act(chk, raw, i) for i, raw in enumerate(acts_raw))
    chk.raise_problems()
    return Setlist(
        name=name,
        acts=tuple(a for a in acts if a is not None),
        path=where,
        **header,
    )
