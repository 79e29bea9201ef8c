"""What a run showed: the numbers `record` prints and the tests check, from the story of
its frames and events (`trace/story.py`: one allocator life, up to its end)."""

from __future__ import annotations

from dataclasses import dataclass

from oomphony.frame import AllocatorExit, OomKill
from oomphony.trace.reader import Trace
from oomphony.trace.story import tell
from oomphony.units import format_size


@dataclass(frozen=True, slots=True)
class Summary:
    duration_s: float
    frames: int
    frame_hz: float
    cache_peak_b: int
    cache_peak_t_s: float | None
    cache_drained_t_s: float | None  # story.py's CACHE_DRAINED_FRACTION of its peak
    cache_min_after_peak_b: int
    first_swap_t_s: float | None  # story.py's first swap-out (SWAPOUT_MIN_B)
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
    story = tell(trace.frames, trace.events)
    kills = sum(isinstance(e, OomKill) for e in trace.events)
    if story is None:
        exit = next((e for e in trace.events if isinstance(e, AllocatorExit)), None)
        kill = next((e for e in trace.events if isinstance(e, OomKill)), None)
        return Summary(0.0, 0, 0.0, 0, None, None, 0, None, 0, 0, kill, kills, exit)
    frames = trace.frames
    duration = frames[-1].t_s - frames[0].t_s
    return Summary(
        duration_s=duration,
        frames=len(frames),
        frame_hz=(len(frames) - 1) / duration if duration > 0 else 0.0,
        cache_peak_b=story.cache_peak_b,
        cache_peak_t_s=story.cache_peak_t_s,
        cache_drained_t_s=story.cache_drained_t_s,
        cache_min_after_peak_b=story.cache_min_after_peak_b,
        first_swap_t_s=story.first_swapout_t_s,
        swap_peak_b=story.swap_peak_b,
        usage_peak_b=story.usage_peak_b,
        kill=story.kill,
        kills=kills,
        exit=story.exit,
    )
