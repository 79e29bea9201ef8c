"""How the show and its audio process protect themselves when the whole machine runs out
of memory (`--global`): lock their pages, and ask the OOM killer to pass them by.

- `lock_memory`: `mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT)`. ONFAULT locks the
  pages a process has touched (and every page it touches later), not every page it has
  mapped: a plain MCL_CURRENT would read in and pin whole libraries (numpy's OpenBLAS,
  SDL, the JACK segment), 100–500 MB the show never uses (measured with /proc/PID/status
  `VmRSS`; see perf/README.md "The show's footprint"). So the callers touch what they will
  need first (the synth renders every voice once; the show draws its scenes) and lock
  after. MCL_FUTURE only where the lock limit is unlimited (root or RLIMIT_MEMLOCK
  infinity): with a finite limit, later allocations would fail.
- `lower_oom_score`: `/proc/self/oom_score_adj` to −1000 (CAP_SYS_RESOURCE; otherwise the
  kernel refuses going below the value the process started with, and the show says so).

Only the standard library: the audio process imports this before numpy.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import resource
from dataclasses import dataclass
from pathlib import Path

MCL_CURRENT, MCL_FUTURE, MCL_ONFAULT = 1, 2, 4
SHIELDED_SCORE = -1000  # the OOM killer never picks a process at −1000


def lock_memory() -> str:
    """mlockall, best effort: "locked", "locked (current pages only)" or
    "refused: <reason>"."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    except OSError as err:
        return f"refused: {err}"
    soft, _hard = resource.getrlimit(resource.RLIMIT_MEMLOCK)
    unlimited = soft == resource.RLIM_INFINITY or has_capability(CAP_IPC_LOCK)
    flags = MCL_CURRENT | MCL_FUTURE if unlimited else MCL_CURRENT
    if libc.mlockall(flags | MCL_ONFAULT) == 0:
        return "locked" if unlimited else "locked (current pages only)"
    err = ctypes.get_errno()
    if libc.mlockall(flags) == 0:  # a kernel before 4.4 has no MCL_ONFAULT
        return "locked (every mapped page)" if unlimited else "locked (current pages only)"
    return f"refused: {os.strerror(err)} (RLIMIT_MEMLOCK {soft} B)"


def lock_resident() -> str:
    """mlockall(MCL_CURRENT | MCL_ONFAULT): the pages of the mappings that exist now stay
    resident once touched (the code and libraries already loaded), while mappings made
    later (the allocator's memory) stay free to go to swap. For the allocator of a
    `--global` show: its own code, refaulted on every step, otherwise keeps the kernel
    reclaiming and re-reading it instead of calling the OOM killer."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    except OSError as err:
        return f"refused: {err}"
    if libc.mlockall(MCL_CURRENT | MCL_ONFAULT) == 0:
        return "locked (current mappings)"
    return f"refused: {os.strerror(ctypes.get_errno())}"


def unlock_memory() -> None:
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    libc.munlockall()


def lower_oom_score(path: Path = Path("/proc/self/oom_score_adj")) -> str:
    """oom_score_adj to −1000: "-1000", or "refused: <reason> (stays N)"."""
    try:
        path.write_text(str(SHIELDED_SCORE))
    except OSError as err:
        now = read_oom_score(path)
        return f"refused: {err.strerror} (stays {now})"
    return str(read_oom_score(path))


def read_oom_score(path: Path = Path("/proc/self/oom_score_adj")) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


@dataclass(frozen=True, slots=True)
class Protection:
    """What one process got: its memory lock and its oom_score_adj (each the result
    string of `lock_memory` / `lower_oom_score`)."""

    mlock: str
    oom_score_adj: str


CAP_IPC_LOCK, CAP_SYS_RESOURCE = 14, 24


def has_capability(cap: int, status: Path = Path("/proc/self/status")) -> bool:
    """Whether the effective capability set holds `cap` (root in a container may not)."""
    try:
        for line in status.read_text().splitlines():
            if line.startswith("CapEff:"):
                return bool(int(line.split()[1], 16) >> cap & 1)
    except (OSError, ValueError):
        pass
    return False


def can_protect(status: Path = Path("/proc/self/status")) -> list[str]:
    """Why this process could not shield itself (empty: it can). Checked on the
    capability set and the lock limit: a trial would change the caller.
    Lowering oom_score_adj below its start value needs CAP_SYS_RESOURCE; locking all
    future pages needs CAP_IPC_LOCK or an unlimited RLIMIT_MEMLOCK."""
    reasons = []
    if not has_capability(CAP_SYS_RESOURCE, status):
        reasons.append("lowering oom_score_adj to -1000 needs CAP_SYS_RESOURCE (root)")
    soft, _hard = resource.getrlimit(resource.RLIMIT_MEMLOCK)
    if soft != resource.RLIM_INFINITY and not has_capability(CAP_IPC_LOCK, status):
        reasons.append(
            f"locking its memory needs CAP_IPC_LOCK (root) or an unlimited RLIMIT_MEMLOCK "
            f"(it is {soft} B)"
        )
    return reasons


def footprint(pid: int | str = "self", proc: Path = Path("/proc")) -> dict[str, int]:
    """VmRSS, VmLck, RssAnon, RssFile, RssShmem of a process, in bytes (missing: absent)."""
    out: dict[str, int] = {}
    try:
        text = (proc / str(pid) / "status").read_text()
    except OSError:
        return out
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmLck", "RssAnon", "RssFile", "RssShmem"):
            parts = value.split()
            if parts and parts[0].isdigit():
                out[key] = int(parts[0]) * 1024
    return out
