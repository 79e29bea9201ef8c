"""The simulator's arithmetic: one arena (a cage, or the machine), one tick at a time.

Kept apart from `sim.py` (which turns it into frames and events) so the reclaim rules
read in one sitting. All sizes are bytes; the model is mutable and owned by one SimSource.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from oomphony.allocator.child import BURST_S
from oomphony.units import PAGE_B, GiB, MiB


@dataclass(frozen=True, slots=True)
class SimParams:
    tick_s: float = 0.01
    # Measured: in every run of assets/traces/ (cages of 128–256 MiB) the cage's cache
    # went down to 0 before the first swap-out or the kill.
    cache_floor_b: int = 0
    # The allocator's own anon memory before it allocates (cage anon − allocated, same run).
    interpreter_b: int = 4 * MiB
    interpreter_vm_b: int = 30 * MiB
    # Throughputs. Swap-out, measured on assets/traces/grid/ (2 shared cores, a swap file
    # on a virtio disk that writes 268 MB/s): runs allocating faster than swap could take
    # swapped 76–119 MiB/s once swapping (CPU-bound reclaim, not the disk); the others
    # kept pace. tests/test_sim_grid.py holds the milestones within 10 % of each run.
    fill_bps: float = 400 * MiB  # reading the cache-fill file (an upper bound)
    swapout_bps: float = 100 * MiB
    # The first swap-out comes this long after the cache ran out (the same runs: the
    # first pass over the anon LRU finds every page just written, referenced, and only
    # ages it; 30–90 ms after the drained cache, at 40 and 120 MiB/s alike).
    swap_onset_s: float = 0.05
    swapin_bps: float = 60 * MiB
    sleeper_bps: float = 1 * GiB  # the sleeper writing its working set
    jitter: float = 0.03  # ± fraction on each tick's allocation (seeded)
    burst_s: float = BURST_S  # the allocator catches up on at most this much after a stall
    refault_ps: float = 300.0  # major faults/s of the allocator's own code at the floor
    machine_cache_b: int = 2 * GiB  # page cache outside the cage (machine-wide: reclaimable)
    machine_swap_b: int = 1 * GiB  # the machine's swap when caged (≥ the cage's swap)
    # Machine-wide watermarks (min_free_kbytes-like): direct reclaim below min,
    # kswapd wakes below low and reclaims up to high.
    wmark_min_fraction: float = 1 / 256


@dataclass(slots=True)
class TickResult:
    swapout_b: float = 0.0
    swapin_b: float = 0.0
    majfaults: float = 0.0
    some_s: float = 0.0
    full_s: float = 0.0
    killed: tuple[int, int, int] | None = None  # pid, anon-rss, total (rss + swap)


class Model:
    def __init__(
        self,
        p: SimParams,
        *,
        limit_b: int,
        swap_limit_b: int,
        caged: bool,
        rng: random.Random,
        wmark_min_b: int = 0,
    ) -> None:
        self.p = p
        self.limit_b = limit_b
        self.swap_limit_b = max(0, swap_limit_b)
        self.caged = caged
        self.rng = rng
        self.wmark_min_b = 0 if caged else wmark_min_b
        self.cache_b = 0.0 if caged else float(min(p.machine_cache_b, limit_b // 2))
        self.fill_remaining_b = 0.0
        self.oom_kills = 0
        self.sleeper_pid: int | None = None
        self.sleeper_size_b = 0
        self.sleeper_pending_b = 0.0
        self.sleeper_res_b = 0.0
        self.sleeper_swap_b = 0.0
        self.sleeper_awake = False
        self.anon_pressure_s = 0.0  # how long reclaim has been asking for anon pages
        self._reclaimed = self._anon_wanted = False
        self.restart()

    # -- the allocator ----------------------------------------------------------------

    def restart(self) -> None:
        self.pid = self.rng.randrange(2000, 60000)
        self.alive = True
        self.res_b = 0.0  # allocated pages in RAM
        self.swap_b = 0.0  # allocated pages in swap
        self.rate_bps = 0.0
        self.ramp: tuple[float, float, float, float] | None = None  # from, to, over, elapsed
        self.budget_b = 0.0  # the pacer's tokens: bytes the allocator may write now
        # The new interpreter's pages are charged at once: the kernel makes room for them
        # from the page cache, then by swapping out the sleeper; what still does not fit
        # is an OOM kill of the new allocator at its first tick (see `tick`).
        self.cache_b = max(0.0, min(self.cache_b, self.cache_b + self._room()))
        out = min(max(0.0, -self._room()), self.sleeper_res_b, self.swap_limit_b - self.swap_used_b)
        if out > 0:
            self.sleeper_res_b -= out
            self.sleeper_swap_b += out

    def end_allocator(self) -> None:
        self.alive = False
        self.res_b = self.swap_b = self.budget_b = 0.0
        self.rate_bps, self.ramp = 0.0, None

    def set_rate(self, rate_bps: float) -> None:
        self.rate_bps, self.ramp = max(0.0, rate_bps), None

    def set_ramp(self, from_bps: float, to_bps: float, over_s: float) -> None:
        self.rate_bps = max(0.0, to_bps)
        self.ramp = (max(0.0, from_bps), max(0.0, to_bps), max(over_s, 1e-9), 0.0)

    def release(self, size_b: int | None) -> None:
        give = self.res_b + self.swap_b if size_b is None else float(max(0, size_b))
        from_res = min(self.res_b, give)
        self.res_b -= from_res
        self.swap_b = max(0.0, self.swap_b - (give - from_res))

    def start_sleeper(self, size_b: int) -> None:
        if self.sleeper_pid is None:
            self.sleeper_pid = self.rng.randrange(2000, 60000)
        self.sleeper_size_b += max(0, size_b)
        self.sleeper_pending_b += max(0, size_b)
        self.sleeper_awake = False

    @property
    def current_rate_bps(self) -> float:
        if self.ramp is None:
            return self.rate_bps
        f, t, over, el = self.ramp
        return f + (t - f) * min(1.0, el / over)

    # -- levels -------------------------------------------------------------------------

    @property
    def allocated_b(self) -> int:
        return int(self.res_b + self.swap_b)

    @property
    def alloc_rss_b(self) -> int:
        return int(self.res_b + self.p.interpreter_b) if self.alive else 0

    @property
    def alloc_swap_b(self) -> int:
        return int(self.swap_b)

    @property
    def anon_b(self) -> int:
        return self.alloc_rss_b + int(self.sleeper_res_b)

    @property
    def usage_b(self) -> int:
        return self.anon_b + int(self.cache_b)

    @property
    def swap_used_b(self) -> int:
        return int(self.swap_b + self.sleeper_swap_b)

    def _room(self) -> float:
        return (
            self.limit_b - self.wmark_min_b - (self.alloc_rss_b + self.sleeper_res_b + self.cache_b)
        )

    # -- reclaim --------------------------------------------------------------------------

    def _reclaim(self, need: float, budget: list[float], *, spare_sleeper: bool) -> bool:
        """Free up to `need` bytes: cache above its floor, then cold anon pages to swap
        within this tick's swap-out `budget`. True when nothing more could ever be freed."""
        self._reclaimed = True
        take = min(need, max(0.0, self.cache_b - self.p.cache_floor_b))
        self.cache_b -= take
        need -= take
        if need > 0:
            self._anon_wanted = True
        if spare_sleeper:
            victims = ["alloc"]
        elif self.sleeper_awake:  # a woken sleeper is hot: its pages go last
            victims = ["alloc", "sleeper"]
        else:  # the sleeper's idle pages are the coldest in the arena
            victims = ["sleeper", "alloc"]
        for who in victims:
            space = self.swap_limit_b - self.swap_used_b
            res = self.sleeper_res_b if who == "sleeper" else self.res_b
            out = min(need, res, space, budget[0])
            if out <= 0:
                continue
            if who == "sleeper":
                self.sleeper_res_b -= out
                self.sleeper_swap_b += out
            else:
                self.res_b -= out
                self.swap_b += out
            budget[0] -= out
            budget[1] += out
            need -= out
        cache_left = self.cache_b > self.p.cache_floor_b + 1
        space_left = self.swap_limit_b - self.swap_used_b > 1
        anon_left = self.res_b > 1 or (self.sleeper_res_b > 1 and not spare_sleeper)
        return not cache_left and not (space_left and anon_left)

    def tick(self, dt: float) -> TickResult:
        p = self.p
        r = TickResult()
        # Anon pages are swapped out only once reclaim has aged the anon LRU for a while.
        aged = self.anon_pressure_s >= p.swap_onset_s
        budget = [p.swapout_bps * dt if aged else 0.0, 0.0]  # left, swapped out this tick
        self._reclaimed = self._anon_wanted = False
        pressed = False
        # The sleeper writing its working set.
        if self.sleeper_pending_b > 0:
            want = min(self.sleeper_pending_b, p.sleeper_bps * dt)
            if want > self._room():
                self._reclaim(want - self._room(), budget, spare_sleeper=True)
            got = max(0.0, min(want, self._room()))
            self.sleeper_res_b += got
            self.sleeper_pending_b -= got
        # The cache fill: a read that replaces older cache once the arena is full.
        if self.fill_remaining_b > 0:
            chunk = min(self.fill_remaining_b, p.fill_bps * dt)
            reclaimable = max(0.0, self.cache_b - p.cache_floor_b)
            add = min(chunk, max(0.0, self._room()) + reclaimable)
            self.cache_b += add
            self.cache_b -= max(0.0, -self._room())
            self.fill_remaining_b -= chunk
        # The sleeper, awake, touching its swapped pages again.
        if self.sleeper_awake and self.sleeper_swap_b > 0:
            want = min(self.sleeper_swap_b, p.swapin_bps * dt)
            if want > self._room():
                self._reclaim(want - self._room(), budget, spare_sleeper=True)
            got = max(0.0, min(want, self._room()))
            self.sleeper_swap_b -= got
            self.sleeper_res_b += got
            r.swapin_b += got
            r.majfaults += got / PAGE_B
            r.some_s += dt * min(1.0, 0.9 * got / (p.swapin_bps * dt))
        # The allocator.
        if self.alive and self.usage_b > self.limit_b - self.wmark_min_b:  # restart, no room
            r.killed = (self.pid, self.alloc_rss_b, self.alloc_rss_b + self.alloc_swap_b)
            self.end_allocator()
        if self.alive:
            rate = self.current_rate_bps
            if self.ramp is not None:
                f, t, over, el = self.ramp
                self.ramp = (f, t, over, el + dt)
            # The real allocator is one thread paced by a token budget: while it reads the
            # cache file it does not allocate, and afterwards it catches up on at most
            # `burst_s` of allocation at once (allocator/child.py's Pacer).
            accrued = rate * dt * (1.0 + p.jitter * (2 * self.rng.random() - 1))
            self.budget_b = min(self.budget_b + accrued, max(rate * p.burst_s, accrued))
            want = 0.0 if self.fill_remaining_b > 0 else self.budget_b
            if want > 0:
                exhausted = False
                if want > self._room():
                    pressed = True
                    exhausted = self._reclaim(want - self._room(), budget, spare_sleeper=False)
                got = max(0.0, min(want, self._room()))
                self.res_b += got
                self.budget_b -= got
                if got < want and exhausted:
                    total = self.alloc_rss_b + self.alloc_swap_b
                    r.killed = (self.pid, self.alloc_rss_b, total)
                    self.end_allocator()
        # kswapd (machine-wide): wake below low, reclaim up to high.
        if not self.caged and self._room() < 0.25 * self.wmark_min_b:
            self._reclaim(0.5 * self.wmark_min_b - self._room(), budget, spare_sleeper=False)
        if self._anon_wanted:
            self.anon_pressure_s += dt
        elif not self._reclaimed:
            self.anon_pressure_s = 0.0  # room again: the next squeeze ages the list anew
        r.swapout_b = budget[1]
        if budget[1] > 0:
            r.some_s += dt * min(1.0, 0.7 * budget[1] / (p.swapout_bps * dt))
        if pressed and self.cache_b <= p.cache_floor_b + 1:
            # The allocator's own code pages are reclaimed and read back (refaults); the
            # fuller the swap, the longer each reclaim pass scans before it finds a page.
            r.majfaults += p.refault_ps * dt
            fill = self.swap_used_b / self.swap_limit_b if self.swap_limit_b else 1.0
            r.some_s += dt * (0.1 + 0.4 * fill * fill)
        r.some_s = min(dt, r.some_s * (1.0 + 0.1 * (self.rng.random() - 0.5)))
        r.full_s = 0.5 * r.some_s
        return r
