"""Children die with the show: PR_SET_PDEATHSIG, set before exec and checked after.

Setting it only in the child's own code leaves a window: the child's Python start-up
(~100 ms measured here, imports included) runs before the prctl, and a show killed then
leaves the child running until it gets there. `preexec` closes that window: it runs in the
forked child before exec, and the death signal survives exec (not setuid binaries). The
child still calls `die_with_parent` itself, which re-checks the parent in case it died
between fork and prctl.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
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


def stop_process(
    proc: subprocess.Popen,
    *,
    ask: Callable[[], object] | None = None,
    ask_s: float = 0.0,
    term_s: float,
    kill_s: float | None = None,
    on_term: Callable[[], object] | None = None,
) -> int | None:
    """The graduated stop: ask (if `ask`), wait `ask_s`; SIGTERM, wait `term_s`; SIGKILL,
    wait `kill_s` (None: until it is gone). Returns at once if the process has exited;
    returns its exit status (None if it outlived the last wait). Never raises."""
    if proc.poll() is not None:
        return proc.returncode
    if ask is not None:
        with contextlib.suppress(OSError, ValueError):
            ask()
        if _waited(proc, ask_s):
            return proc.returncode
    if on_term is not None:
        on_term()
    with contextlib.suppress(OSError):
        proc.terminate()
    if _waited(proc, term_s):
        return proc.returncode
    with contextlib.suppress(OSError):
        proc.kill()
    _waited(proc, kill_s)
    return proc.returncode


def _waited(proc: subprocess.Popen, timeout_s: float | None) -> bool:
    try:
        proc.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        return False
    return True


def close_fds(*fds: int | None) -> None:
    """Close each descriptor that is not None; one already closed is no error."""
    for fd in fds:
        if fd is not None:
            with contextlib.suppress(OSError):
                os.close(fd)
