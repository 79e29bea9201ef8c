"""The simulator against the kernel: the milestones of a run, measured or predicted.

A run's milestones are the times (from the allocator's first allocation) of the
cache-drained point, the first swap-out and the kill. `measure` reads them from frames and
events (a real trace); `predict` runs the simulator with the same cage size, cache fill and
rate; `conditions` extracts those from a trace.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from oomphony.commands import FillCache, SetRate
from oomphony.frame import Event, MemoryFrame, OomKill
from oomphony.show.sim import SimParams, SimSource
from oomphony.units import MiB

DRAINED_FRACTION = 0.1  # the cache is "drained" below 10 % of its peak
SWAPOUT_MIN_B = 1 * MiB  # swap grown by this much since the start: the first swap-out


@dataclass(frozen=True, slots=True)
class Milestones:
    cache_drained_t_s: float | None
    first_swapout_t_s: float | None
    kill_t_s: float | None


@dataclass(frozen=True, slots=True)
class RunConditions:
    memory_b: int
    swap_b: int
    cache_fill_b: int
    rate_bps: float


def _start_t(frames: Sequence[MemoryFrame]) -> float:
    for f in frames:
        if f.alloc.allocated_b > 0:
            return f.t_s
    return frames[0].t_s


def measure(frames: Sequence[MemoryFrame], events: Sequence[Event]) -> Milestones:
    t0 = _start_t(frames)
    kill = next((ev.t_s for ev in events if isinstance(ev, OomKill)), None)
    live = [f for f in frames if kill is None or f.t_s < kill]
    peak_i = max(range(len(live)), key=lambda i: live[i].cache_b) if live else 0
    peak = live[peak_i].cache_b if live else 0
    drained = next((f.t_s for f in live[peak_i:] if f.cache_b <= DRAINED_FRACTION * peak), None)
    base = frames[0].swap_b
    swapout = next((f.t_s for f in live if f.swap_b - base >= SWAPOUT_MIN_B), None)

    def rel(t: float | None) -> float | None:
        return None if t is None else t - t0

    return Milestones(rel(drained), rel(swapout), rel(kill))


def conditions(frames: Sequence[MemoryFrame]) -> RunConditions:
    """The cage, the cache fill (the cache's peak) and the allocator's rate of a run."""
    f0 = frames[0]
    rates = [f.alloc.rate_bps for f in frames if f.alloc.alive and f.alloc.rate_bps > 0]
    return RunConditions(
        memory_b=f0.limit_b,
        swap_b=f0.swap_limit_b,
        cache_fill_b=max(f.cache_b for f in frames),
        rate_bps=statistics.median(rates) if rates else 0.0,
    )


def predict(
    run: RunConditions, *, params: SimParams | None = None, seed: int = 0, max_s: float = 600.0
) -> Milestones:
    """Run the simulator as the recorded run went: fill the cache, then allocate at the rate
    (the allocation starts once the fill is done, as `oomphony record` does)."""
    src = SimSource(memory_b=run.memory_b, swap_b=run.swap_b, seed=seed, params=params)
    dt = 0.02
    src.command(FillCache(run.cache_fill_b))
    frames: list[MemoryFrame] = []
    events: list[Event] = []
    t = 0.0
    started = False
    while t < max_s:
        frame, evs = src.step(t)
        frames.append(frame)
        events.extend(evs)
        if any(isinstance(e, OomKill) for e in evs):
            break
        if not started and src.model.fill_remaining_b <= 0:
            src.command(SetRate(run.rate_bps))
            started = True
        t += dt
    return measure(frames, events)
