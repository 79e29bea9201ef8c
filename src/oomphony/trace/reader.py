"""Reading a whole trace (docs/trace-format.md)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from oomphony.errors import TraceError
from oomphony.frame import Event, MemoryFrame
from oomphony.trace.format import TRACE_VERSION, event_from_dict, frame_from_dict


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
