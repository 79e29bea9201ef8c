"""The show's processes in the frame: /proc/PID/status of the allocator and the sleeper,
kept open per pid and followed when the pid changes (a restart)."""

from __future__ import annotations

import errno
from collections.abc import Callable
from pathlib import Path

from oomphony.frame import AllocState
from oomphony.telemetry.machine import psutil_process
from oomphony.telemetry.procfs import PreadFile, parse_pid_status

ROLES = ("alloc", "sleeper")
_GONE = frozenset({errno.ENOENT, errno.ESRCH})  # the process is simply not there


class ProcStatus:
    """RSS and swap of each role's process. With `use_psutil`, psutil reads the process
    each time instead of an open status file. `note` reports what cannot be read."""

    def __init__(self, proc_root: Path, *, use_psutil: bool, note: Callable[[str], None]):
        self.proc_root = proc_root
        self.use_psutil = use_psutil
        self._note = note
        self._open: dict[str, tuple[int, PreadFile | None] | None] = dict.fromkeys(ROLES)

    def open(self, role: str, pid: int | None, *, force: bool = False) -> None:
        """Open the status of `pid` for `role` (None: no process); a pid already open is
        kept unless `force` (a reused pid)."""
        current = self._open[role]
        if current is not None and current[0] == pid and not force:
            return
        if current is not None and current[1] is not None:
            current[1].close()
        self._open[role] = None
        if pid is None:
            return
        if self.use_psutil:
            self._open[role] = (pid, None)
            return
        f = PreadFile(self.proc_root / str(pid) / "status", reopen=False)
        if not f.is_open and f.errno not in _GONE:
            self._note(f"cannot read {f.reason}: {role} RSS/swap not shown")
        self._open[role] = (pid, f)

    def fill(self, role: str, state: AllocState) -> AllocState:
        """`state` with the RSS and swap its process has now (None where unreadable)."""
        if state.pid is None:
            return state
        entry = self._open[role]
        if entry is None or entry[0] != state.pid:
            self.open(role, state.pid)
            entry = self._open[role]
        assert entry is not None  # opened just above for a pid
        status = entry[1]
        if status is None:
            rss, swap = psutil_process(state.pid)
        else:
            text = status.read()
            rss, swap = parse_pid_status(text) if text is not None else (None, None)
        return AllocState(
            pid=state.pid,
            alive=state.alive,
            allocated_b=state.allocated_b,
            rss_b=rss,
            swap_b=swap,
            rate_bps=state.rate_bps,
        )

    def close(self) -> None:
        for entry in self._open.values():
            if entry is not None and entry[1] is not None:
                entry[1].close()
        self._open = dict.fromkeys(ROLES)
