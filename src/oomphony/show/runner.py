"""The show loop: source → director → (trace, sound, picture), once per tick.

events → update(dt) → draw → flip. Time is in seconds: the show clock advances by the
real elapsed time × `speed` (live always runs at 1×). Headless runs advance the show
clock in fixed steps of 1/`sample_hz` and sleep only to keep pace with `speed`, so a trace
has frames at exactly the configured rate. Nothing in the loop waits on a child or on I/O
beyond the non-blocking reads of the source.
"""

from __future__ import annotations

import logging
import select
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from oomphony.commands import DIRECTOR_ACTIONS, Action, Command, KillNow, Pressed, RateCue
from oomphony.cues import Act, Cues, OscCounters, Status
from oomphony.frame import (
    ActEvent,
    AudioReport,
    EndEvent,
    Event,
    Failure,
    MemoryFrame,
    OomKill,
)
from oomphony.show.recording import ShowRecorder
from oomphony.show.stats import FrameGC
from oomphony.sources.base import Source
from oomphony.trace.writer import TraceWriter

log = logging.getLogger(__name__)

KEEP_RESULTS = 100
WAKE_MARGIN_S = 0.002  # the frame wait wakes this early from select and lets tick finish


class Director(Protocol):
    finished: bool

    def step(
        self, frame: MemoryFrame, events: list[Event], dt_s: float, actions: tuple[Pressed, ...]
    ) -> tuple[Cues, list[Command], list[ActEvent]]: ...


class Remote(Protocol):
    """A remote link (show/osc.py): the show's frames and events out, cues in."""

    def send_frame(self, frame: MemoryFrame, cues: Cues) -> None: ...
    def send_events(self, events: Sequence[Event]) -> None: ...
    def take(self, t_s: float) -> tuple[list[Pressed], list[Event]]: ...
    def counters(self) -> OscCounters: ...
    def report(self, t_s: float) -> Event: ...
    def close(self) -> None: ...


class Audio(Protocol):
    status: str

    def update(self, t_s: float, frame: MemoryFrame, cues: Cues) -> None: ...
    def set_muted(self, muted: bool) -> None: ...
    def counters(self) -> tuple[int, float]: ...
    def callback_errors(self) -> int: ...
    def footprint_b(self) -> tuple[int, int] | None: ...
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
        remote: Remote | None = None,
    ) -> None:
        self.trace = trace
        self.audio = audio
        self.view = view
        self.remote = remote  # OSC: frames and events out, cues in (None: none)
        self.opt = options or RunOptions()
        self.clock_offset_s = 0.0  # kiosk: the show clock keeps running across shows
        self.muted = False
        self.quit = False
        self._restart = False  # R: end this show now and start a fresh one
        # Called after each show with its number and result (kiosk soak tests, logging).
        self.on_show_end: Callable[[int, ShowResult], None] | None = None
        self.gc = FrameGC()
        self.rec = ShowRecorder(trace, self.opt.fps)  # trace lines, frame times, the HUD
        self._tick_s = 0.0  # monotonic time of the last frame tick

    # -- one show -------------------------------------------------------------------

    def run_show(self, source: Source, director: Director) -> ShowResult:
        result = ShowResult(t_end_s=0.0, reason="finished")
        if self.view is not None:  # a new show: fresh frame statistics, start-up frozen
            self.rec.new_show(source)
            self.gc.start()
            self._tick_s = time.monotonic()
        try:
            t = self._show_loop(source, director, result)
        finally:
            if self.view is not None:
                self.rec.kill_screen_check(self.view, give_up=True)
                self.gc.stop()
        result.t_end_s = t
        if self.view is not None:
            self.rec.picture_report(t + self.clock_offset_s, self.view)
        return result

    def _show_loop(self, source: Source, director: Director, result: ShowResult) -> float:
        """The show's ticks until it ends; returns the show time it ended at."""
        opt = self.opt
        if self.view is not None:
            self.view.set_origin(source.origin)  # the picture labels a sim or a replay
        real_start = time.monotonic()
        frame_period = 1.0 / opt.sample_hz
        # Simulated sources are stepped in sub-steps of one trace period, so the trace has
        # frames at `sample_hz` of show time whatever the picture's frame rate and speed.
        # The live source is sampled once per picture frame: it has one present moment.
        substep = source.name != "live"
        t = target = 0.0
        next_frame_t = 0.0
        pressed: tuple[Pressed, ...] = ()
        picture_dt = 0.0
        while True:
            while True:
                step_dt = min(frame_period, target - t) if substep else target - t
                t = t + step_dt if target - t > 1e-9 else target
                frame, events = source.step(t + self.clock_offset_s)
                cues, commands, acts = director.step(frame, events, step_dt, pressed)
                pressed = ()
                for cmd in commands:
                    source.command(cmd)
                result.events.extend(events)
                result.events.extend(acts)
                for ev in events:
                    if isinstance(ev, OomKill):
                        now = t + self.clock_offset_s
                        self.rec.kill_known(ev, now, screen=self.view is not None)
                    elif isinstance(ev, Failure):
                        self.rec.failures.append(ev.detail)
                if t >= next_frame_t - 1e-9:  # a trace frame (and an OSC bundle)
                    self.rec.write(frame)
                    if self.remote is not None:
                        self.remote.send_frame(frame, cues)
                    next_frame_t += frame_period
                    if next_frame_t <= t:  # a long stall (live): do not write a burst
                        next_frame_t = t + frame_period
                for ev in (*events, *acts):
                    self.rec.write(ev)
                if self.remote is not None and (events or acts):
                    self.remote.send_events((*events, *acts))
                if t >= target - 1e-9 or director.finished or source.done:
                    break
            result.last_frame, result.last_cues = frame, cues
            if self.remote is not None:  # cues received since the last tick
                pressed = self._remote_cues(source, t + self.clock_offset_s)
            if self.audio is not None:
                self.audio.update(t + self.clock_offset_s, frame, cues)
            if self.view is not None:
                started, t0 = time.monotonic(), time.perf_counter()
                osc = self.remote.counters() if self.remote is not None else None
                status = self.rec.status(source, self.audio, muted=self.muted, osc=osc)
                actions = self.view.frame(picture_dt, frame, cues, status)
                ms = (time.perf_counter() - t0) * 1000.0
                self.rec.stats.add(started, ms, cues.act.value)
                self.rec.kill_screen_check(self.view)
                pressed = (*pressed, *self._act_on(actions, source))
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
                self.gc.between_frames()
                woke = self._wait_for_frame(source, opt.fps)
                picture_dt = self.view.tick(0 if woke else opt.fps) * opt.speed
                self._tick_s = time.monotonic()
                target = t + picture_dt
            else:
                target = t + frame_period
                ahead = target / opt.speed - (time.monotonic() - real_start)
                if ahead > 0:
                    time.sleep(ahead)
        return t

    # -- between frames: the wait, the presenter's actions ---------------------------

    def _wait_for_frame(self, source: Source, fps: int) -> bool:
        """Sleep toward the next frame, but wake at once when the source's kill detectors
        become readable (an OOM kill is drawn without waiting out the frame). True when
        woken early."""
        fds = source.wake_fds()
        if not fds or fps <= 0:
            return False
        remaining = self._tick_s + 1.0 / fps - time.monotonic() - WAKE_MARGIN_S
        if remaining <= 0:
            return False
        try:
            ready, _, _ = select.select(fds, [], [], remaining)
        except (OSError, ValueError):
            return False
        return bool(ready)

    def _remote_cues(self, source: Source, now_t_s: float) -> tuple[Pressed, ...]:
        """The remote cues since the last tick, through the keys' path; each one, and each
        message ignored, leaves a trace line."""
        assert self.remote is not None
        cues, lines = self.remote.take(now_t_s)
        for line in lines:
            self.rec.write(line)
        return self._act_on(cues, source) if cues else ()

    def _act_on(self, actions: Sequence[Pressed], source: Source | None) -> tuple[Pressed, ...]:
        """The presenter's actions (keys, remote cues): the director's are returned for its
        next step; K becomes a command to the source (none without a source: the attract
        screen between kiosk shows); restart, mute and quit are the runner's."""
        for_director: list[Pressed] = []
        for a in actions:
            if isinstance(a, RateCue) or a in DIRECTOR_ACTIONS:
                for_director.append(a)
            elif a is Action.KILL and source is not None:
                source.command(KillNow())
            elif a is Action.RESTART:
                self._restart = True
            elif a in (Action.MUTE, Action.MUTE_ON, Action.MUTE_OFF) and self.audio is not None:
                self.muted = a is Action.MUTE_ON or (a is Action.MUTE and not self.muted)
                self.audio.set_muted(self.muted)
            elif a is Action.QUIT:
                self.quit = True
        return tuple(for_director)

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
                if self.trace is not None:
                    cage = source.describe_cage() if self.trace.cage is None else None
                    self.trace.describe_source(source.origin.kind, cage)
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
            self._act_on(self.view.frame(0.0, last.last_frame, cues, Status()), None)
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
        if self.trace is not None and self.remote is not None:
            self.trace.event(self.remote.report(end_t))
        if self.trace is not None:
            reason = results[-1].reason if results else "none"
            self.trace.event(EndEvent(end_t, reason))
            self.trace.close()
