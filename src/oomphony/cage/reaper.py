"""The reaper: a tiny process outside the cage that removes it when the show dies.

A SIGKILLed show runs no cleanup. The allocator and the sleeper die with it
(PR_SET_PDEATHSIG), but the cgroup would stay; this process watches the show's pid (a pidfd
where the kernel has one, else `getppid` polling), then kills anything left in the cgroup,
waits for it to empty and removes it, and last unlinks the show's page-cache file
(`oomphony.cage.cachefile`). It exits when the show removed the cage itself
(SIGTERM, or the cgroup directory vanished). It runs in its own session so a terminal's
Ctrl-C reaches only the show, and it sets no PDEATHSIG: it must outlive the show.

    python -m oomphony.cage.reaper --pid SHOW_PID --cgroup /sys/fs/cgroup/memory/…/oomphony-…
"""

from __future__ import annotations

import argparse
import os
import select
import signal
import sys
from pathlib import Path

from oomphony.cage.cachefile import remove_cache_files
from oomphony.cage.cgroupdir import empty_and_remove

CHECK_S = 0.5  # how often the cgroup's existence is re-checked while the show lives


def _watch(show_pid: int, cgroup: Path) -> bool:
    """Block until the show dies (True) or the cgroup is gone (False)."""
    pidfd = None
    try:
        pidfd = os.pidfd_open(show_pid)
    except (OSError, AttributeError):
        pidfd = None
    if os.getppid() != show_pid:  # it died before we were watching
        return True
    poller = select.poll()
    if pidfd is not None:
        poller.register(pidfd, select.POLLIN)
    while True:
        if poller.poll(int(CHECK_S * 1000)) or os.getppid() != show_pid:
            return True
        if not cgroup.exists():
            return False


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="oomphony.cage.reaper")
    ap.add_argument("--pid", type=int, required=True)
    ap.add_argument("--cgroup", type=Path, required=True)
    args = ap.parse_args(argv)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    if _watch(args.pid, args.cgroup):
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # finish the job
        empty_and_remove(args.cgroup, timeout_s=10.0)
        # Last: unlinking the page-cache file evicts its pages, which takes a while.
        remove_cache_files(owner_pid=args.pid)
    return 0


if __name__ == "__main__":
    sys.exit(main())
