"""The show loop: source → director → (trace, sound, picture), once per tick.

events → update(dt) → draw → flip. Time is in seconds: the show clock advances by the
real elapsed time × `speed` (live always runs at 1×). Headless runs advance the show
clock in fixed steps of 1/`sample_hz` and sleep only to keep pace with `speed`, so a trace
has frames at exactly the configured rate. Nothing in the loop waits on a child or on I/O
beyond the non-blocking reads of the source.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from oomphony.commands import Command, KillNow
from oomphony.cues import Act, Cues
from oomphony.frame import ActEvent, AudioReport, EndEvent, Event, MemoryFrame
from oomphony.source import Source
from oomphony.trace import TraceWriter

log = logging.getLogger(__name__)

KEEP_RESULTS = 100


class Director(Protocol):
    finished: bool

    def step(
        self, frame: MemoryFrame, events: list[Event], dt_s: float, keys: tuple[str, ...]
    ) -> tuple[Cues, list[Command], list[ActEvent]]: ...


class Audio(Protocol):
    status: str

    def update(self, t_s: float, frame: MemoryFrame, cues: Cues) -> None: ...
    def set_muted(self, muted: bool) -> None: ...
    def counters(self) -> tuple[int, float]: ...
    def callback_errors(self) -> int: ...
    def close(self, end_t_s: float | None = None) -> None: ...


@dataclass
class RunOptions:
    speed: float = 1.0
    sample_hz: float = 50.0  # trace frames per second of show time (headless tick)
    fps: int = 60  # picture frame cap
    duration_s: float | None = None  # stop after this much show time
    attract_s: float = 8.0  # kiosk: the attract screen between shows (show seconds)
    max_shows: int | None = None  # kiosk: stop after this many shows (tests, soak)


@dataclass
class ShowResult:
    t_end_s: float
    reason: str  # "finished", "duration", "quit", "source done", "failed"
    last_frame: MemoryFrame | None = None
    last_cues: Cues | None = None
    events: list[Event] = field(default_factory=list)


class Runner:
    """Runs shows. `view` (picture) and `audio` are optional: None means headless/silent."""

    def __init__(
        self,
        *,
        trace: TraceWriter | None = None,
        audio: Audio | None = None,
        view: Any | None = None,
        options: RunOptions | None = None,
        backend: str = "",
        cage_desc: str = "",
    ) -> None:
        self.trace = trace
        self.audio = audio
        self.view = view
        self.opt = options or RunOptions()
        self.backend = backend
        self.cage_desc = cage_desc
        self.clock_offset_s = 0.0  # kiosk: the show clock keeps running across shows
        self.muted = False
        self.quit = False
        self._restart = False  # R: end this show now and start a fresh one
        # Called after each show with its number and result (kiosk soak tests, logging).
        self.on_show_end: Callable[[int, ShowResult], None] | None = None

    # -- one show -------------------------------------------------------------------

    def run_show(self, source: Source, director: Director) -> ShowResult:
        opt = self.opt
        if self.view is not None:
            self.view.set_origin(source.origin)  # the picture labels a sim or a replay
        real_start = time.monotonic()
        frame_period = 1.0 / opt.sample_hz
        # Simulated sources are stepped in sub-steps of one trace period, so the trace has
        # frames at `sample_hz` of show time whatever the picture's frame rate and speed.
        # The live source is sampled once per picture frame: it has one present moment.
        substep = source.name != "live"
        result = ShowResult(t_end_s=0.0, reason="finished")
        t = target = 0.0
        next_frame_t = 0.0
        keys: tuple[str, ...] = ()
        picture_dt = 0.0
        while True:
            while True:
                step_dt = min(frame_period, target - t) if substep else target - t
                t = t + step_dt if target - t > 1e-9 else target
                frame, events = source.step(t + self.clock_offset_s)
                cues, commands, acts = director.step(frame, events, step_dt, keys)
                keys = ()
                for cmd in commands:
                    source.command(cmd)
                result.events.extend(events)
                result.events.extend(acts)
                if self.trace is not None:
                    if t >= next_frame_t - 1e-9:
                        self.trace.frame(frame)
                        next_frame_t += frame_period
                        if next_frame_t <= t:  # a long stall (live): do not write a burst
                            next_frame_t = t + frame_period
                    for ev in (*events, *acts):
                        self.trace.event(ev)
                if t >= target - 1e-9 or director.finished or source.done:
                    break
            result.last_frame, result.last_cues = frame, cues
            if self.audio is not None:
                self.audio.update(t + self.clock_offset_s, frame, cues)
            if self.view is not None:
                actions = self.view.frame(picture_dt, frame, cues, self._hud_fields(source))
                keys = self._act_on(actions, source)
            if self.quit or self._restart:
                result.reason = "quit" if self.quit else "restart"
                self._restart = False
                break
            if director.finished:
                result.reason = "finished"
                break
            if source.done:
                result.reason = "source done"
                break
            if opt.duration_s is not None and t >= opt.duration_s:
                result.reason = "duration"
                break
            if self.view is not None:
                picture_dt = self.view.tick(opt.fps) * opt.speed
                target = t + picture_dt
            else:
                target = t + frame_period
                ahead = target / opt.speed - (time.monotonic() - real_start)
                if ahead > 0:
                    time.sleep(ahead)
        result.t_end_s = t
        return result

    def _hud_fields(self, source: Source) -> dict[str, Any]:
        underflows = self.audio.counters()[0] if self.audio is not None else 0
        return {
            "audio": ("muted · " if self.muted else "")
            + (self.audio.status if self.audio is not None else "off (--no-audio)"),
            "underflows": underflows,
            "backend": self.backend,
            "cage": self.cage_desc,
            "fallbacks": tuple(source.fallbacks),
        }

    def _act_on(self, actions: list[str], source: Source | None) -> tuple[str, ...]:
        """Turn picture actions into director keys or direct commands (none without a
        source: the attract screen between kiosk shows)."""
        keys: list[str] = []
        for a in actions:
            if a in ("pause", "rate_up", "rate_down", "next"):
                keys.append(a)
            elif a == "kill" and source is not None:
                source.command(KillNow())
            elif a == "restart":
                self._restart = True
            elif a == "mute" and self.audio is not None:
                self.muted = not self.muted
                self.audio.set_muted(self.muted)
            elif a == "quit":
                self.quit = True
        return tuple(keys)

    # -- many shows (kiosk) -----------------------------------------------------------

    def run_loop(
        self,
        make_show: Callable[[], tuple[Source, Director]],  # returns a started source
        *,
        loop: bool,
    ) -> list[ShowResult]:
        """Run one show, or (kiosk) shows forever with an attract screen between them.
        A show that fails is logged and replaced by the next; only a quit ends a loop."""
        results: list[ShowResult] = []
        shows = 0
        while not self.quit:
            shows += 1
            source: Source | None = None
            try:
                source, director = make_show()
                if self.trace is not None and self.trace.cage is None:
                    describe = getattr(source, "describe_cage", None)
                    self.trace.cage = describe() if describe else None
                result = self.run_show(source, director)
            except Exception as err:
                if not loop:
                    raise
                log.error("show %d failed: %s; the next show follows", shows, err)
                result = ShowResult(t_end_s=0.0, reason="failed")
            finally:
                if source is not None:
                    source.close()
            results.append(result)
            del results[:-KEEP_RESULTS]  # a kiosk runs for days: keep only the latest shows
            log.info("show %d ended after %.1f s: %s", shows, result.t_end_s, result.reason)
            if self.on_show_end is not None:
                self.on_show_end(shows, result)
            self.clock_offset_s += result.t_end_s
            if result.reason == "restart":
                if self.view is not None:
                    self.view.reset()
                continue
            if not loop or self.quit or result.reason == "quit":
                break
            if self.opt.max_shows is not None and shows >= self.opt.max_shows:
                break
            self._attract(result)
        self._finish(results)
        return results

    def _attract(self, last: ShowResult) -> None:
        """Kiosk: hold the attract screen for `attract_s` show seconds between shows."""
        if self.view is None or last.last_frame is None:
            self.clock_offset_s += self.opt.attract_s
            return
        t = 0.0
        cues = Cues(
            t_s=self.clock_offset_s,
            act=Act.ATTRACT,
            title="oomphony",
            caption="The Linux memory manager, performed live. The next show starts soon.",
        )
        while t < self.opt.attract_s and not self.quit:
            self._act_on(self.view.frame(0.0, last.last_frame, cues, {}), None)
            t += self.view.tick(self.opt.fps) * self.opt.speed
        self.clock_offset_s += t
        self.view.reset()

    def _finish(self, results: list[ShowResult]) -> None:
        end_t = self.clock_offset_s
        if self.audio is not None:
            self.audio.close(end_t)
            underflows, worst = self.audio.counters()
            if self.trace is not None:
                errors = self.audio.callback_errors()
                self.trace.event(AudioReport(end_t, underflows, round(worst, 3), errors))
        if self.trace is not None:
            reason = results[-1].reason if results else "none"
            self.trace.event(EndEvent(end_t, reason))
            self.trace.close()
