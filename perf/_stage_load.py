"""What perf/bench_picture.py draws and under what: a scripted show, the allocator filling
a cage beside it, and the thread's wait for a core (also used to look at stage frames
outside the benchmark, e.g. before/after screenshots of every act)."""

from __future__ import annotations

import contextlib
import math
import os
import time

from oomphony.cues import Act, Status
from oomphony.picture import HudInfo
from oomphony.support.demo import act_cues, caged_frame, kill_cues
from oomphony.units import MiB

CYCLE_S = 15.0
HUD = HudInfo(60.0, 4.0, Status("jack 48 kHz", 0, "live", "256 MiB + 256 MiB swap", ("PSI",)))


def scene(t_s: float):
    """A scripted show: fill, cache drain, swap, kill, aftermath (repeats every CYCLE_S)."""
    u = (t_s % CYCLE_S) / CYCLE_S
    run = math.floor(t_s / CYCLE_S)
    pid = 5000 + run
    if u < 0.2:
        a = u / 0.2
        return caged_frame(
            t_s, cache_b=round(120 * MiB), alloc_b=round(100 * a * MiB), rate_bps=40 * MiB, pid=pid
        ), act_cues(t_s, Act.OVERTURE)
    if u < 0.45:
        a = (u - 0.2) / 0.25
        return caged_frame(t_s, cache_b=round(120 * (1 - a) * MiB) + 2 * MiB,
                           alloc_b=round((100 + 140 * a) * MiB), rate_bps=80 * MiB,
                           psi_some=0.05 * a, majfault_ps=100 * a, pid=pid), \
            act_cues(t_s, Act.CACHE)  # fmt: skip
    if u < 0.7:
        a = (u - 0.45) / 0.25
        return caged_frame(t_s, cache_b=2 * MiB, alloc_b=240 * MiB,
                           alloc_swap_b=round(250 * a * MiB), sleeper_b=4 * MiB,
                           sleeper_swap_b=round(6 * a * MiB), rate_bps=80 * MiB,
                           psi_some=0.5 * a, psi_full=0.3 * a, swapout_bps=90 * MiB,
                           swapin_bps=2 * MiB, majfault_ps=2000, pid=pid), \
            act_cues(t_s, Act.SWAP)  # fmt: skip
    kill_t = run * CYCLE_S + 0.7 * CYCLE_S
    dead = caged_frame(
        t_s, cache_b=2 * MiB, alive=False, sleeper_b=4 * MiB, sleeper_swap_b=6 * MiB, pid=pid
    )
    if u < 0.85:
        return dead, kill_cues(kill_t, pid)
    return dead, act_cues(t_s, Act.EPILOGUE)


class SchedStat:
    """The show thread's time spent waiting on a run queue (ready, but no core free), in
    ms, from /proc/thread-self/schedstat (0 where the kernel does not offer it)."""

    def __init__(self) -> None:
        try:
            self.fd: int | None = os.open("/proc/thread-self/schedstat", os.O_RDONLY)
        except OSError:
            self.fd = None

    def wait_ms(self) -> float:
        if self.fd is None:
            return 0.0
        return int(os.pread(self.fd, 64, 0).split()[1]) / 1e6

    def now(self) -> tuple[float, float]:
        """(perf_counter in ms, wait so far in ms) with no wait between the two: the
        kernel adds a wait when the thread runs again, so a wait read that changed
        across the clock read means a preemption landed between them; read again."""
        while True:
            w = self.wait_ms()
            t = time.perf_counter() * 1000
            if self.wait_ms() == w:
                return t, w

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)


@contextlib.contextmanager
def loaded():
    """The allocator filling a 256 MiB cage at full speed, restarted after each kill;
    yields a tick() to call between frames (non-blocking) and a dict of counts."""
    from oomphony.allocator.handle import Allocator
    from oomphony.cage.cage import Cage

    counts = {"kills": 0}
    cpus = sorted(os.sched_getaffinity(0))
    show_cpu, alloc_cpu = {cpus[0]}, {cpus[-1]}  # the picture on one core, the hog on another

    def start(cage) -> Allocator:
        a = Allocator.start(cage, rate_bps=math.inf)
        with contextlib.suppress(OSError):
            os.sched_setaffinity(a._proc.pid, alloc_cpu)
        return a

    with Cage.create(256 * MiB, 128 * MiB) as cage:
        state = {"alloc": start(cage)}
        os.sched_setaffinity(0, show_cpu)

        def tick() -> None:
            a = state["alloc"]
            if a.poll() is not None:
                counts["kills"] += 1
                a.close()
                state["alloc"] = start(cage)

        try:
            yield tick, counts
        finally:
            state["alloc"].close()
            os.sched_setaffinity(0, set(cpus))
