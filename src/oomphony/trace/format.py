"""Traces: JSON Lines, a header, then frames and events in time order
(docs/trace-format.md).

Written line by line and flushed, so a show killed mid-run leaves a trace that replays
up to its last whole line. The header says what produced the trace: the host, the cage,
the setlist (its name and its whole TOML text, so a replay plays the same acts) and the
run's options. Traces from before those fields replay as they always did.

This module is the format: the header's parts and the dict form of frames and events.
Writing: trace/writer.py; reading: trace/reader.py.
"""

from __future__ import annotations

import os
import platform
from dataclasses import asdict, fields
from typing import Any

from oomphony.frame import (
    NO_PRESSURE,
    NO_RATES,
    ActEvent,
    AllocatorExit,
    AllocState,
    AudioReport,
    CageMem,
    CueEvent,
    EndEvent,
    Event,
    Failure,
    MachineMem,
    MemoryFrame,
    OomKill,
    OscReport,
    PictureReport,
    Pressure,
    Rates,
    WarningEvent,
)

TRACE_VERSION = 1


def host_info() -> dict[str, Any]:
    return {
        "kernel": platform.release(),
        "machine": platform.machine(),
        "hostname": platform.node(),
        "cpus": os.cpu_count(),
    }


def setlist_record(name: str, path: str, toml: str) -> dict[str, str]:
    """The header's `setlist`: which setlist produced the trace, and its whole text."""
    return {"name": name, "path": path, "toml": toml}


def recorded_setlist(header: dict[str, Any]) -> dict[str, str] | None:
    """The header's `setlist` when it is usable (name and TOML text), else None: traces
    recorded before the field, and `record` without a setlist, have none."""
    rec = header.get("setlist")
    if (
        isinstance(rec, dict)
        and isinstance(rec.get("name"), str)
        and isinstance(rec.get("toml"), str)
    ):
        return rec
    return None


# --- the dict form of frames and events (docs/trace-format.md) --------------------------

_EVENT_TYPES: dict[str, type] = {
    "oom_kill": OomKill,
    "allocator_exit": AllocatorExit,
    "failure": Failure,
    "act": ActEvent,
    "audio": AudioReport,
    "picture": PictureReport,
    "end": EndEvent,
    "cue": CueEvent,
    "warning": WarningEvent,
    "osc": OscReport,
}


def frame_to_dict(frame: MemoryFrame) -> dict[str, Any]:
    d: dict[str, Any] = {
        "t": round(frame.t_s, 4),
        "machine": asdict(frame.machine),
        "cage": asdict(frame.cage) if frame.cage is not None else None,
        "alloc": asdict(frame.alloc),
        "rates": asdict(frame.rates),
        "psi": asdict(frame.psi),
    }
    if frame.sleeper is not None:
        d["sleeper"] = asdict(frame.sleeper)
    return d


def _build(cls: type, data: dict[str, Any]) -> Any:
    names = {f.name for f in fields(cls) if f.init}
    return cls(**{k: v for k, v in data.items() if k in names})


def frame_from_dict(d: dict[str, Any]) -> MemoryFrame:
    """Inverse of `frame_to_dict`. Unknown keys are ignored (the format may grow)."""
    return MemoryFrame(
        t_s=float(d["t"]),
        machine=_build(MachineMem, d["machine"]),
        cage=_build(CageMem, d["cage"]) if d.get("cage") else None,
        alloc=_build(AllocState, d["alloc"]),
        rates=_build(Rates, d.get("rates") or {}) if d.get("rates") else NO_RATES,
        psi=_build(Pressure, d.get("psi") or {}) if d.get("psi") else NO_PRESSURE,
        sleeper=_build(AllocState, d["sleeper"]) if d.get("sleeper") else None,
    )


def event_to_dict(ev: Event) -> dict[str, Any]:
    d = asdict(ev)
    d["t"] = round(d.pop("t_s"), 4)
    return {"t": d.pop("t"), "event": d.pop("event"), **d}


def event_from_dict(d: dict[str, Any]) -> Event | None:
    """Inverse of `event_to_dict`; None for an event kind this version does not know."""
    cls = _EVENT_TYPES.get(d.get("event", ""))
    if cls is None:
        return None
    data = dict(d)
    data["t_s"] = float(data.pop("t"))
    return _build(cls, data)
