"""The live backend: the real kernel, a real cage, the real allocator, the real OOM kill.

Owns the cage, the allocator child, the kill watch and the telemetry sampler; `step`
ties them into one frame plus the events since the last step, without blocking.
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass, replace
from pathlib import Path

from oomphony.allocator.handle import Allocator
from oomphony.cage.cage import Cage
from oomphony.commands import Command, Restart, WakeSleeper
from oomphony.frame import AllocatorExit, AllocState, Event, Failure, MemoryFrame, OomKill
from oomphony.sources.base import Origin
from oomphony.sources.killwatch import KillWatch, classify_exit, other_process_kill
from oomphony.telemetry import Sampler
from oomphony.telemetry.cgroupfs import CgroupRef

log = logging.getLogger(__name__)

# A SIGKILLed allocator is only called an OOM kill once the cgroup counter or the kernel
# line confirms it. Measured here, both arrive within ~5 ms of the kill
# (docs/architecture.md "Kill detection"), long before the process is reaped; 0.5 s of
# grace is a wide margin that still reads as instant.
CONFIRM_GRACE_S = 0.5


@dataclass(frozen=True, slots=True)
class LivePlan:
    """What the live show runs: cage size (None for --global), cache fill, rate, sleeper.
    A setlist run starts with nothing (the director's commands drive the allocator) and
    only prepares a cache file of `cache_file_b` for its cache act."""

    memory_b: int | None
    swap_b: int
    cache_b: int
    rate_bps: float
    sleeper_b: int = 0
    cache_file_b: int = 0


class LiveSource:
    name = "live"
    origin = Origin("live")

    def __init__(
        self, plan: LivePlan, *, proc_root: str = "/proc", protections: dict | None = None
    ) -> None:
        self.plan = plan
        # --global: what protects the show, carried by each oom_kill event; the
        # allocator's oom_score_adj is read from its /proc once it runs
        self.protections = dict(protections) if protections is not None else None
        self._adj_read = False
        self.fallbacks: list[str] = []
        self.cage: Cage | None = None
        self.alloc: Allocator | None = None
        self._proc_root = proc_root
        self._sampler: Sampler | None = None
        self._watch: KillWatch | None = None
        self._watched: CgroupRef | None = None  # the cage the watchers were opened on
        self._kills: list[OomKill] = []  # kills seen during the current allocator's life
        self._oom_at_start: int | None = None
        self._exit_seen_t: float | None = None
        self._exit_rc: int | None = None
        self._classified = False

    # -- lifecycle ------------------------------------------------------------------

    def start(self) -> None:
        try:
            if self.plan.memory_b is not None:
                self.cage = Cage.create(self.plan.memory_b, self.plan.swap_b)
            self._spawn()
        except BaseException:
            self.close()
            raise
        assert self._sampler is not None and self._watch is not None
        self.fallbacks = [*self._sampler.fallbacks, *self._watch.fallbacks]

    def _open_watchers(self) -> None:
        """Telemetry and the kill watch on the cage as it is now. A systemd scope exists
        only once its first process is in it (and each allocator gets a new one), so
        they are opened after the spawn, and again when the cage's path changed."""
        ref = self.cage.ref if self.cage else None
        if self._sampler is not None and self._watched == ref:
            return
        if self._watch is not None:
            self._watch.close()
        if self._sampler is not None:
            self._sampler.close()
        self._watch = KillWatch(self.cage)
        self._sampler = Sampler(proc_root=self._proc_root, cgroup=ref)
        self._watched = ref

    def _spawn(self) -> None:
        self.alloc = Allocator.start(
            self.cage,
            rate_bps=self.plan.rate_bps,
            cache_b=self.plan.cache_b,
            sleeper_b=self.plan.sleeper_b,
            cache_file_b=self.plan.cache_file_b,
        )
        self._open_watchers()
        assert self._sampler is not None
        self._kills = []
        self._exit_seen_t = None
        self._exit_rc = None
        self._classified = False
        self._adj_read = False
        self._sleeper_pid: int | None = None
        cage_mem = self._sampler.read_cage()
        self._oom_at_start = cage_mem.oom_kills if cage_mem else None
        self._sampler.set_pids(self.alloc.pid, None)

    def wake_fds(self) -> list[int]:
        """Descriptors that become readable on an OOM kill (the runner's frame wait wakes
        on them, so the kill screen does not wait out a frame)."""
        return self._watch.filenos() if self._watch is not None else []

    def describe_cage(self) -> dict | None:
        return self.cage.describe() if self.cage else None

    @property
    def has_swap(self) -> bool:
        """The machine has swap, and the cage may use it (or there is no cage)."""
        from oomphony.telemetry import read_meminfo

        if read_meminfo().get("SwapTotal", 0) <= 0:
            return False
        return self.plan.swap_b > 0 or self.plan.memory_b is None

    @property
    def done(self) -> bool:
        return False

    def close(self) -> None:
        if self.alloc is not None:
            self.alloc.close()
        if self._watch is not None:
            self._watch.close()
        if self._sampler is not None:
            self._sampler.close()
        if self.cage is not None:
            self.cage.remove()

    # -- the tick -------------------------------------------------------------------

    def command(self, cmd: Command) -> None:
        if isinstance(cmd, Restart):
            if self.alloc is not None:
                self.alloc.close()
            self._spawn()
            return
        if self.alloc is None:
            return
        # The sleeper outlives the allocator's kill: waking it afterwards is the point of
        # the rearrange act (its pages come back from swap).
        if self._exit_seen_t is not None and not isinstance(cmd, WakeSleeper):
            log.info("allocator not running; %s ignored", type(cmd).__name__)
            return
        self.alloc.send(cmd)

    def step(self, t_s: float) -> tuple[MemoryFrame, list[Event]]:
        assert self._sampler is not None and self._watch is not None and self.alloc is not None
        events: list[Event] = []
        prog = self.alloc.progress()
        for kill in self._watch.poll(t_s):
            other = self._other_process(kill, prog.sleeper_pid)
            if other is not None:
                events.append(other)
                continue
            if self.protections is not None:
                kill = replace(kill, protections=self.protections)
            self._kills.append(kill)
            events.append(kill)
        if self.protections is not None and not self._adj_read and prog.allocated_b > 0:
            self._read_allocator_score()
        if self._exit_seen_t is None:
            rc = self.alloc.poll()
            if rc is not None:
                self._exit_seen_t, self._exit_rc = t_s, rc
        alive = self._exit_seen_t is None
        if not alive and not self._classified:
            ev = self._maybe_classify(t_s)
            if ev is not None:
                events.append(ev)
        if prog.sleeper_pid != self._sleeper_pid:  # the sleeper started: follow it too
            self._sleeper_pid = prog.sleeper_pid
            self._sampler.set_pids(self.alloc.pid, prog.sleeper_pid)
        alloc_state = AllocState(
            pid=self.alloc.pid,
            alive=alive,
            allocated_b=prog.allocated_b,
            rss_b=None,
            swap_b=None,
            rate_bps=prog.rate_bps if alive else 0.0,
        )
        sleeper = None
        if prog.sleeper_pid is not None:
            sleeper = AllocState(
                pid=prog.sleeper_pid,
                alive=True,
                allocated_b=prog.sleeper_b,
                rss_b=None,
                swap_b=None,
                rate_bps=0.0,
            )
        frame = self._sampler.sample(t_s, alloc_state, sleeper)
        return frame, events

    def _other_process(self, kill: OomKill, sleeper_pid: int | None) -> Failure | None:
        """Without a cage, the kernel may kill any process: one that is not ours is a
        failure of the show, reported loudly (docs/trace-format.md `failure`)."""
        assert self.alloc is not None
        if self.cage is not None:
            return None  # the cage's kill watch only reports kills in the cage
        failure = other_process_kill(kill, (self.alloc.pid, sleeper_pid))
        if failure is not None:
            log.error("%s", failure.detail)
        return failure

    def _read_allocator_score(self) -> None:
        assert self.alloc is not None and self.protections is not None
        path = Path(self._proc_root) / str(self.alloc.pid) / "oom_score_adj"
        with contextlib.suppress(OSError, ValueError):
            score = int(path.read_text().strip())
            self.protections = {**self.protections, "allocator": {"oom_score_adj": score}}
        self._adj_read = True

    def _maybe_classify(self, t_s: float) -> AllocatorExit | None:
        """Classify the allocator's exit once: at once if confirmed or clearly not a
        kill, else after the grace period for the counter or the kernel line."""
        assert self.alloc is not None and self._exit_seen_t is not None
        rc = self._exit_rc
        cage_mem = self._sampler.read_cage() if self._sampler else None
        rose = (
            cage_mem is not None
            and cage_mem.oom_kills is not None
            and self._oom_at_start is not None
            and cage_mem.oom_kills > self._oom_at_start
        )
        mine = [k for k in self._kills if k.pid in (None, self.alloc.pid)]
        # A kill without a pid comes from the cage's counter: it rose. (The cage itself
        # may be gone by now, e.g. a systemd scope torn down right after the kill.)
        rose = rose or any(k.pid is None for k in mine)
        confirmed = rose or any(k.pid == self.alloc.pid for k in mine)
        waiting = rc == -9 and not confirmed and not self.alloc.manual_kill
        if waiting and t_s - self._exit_seen_t < CONFIRM_GRACE_S:
            return None
        ev = classify_exit(
            rc,
            self.alloc.pid,
            mine,
            manual=self.alloc.manual_kill,
            t_s=self._exit_seen_t,
            oom_counter_rose=rose,
            oomd=self._watch.oomd if self._watch is not None else False,
        )
        self._classified = True
        return ev
