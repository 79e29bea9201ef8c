"""A deterministic, seedable model of the kernel's reclaim, behind the Source interface.

Per 10 ms tick: the allocator asks for what its pacer allows (`rate × dt`, and after a
stall — such as its own cache fill, which comes first — a catch-up of up to 50 ms at
once, as the real allocator does); when the arena is full, the page cache is given up
first (down to a floor, so in a cage `cache ≈ min(C0, limit − anon)` as measured), then,
after a short onset while reclaim ages the anon list, the coldest anonymous pages go to
swap (the sleeper's idle pages before the allocator's oldest) at a bounded swap-out
throughput; when memory and swap are both full, the OOM killer takes the allocator.
Pressure (PSI) rises with swap-outs, swap-ins and the refaults of a cache squeezed to its
floor. Machine-wide mode (`caged=False`) uses watermarks: direct reclaim below `min`,
kswapd from below `low` up to `high`.

The clock is the caller's: `step(t_s)` runs the ticks up to `t_s`, so `--speed` is just a
faster show clock. The same seed, commands and step times give the same frames.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass

from oomphony.commands import (
    Command,
    FillCache,
    Hold,
    KillNow,
    Ramp,
    Release,
    Restart,
    SetRate,
    StartSleeper,
    WakeSleeper,
)
from oomphony.frame import (
    AllocatorExit,
    AllocState,
    CageMem,
    Event,
    MachineMem,
    MemoryFrame,
    OomKill,
    Pressure,
    Rates,
)
from oomphony.sources.base import Origin
from oomphony.sources.simmodel import Model, SimParams
from oomphony.units import GiB

log = logging.getLogger(__name__)

__all__ = ["SimParams", "SimSource"]


@dataclass
class _Interval:
    """What happened since the previous frame (for rates and PSI)."""

    t0_s: float = 0.0
    swapout_b: float = 0.0
    swapin_b: float = 0.0
    majfaults: float = 0.0
    some_s: float = 0.0
    full_s: float = 0.0


class SimSource:
    """The simulated backend. `memory_b`/`swap_b` are the cage's limits (caged) or the
    machine's RAM use limit and swap (machine-wide, where `machine_total_b` is the RAM)."""

    name = "sim"
    origin = Origin("sim", simulated=True)

    def __init__(
        self,
        *,
        memory_b: int,
        swap_b: int,
        seed: int = 0,
        caged: bool = True,
        machine_total_b: int = 8 * GiB,
        other_b: int = 1 * GiB,
        params: SimParams | None = None,
    ) -> None:
        self.fallbacks: list[str] = []
        self.caged = caged
        self.machine_total_b = machine_total_b
        self.memory_b = memory_b if caged else machine_total_b
        self.swap_b = swap_b
        self.other_b = other_b
        self.params = params or SimParams()
        self._rng = random.Random(seed)
        self.model = Model(
            self.params,
            limit_b=memory_b if caged else machine_total_b - other_b,
            swap_limit_b=swap_b,
            caged=caged,
            rng=self._rng,
            wmark_min_b=int(machine_total_b * self.params.wmark_min_fraction),
        )
        self._tick = 0  # ticks run so far
        self._pending: list[Event] = []
        self._iv = _Interval()
        self._last: MemoryFrame | None = None
        self._last_t_s = 0.0
        self._started = False

    # -- Source ---------------------------------------------------------------------

    def start(self) -> None:
        self._started = True

    @property
    def done(self) -> bool:
        return False

    def close(self) -> None:
        return None

    def wake_fds(self) -> list[int]:
        return []

    @property
    def has_swap(self) -> bool:
        return self.swap_b > 0

    def describe_cage(self) -> dict[str, object] | None:
        if not self.caged:
            return None
        return {"kind": "sim", "memory_b": self.memory_b, "swap_b": self.swap_b}

    def command(self, cmd: Command) -> None:
        m = self.model
        t = self._tick * self.params.tick_s
        if isinstance(cmd, SetRate):
            m.set_rate(cmd.rate_bps)
        elif isinstance(cmd, Ramp):
            m.set_ramp(cmd.from_bps, cmd.to_bps, cmd.over_s)
        elif isinstance(cmd, Hold):
            m.set_rate(0.0)
        elif isinstance(cmd, Release):
            m.release(cmd.size_b)
        elif isinstance(cmd, FillCache):
            m.fill_remaining_b += max(0, cmd.size_b)
        elif isinstance(cmd, StartSleeper):
            m.start_sleeper(cmd.size_b)
        elif isinstance(cmd, WakeSleeper):
            m.sleeper_awake = True
        elif isinstance(cmd, KillNow):
            if m.alive:
                pid = m.pid
                m.end_allocator()
                self._pending.append(
                    AllocatorExit(t, pid, "manual_kill", -9, "killed by the presenter (SIGKILL)")
                )
        elif isinstance(cmd, Restart):
            m.restart()
        else:
            log.warning("sim: unknown command %r ignored", cmd)

    def step(self, t_s: float) -> tuple[MemoryFrame, list[Event]]:
        p = self.params
        target_tick = int(t_s / p.tick_s + 1e-9)
        if self._last is None:
            # The model starts at the first step: a kiosk's later shows start at a show
            # clock of hours, and idle ticks up to it would only cost time.
            self._tick = max(0, target_tick - 1)
            self._iv = _Interval(t0_s=self._tick * p.tick_s)
        if self._last is not None and target_tick <= self._tick:
            events, self._pending = self._pending, []
            return self._last, events
        iv = self._iv
        while self._tick < target_tick:
            self._tick += 1
            t = self._tick * p.tick_s
            tick = self.model.tick(p.tick_s)
            iv.swapout_b += tick.swapout_b
            iv.swapin_b += tick.swapin_b
            iv.majfaults += tick.majfaults
            iv.some_s += tick.some_s
            iv.full_s += tick.full_s
            if tick.killed is not None:
                self._pending.extend(self._kill_events(t, *tick.killed))
        frame = self._frame(t_s, max(t_s - iv.t0_s, 1e-9))
        self._iv = _Interval(t0_s=t_s)
        self._last, self._last_t_s = frame, t_s
        events, self._pending = self._pending, []
        return frame, events

    # -- internals --------------------------------------------------------------------

    def _kill_events(self, t: float, pid: int, rss_b: int, total_b: int) -> list[Event]:
        self.model.oom_kills += 1
        vm_kb = (total_b + self.params.interpreter_vm_b) // 1024
        pgtables_kb = max(4, total_b // 512 // 1024 + 64)
        scope = "Memory cgroup out of memory" if self.caged else "Out of memory"
        # What the kernel would print; the pid stays a placeholder, never an invented number.
        line = (
            f"{scope}: Killed process <pid> (python3) total-vm:{vm_kb}kB, "
            f"anon-rss:{rss_b // 1024}kB, file-rss:0kB, shmem-rss:0kB, UID:0 "
            f"pgtables:{pgtables_kb}kB oom_score_adj:1000"
        )
        return [
            OomKill(t, pid, "python3", rss_b, "sim", line),
            AllocatorExit(t, pid, "oom_kill", -9, "killed by the OOM killer"),
        ]

    def _frame(self, t_s: float, interval_s: float) -> MemoryFrame:
        m, p, iv = self.model, self.params, self._iv
        cache = int(m.cache_b)
        usage = m.usage_b
        swap_used = m.swap_used_b
        anon = m.anon_b
        if self.caged:
            outside_cache = p.machine_cache_b
            free = self.machine_total_b - self.other_b - outside_cache - usage
            machine_swap = max(self.swap_b, p.machine_swap_b) if self.swap_b > 0 else 0
            machine = MachineMem(
                total_b=self.machine_total_b,
                free_b=max(0, free),
                available_b=max(0, free) + outside_cache + cache,
                cache_b=outside_cache + cache,
                anon_b=self.other_b + anon,
                swap_total_b=machine_swap,
                swap_free_b=machine_swap - swap_used,
            )
            cage = CageMem(
                limit_b=self.memory_b,
                swap_limit_b=self.swap_b,
                usage_b=usage,
                cache_b=cache,
                anon_b=anon,
                swap_b=swap_used,
                oom_kills=m.oom_kills,
            )
        else:
            free = self.machine_total_b - self.other_b - usage
            machine = MachineMem(
                total_b=self.machine_total_b,
                free_b=max(0, free),
                available_b=max(0, free) + max(0, cache - p.cache_floor_b),
                cache_b=cache,
                anon_b=self.other_b + anon,
                swap_total_b=self.swap_b,
                swap_free_b=self.swap_b - swap_used,
            )
            cage = None
        alloc = AllocState(
            pid=m.pid,
            alive=m.alive,
            allocated_b=m.allocated_b,
            rss_b=m.alloc_rss_b,
            swap_b=m.alloc_swap_b,
            rate_bps=m.current_rate_bps if m.alive else 0.0,
        )
        sleeper = None
        if m.sleeper_pid is not None:
            sleeper = AllocState(
                pid=m.sleeper_pid,
                alive=True,
                allocated_b=m.sleeper_size_b,
                rss_b=int(m.sleeper_res_b),
                swap_b=int(m.sleeper_swap_b),
                rate_bps=0.0,
            )
        return MemoryFrame(
            t_s=t_s,
            machine=machine,
            cage=cage,
            alloc=alloc,
            rates=Rates(
                swapout_bps=iv.swapout_b / interval_s,
                swapin_bps=iv.swapin_b / interval_s,
                majfault_ps=iv.majfaults / interval_s,
            ),
            psi=Pressure(
                some=min(1.0, iv.some_s / interval_s), full=min(1.0, iv.full_s / interval_s)
            ),
            sleeper=sleeper,
        )
