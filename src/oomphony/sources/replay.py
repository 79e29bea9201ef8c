"""Replay a recorded trace as a Source: the show runs anywhere, without a kernel to push.

`step(t_s)` returns the last frame with `t <= t_s` (the first frame before that) and the
trace's source events (the kill, the allocator's exit) with `t` in `(previous t_s, t_s]`.
The show's own events in the trace (acts, audio reports, the end) are not replayed: the
director of the replaying show makes its own. Commands are ignored (logged once). A trace
cut off mid-line (the show was killed) replays up to its last whole line.
"""

from __future__ import annotations

import bisect
import logging
from dataclasses import replace
from pathlib import Path

from oomphony.commands import Command
from oomphony.errors import TraceError
from oomphony.frame import AllocatorExit, Event, Failure, MemoryFrame, OomKill
from oomphony.sources.base import Origin
from oomphony.trace.reader import Trace, read_trace

log = logging.getLogger(__name__)

SOURCE_EVENTS = (OomKill, AllocatorExit, Failure)


def recorded_origin(trace: Trace) -> Origin:
    """The recorded show, as the picture names it: host and start from the header; a
    simulated show is known by its options (`backend` "sim"), its cage (`kind` "sim") or
    a kill the simulator made."""
    header = trace.header
    host = header.get("host")
    cage = header.get("cage")
    options = header.get("options")
    simulated = (
        (isinstance(options, dict) and options.get("backend") == "sim")
        or (isinstance(cage, dict) and cage.get("kind") == "sim")
        or any(isinstance(ev, OomKill) and ev.source == "sim" for ev in trace.events)
    )
    return Origin(
        "replay",
        simulated=simulated,
        host=str(host.get("hostname") or "") if isinstance(host, dict) else "",
        recorded=str(header.get("started") or ""),
    )


class ReplaySource:
    name = "replay"

    def __init__(self, path: str | Path, trace: Trace | None = None) -> None:
        """`trace`: the file already read (a kiosk replays it show after show)."""
        self.path = Path(path)
        self.trace: Trace = trace if trace is not None else read_trace(self.path)
        if not self.trace.frames:
            raise TraceError(f"{self.path}: the trace holds no frames to replay")
        self.frames = self.trace.frames
        self._frame_t = [f.t_s for f in self.frames]
        self.events = [ev for ev in self.trace.events if isinstance(ev, SOURCE_EVENTS)]
        self._event_t = [ev.t_s for ev in self.events]
        self.origin = recorded_origin(self.trace)
        self.fallbacks: list[str] = ["replay: the allocator in a trace cannot be steered"]
        if self.trace.truncated:
            self.fallbacks.append("replay: the trace was cut off; it replays to its last line")
        self._prev_t: float | None = None
        self._origin_s: float | None = None
        self._warned = False
        self._done = False

    @property
    def end_t_s(self) -> float:
        return max(self._frame_t[-1], self._event_t[-1] if self._event_t else 0.0)

    def wake_fds(self) -> list[int]:
        return []

    @property
    def has_swap(self) -> bool:
        return True  # the trace shows whatever it shows

    def describe_cage(self) -> dict[str, object] | None:
        cage = self.trace.header.get("cage")
        return cage if isinstance(cage, dict) else None

    def start(self) -> None:
        return None

    def step(self, t_s: float) -> tuple[MemoryFrame, list[Event]]:
        if self._origin_s is None:
            # A kiosk's later shows start at a show clock past 0: the trace plays from its
            # start then, with its times moved to the show clock.
            self._origin_s = t_s if t_s > self._frame_t[0] else 0.0
        frame, events = self._at(t_s - self._origin_s)
        if self._origin_s:
            frame = replace(frame, t_s=frame.t_s + self._origin_s)
            events = [replace(ev, t_s=ev.t_s + self._origin_s) for ev in events]
        return frame, events

    def _at(self, t_s: float) -> tuple[MemoryFrame, list[Event]]:
        i = bisect.bisect_right(self._frame_t, t_s) - 1
        frame = self.frames[max(i, 0)]
        lo = 0 if self._prev_t is None else bisect.bisect_right(self._event_t, self._prev_t)
        hi = bisect.bisect_right(self._event_t, t_s)
        events: list[Event] = list(self.events[lo:hi]) if hi > lo else []
        if self._prev_t is None or t_s > self._prev_t:
            self._prev_t = t_s
        self._done = t_s >= self.end_t_s
        return frame, events

    def command(self, cmd: Command) -> None:
        if not self._warned:
            log.info("replay: commands are ignored (first: %r)", cmd)
            self._warned = True

    @property
    def done(self) -> bool:
        return self._done

    def close(self) -> None:
        return None
