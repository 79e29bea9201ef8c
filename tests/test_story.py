"""The story facts (trace/story.py): each threshold at its edge, lives, the kill, and the
incremental fold agreeing with the whole-stream definitions."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oomphony.frame import AllocatorExit, MemoryFrame, OomKill
from oomphony.support.demo import caged_frame
from oomphony.trace.story import (
    CACHE_DRAINED_FRACTION,
    CACHE_GIVING_MIN_B,
    SWAPOUT_MIN_B,
    advance,
    tell,
)
from oomphony.units import MiB

PEAK = 100 * MiB


def with_kills(frame: MemoryFrame, n: int) -> MemoryFrame:
    assert frame.cage is not None
    return replace(frame, cage=replace(frame.cage, oom_kills=n))


def oom(t: float, pid: int = 4242) -> OomKill:
    return OomKill(t, pid, "python", 200 * MiB, "sim", None)


@pytest.mark.parametrize(
    ("low_b", "drained"),
    [
        (int(CACHE_DRAINED_FRACTION * PEAK), True),
        (int(CACHE_DRAINED_FRACTION * PEAK) + 1, False),
        (0, True),
    ],
)
def test_drained_is_the_cache_at_or_below_its_fraction_of_the_peak(
    low_b: int, drained: bool
) -> None:
    frames = [
        caged_frame(0.0, cache_b=PEAK, alloc_b=10 * MiB),
        caged_frame(1.0, cache_b=PEAK // 2, alloc_b=60 * MiB),
        caged_frame(2.0, cache_b=low_b, alloc_b=150 * MiB),
    ]
    story = tell(frames, [])
    assert story is not None
    assert story.cache_drained_t_s == (2.0 if drained else None)
    assert story.cache_min_after_peak_b == low_b


@pytest.mark.parametrize(("swap_b", "first"), [(SWAPOUT_MIN_B - 4096, None), (SWAPOUT_MIN_B, 1.0)])
def test_first_swap_out_is_swap_grown_by_its_minimum_since_the_life_began(
    swap_b: int, first: float | None
) -> None:
    base = 3 * MiB  # swap already in use when the life began does not count
    frames = [
        caged_frame(0.0, alloc_b=10 * MiB, alloc_swap_b=base),
        caged_frame(1.0, alloc_b=10 * MiB, alloc_swap_b=base + swap_b),
    ]
    story = tell(frames, [])
    assert story is not None and story.first_swapout_t_s == first


@pytest.mark.parametrize(
    ("drop_b", "alloc_grew", "giving"),
    [
        (CACHE_GIVING_MIN_B, True, True),
        (CACHE_GIVING_MIN_B - 1, True, False),  # the floor, for a small cache
        (CACHE_GIVING_MIN_B, False, False),  # the allocator did not grow: not its doing
    ],
)
def test_the_cache_gives_way_when_it_falls_while_the_allocator_grows(
    drop_b: int, alloc_grew: bool, giving: bool
) -> None:
    peak = 20 * MiB  # 25 % of it is below the 8 MiB floor
    frames = [
        caged_frame(0.0, cache_b=peak, alloc_b=10 * MiB),
        caged_frame(1.0, cache_b=peak - drop_b, alloc_b=(20 if alloc_grew else 10) * MiB),
    ]
    story = tell(frames, [])
    assert story is not None and story.cache_giving_t_s == (1.0 if giving else None)


def test_a_higher_peak_starts_the_points_measured_from_it_again() -> None:
    frames = [
        caged_frame(0.0, cache_b=50 * MiB),
        caged_frame(1.0, cache_b=1 * MiB, alloc_b=50 * MiB),  # drained from 50 MiB
        caged_frame(2.0, cache_b=PEAK, alloc_b=50 * MiB),  # a higher peak
        caged_frame(3.0, cache_b=40 * MiB, alloc_b=90 * MiB),
        caged_frame(4.0, cache_b=5 * MiB, alloc_b=120 * MiB),
    ]
    first = tell(frames[:2], [])
    assert first is not None and first.cache_drained_t_s == 1.0
    story = tell(frames, [])
    assert story is not None
    assert (story.cache_peak_b, story.cache_peak_t_s) == (PEAK, 2.0)
    assert (story.cache_giving_t_s, story.cache_drained_t_s) == (3.0, 4.0)


def test_the_kill_is_first_seen_by_the_counter_then_timed_by_the_kernel() -> None:
    f = [caged_frame(t, alloc_b=int(t * 10) * MiB) for t in (0.0, 1.0, 2.0, 3.0)]
    story = advance(None, f[0])
    story = advance(story, f[1])
    story = advance(story, with_kills(f[2], 1))  # the counter rose, no event yet
    assert story.kill_t_s == 2.0 and story.kill is None
    story = advance(story, with_kills(f[3], 1), [oom(1.97)])
    assert story.kill_t_s == 1.97 and story.kill is not None
    # what the kernel's event alone says, over the whole stream, is the same
    whole = tell([f[0], f[1], f[2], f[3]], [oom(1.97)])
    assert whole is not None and whole.kill_t_s == 1.97


def test_frames_after_the_allocators_exit_do_not_count() -> None:
    frames = [
        caged_frame(0.0, alloc_b=100 * MiB, alloc_swap_b=10 * MiB),
        caged_frame(1.0, alloc_b=150 * MiB, alloc_swap_b=20 * MiB),  # killed, not reaped yet
        caged_frame(2.0, alive=False, alloc_swap_b=90 * MiB),  # (no real kernel does this)
    ]
    events = [oom(0.9), AllocatorExit(1.5, 4242, "oom_kill", -9)]
    story = tell(frames, events)
    assert story is not None
    assert story.swap_peak_b == 20 * MiB
    assert story.footprint_peak_b == 170 * MiB  # resident + swapped, while alive
    assert (story.kill_t_s, story.killed_t_s) == (0.9, 0.9)


def test_a_manual_kill_is_a_kill_but_not_an_oom_kill() -> None:
    frames = [caged_frame(0.0, alloc_b=10 * MiB), caged_frame(1.0, alive=False)]
    story = tell(frames, [AllocatorExit(0.5, 4242, "manual_kill", -9)])
    assert story is not None
    assert story.kill_t_s is None and story.killed_t_s == 0.5


def test_a_restarted_allocator_begins_a_new_life() -> None:
    story = advance(None, caged_frame(0.0, cache_b=PEAK, alloc_b=50 * MiB, pid=1))
    story = advance(story, caged_frame(1.0, alive=False, pid=1), [oom(0.9, 1)])
    story = advance(story, caged_frame(2.0, alive=False, pid=2))  # not alive yet: same life
    assert story.life == 0 and story.kill_t_s == 0.9
    story = advance(story, caged_frame(3.0, cache_b=10 * MiB, alloc_b=1 * MiB, pid=2))
    assert (story.life, story.pid, story.begin_t_s, story.start_t_s) == (1, 2, 3.0, 3.0)
    assert story.kill_t_s is None and story.cache_peak_b == 10 * MiB


def test_the_allocators_first_write_is_found_behind_its_catch_up_burst() -> None:
    anon = [0, 0, 300, 900, 1800, 2000]  # KiB: the count appears at the fourth frame
    frames = [
        replace(caged_frame(t * 0.01, alloc_b=a * 1024), alloc=replace(
            caged_frame(0.0).alloc, allocated_b=(a * 1024 if t >= 3 else 0)
        ))
        for t, a in enumerate(anon)
    ]  # fmt: skip
    story = tell(frames, [])
    assert story is not None and story.alloc_start_t_s == pytest.approx(0.01)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 200), min_size=1, max_size=60))
def test_fed_frame_by_frame_the_story_ends_at_the_whole_streams_definitions(
    caches: list[int],
) -> None:
    """Peak: the highest cache, first reached; drained: the first frame after it at or
    below the fraction; first swap-out: the first frame with enough swap."""
    frames = [
        caged_frame(float(i), cache_b=c * MiB, alloc_b=i * MiB, alloc_swap_b=(i // 3) * MiB // 2)
        for i, c in enumerate(caches)
    ]
    story = None
    for f in frames:
        story = advance(story, f)
    assert story is not None
    peak = max(caches)
    at = caches.index(peak)
    drained = next(
        (float(i) for i in range(at, len(caches)) if peak and caches[i] <= peak / 10), None
    )
    swapout = next((f.t_s for f in frames if f.swap_b >= SWAPOUT_MIN_B), None)
    assert (story.cache_peak_b, story.cache_peak_t_s) == (peak * MiB, float(at))
    assert story.cache_drained_t_s == drained
    assert story.cache_min_after_peak_b == min(caches[at:]) * MiB
    assert story.first_swapout_t_s == swapout
