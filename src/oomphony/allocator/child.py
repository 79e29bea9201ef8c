"""The allocator child: in the cage, volunteering as OOM victim, eating memory on cue.

Start-up order matters: die with the parent (PR_SET_PDEATHSIG, then re-check `getppid`, in
case the parent died before the prctl), volunteer as victim (`oom_score_adj` 1000), move
into the cage (and check we are there) — only then touch the page cache or allocate.
"""

from __future__ import annotations

import contextlib
import errno
import math
import os
import select
import sys
import time
from pathlib import Path

from oomphony.allocator import shm
from oomphony.allocator.fill import Filler, read_into_cache, write_file
from oomphony.cage.lifeline import die_with_parent
from oomphony.cage.protect import lock_resident
from oomphony.units import PAGE_B, MiB

EXIT_PARENT_GONE = 3
EXIT_NOT_CAGED = 4
MIN_WAIT_S = 0.005  # pacing granularity: a chunk every 5 ms at most (150 MiB/s → 750 KiB)
BURST_S = 0.05  # never catch up more than 50 ms of allocation after a stall
UNLIMITED_STEP_B = MiB  # 1 MiB beat 4 MiB steps at unlimited rate here
CACHE_STEP_B = 256 * 1024  # small reads: a SIGKILL waits for the read in flight


def volunteer(score: int = 1000) -> None:
    with contextlib.suppress(OSError):
        Path("/proc/self/oom_score_adj").write_text(str(score))


def enter_cage(cgroup: Path) -> None:
    """Move ourselves into the cage and check that the kernel agrees."""
    try:
        (cgroup / "cgroup.procs").write_text(str(os.getpid()))
        ok = any(
            line.rstrip().endswith("/" + cgroup.name)
            for line in Path("/proc/self/cgroup").read_text().splitlines()
        )
    except OSError as err:
        print(f"oomphony allocator: cannot enter cage {cgroup}: {err}", file=sys.stderr)
        ok = False
    if not ok:
        os._exit(EXIT_NOT_CAGED)


class Pacer:
    """Rate control by a token budget: `due(now)` is how many bytes may be written now."""

    def __init__(self, rate_bps: float, now: float) -> None:
        self.rate_bps = rate_bps
        self.ramp: tuple[float, float, float, float] | None = None  # from, to, t0, over
        self.holding = rate_bps <= 0
        self.budget_b = 0.0
        self.last = now

    def rate_at(self, now: float) -> float:
        if self.holding:
            return 0.0
        if self.ramp is not None:
            a, b, t0, over = self.ramp
            x = 1.0 if over <= 0 else min(1.0, (now - t0) / over)
            if x >= 1.0:
                self.rate_bps, self.ramp = b, None
                return b
            return a + (b - a) * x
        return self.rate_bps

    def due(self, now: float) -> float:
        rate = self.rate_at(now)
        dt, self.last = max(0.0, now - self.last), now
        if math.isinf(rate):
            return math.inf
        self.budget_b = min(self.budget_b + rate * dt, max(rate * BURST_S, PAGE_B))
        return self.budget_b

    def wait_s(self, now: float) -> float:
        rate = self.rate_at(now)
        if rate <= 0:
            return 0.1
        return max(MIN_WAIT_S, (PAGE_B - self.budget_b) / rate)


class Child:
    def __init__(self, args, progress, now: float) -> None:
        self.args = args
        self.progress = progress
        self.pacer = Pacer(args.rate, now)
        self.filler = Filler()
        self.cmd_fd = args.cmd_fd
        self.cache_fd = args.cache_fd
        self.cache_read_b = 0
        self.cache_want_b = args.cache_b
        self.stopping = False
        self._pending = b""
        self.buf = bytearray(CACHE_STEP_B)

    def phase(self, name: str) -> None:
        shm.put(self.progress, shm.PHASE, shm.PHASES.index(name))

    def commands(self, timeout_s: float) -> None:
        """Wait up to `timeout_s` for commands and apply them all."""
        try:
            ready, _, _ = select.select([self.cmd_fd], [], [], timeout_s)
        except InterruptedError:
            return
        if not ready:
            return
        try:
            data = os.read(self.cmd_fd, 65536)
        except OSError as err:
            if err.errno == errno.EAGAIN:
                return
            data = b""
        if not data:  # the show closed the pipe: stop
            self.stopping = True
            return
        self._pending += data
        *lines, self._pending = self._pending.split(b"\n")
        for line in lines:
            self.apply(line.decode(errors="replace"))

    def apply(self, line: str) -> None:
        parsed = shm.decode(line)
        if parsed is None:
            return
        verb, nums = parsed
        now = time.monotonic()
        p = self.pacer
        if verb == "rate" and nums:
            p.rate_at(now)
            p.rate_bps, p.ramp, p.holding = nums[0], None, nums[0] <= 0
        elif verb == "ramp" and len(nums) == 3:
            p.ramp, p.holding = (nums[0], nums[1], now, nums[2]), False
        elif verb == "hold":
            p.holding = True
        elif verb == "release" and nums:
            p.holding = True
            self.filler.release(None if nums[0] < 0 else int(nums[0]))
            shm.put(self.progress, shm.ALLOCATED, self.filler.filled_b)
        elif verb == "cache" and nums:
            self.cache_want_b = int(nums[0])
            self.cache_read_b = 0
        elif verb == "stop":
            self.stopping = True

    def fill_cache_step(self) -> bool:
        """Read one step of the cache file; False when there is nothing left to read."""
        if self.cache_fd is None or self.cache_read_b >= self.cache_want_b:
            return False
        size = os.fstat(self.cache_fd).st_size
        if size < self.cache_want_b:  # grow the file from inside the cage
            write_file(self.cache_fd, size, self.cache_want_b)
        stop = min(self.cache_want_b, self.cache_read_b + CACHE_STEP_B)
        self.cache_read_b += read_into_cache(self.cache_fd, self.cache_read_b, stop, self.buf)
        shm.put(self.progress, shm.CACHE, self.cache_read_b)
        if self.cache_read_b < stop:  # short file: give up
            self.cache_want_b = self.cache_read_b
        return True

    def run(self) -> int:
        while not self.stopping:
            if self.fill_cache_step():
                self.phase("cache")
                self.commands(0.0)
                continue
            now = time.monotonic()
            due = self.pacer.due(now)
            rate = self.pacer.rate_at(now)
            shm.put(self.progress, shm.RATE, rate)
            if due >= PAGE_B:
                self.phase("allocating")
                step = UNLIMITED_STEP_B if math.isinf(due) else int(due) // PAGE_B * PAGE_B
                added = self.filler.fill(step)
                if not math.isinf(due):
                    self.pacer.budget_b -= added
                shm.put(self.progress, shm.ALLOCATED, self.filler.filled_b)
                self.commands(0.0)
            else:
                self.phase("holding" if rate <= 0 else "allocating")
                self.commands(self.pacer.wait_s(now))
        self.phase("stopping")
        return 0


def main(args) -> int:
    die_with_parent(args.parent, exit_status=EXIT_PARENT_GONE)
    volunteer(1000)
    if args.cgroup is not None:
        enter_cage(Path(args.cgroup))
    if args.uncaged:  # --global: keep its own code resident (cage/protect.py)
        lock_resident()
    progress = shm.attach(args.shm_fd)
    os.set_blocking(args.cmd_fd, False)
    return Child(args, progress, time.monotonic()).run()
