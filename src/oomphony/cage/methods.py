"""The three ways to make a cage (docs/architecture.md "The cage"), as objects.

`pick_method` chooses, in this order: cgroup v1 as root (`V1Method`: a child of our own
memory cgroup), cgroup v2 delegated (`V2Method`: a child of the nearest writable ancestor
with the memory controller), a systemd user scope (`ScopeMethod`: systemd makes the
cgroup when the first process starts in it). Each method makes the cgroup, wraps the
allocator's command line, binds the first process, removes the cgroup, and says whether
its reaper starts at once and whether systemd-oomd may kill in it.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Protocol

from oomphony.cage.cgroupdir import (
    empty_and_remove,
    limit_files,
    next_name,
    remove_stale,
    v2_parent,
    write,
)
from oomphony.cage.scope import NO_SCOPE, scope_argv, scope_problem, wait_in_scope
from oomphony.errors import CageError
from oomphony.telemetry.cgroupfs import CgroupRef, MemoryController, own_cgroup

log = logging.getLogger(__name__)

HOW_V1 = "cgroup v1 (root)"
HOW_V2 = "cgroup v2 delegated"
HOW_SCOPE = "systemd-run --user scope"
NO_CAGE_MESSAGE = (
    "cannot make a memory cage: not root, no delegated cgroup v2 subtree with the memory "
    "controller, and {why}; {fix}, run as root, or use --global for the uncaged show"
)


class CageState(Protocol):
    """What a method reads and updates on its cage (`cage.Cage`)."""

    ref: CgroupRef
    memory_b: int
    swap_b: int
    unit: str | None
    bound: bool
    removed: bool

    def stop_reaper(self) -> None: ...


@dataclass(frozen=True)
class _DirMethod:
    """A cgroup directory we make ourselves, with its limit files."""

    parent: Path
    version: ClassVar[int] = 1
    reaper_at_create: ClassVar[bool] = True

    def make(self, name: str, memory_b: int, swap_b: int) -> CgroupRef:
        """mkdir the cgroup and write its limits; nothing left behind on error."""
        path = self.parent / name
        remove_stale(self.parent)
        try:
            path.mkdir()
        except OSError as err:
            raise CageError(f"cannot make cgroup {path}: {err.strerror}") from err
        try:
            for file, value in limit_files(self.version, path, memory_b, swap_b):
                write(path / file, value)
        except CageError:
            if not empty_and_remove(path):
                log.warning("cage %s left behind; the reaper will retry", path)
            raise
        return CgroupRef(self.version, path)

    def wrap_argv(self, cage: CageState, argv: list[str]) -> list[str]:
        return list(argv)

    def bind(self, cage: CageState, pid: int, proc: Path, timeout_s: float) -> bool:
        """Nothing to learn: the cgroup exists. False: not bound now."""
        return False

    def remove(self, cage: CageState) -> bool:
        return empty_and_remove(cage.ref.path)

    def child_cgroup(self, cage: CageState) -> Path | None:
        """Where the allocator moves itself before it allocates."""
        return cage.ref.path


@dataclass(frozen=True)
class V1Method(_DirMethod):
    how: ClassVar[str] = HOW_V1
    oomd_may_kill: ClassVar[bool] = False


@dataclass(frozen=True)
class V2Method(_DirMethod):
    version: ClassVar[int] = 2
    how: ClassVar[str] = HOW_V2
    oomd_may_kill: ClassVar[bool] = True


@dataclass(frozen=True)
class ScopeMethod:
    """`systemd-run --user --scope` (cage/scope.py): the cgroup exists once systemd has
    moved the first process into it; its real path is learnt then (`bind`)."""

    mount_root: Path
    uid: int
    how: ClassVar[str] = HOW_SCOPE
    reaper_at_create: ClassVar[bool] = False  # it starts at `bind`, once the scope exists
    oomd_may_kill: ClassVar[bool] = True

    def make(self, name: str, memory_b: int, swap_b: int) -> CgroupRef:
        guess = self.mount_root / f"user.slice/user-{self.uid}.slice/user@{self.uid}.service"
        return CgroupRef(2, guess / "app.slice" / f"{name}.scope")

    def wrap_argv(self, cage: CageState, argv: list[str]) -> list[str]:
        """The systemd-run prefix (a keeper holds the scope until `remove`). Each allocator
        gets a new scope: a restart cannot reuse the unit name while systemd tears the old
        one down."""
        if cage.bound:
            self.remove(cage)  # and its reaper
            cage.unit = f"{next_name()}.scope"
            cage.bound = False
            cage.removed = False
        return scope_argv(str(cage.unit), cage.memory_b, cage.swap_b, argv)

    def bind(self, cage: CageState, pid: int, proc: Path, timeout_s: float) -> bool:
        """Wait until systemd has put `pid` in the scope; learn the scope's real path."""
        if cage.unit is None:
            return False
        rel = wait_in_scope(pid, cage.unit, proc=proc, timeout_s=timeout_s)
        cage.ref = CgroupRef(2, self.mount_root / rel.lstrip("/"))
        cage.bound = True
        return True

    def remove(self, cage: CageState) -> bool:
        """Kill the scope's processes (the keeper too); systemd then removes the emptied
        scope (--collect). Wait for that, so nothing is left when the show ends."""
        if not cage.bound:
            return True
        empty_and_remove(cage.ref.path)
        deadline = time.monotonic() + 5.0
        while cage.ref.path.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        cage.stop_reaper()
        return True

    def child_cgroup(self, cage: CageState) -> Path | None:
        return None  # systemd-run puts it there


Method = V1Method | V2Method | ScopeMethod


def pick_method(mc: MemoryController, uid: int, proc_cgroup: Path) -> Method:
    """The first method this machine allows, or CageError (NO_CAGE_MESSAGE)."""
    problem = "memory"
    if mc.v1_root is not None and uid == 0:
        return V1Method(mc.v1_root / own_cgroup(1, proc_cgroup).lstrip("/"))
    if mc.v2_root is not None and mc.v2_has_memory:
        parent = v2_parent(mc.v2_root, own_cgroup(2, proc_cgroup), uid)
        if parent is not None:
            return V2Method(parent)
        if (problem := scope_problem(mc.v2_root, uid)) is None:
            return ScopeMethod(mc.v2_root, uid)
    why, fix = NO_SCOPE[problem]
    raise CageError(NO_CAGE_MESSAGE.format(why=why, fix=fix))
