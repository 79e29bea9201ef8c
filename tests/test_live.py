"""The live source on the real kernel: the talk's "peculiar use", end to end.

A sleeper's cold pages are pushed to swap by the hog's pressure, stay there after the
hog's OOM kill, and come back (swap-ins) when the sleeper is woken after the kill.
Needs root, a memory cgroup and swap (CI has them).
"""

from __future__ import annotations

import time

import pytest
from test_record import leftover_cgroups

from oomphony.commands import WakeSleeper
from oomphony.frame import OomKill
from oomphony.sources.live import LivePlan, LiveSource
from oomphony.units import MiB


@pytest.mark.cgroup
@pytest.mark.swap
@pytest.mark.slow
def test_sleeper_pages_stay_in_swap_after_the_kill_until_it_wakes() -> None:
    before = set(leftover_cgroups())
    plan = LivePlan(memory_b=160 * MiB, swap_b=96 * MiB, cache_b=0, rate_bps=60 * MiB,
                    sleeper_b=48 * MiB)  # fmt: skip
    source = LiveSource(plan)
    source.start()
    frames, kill_t, woke_t = [], None, None
    start = time.monotonic()
    try:
        while time.monotonic() - start < 60:
            t = time.monotonic() - start
            frame, events = source.step(t)
            frames.append(frame)
            if kill_t is None and any(isinstance(e, OomKill) for e in events):
                kill_t = t
            if kill_t is not None and woke_t is None and t - kill_t > 1.0:
                source.command(WakeSleeper())
                woke_t = t
            if woke_t is not None and t - woke_t > 4.0:
                break
            time.sleep(0.02)
    finally:
        source.close()
    assert kill_t is not None, "the hog was never OOM-killed"
    assert woke_t is not None
    sleeping = [f for f in frames if f.sleeper is not None and f.t_s < kill_t]
    after_kill = [f for f in frames if kill_t + 0.3 < f.t_s < woke_t]
    after_wake = [f for f in frames if f.t_s > woke_t + 3.0]
    swapped_at_kill = max(f.sleeper.swap_b or 0 for f in sleeping)
    assert swapped_at_kill > 8 * MiB, "the sleeper's cold pages did not go to swap"
    # still in swap after the kill, with the hog gone
    assert not after_kill[-1].alloc.alive
    assert (after_kill[-1].sleeper.swap_b or 0) > 0.8 * swapped_at_kill
    # woken: its pages are read back, the machine counts swap-ins
    assert (after_wake[-1].sleeper.swap_b or 0) < 0.2 * swapped_at_kill
    assert max(f.rates.swapin_bps or 0 for f in frames if f.t_s > woke_t) > 0
    assert set(leftover_cgroups()) == before
