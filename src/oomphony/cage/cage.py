"""The cage: a memory cgroup with a hard limit, so the show's OOM kill only hits the allocator.

Three ways to make one (docs/architecture.md "The cage"), tried in this order:
- cgroup v1 as root: a child of our own memory cgroup, `memory.limit_in_bytes` and
  `memory.memsw.limit_in_bytes`;
- cgroup v2 delegated: a child of the nearest writable ancestor whose `cgroup.controllers`
  has `memory` (`+memory` in its `cgroup.subtree_control`), `memory.max`, `memory.swap.max`;
- `systemd-run --user --scope -p MemoryMax=… -p MemorySwapMax=…` (`oomphony.cage.scope`):
  `wrap_argv` prefixes the allocator's command line; `bind_pid` waits for the scope.

Every cage is named `oomphony-<show pid>-<n>`. A reaper process (`oomphony.cage.reaper`) outside
the cage removes it if the show dies without cleaning up (SIGKILL); stale cages of dead
shows are removed at the next `Cage.create`.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from oomphony.cage.lifeline import pid_alive, stop_process
from oomphony.cage.scope import NO_SCOPE, SCOPE_TIMEOUT_S, scope_argv, scope_problem, wait_in_scope
from oomphony.errors import CageError, UsageError
from oomphony.telemetry import read_meminfo
from oomphony.telemetry.cgroupfs import (
    DEFAULT_MOUNTS,
    CgroupRef,
    find_memory_controller,
    own_cgroup,
)
from oomphony.units import PAGE_B, GiB, MiB, format_size

log = logging.getLogger(__name__)

MIN_MEMORY_B = 16 * MiB  # below this the Python allocator itself does not fit
NAME_RE = re.compile(r"^oomphony-(\d+)-\d+$")
HOW_V1 = "cgroup v1 (root)"
HOW_V2 = "cgroup v2 delegated"
HOW_SCOPE = "systemd-run --user scope"
NO_CAGE_MESSAGE = (
    "cannot make a memory cage: not root, no delegated cgroup v2 subtree with the memory "
    "controller, and {why}; {fix}, run as root, or use --global for the uncaged show"
)
_counter = 0


def default_sizes(meminfo: dict[str, int]) -> tuple[int, int]:
    """(memory_b, swap_b): min(1 GiB, 25 % of MemAvailable); min(512 MiB, half of free
    swap) when swap exists, else 0. Page-aligned down. `meminfo` values in bytes."""
    avail = meminfo.get("MemAvailable", meminfo.get("MemFree", 0))
    memory_b = min(GiB, avail // 4)
    swap_b = 0
    if meminfo.get("SwapTotal", 0) > 0:
        swap_b = min(512 * MiB, meminfo.get("SwapFree", 0) // 2)
    return _page_down(memory_b), _page_down(swap_b)


def cache_default_b(memory_b: int) -> int:
    """The deliberate page-cache fill: about 40 % of the cage."""
    return _page_down(memory_b * 2 // 5)


def check_sizes(memory_b: int, swap_b: int, meminfo: dict[str, int]) -> None:
    """UsageError (one line) for sizes no cage can have on this machine."""
    total = meminfo.get("MemTotal", 0)
    if total and memory_b > total:
        raise UsageError(
            f"--memory {format_size(memory_b)} is more than this machine has ({format_size(total)})"
        )
    if memory_b < MIN_MEMORY_B:
        raise UsageError(f"--memory must be at least {format_size(MIN_MEMORY_B)}")
    if swap_b < 0:
        raise UsageError("--swap must not be negative")


def _page_down(n: int) -> int:
    return max(0, n) // PAGE_B * PAGE_B


def _write(path: Path, value: str) -> None:
    try:
        with open(path, "w") as f:
            f.write(value)
    except OSError as err:
        raise CageError(f"cannot write {value!r} to {path}: {err.strerror}") from err


def cgroup_pids(path: Path) -> list[int]:
    try:
        return [int(x) for x in (path / "cgroup.procs").read_text().split()]
    except (OSError, ValueError):
        return []


def empty_and_remove(path: Path, timeout_s: float = 5.0) -> bool:
    """SIGKILL every task in the cgroup, wait for it to empty, rmdir it. True when gone."""
    deadline = time.monotonic() + timeout_s
    while path.exists():
        kill_file = path / "cgroup.kill"  # v2, kernel >= 5.14
        pids = cgroup_pids(path)
        if pids and kill_file.exists():
            with contextlib.suppress(OSError):
                kill_file.write_text("1")
        for pid in pids:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        try:
            path.rmdir()
            return True
        except FileNotFoundError:
            return True
        except OSError as err:
            if time.monotonic() > deadline:
                log.warning("could not remove cgroup %s: %s", path, err.strerror)
                return False
            time.sleep(0.01)
    return True


def remove_stale(parent: Path, *, alive=pid_alive) -> list[Path]:
    """Remove `oomphony-<pid>-<n>` cgroups under `parent` whose show pid is dead."""
    removed = []
    try:
        children = list(parent.iterdir())
    except OSError:
        return removed
    for child in children:
        m = NAME_RE.match(child.name)
        if m and child.is_dir() and not alive(int(m.group(1))) and empty_and_remove(child):
            log.info("removed stale cage %s", child)
            removed.append(child)
    return removed


def _limit_files(version: int, path: Path, memory_b: int, swap_b: int) -> list[tuple[str, str]]:
    """The limit files of a cgroup and their values. v1's swap limit is memory + swap."""
    if version == 2:
        return [("memory.max", str(memory_b)), ("memory.swap.max", str(swap_b))]
    files = [("memory.limit_in_bytes", str(memory_b))]
    if (path / "memory.memsw.limit_in_bytes").exists():
        files.append(("memory.memsw.limit_in_bytes", str(memory_b + swap_b)))
    else:
        log.warning("no swap accounting (swapaccount=0): the cage's swap is unlimited")
    return files


def _next_name() -> str:
    global _counter
    _counter += 1
    return f"oomphony-{os.getpid()}-{_counter}"


def _writable(path: Path, uid: int) -> bool:
    """Root may write anywhere; a user where the cgroup was delegated (chowned) to them."""
    if uid == 0:
        return True
    try:
        return path.stat().st_uid == uid and (path / "cgroup.procs").stat().st_uid == uid
    except OSError:
        return False


def _v2_parent(v2_root: Path, own: str, uid: int) -> Path | None:
    """The nearest ancestor of our cgroup (itself included) where we may make a child with
    the memory controller: writable, `memory` in its cgroup.controllers, and `+memory`
    already in (or accepted by) its cgroup.subtree_control."""
    here = v2_root / own.lstrip("/")
    while True:
        if not _writable(here, uid):
            return None
        try:
            controllers = (here / "cgroup.controllers").read_text().split()
        except OSError:
            return None
        try:
            subtree = (here / "cgroup.subtree_control").read_text().split()
        except OSError:
            subtree = []
        if "memory" in controllers:
            if "memory" in subtree or "+memory" in subtree:
                return here
            try:
                (here / "cgroup.subtree_control").write_text("+memory")
                return here
            except OSError:  # EBUSY: processes in here (no internal processes in v2)
                pass
        if here == v2_root:
            return None
        here = here.parent


class Cage:
    """One memory cgroup for the allocator (and the sleeper). Use as a context manager."""

    def __init__(
        self, ref: CgroupRef, memory_b: int, swap_b: int, how: str, unit: str | None = None
    ) -> None:
        self.ref = ref
        self.memory_b = memory_b
        self.swap_b = swap_b
        self.how = how
        self.unit = unit  # the systemd scope name, for the scope method
        self.mount_root: Path | None = None  # the v2 mount, for the scope method
        self._reaper: subprocess.Popen[bytes] | None = None
        self._removed = False
        self._bound = False  # scope method: the scope exists and `ref` is its real path
        self._want_reaper = False

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
        memory_b, swap_b = _page_down(memory_b), _page_down(swap_b)
        uid = os.geteuid() if euid is None else euid
        mc = find_memory_controller(mounts)
        name = _next_name()
        cage: Cage | None = None
        problem = "memory"
        if mc.v1_root is not None and uid == 0:
            parent = mc.v1_root / own_cgroup(1, proc_cgroup).lstrip("/")
            cage = cls._make(1, parent / name, memory_b, swap_b)
        elif mc.v2_root is not None and mc.v2_has_memory:
            parent = _v2_parent(mc.v2_root, own_cgroup(2, proc_cgroup), uid)
            if parent is not None:
                cage = cls._make(2, parent / name, memory_b, swap_b)
            elif (problem := scope_problem(mc.v2_root, uid)) is None:
                # The real path is learnt from the first process (`bind_pid`).
                guess = mc.v2_root / f"user.slice/user-{uid}.slice/user@{uid}.service"
                ref = CgroupRef(2, guess / "app.slice" / f"{name}.scope")
                cage = cls(ref, memory_b, swap_b, HOW_SCOPE, unit=f"{name}.scope")
                cage.mount_root = mc.v2_root
        if cage is None:
            why, fix = NO_SCOPE[problem]
            raise CageError(NO_CAGE_MESSAGE.format(why=why, fix=fix))
        cage._want_reaper = reaper
        if reaper and cage.how != HOW_SCOPE:  # a scope's reaper starts once it exists
            cage._start_reaper()
        log.info(
            "cage %s: %s + %s swap, %s",
            cage.ref.path,
            format_size(memory_b),
            format_size(swap_b),
            cage.how,
        )
        return cage

    @classmethod
    def _make(cls, version: int, path: Path, memory_b: int, swap_b: int) -> Cage:
        """mkdir a cgroup (v1 or v2) and write its limits; nothing left behind on error."""
        remove_stale(path.parent)
        try:
            path.mkdir()
        except OSError as err:
            raise CageError(f"cannot make cgroup {path}: {err.strerror}") from err
        cage = cls(CgroupRef(version, path), memory_b, swap_b, HOW_V1 if version == 1 else HOW_V2)
        try:
            for name, value in _limit_files(version, path, memory_b, swap_b):
                _write(path / name, value)
        except CageError:
            cage.remove()
            raise
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
        """The systemd-run prefix for the scope method (`userscope.scope_argv`: a keeper
        holds the scope until `remove`); otherwise `argv` unchanged. Each allocator gets
        a new scope: a restart cannot reuse the unit name while systemd tears the old
        one down."""
        if self.how != HOW_SCOPE:
            return list(argv)
        if self._bound:
            self._remove_scope()
            self.unit = f"{_next_name()}.scope"
            self._bound = False
            self._removed = False
        return scope_argv(self.unit, self.memory_b, self.swap_b, argv)

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
        CageError raised."""
        if self.how != HOW_SCOPE or self.mount_root is None or self.unit is None:
            return
        rel = wait_in_scope(pid, self.unit, proc=proc, timeout_s=timeout_s)
        self.ref = CgroupRef(2, self.mount_root / rel.lstrip("/"))
        self._bound = True
        if self._want_reaper:
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
        if self._removed:
            return
        self._removed = True
        if self.how == HOW_SCOPE:
            self._remove_scope()
        elif not empty_and_remove(self.ref.path):
            log.warning("cage %s left behind; the reaper will retry", self.ref.path)
            return  # keep the reaper: it retries when we exit
        self._stop_reaper()

    def _remove_scope(self) -> None:
        """Kill the scope's processes (the keeper too); systemd then removes the emptied
        scope (--collect). Wait for that, so nothing is left when the show ends."""
        if not self._bound:
            return
        empty_and_remove(self.ref.path)
        deadline = time.monotonic() + 5.0
        while self.ref.path.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        self._stop_reaper()

    def _stop_reaper(self) -> None:
        if self._reaper is not None:
            stop_process(self._reaper, term_s=2.0)
            self._reaper = None

    def __enter__(self) -> Cage:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()
