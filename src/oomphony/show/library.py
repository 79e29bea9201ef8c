"""Where setlists come from: the bundled ones by name, a file by path, or the one a
trace recorded (docs/setlists.md). The parsing and checking is show/setlist.py."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

from oomphony.errors import SetlistError
from oomphony.show.setlist import Setlist, parse_setlist
from oomphony.trace.format import recorded_setlist, setlist_record
from oomphony.trace.reader import Trace


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


def setlist_text(name_or_path: str) -> str:
    """The TOML text of a setlist `load_setlist` accepted (a file, else a bundled one)."""
    p = Path(name_or_path)
    if p.suffix == ".toml" or "/" in name_or_path or p.is_file():
        return p.read_bytes().decode("utf-8")
    return (resources.files("oomphony") / "setlists" / f"{name_or_path}.toml").read_text("utf-8")


DEFAULT_SETLIST = "talk"


def choose_setlist(name: str | None, replayed: Trace | None, trace_path: str | None = None):
    """(Setlist, the header's record of it, taken from the trace?). A named setlist wins;
    a replay without one plays the setlist its trace recorded; else `talk` (also for a
    trace recorded before traces named their setlist)."""
    rec = recorded_setlist(replayed.header) if replayed is not None and name is None else None
    if rec is not None:
        where = f"{trace_path} (its setlist {rec['name']})"
        setlist = parse_setlist(rec["toml"], where=where, name=rec["name"])
        return setlist, rec, True
    name = name or DEFAULT_SETLIST
    setlist = load_setlist(name)
    return setlist, setlist_record(setlist.name, setlist.path, setlist_text(name)), False
