"""What a run showed, computed from its frames and events: the numbers `record` prints
and the tests check. Pure functions over a `Trace`."""

from __future__ import annotations

from dataclasses import dataclass

from oomphony.frame import AllocatorExit, OomKill
from oomphony.trace.reader import Trace
from oomphony.units import format_size

# The cache counts as "drained" once it has fallen by this much from its peak: the
# issue's acceptance bar for the cache act (≥ 80 %).
DRAINED_FRACTION = 0.8


@dataclass(frozen=True, slots=True)
class Summary:
    duration_s: float
    frames: int
    frame_hz: float
    cache_peak_b: int
    cache_peak_t_s: float | None
    cache_drained_t_s: float | None  # first time the cache is ≥ 80 % below its peak
    cache_min_after_peak_b: int
    first_swap_t_s: float | None  # first frame with arena swap > 0 (above the start's)
    swap_peak_b: int
    usage_peak_b: int
    kill: OomKill | None
    kills: int
    exit: AllocatorExit | None

    def lines(self) -> list[str]:
        def at(t: float | None) -> str:
            return f"{t:6.2f} s" if t is not None else "     —  "

        out = [
            f"recorded {self.frames} frames over {self.duration_s:.1f} s ({self.frame_hz:.0f} Hz)",
            f"  cache peak      {at(self.cache_peak_t_s)}  {format_size(self.cache_peak_b)}",
            f"  cache drained   {at(self.cache_drained_t_s)}  "
            f"down to {format_size(self.cache_min_after_peak_b)}",
            f"  first swap-out  {at(self.first_swap_t_s)}  "
            f"swap reached {format_size(self.swap_peak_b)}",
        ]
        if self.kill is not None:
            k = self.kill
            if k.pid is not None:
                who = f"pid {k.pid} ({k.comm})"
            else:  # counted by the cage's counter only: the allocator is who died
                who = f"pid {self.exit.pid} (the allocator)" if self.exit else "the allocator"
            rss = f", anon-rss {format_size(k.anon_rss_b)}" if k.anon_rss_b is not None else ""
            out.append(f"  the OOM kill    {at(k.t_s)}  {who}{rss}, via {k.source}")
            out.append(
                f"  kernel: {self.kill.kernel_line or '(the kernel line could not be read)'}"
            )
        elif self.exit is not None:
            out.append(f"  no OOM kill: the allocator ended ({self.exit.how}) {self.exit.detail}")
        else:
            out.append("  no OOM kill during the recording")
        out.append(f"  peak usage {format_size(self.usage_peak_b)}")
        return out


def summarise(trace: Trace) -> Summary:
    frames = trace.frames
    kills = [e for e in trace.events if isinstance(e, OomKill)]
    exits = [e for e in trace.events if isinstance(e, AllocatorExit)]
    if not frames:
        return Summary(
            0.0,
            0,
            0.0,
            0,
            None,
            None,
            0,
            None,
            0,
            0,
            kills[0] if kills else None,
            len(kills),
            exits[0] if exits else None,
        )
    duration = frames[-1].t_s - frames[0].t_s
    peak_i = max(range(len(frames)), key=lambda i: frames[i].cache_b)
    cache_peak = frames[peak_i].cache_b
    after = frames[peak_i:]
    drained_t = next(
        (
            f.t_s
            for f in after
            if cache_peak > 0 and f.cache_b <= (1 - DRAINED_FRACTION) * cache_peak
        ),
        None,
    )
    swap0 = frames[0].swap_b
    first_swap = next((f.t_s for f in frames if f.swap_b > swap0), None)
    return Summary(
        duration_s=duration,
        frames=len(frames),
        frame_hz=(len(frames) - 1) / duration if duration > 0 else 0.0,
        cache_peak_b=cache_peak,
        cache_peak_t_s=frames[peak_i].t_s,
        cache_drained_t_s=drained_t,
        cache_min_after_peak_b=min(f.cache_b for f in after),
        first_swap_t_s=first_swap,
        swap_peak_b=max(f.swap_b for f in frames),
        usage_peak_b=max(f.used_b for f in frames),
        kill=kills[0] if kills else None,
        kills=len(kills),
        exit=exits[0] if exits else None,
    )
