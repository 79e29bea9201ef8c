"""The story a frame stream tells: the facts that `record`'s summary, the calibration, act
recognition, the sound mapping and the kill screen share, each defined once, here.

One `Story` is one allocator life: it begins at the stream's first frame and again when a
frame shows a living allocator with another pid (a restart). Its levels count the frames
of the life up to the allocator's exit (an OOM-killed allocator is reaped some 40 ms
after the kernel's kill), so what the exit frees does not blur them. `advance` feeds it
one frame and the events since the previous one, during a show; `tell` folds a whole
trace through the same `advance`. A point measured from the cache's peak (giving way,
drained) starts again at a higher peak, so once the whole stream is told it is the first
such point after the life's highest cache. The definitions are also in
docs/trace-format.md ("Story facts").
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import NamedTuple

from oomphony.frame import AllocatorExit, Event, MemoryFrame, OomKill
from oomphony.units import KiB, MiB

# Drained: the cache at or below 10 % of its peak. The calibration's milestone, which the
# simulator is fitted to (support/calibrate.py, assets/traces/grid): every recorded trace
# reaches it before the kill (fills of 32–102 MiB fall to 0–4 MiB). `record`'s summary
# used 20 % (a fall of 80 %) until the two were made one.
CACHE_DRAINED_FRACTION = 0.1
# The cache gives way (the recognised cache act): it has fallen by at least 25 % of its
# peak and by at least 8 MiB (the allocator's own page-table and interpreter growth moves
# the cache by a few MiB), while the allocator has grown since the cache stood at its peak.
CACHE_GIVING_FRACTION = 0.25
CACHE_GIVING_MIN_B = 8 * MiB
# The first swap-out: swap in use grown by 1 MiB (256 pages) since the life began. The
# calibration's milestone; act recognition used 4 MiB and the summary any growth until
# the three were made one (the recognised swap act now comes 0.02–0.8 s earlier).
SWAPOUT_MIN_B = 1 * MiB
# The allocator's first write (the calibration's start): it reports its count after each
# write, and its first write after the cache fill is a catch-up burst (up to 50 ms of
# allocation), so the start is the frame before the unbroken run of anon growth of at
# least this much per frame that leads up to the first frame with a count.
START_GROWTH_B = 256 * KiB


class Story(NamedTuple):
    """The facts of one allocator life so far; times are show times (`t_s` of frames and
    events), None until the point is reached."""

    life: int  # 0 for the stream's first life, one more for each restart
    begin_t_s: float  # the life's first frame
    pid: int | None  # the allocator's pid, once a frame names it
    start_t_s: float | None  # the first frame with the allocator alive
    alloc_start_t_s: float | None  # the allocator's first write (see START_GROWTH_B)
    cache_peak_b: int  # the cache's highest level
    cache_peak_t_s: float  # when it first stood there
    alloc_at_peak_b: int  # the allocator's count when the cache last stood at its peak
    cache_min_after_peak_b: int  # the cache's lowest level since its peak
    cache_giving_t_s: float | None  # the cache gives way (CACHE_GIVING_*)
    cache_drained_t_s: float | None  # the cache is drained (CACHE_DRAINED_FRACTION)
    swap_base_b: int  # swap in use at the life's first frame
    first_swapout_t_s: float | None  # swap grew by SWAPOUT_MIN_B since the first frame
    swap_peak_b: int
    usage_peak_b: int  # the arena's memory in use (`used_b`)
    footprint_peak_b: int  # the allocator's resident + swapped memory, while alive
    oom_kills_base: int | None  # the cage's OOM kill counter at the life's first frame
    kill_t_s: float | None = None  # the OOM kill: its first sign, the kernel's time once known
    kill: OomKill | None = None  # the kernel's kill event, once it arrived
    exit: AllocatorExit | None = None  # how the allocator ended, once it did
    # the allocator's anon memory at the last frame, and where its current growth began
    anon_b: int = 0
    growth_from_t_s: float = 0.0

    @property
    def killed_t_s(self) -> float | None:
        """When the allocator was killed: by the kernel (`kill_t_s`) or by hand (a key)."""
        if self.kill_t_s is not None:
            return self.kill_t_s
        if self.exit is not None and self.exit.how == "manual_kill":
            return self.exit.t_s
        return None


def _anon_b(f: MemoryFrame) -> int:
    if f.cage is not None and f.cage.anon_b is not None:
        return f.cage.anon_b
    return f.alloc.rss_b or 0


def _begin(frame: MemoryFrame, life: int) -> Story:
    cache, alive = frame.cache_b, frame.alloc.alive
    return Story(
        life=life,
        begin_t_s=frame.t_s,
        pid=frame.alloc.pid,
        start_t_s=frame.t_s if alive else None,
        alloc_start_t_s=frame.t_s if frame.alloc.allocated_b > 0 else None,
        cache_peak_b=cache,
        cache_peak_t_s=frame.t_s,
        alloc_at_peak_b=frame.alloc.allocated_b,
        cache_min_after_peak_b=cache,
        cache_giving_t_s=None,
        cache_drained_t_s=_drained(frame, cache),
        swap_base_b=frame.swap_b,
        first_swapout_t_s=None,
        swap_peak_b=frame.swap_b,
        usage_peak_b=frame.used_b,
        footprint_peak_b=_footprint(frame) if alive else 0,
        oom_kills_base=frame.cage.oom_kills if frame.cage is not None else None,
        anon_b=_anon_b(frame),
        growth_from_t_s=frame.t_s,
    )


def _footprint(frame: MemoryFrame) -> int:
    a = frame.alloc
    return (a.rss_b if a.rss_b is not None else a.allocated_b) + (a.swap_b or 0)


def _drained(frame: MemoryFrame, peak_b: int) -> float | None:
    return frame.t_s if peak_b > 0 and frame.cache_b <= CACHE_DRAINED_FRACTION * peak_b else None


def _is_new_life(s: Story, frame: MemoryFrame) -> bool:
    pid = frame.alloc.pid
    return frame.alloc.alive and pid is not None and s.pid is not None and pid != s.pid


def _on_frame(s: Story, frame: MemoryFrame) -> Story:
    """The levels of one frame of a life that has not ended. This runs for every frame in
    three places, hence a NamedTuple built in one call: 7 µs a frame against 17 µs with a
    frozen dataclass and `replace` (measured on a loaded 2-core machine)."""
    t, a, cache, swap = frame.t_s, frame.alloc, frame.cache_b, frame.swap_b
    anon = _anon_b(frame)
    growth_from = s.growth_from_t_s if anon - s.anon_b >= START_GROWTH_B else t
    peak, peak_t, alloc_at_peak = s.cache_peak_b, s.cache_peak_t_s, s.alloc_at_peak_b
    low, giving, drained = s.cache_min_after_peak_b, s.cache_giving_t_s, s.cache_drained_t_s
    if cache > peak:  # a new peak: the points measured from the old one go
        peak, peak_t, alloc_at_peak, low = cache, t, a.allocated_b, cache
        giving = drained = None
    elif cache == peak:
        alloc_at_peak = a.allocated_b
    else:
        low = min(low, cache)
        fall = max(CACHE_GIVING_MIN_B, CACHE_GIVING_FRACTION * peak)
        if giving is None and peak - cache >= fall and a.allocated_b > alloc_at_peak:
            giving = t
        if drained is None:
            drained = _drained(frame, peak)
    return Story(
        life=s.life,
        begin_t_s=s.begin_t_s,
        pid=s.pid if s.pid is not None else a.pid,  # another pid: `_is_new_life`
        start_t_s=t if s.start_t_s is None and a.alive else s.start_t_s,
        alloc_start_t_s=(
            growth_from if s.alloc_start_t_s is None and a.allocated_b > 0 else s.alloc_start_t_s
        ),
        cache_peak_b=peak,
        cache_peak_t_s=peak_t,
        alloc_at_peak_b=alloc_at_peak,
        cache_min_after_peak_b=low,
        cache_giving_t_s=giving,
        cache_drained_t_s=drained,
        swap_base_b=s.swap_base_b,
        first_swapout_t_s=(
            t
            if s.first_swapout_t_s is None and swap - s.swap_base_b >= SWAPOUT_MIN_B
            else s.first_swapout_t_s
        ),
        swap_peak_b=max(s.swap_peak_b, swap),
        usage_peak_b=max(s.usage_peak_b, frame.used_b),
        footprint_peak_b=(
            max(s.footprint_peak_b, _footprint(frame)) if a.alive else s.footprint_peak_b
        ),
        oom_kills_base=s.oom_kills_base,
        kill_t_s=s.kill_t_s,
        kill=s.kill,
        exit=s.exit,
        anon_b=anon,
        growth_from_t_s=growth_from,
    )


def _on_events(s: Story, events: Iterable[Event], frame: MemoryFrame | None) -> Story:
    """The kill and the exit. An OOM kill's first sign is its event, the allocator's exit
    as an OOM kill, or the cage's counter above its value at the life's first frame; the
    kernel's event, when it comes, gives the kill its time."""
    for ev in events:
        if isinstance(ev, OomKill):
            if s.kill is None:
                s = s._replace(kill=ev, kill_t_s=ev.t_s)
        elif isinstance(ev, AllocatorExit) and s.exit is None:
            s = s._replace(exit=ev)
            if ev.how == "oom_kill" and s.kill_t_s is None:
                s = s._replace(kill_t_s=ev.t_s)
    if s.kill_t_s is None and frame is not None and frame.cage is not None:
        kills, base = frame.cage.oom_kills, s.oom_kills_base
        if kills is not None and base is not None and kills > base:
            s = s._replace(kill_t_s=frame.t_s)
    return s


def advance(story: Story | None, frame: MemoryFrame, events: Iterable[Event] = ()) -> Story:
    """The story after one more frame and the events that came with it (those up to the
    frame's time). None begins the stream; a restarted allocator begins a new life. A
    frame at or after the allocator's exit does not count."""
    if story is None:
        return _on_events(_begin(frame, 0), events, frame)
    if _is_new_life(story, frame):
        return _on_events(_begin(frame, story.life + 1), events, frame)
    if story.exit is not None:
        return _on_events(story, events, frame)
    story = _on_events(story, events, frame)
    return (
        story if story.exit is not None and frame.t_s >= story.exit.t_s else _on_frame(story, frame)
    )


def tell(frames: Sequence[MemoryFrame], events: Sequence[Event]) -> Story | None:
    """A whole trace's story (its last life): each frame with the events up to its time,
    then the events after the last frame. None for a trace without frames."""
    todo = [ev for ev in events if isinstance(ev, (OomKill, AllocatorExit))]
    story: Story | None = None
    i = 0
    for frame in frames:
        j = i
        while j < len(todo) and todo[j].t_s <= frame.t_s:
            j += 1
        story = advance(story, frame, todo[i:j])
        i = j
    if story is not None and i < len(todo):
        story = _on_events(story, todo[i:], None)
    return story
