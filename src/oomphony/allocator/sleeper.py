"""The sleeper: a process in the cage that fills a working set and then leaves it cold.

Under pressure its idle pages go to swap and stay there, even after the allocator's
kill, until SIGUSR1 wakes it: it reads every page again (swap-ins) and sleeps again.
SIGTERM ends it; it dies with the show (PR_SET_PDEATHSIG), not with the allocator.
"""

from __future__ import annotations

import signal
from pathlib import Path

from oomphony.allocator import shm
from oomphony.allocator.child import die_with_parent, enter_cage
from oomphony.allocator.fill import Filler


def main(args) -> int:
    die_with_parent(args.parent)
    if args.cgroup is not None:
        enter_cage(Path(args.cgroup))
    progress = shm.attach(args.shm_fd)
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGUSR1, signal.SIGTERM})
    filler = Filler()
    filler.fill(args.size)
    shm.put(progress, shm.SLEEPER_B, filler.filled_b)
    wakes = 0
    while True:
        sig = signal.sigwait({signal.SIGUSR1, signal.SIGTERM})
        if sig == signal.SIGTERM:
            return 0
        filler.touch()
        wakes += 1
        shm.put(progress, shm.SLEEPER_WAKES, wakes)
