"""Children die with the show: PR_SET_PDEATHSIG, set before exec and checked after.

Setting it only in the child's own code leaves a window: the child's Python start-up
(~100 ms measured here, imports included) runs before the prctl, and a show killed then
leaves the child running until it gets there. `preexec` closes that window: it runs in the
forked child before exec, and the death signal survives exec (not setuid binaries). The
child still calls `die_with_parent` itself, which re-checks the parent in case it died
between fork and prctl.
"""

from __future__ import annotations

import ctypes
import os
import signal
from collections.abc import Callable

PR_SET_PDEATHSIG = 1

try:
    _prctl = ctypes.CDLL(None, use_errno=True).prctl
except (OSError, AttributeError):  # not Linux
    _prctl = None


def die_with_parent(parent_pid: int, *, exit_status: int = 3) -> None:
    """SIGKILL this process when its parent dies; exit now if it already has."""
    if _prctl is not None:
        _prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent_pid:
        os._exit(exit_status)


def preexec(parent_pid: int | None = None) -> Callable[[], None]:
    """A `subprocess.Popen(preexec_fn=...)` hook doing `die_with_parent` before exec.
    It only calls the already-resolved prctl: nothing that takes a lock after fork."""
    parent = os.getpid() if parent_pid is None else parent_pid

    def hook() -> None:
        die_with_parent(parent, exit_status=3)

    return hook


def pid_alive(pid: int) -> bool:
    """Whether a process with this pid exists (a zombie counts: it is not reaped yet)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
