"""Where the memory controller lives on this machine, and a reference to one cgroup.

Shared by the cage (which makes cgroups) and telemetry (which reads them). The roots are
injectable so tests can point them at fixture trees.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from oomphony.telemetry.procfs import read_mounts

DEFAULT_MOUNTS = Path("/proc/self/mounts")


@dataclass(frozen=True, slots=True)
class CgroupRef:
    """One memory cgroup: `version` 1 (legacy memory controller) or 2 (unified)."""

    version: int
    path: Path


@dataclass(frozen=True, slots=True)
class MemoryController:
    """Where a memory controller is mounted; `None` fields when absent."""

    v1_root: Path | None  # e.g. /sys/fs/cgroup/memory
    v2_root: Path | None  # e.g. /sys/fs/cgroup or /sys/fs/cgroup/unified
    v2_has_memory: bool  # 'memory' listed in the v2 root's cgroup.controllers


def find_memory_controller(mounts: Path = DEFAULT_MOUNTS) -> MemoryController:
    """Read the mount table for a v1 memory hierarchy and a v2 unified hierarchy."""
    v1: Path | None = None
    v2: Path | None = None
    for m in read_mounts(mounts):
        if m.fstype == "cgroup" and "memory" in m.options and v1 is None:
            v1 = m.where
        elif m.fstype == "cgroup2" and v2 is None:
            v2 = m.where
    has_mem = False
    if v2 is not None:
        try:
            has_mem = "memory" in (v2 / "cgroup.controllers").read_text().split()
        except OSError:
            has_mem = False
    return MemoryController(v1_root=v1, v2_root=v2, v2_has_memory=has_mem)


def own_cgroup(version: int, proc_cgroup: Path = Path("/proc/self/cgroup")) -> str:
    """Our path in the v1 memory hierarchy (version 1) or the unified one (version 2)."""
    for line in proc_cgroup.read_text().splitlines():
        _hid, controllers, path = line.split(":", 2)
        if (version == 2 and controllers == "") or (
            version == 1 and "memory" in controllers.split(",")
        ):
            return path
    return "/"
