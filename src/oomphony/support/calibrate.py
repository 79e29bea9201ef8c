"""The simulator against the kernel: the milestones of a run, measured or predicted.

A run's milestones are the times (from the allocator's first write) of the cache-drained
point, the first swap-out and the kill, as `trace/story.py` defines them. `measure`
reads them from frames and events (a real trace); `predict` runs the simulator with the
same cage size, cache fill and rate; `conditions` extracts those from a trace.
"""

from __future__ import annotations

import math
import os
import statistics
import sys
from collections.abc import Sequence
from dataclasses import dataclass

from oomphony.commands import FillCache, SetRate
from oomphony.frame import Event, MemoryFrame, OomKill
from oomphony.sources.sim import SimParams, SimSource
from oomphony.trace.reader import read_trace
from oomphony.trace.story import tell


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


def measure(frames: Sequence[MemoryFrame], events: Sequence[Event]) -> Milestones:
    """The story's milestones (`trace/story.py`), from the allocator's first write."""
    story = tell(frames, events)
    if story is None:
        return Milestones(None, None, None)
    t0 = story.alloc_start_t_s if story.alloc_start_t_s is not None else story.begin_t_s

    def rel(t: float | None) -> float | None:
        return None if t is None else t - t0

    return Milestones(
        rel(story.cache_drained_t_s), rel(story.first_swapout_t_s), rel(story.kill_t_s)
    )


def conditions(frames: Sequence[MemoryFrame]) -> RunConditions:
    """The cage, the cache fill (the cache's peak) and the allocator's rate of a run."""
    f0 = frames[0]
    story = tell(frames, ())
    rates = [f.alloc.rate_bps for f in frames if f.alloc.alive and f.alloc.rate_bps > 0]
    return RunConditions(
        memory_b=f0.limit_b,
        swap_b=f0.swap_limit_b,
        cache_fill_b=story.cache_peak_b if story is not None else 0,
        rate_bps=statistics.median(rates) if rates else 0.0,
    )


def predict(
    run: RunConditions, *, params: SimParams | None = None, seed: int = 0, max_s: float = 600.0
) -> Milestones:
    """Run the simulator as `oomphony record` runs the allocator: the rate is set at the
    start, the cache fill comes first, and frames are sampled at the recording's 100 Hz."""
    src = SimSource(memory_b=run.memory_b, swap_b=run.swap_b, seed=seed, params=params)
    dt = 0.01
    src.command(FillCache(run.cache_fill_b))
    src.command(SetRate(run.rate_bps))
    frames: list[MemoryFrame] = []
    events: list[Event] = []
    n = 0
    while n * dt < max_s:
        frame, evs = src.step(n * dt)
        frames.append(frame)
        events.extend(evs)
        if any(isinstance(e, OomKill) for e in evs):
            break
        n += 1
    return measure(frames, events)


MILESTONES = ("cache_drained_t_s", "first_swapout_t_s", "kill_t_s")


def errors(
    path: str | os.PathLike[str], *, params: SimParams | None = None
) -> dict[str, float | None]:
    """The simulator's relative error on each milestone of a recorded run (None where the
    run has no such milestone, e.g. no swap-out without swap; inf where the sim misses one)."""
    trace = read_trace(path)
    real = measure(trace.frames, trace.events)
    sim = predict(conditions(trace.frames), params=params)
    out: dict[str, float | None] = {}
    for name in MILESTONES:
        r, p = getattr(real, name), getattr(sim, name)
        out[name] = None if r is None else math.inf if p is None else (p - r) / r
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m oomphony.support.calibrate TRACE…`: the table of the simulator's errors."""
    paths = list(sys.argv[1:] if argv is None else argv)
    print(f"{'trace':48} {'drained':>8} {'swapout':>8} {'kill':>8}")
    for path in paths:
        row = errors(path)
        cells = ["—" if e is None else f"{e:+.1%}" for e in row.values()]
        print(f"{os.path.basename(path):48} " + " ".join(f"{c:>8}" for c in cells))
    return 0


if __name__ == "__main__":
    sys.exit(main())
