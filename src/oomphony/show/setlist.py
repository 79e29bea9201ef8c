"""Setlists: a TOML show header and a sequence of acts, validated into typed objects.

```toml
[show]
title = "Rearrange your RAM"
description = "the talk's three observations, about 3 minutes"   # one line, for `setlists`
memory = "auto"          # or "512MiB"
swap = "auto"            # or "256MiB", or "none"
sound = "stage"          # presets for the sound and the picture
picture = "stage"
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
sleeper), `wake = true` (wake it), `sound`, `picture`. Every error names the file, the
line and what was expected.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from oomphony.cues import Act
from oomphony.errors import SetlistError, UsageError
from oomphony.show._lines import LineMap
from oomphony.show.values import (
    UNTIL_HELP,
    Amount,
    Checker,
    Condition,
    RampSpec,
    Until,
    parse_until,
    show_value,
)
from oomphony.units import parse_size

__all__ = ["ActSpec", "Amount", "Condition", "RampSpec", "Setlist", "Until", "load_setlist"]

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


def _act(chk: Checker, raw: Any, index: int) -> ActSpec:
    line0 = chk.lines.header("act", index)
    if not isinstance(raw, dict):
        raise chk.fail(line0, f"act {index + 1} must be a [[act]] table")

    def at(key: str) -> int:
        return chk.lines.key("act", index, key)

    for key in raw:
        if key not in ACT_KEYS:
            raise chk.fail(
                at(key), f"unknown key '{key}' in act; expected one of {', '.join(ACT_KEYS)}"
            )
    name = chk.string(raw, "name", at("name"), required=True)
    kinds = [a.value for a in Act]
    kind_text = raw.get("kind", name)
    if kind_text not in kinds:
        what = "'kind'" if "kind" in raw else f"act '{name}' needs a 'kind'; it"
        raise chk.fail(
            at("kind" if "kind" in raw else "name"),
            f"{what} must be one of {', '.join(kinds)}, got {show_value(kind_text)}",
        )
    if "until" not in raw:
        raise chk.fail(line0, f"act '{name}' has no 'until': {UNTIL_HELP}")
    ramp = None
    if "ramp" in raw:
        r = raw["ramp"]
        if not isinstance(r, dict) or set(r) != {"from", "to", "over"}:
            raise chk.fail(
                at("ramp"),
                f'\'ramp\' must look like {{ from = "1%/s", to = "5%/s", over = 20 }}, '
                f"got {show_value(r)}",
            )
        ramp = RampSpec(
            chk.rate(r["from"], "ramp.from", at("ramp")),
            chk.rate(r["to"], "ramp.to", at("ramp")),
            chk.seconds(r["over"], "ramp.over", at("ramp")),
        )
    release, release_amount = False, None
    if "release" in raw:
        if isinstance(raw["release"], bool):
            release = raw["release"]
        else:
            release, release_amount = True, chk.amount(raw["release"], "release", at("release"))

    def opt(key: str, conv: Any) -> Any:
        return conv(raw[key], key, at(key)) if key in raw else None

    return ActSpec(
        name=name,
        kind=Act(kind_text),
        title=chk.string(raw, "title", at("title"), required=False) or name,
        caption=chk.string(raw, "caption", at("caption"), required=True),
        explanation=chk.string(raw, "explanation", at("explanation"), required=False),
        until=parse_until(chk, raw["until"], at("until")),
        rate=opt("rate", chk.rate),
        ramp=ramp,
        hold=bool(opt("hold", chk.flag)),
        release=release,
        release_amount=release_amount,
        fill_cache=opt("fill_cache", lambda v, k, ln: chk.amount(v, k, ln, max_fraction=0.9)),
        sleeper=opt("sleeper", lambda v, k, ln: chk.amount(v, k, ln, max_fraction=0.6)),
        wake=bool(opt("wake", chk.flag)),
        timeout_s=opt("timeout", chk.seconds),
        sound_preset=chk.string(raw, "sound", at("sound"), required=False) or None,
        picture_preset=chk.string(raw, "picture", at("picture"), required=False) or None,
        line=line0,
    )


def _size_or_auto(chk: Checker, value: Any, key: str, line: int, *, none_ok: bool) -> int | None:
    if value is None or value == "auto":
        return None
    if none_ok and value == "none":
        return 0
    if isinstance(value, str):
        try:
            size = parse_size(value)
        except UsageError:
            size = 0
        if size >= 16 * 1024 * 1024:
            return size
    also = ', "none"' if none_ok else ""
    raise chk.fail(
        line, f"'{key}' must be \"auto\"{also} or a size of at least 16MiB, got {show_value(value)}"
    )


def parse_setlist(text: str, *, where: str, name: str) -> Setlist:
    """Validate TOML text into a Setlist; `where` is the file name used in errors."""
    lines = LineMap(text)
    chk = Checker(where, lines)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        msg = str(err)
        m = re.search(r"\(at line (\d+), column \d+\)", msg)
        line = int(m.group(1)) if m else lines.n_lines
        what = re.sub(r"\s*\(at (line \d+, column \d+|end of document)\)", "", msg)
        raise chk.fail(line, f"not valid TOML: {what}") from None
    for key in data:
        if key not in ("show", "act"):
            raise chk.fail(
                lines.key("", 0, key) if not isinstance(data[key], dict) else lines.header(key),
                f"unknown table or key '{key}'; expected [show] and [[act]]",
            )
    show = data.get("show")
    if not isinstance(show, dict):
        raise chk.fail(1, "a [show] table is missing (title, description, memory, swap, …)")

    def at(key: str) -> int:
        return lines.key("show", 0, key)

    for key in show:
        if key not in SHOW_KEYS:
            raise chk.fail(
                at(key), f"unknown key '{key}' in [show]; expected one of {', '.join(SHOW_KEYS)}"
            )
    acts_raw = data.get("act")
    if not isinstance(acts_raw, list) or not acts_raw:
        raise chk.fail(lines.n_lines, "a setlist needs at least one [[act]]")
    acts = tuple(_act(chk, raw, i) for i, raw in enumerate(acts_raw))
    return Setlist(
        name=name,
        title=chk.string(show, "title", at("title"), required=True),
        description=chk.string(show, "description", at("description"), required=True),
        memory_b=_size_or_auto(chk, show.get("memory"), "memory", at("memory"), none_ok=False),
        swap_b=_size_or_auto(chk, show.get("swap"), "swap", at("swap"), none_ok=True),
        sound_preset=chk.string(show, "sound", at("sound"), required=False) or "stage",
        picture_preset=chk.string(show, "picture", at("picture"), required=False) or "stage",
        loop=chk.flag(show.get("loop", False), "loop", at("loop")),
        pause_between_acts=chk.flag(
            show.get("pause_between_acts", False), "pause_between_acts", at("pause_between_acts")
        ),
        acts=acts,
        path=where,
    )


def parse_setlist_bytes(raw: bytes, *, where: str, name: str) -> Setlist:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise SetlistError(f"{where}:{line}: not UTF-8 text (byte {err.start})") from None
    return parse_setlist(text, where=where, name=name)


def _bundled_dir() -> Any:
    return resources.files("oomphony") / "setlists"


def bundled_names() -> list[str]:
    return sorted(p.name[:-5] for p in _bundled_dir().iterdir() if p.name.endswith(".toml"))


def load_setlist(name_or_path: str) -> Setlist:
    """A bundled setlist by name, or a file by path. SetlistError otherwise."""
    p = Path(name_or_path)
    if p.suffix == ".toml" or "/" in name_or_path or p.is_file():
        try:
            raw = p.read_bytes()
        except OSError as err:
            raise SetlistError(f"{name_or_path}: cannot read setlist: {err.strerror}") from err
        return parse_setlist_bytes(raw, where=name_or_path, name=p.stem)
    names = bundled_names()
    if name_or_path not in names:
        raise SetlistError(
            f"unknown setlist {name_or_path!r}; bundled setlists: {', '.join(names)} "
            "(or give a .toml file)"
        )
    raw = (_bundled_dir() / f"{name_or_path}.toml").read_bytes()
    return parse_setlist_bytes(raw, where=f"setlists/{name_or_path}.toml", name=name_or_path)


def bundled_setlists() -> list[tuple[str, str]]:
    """(name, one-line description) of every bundled setlist."""
    return [(name, load_setlist(name).description) for name in bundled_names()]
