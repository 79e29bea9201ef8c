"""How the show's picture is doing, measured by the show itself; and the garbage
collector kept out of its frames.

`FrameStats` keeps each frame's time (the work from events to flip) and the gaps
between frames; `summary()` is the trace's `picture` event, `hud()` what the presenter
HUD shows. `FrameGC` freezes everything alive after start-up and runs small collections
between frames, where they cost idle time instead of a frame. `KillScreenTimer` times
each kill's screen (the `screen_ms` of docs/trace-format.md). Pygame-free.
"""

from __future__ import annotations

import dataclasses
import gc
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from oomphony.frame import Event, MemoryFrame, OomKill, PictureReport

log = logging.getLogger(__name__)

# An oom_kill event waits (with the trace lines after it) until its kill screen is on
# the display, for `screen_ms`; written without it after this long.
KILL_SCREEN_WAIT_S = 3.0

BUDGET_MS = 1000.0 / 60.0  # a frame's share of a 60 Hz display
DROP_GAP = 1.5  # a gap between frames of this many periods or more missed a slot
HUD_WINDOW = 600  # the HUD's p99 is over the last 10 s at 60 fps
HUD_EVERY = 30  # frames between two recomputations of the HUD's p99


def percentile(values: list[float], q: float) -> float:
    """The nearest-rank percentile `q` (0..1) of `values` (not empty)."""
    s = sorted(values)
    return s[min(len(s) - 1, max(0, math.ceil(q * len(s)) - 1))]


@dataclass(frozen=True, slots=True)
class FrameSummary:
    frames: int
    p50_ms: float
    p99_ms: float
    max_ms: float
    over_budget: int
    dropped: int


class FrameStats:
    """Frame times of one show."""

    def __init__(self, fps: float = 60.0) -> None:
        self.period_s = 1.0 / fps if fps > 0 else 0.0
        self.times_ms: list[float] = []
        self.over_budget = 0
        self.dropped = 0
        self._last_start: float | None = None
        self._hud_p99: float | None = None
        self.by_act: dict[str, list[float]] = {}  # frame times per act kind, in order seen

    def add(self, start_s: float, work_ms: float, act: str | None = None) -> None:
        """A frame that started at `start_s` (monotonic seconds) and took `work_ms`,
        during `act` (an `Act` value; None: not counted per act)."""
        self.times_ms.append(work_ms)
        if act is not None:
            self.by_act.setdefault(act, []).append(work_ms)
        if work_ms > BUDGET_MS:
            self.over_budget += 1
        if self._last_start is not None and self.period_s > 0:
            gap = start_s - self._last_start
            if gap >= DROP_GAP * self.period_s:
                self.dropped += max(1, round(gap / self.period_s) - 1)
        self._last_start = start_s
        if len(self.times_ms) % HUD_EVERY == 0:
            self._hud_p99 = percentile(self.times_ms[-HUD_WINDOW:], 0.99)

    @property
    def recent_p99_ms(self) -> float | None:
        return self._hud_p99

    def act_summary(self) -> dict[str, dict[str, float]]:
        """Per act kind: frames, p50, p99 and the longest (the trace's `by_act`)."""
        return {
            act: {
                "frames": len(t),
                "p50_ms": round(percentile(t, 0.5), 3),
                "p99_ms": round(percentile(t, 0.99), 3),
                "max_ms": round(max(t), 3),
            }
            for act, t in self.by_act.items()
        }

    def summary(self) -> FrameSummary | None:
        t = self.times_ms
        if not t:
            return None
        return FrameSummary(
            frames=len(t),
            p50_ms=round(percentile(t, 0.5), 3),
            p99_ms=round(percentile(t, 0.99), 3),
            max_ms=round(max(t), 3),
            over_budget=self.over_budget,
            dropped=self.dropped,
        )


# Between frames the youngest generation is collected every frame; the middle one every
# second; the oldest every minute (after `gc.freeze`, it holds only what was made since
# start-up). Measured at 1080p: a young collection between frames costs 0.02–0.1 ms.
MID_EVERY = 60
FULL_EVERY = 3600


class FrameGC:
    """Keeps collections out of frames: `start` collects once, freezes what is alive
    (start-up objects are never scanned again) and turns automatic collection off;
    `between_frames` runs the small collections; `stop` restores the collector."""

    def __init__(self) -> None:
        self.n = 0
        self._was_enabled: bool | None = None

    def start(self) -> None:
        if self._was_enabled is None:
            self._was_enabled = gc.isenabled()
        gc.unfreeze()  # a new show: what the last one froze and dropped may be freed now
        gc.collect()
        gc.freeze()
        gc.disable()
        self.n = 0

    def between_frames(self) -> None:
        if self._was_enabled is None:
            return
        self.n += 1
        if self.n % FULL_EVERY == 0:
            gc.collect(2)
        elif self.n % MID_EVERY == 0:
            gc.collect(1)
        else:
            gc.collect(0)

    def stop(self) -> None:
        if self._was_enabled is None:
            return
        gc.unfreeze()
        if self._was_enabled:
            gc.enable()
        self._was_enabled = None


class KillScreenTimer:
    """From the moment the show knew of a kill to the flip of its kill-screen frame.

    While a kill waits for its screen, the trace lines after it are held (`write`), so
    its event can be written with `screen_ms`; when no kill waits any more they are
    written in order. `write_line` writes one line to the trace."""

    def __init__(self, write_line: Callable[[Event | MemoryFrame], None]) -> None:
        self._write_line = write_line
        self._held: list[Event | MemoryFrame] | None = None
        self._kills: list[tuple[OomKill, float]] = []  # (kill, monotonic when known)

    def write(self, item: Event | MemoryFrame) -> None:
        """A trace line, held back while a kill waits for its kill screen."""
        if self._held is not None:
            self._held.append(item)
        else:
            self._write_line(item)

    def known(self, ev: OomKill, now_t_s: float, *, hold: bool) -> None:
        """The source reported a kill: the show knew at the event's time (it may have
        waited a few ms between the counter and the kernel's line)."""
        waited = max(0.0, now_t_s - ev.t_s)
        known = time.monotonic() - waited
        log.info("OOM kill reported %.1f ms after the show knew of it", waited * 1e3)
        self._kills.append((ev, known))
        if self._held is None and hold:
            self._held = []

    def check(
        self, shown_t_s: float | None, last_frame_ms: float, *, give_up: bool = False
    ) -> list[OomKill]:
        """After a flip: a kill whose screen is now shown gets its `screen_ms`; when no
        kill is waiting any more, the held trace lines are written. Returns the kills
        settled now (with their `screen_ms` where measured)."""
        if not self._kills:
            return []
        now = time.monotonic()
        done: dict[int, OomKill] = {}
        for ev, known in self._kills:
            if shown_t_s is not None and shown_t_s == ev.t_s:
                log.info("kill screen flipped; that frame took %.1f ms", last_frame_ms)
                done[id(ev)] = dataclasses.replace(ev, screen_ms=round((now - known) * 1e3, 2))
            elif give_up or now - known > KILL_SCREEN_WAIT_S:
                done[id(ev)] = ev
        if not done:
            return []
        self._kills = [k for k in self._kills if id(k[0]) not in done]
        held = [done.get(id(x), x) for x in self._held or []]
        if self._kills:
            self._held = held
        else:
            self._held = None
            for item in held:
                self.write(item)
        return list(done.values())


def picture_report(stats: FrameStats, t_s: float, view: Any) -> PictureReport | None:
    """The show's `picture` event: its frames and where it was shown."""
    s = stats.summary()
    if s is None:
        return None
    describe = getattr(getattr(view, "display", None), "describe", None)
    driver, size = describe() if describe is not None else ("", (0, 0))
    return PictureReport(
        t_s, s.frames, s.p50_ms, s.p99_ms, s.max_ms, s.over_budget, s.dropped, driver, size,
        stats.act_summary() or None,
    )  # fmt: skip
