"""Traces: JSON Lines, a header, then frames and events in time order
(docs/trace-format.md).

Written line by line and flushed, so a show killed mid-run leaves a trace that replays
up to its last whole line. The header says what produced the trace: the host, the cage,
the setlist (its name and its whole TOML text, so a replay plays the same acts) and the
run's options. Traces from before those fields replay as they always did.
"""

from __future__ import annotations

import json
import os
import platform
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from oomphony import __version__
from oomphony.errors import TraceError
from oomphony.frame import (
    Event,
    MemoryFrame,
    event_from_dict,
    event_to_dict,
    frame_from_dict,
    frame_to_dict,
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


class TraceWriter:
    """Opened at once, so an unwritable path fails before the show starts. The header is
    written with the first line, once the cage (known only after it is made) is set;
    `setlist` and `options` are set by whoever assembles the run, before that."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        try:
            self._fh: IO[str] | None = open(self.path, "w", encoding="utf-8")  # noqa: SIM115
        except OSError as err:
            raise TraceError(f"cannot write trace {self.path}: {err.strerror}") from err
        self.cage: dict[str, Any] | None = None
        self.setlist: dict[str, str] | None = None
        self.options: dict[str, Any] = {}
        self._started = datetime.now(UTC).isoformat(timespec="seconds")
        self._header_done = False

    def _line(self, obj: dict[str, Any]) -> None:
        if self._fh is None:
            return
        if not self._header_done:
            self._header_done = True
            header = {
                "oomphony_trace": TRACE_VERSION,
                "started": self._started,
                "host": host_info(),
                "cage": self.cage,
                "oomphony": __version__,
                "setlist": self.setlist,
                "options": self.options,
            }
            self._fh.write(json.dumps(header, separators=(",", ":")) + "\n")
        self._fh.write(json.dumps(obj, separators=(",", ":")) + "\n")
        self._fh.flush()

    def frame(self, frame: MemoryFrame) -> None:
        self._line(frame_to_dict(frame))

    def event(self, ev: Event) -> None:
        self._line(event_to_dict(ev))

    def close(self) -> None:
        if self._fh is not None and not self._header_done:
            self._line({"t": 0.0, "event": "end", "reason": "nothing recorded"})
        if self._fh is not None:
            self._fh.close()
            self._fh = None


@dataclass
class Trace:
    header: dict[str, Any]
    frames: list[MemoryFrame] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    truncated: bool = False  # the last line was cut off (the show was killed mid-write)


def read_trace(path: str | os.PathLike[str]) -> Trace:
    """Read a whole trace. A malformed header or a broken line in the middle is a
    TraceError (one clear line); a cut-off last line is tolerated and flagged."""
    p = Path(path)
    try:
        raw = p.read_bytes()
    except OSError as err:
        raise TraceError(f"cannot read trace {p}: {err.strerror}") from err
    lines = raw.decode("utf-8", errors="replace").split("\n")
    complete_last = raw.endswith(b"\n")
    if not lines or not lines[0].strip():
        raise TraceError(f"{p}: empty file, not an oomphony trace")
    try:
        header = json.loads(lines[0])
    except json.JSONDecodeError:
        raise TraceError(f"{p}:1: not an oomphony trace (the first line is not JSON)") from None
    if not isinstance(header, dict) or header.get("oomphony_trace") != TRACE_VERSION:
        raise TraceError(f"{p}:1: not an oomphony trace (no 'oomphony_trace': 1 header)")
    trace = Trace(header=header)
    body = lines[1:]
    for i, line in enumerate(body, start=2):
        if not line.strip():
            continue
        is_last = i - 2 == len(body) - 1
        try:
            obj = json.loads(line)
            if "event" in obj:
                ev = event_from_dict(obj)
                if ev is not None:
                    trace.events.append(ev)
            else:
                trace.frames.append(frame_from_dict(obj))
        except (json.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError):
            if is_last and not complete_last:
                trace.truncated = True
                break
            raise TraceError(f"{p}:{i}: malformed trace line") from None
    return trace
