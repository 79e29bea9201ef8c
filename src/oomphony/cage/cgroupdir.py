"""A cage's cgroup directory: naming, making its limits, emptying and removing it, and
removing the stale cages of dead shows."""

from __future__ import annotations

import contextlib
import logging
import os
import re
import signal
import time
from pathlib import Path

from oomphony.cage.lifeline import pid_alive
from oomphony.errors import CageError

log = logging.getLogger(__name__)

NAME_RE = re.compile(r"^oomphony-(\d+)-\d+$")
_counter = 0


def write(path: Path, value: str) -> None:
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


def limit_files(version: int, path: Path, memory_b: int, swap_b: int) -> list[tuple[str, str]]:
    """The limit files of a cgroup and their values. v1's swap limit is memory + swap."""
    if version == 2:
        return [("memory.max", str(memory_b)), ("memory.swap.max", str(swap_b))]
    files = [("memory.limit_in_bytes", str(memory_b))]
    if (path / "memory.memsw.limit_in_bytes").exists():
        files.append(("memory.memsw.limit_in_bytes", str(memory_b + swap_b)))
    else:
        log.warning("no swap accounting (swapaccount=0): the cage's swap is unlimited")
    return files


def next_name() -> str:
    global _counter
    _counter += 1
    return f"oomphony-{os.getpid()}-{_counter}"


def writable(path: Path, uid: int) -> bool:
    """Root may write anywhere; a user where the cgroup was delegated (chowned) to them."""
    if uid == 0:
        return True
    try:
        return path.stat().st_uid == uid and (path / "cgroup.procs").stat().st_uid == uid
    except OSError:
        return False


def v2_parent(v2_root: Path, own: str, uid: int) -> Path | None:
    """The nearest ancestor of our cgroup (itself included) where we may make a child with
    the memory controller: writable, `memory` in its cgroup.controllers, and `+memory`
    already in (or accepted by) its cgroup.subtree_control."""
    here = v2_root / own.lstrip("/")
    while True:
        if not writable(here, uid):
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
