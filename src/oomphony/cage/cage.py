"""The cage: a memory cgroup with a hard limit, so the show's OOM kill only hits the allocator.

Three ways to make one (docs/architecture.md "The cage"), tried in this order
(cage/methods.py): cgroup v1 as root, cgroup v2 delegated, a systemd user scope
(`wrap_argv` prefixes the allocator's command line; `bind_pid` waits for the scope).
Sizes: cage/sizing.py; the cgroup directory: cage/cgroupdir.py.

Every cage is named `oomphony-<show pid>-<n>`. A reaper process (`oomphony.cage.reaper`) outside
the cage removes it if the show dies without cleaning up (SIGKILL); stale cages of dead
shows are removed at the next `Cage.create`.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from oomphony.cage.cgroupdir import cgroup_pids, next_name
from oomphony.cage.lifeline import stop_process
from oomphony.cage.methods import Method, ScopeMethod, pick_method
from oomphony.cage.scope import SCOPE_TIMEOUT_S
from oomphony.cage.sizing import check_sizes, page_down
from oomphony.errors import CageError
from oomphony.telemetry import read_meminfo
from oomphony.telemetry.cgroupfs import DEFAULT_MOUNTS, CgroupRef, find_memory_controller
from oomphony.units import format_size

log = logging.getLogger(__name__)


class Cage:
    """One memory cgroup for the allocator (and the sleeper). Use as a context manager."""

    def __init__(
        self, ref: CgroupRef, memory_b: int, swap_b: int, method: Method, unit: str | None = None
    ) -> None:
        self.ref = ref
        self.memory_b = memory_b
        self.swap_b = swap_b
        self.method = method
        self.unit = unit  # the systemd scope name, for the scope method
        self.bound = False  # scope method: the scope exists and `ref` is its real path
        self.removed = False
        self._reaper: subprocess.Popen[bytes] | None = None
        self._want_reaper = False

    @property
    def how(self) -> str:
        return self.method.how

    # --- making one -----------------------------------------------------------------

    @classmethod
    def create(
        cls,
        memory_b: int,
        swap_b: int,
        *,
        mounts: Path = DEFAULT_MOUNTS,
        proc_cgroup: Path = Path("/proc/self/cgroup"),
        meminfo: dict[str, int] | None = None,
        euid: int | None = None,
        reaper: bool = True,
    ) -> Cage:
        """Make the cage; raise UsageError for impossible sizes, CageError otherwise."""
        check_sizes(memory_b, swap_b, meminfo if meminfo is not None else read_meminfo())
        memory_b, swap_b = page_down(memory_b), page_down(swap_b)
        uid = os.geteuid() if euid is None else euid
        mc = find_memory_controller(mounts)
        name = next_name()
        method = pick_method(mc, uid, proc_cgroup)
        ref = method.make(name, memory_b, swap_b)
        unit = f"{name}.scope" if isinstance(method, ScopeMethod) else None
        cage = cls(ref, memory_b, swap_b, method, unit=unit)
        cage._want_reaper = reaper
        if reaper and method.reaper_at_create:
            cage._start_reaper()
        log.info(
            "cage %s: %s + %s swap, %s",
            cage.ref.path,
            format_size(memory_b),
            format_size(swap_b),
            cage.how,
        )
        return cage

    def _start_reaper(self) -> None:
        argv = [
            sys.executable,
            "-m",
            "oomphony.cage.reaper",
            "--pid",
            str(os.getpid()),
            "--cgroup",
            str(self.ref.path),
        ]
        try:
            self._reaper = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, start_new_session=True, close_fds=True
            )
        except OSError as err:
            log.warning("no reaper for the cage (%s): a SIGKILLed show leaves it behind", err)

    # --- using it -------------------------------------------------------------------

    def wrap_argv(self, argv: list[str]) -> list[str]:
        """The allocator's command line as the method needs it (the scope's systemd-run
        prefix; otherwise unchanged)."""
        return self.method.wrap_argv(self, argv)

    def adopt(self, pid: int) -> None:
        """Move a process into the cage (v1 / delegated v2; the scope when it exists)."""
        try:
            with open(self.ref.path / "cgroup.procs", "w") as f:
                f.write(str(pid))
        except OSError as err:
            raise CageError(f"cannot move pid {pid} into {self.ref.path}: {err.strerror}") from err

    def bind_pid(
        self, pid: int, proc: Path = Path("/proc"), timeout_s: float = SCOPE_TIMEOUT_S
    ) -> None:
        """Scope method: wait until systemd has put `pid` (systemd-run, about to exec the
        allocator) in the scope, and learn the scope's real path from it. Until then the
        scope's cgroup does not exist: telemetry and the kill watch must open its files
        after this. On failure the process is killed (it must never run uncaged) and
        CageError raised. The other methods: nothing to do."""
        if self.method.bind(self, pid, proc, timeout_s) and self._want_reaper:
            self._start_reaper()

    def describe(self) -> dict[str, Any]:
        return {
            "version": self.ref.version,
            "path": str(self.ref.path),
            "memory_b": self.memory_b,
            "swap_b": self.swap_b,
            "how": self.how,
        }

    def pids(self) -> list[int]:
        return cgroup_pids(self.ref.path)

    def remove(self) -> None:
        """Kill what is left inside, remove the cgroup, stop the reaper. Idempotent."""
        if self.removed:
            return
        self.removed = True
        if not self.method.remove(self):
            log.warning("cage %s left behind; the reaper will retry", self.ref.path)
            return  # keep the reaper: it retries when we exit
        self.stop_reaper()

    def stop_reaper(self) -> None:
        if self._reaper is not None:
            stop_process(self._reaper, term_s=2.0)
            self._reaper = None

    def __enter__(self) -> Cage:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()
