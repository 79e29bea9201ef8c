"""The sleeper: a process in the cage that fills a working set and then leaves it cold.

Under pressure its idle pages go to swap and stay there, even after the allocator's
kill, until SIGUSR1 wakes it: it reads every page again (swap-ins) and sleeps again.
SIGTERM ends it; it dies with the show (PR_SET_PDEATHSIG), not with the allocator.
It joins the allocator's cage before it touches memory: a systemd user scope through
`join_scope` (the show may not be allowed to move it there itself), and it never fills
outside the cage.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

from oomphony.allocator import shm
from oomphony.allocator.child import EXIT_NOT_CAGED, die_with_parent, enter_cage
from oomphony.allocator.fill import Filler
from oomphony.cage.scope import join_scope
from oomphony.errors import CageError


def join_cage(cgroup: Path) -> None:
    """Into the cage, or exit: a systemd scope is joined through `join_scope` first;
    `enter_cage` then moves us (again, harmlessly) and checks where the kernel says we are."""
    if cgroup.name.endswith(".scope"):
        try:
            join_scope(cgroup, os.getpid())
        except CageError as err:
            print(f"oomphony sleeper: {err}", file=sys.stderr)
            os._exit(EXIT_NOT_CAGED)
    enter_cage(cgroup)


def main(args) -> int:
    die_with_parent(args.parent)
    if args.cgroup is not None:
        join_cage(Path(args.cgroup))
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
