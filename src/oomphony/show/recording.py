"""What the runner records and reports about a show: its trace lines (held back while a
kill waits for its kill screen), the picture's frame times, the last kill's latencies,
and from these the `Status` the presenter's HUD shows each frame. Pygame-free."""

from __future__ import annotations

import time
from typing import Any

from oomphony.cage.protect import footprint
from oomphony.cues import OscCounters, Status
from oomphony.frame import Event, MemoryFrame, OomKill
from oomphony.show.shield import protections_line
from oomphony.show.stats import FrameStats, KillScreenTimer, picture_report
from oomphony.sources.base import Source
from oomphony.trace.writer import TraceWriter
from oomphony.units import format_size


def _bytes(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) else None


def cage_label(cage: dict[str, object] | None) -> str:
    """A source's `describe_cage()` in a few words, for the HUD."""
    if cage is None:
        return "none (global)"
    memory_b, swap_b = (_bytes(cage.get(k)) for k in ("memory_b", "swap_b"))
    size = f"{format_size(memory_b)} + {format_size(swap_b)} swap"
    how = "simulated" if cage.get("kind") == "sim" else cage.get("how")
    return f"{size} · {how}" if how else size


class ShowRecorder:
    """The trace and the measurements of a run's shows (`trace` None: none written)."""

    def __init__(self, trace: TraceWriter | None, fps: int) -> None:
        self.trace = trace
        self.fps = fps
        self.stats = FrameStats(fps)
        self.last_kill: OomKill | None = None  # with its latencies, for the HUD
        self._timer = KillScreenTimer(self._write_line)  # holds trace lines behind a kill
        self._backend = ""  # what the HUD names the show's source and cage
        self._cage = ""
        self.protections: dict | None = None  # --global (show/shield.py): `protect`
        self._protections_line = ""  # the HUD's words for them, made once
        self.failures: list[str] = []  # Failure events' details, this run
        self._footprint = ""
        self._footprint_at = -1e9

    def new_show(self, source: Source) -> None:
        """A show with a picture starts: fresh frame statistics, the source's labels (the
        backend the show really runs on, its cage) for the HUD."""
        self.stats = FrameStats(self.fps)
        self._backend = source.name
        self._cage = cage_label(source.describe_cage())

    def write(self, item: Event | MemoryFrame) -> None:
        """A trace line, held back while a kill waits for its kill screen."""
        if self.trace is not None:
            self._timer.write(item)

    def _write_line(self, item: Event | MemoryFrame) -> None:
        if self.trace is None:
            return
        if isinstance(item, MemoryFrame):
            self.trace.frame(item)
        else:
            self.trace.event(item)

    def kill_known(self, ev: OomKill, now_t_s: float, *, screen: bool) -> None:
        """The show knows of a kill; with a picture (`screen`), its kill screen is timed."""
        self.last_kill = ev
        if screen:
            self._timer.known(ev, now_t_s, hold=self.trace is not None)

    def kill_screen_check(self, view: Any, *, give_up: bool = False) -> None:
        """After a picture frame: a kill screen now on the display completes its kill."""
        shown = getattr(getattr(view, "stage", None), "kill_shown_t_s", None)
        last_ms = self.stats.times_ms[-1] if self.stats.times_ms else 0.0
        for new in self._timer.check(shown, last_ms, give_up=give_up):
            if self.last_kill is not None and self.last_kill.t_s == new.t_s:
                self.last_kill = new

    def picture_report(self, t_s: float, view: Any) -> None:
        """The show's frame times, as the trace's `picture` event."""
        if self.trace is None:
            return
        report = picture_report(self.stats, t_s, view)
        if report is not None:
            self.trace.event(report)

    def protect(self, protections: dict | None) -> None:
        """--global: what protects the show, for the report and (in words) the HUD."""
        self.protections = protections
        self._protections_line = protections_line(protections) if protections else ""

    def footprint(self, audio: Any | None, now_s: float) -> str:
        """The show's and the audio process's resident memory (the audio process's without
        its shared JACK segment), read from /proc once a second."""
        if now_s - self._footprint_at < 1.0:
            return self._footprint
        self._footprint_at = now_s
        fp = footprint()
        parts = []
        if "VmRSS" in fp:
            parts.append(f"show {format_size(fp['VmRSS'])}")
        sizes = audio.footprint_b() if audio is not None else None
        if sizes is not None:
            parts.append(f"audio {format_size(sizes[0])}")
        self._footprint = " · ".join(parts)
        return self._footprint

    def status(
        self, source: Source, audio: Any | None, *, muted: bool, osc: OscCounters | None = None
    ) -> Status:
        """What the HUD shows this frame."""
        underflows = audio.counters()[0] if audio is not None else 0
        kill = self.last_kill
        return Status(
            audio=("muted · " if muted else "")
            + (audio.status if audio is not None else "off (--no-audio)"),
            underflows=underflows,
            backend=self._backend,
            cage=self._cage,
            fallbacks=tuple(source.fallbacks),
            frame_p99_ms=self.stats.recent_p99_ms,
            dropped=self.stats.dropped,
            kill_detect_ms=kill.detect_ms if kill is not None else None,
            kill_screen_ms=kill.screen_ms if kill is not None else None,
            has_kill=kill is not None,
            osc=osc,
            protections=self._protections_line,
            footprint=self.footprint(audio, time.monotonic()),
            failures=tuple(self.failures),
        )
