"""The show's handle on the allocator child (and the sleeper) in the cage.

`Allocator.start` spawns `python -m oomphony.allocator` (an argument list, never a shell),
which dies with the show, volunteers as OOM victim and moves itself into the cage before
it touches any memory. Progress comes back through a shared page (`progress()` costs no
syscall), commands go down a non-blocking pipe (`send()` never blocks), and the exit is
watched through a pidfd (`fileno()`) and reaped by `poll()`.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from oomphony import commands as c
from oomphony.allocator import shm
from oomphony.cage.cachefile import CACHE_DIRS, cache_file_path, remove_cache_files
from oomphony.cage.cage import Cage
from oomphony.cage.lifeline import close_fds, preexec, stop_process
from oomphony.telemetry.procfs import read_mounts

log = logging.getLogger(__name__)

VOLATILE_FS = {"tmpfs", "ramfs", "devtmpfs", "hugetlbfs", "proc", "sysfs", "squashfs"}


@dataclass(frozen=True, slots=True)
class Progress:
    allocated_b: int
    rate_bps: float
    cache_filled_b: int
    phase: str
    sleeper_pid: int | None
    sleeper_b: int
    sleeper_wakes: int = 0


def _fs_type(path: Path, mounts: Path = Path("/proc/self/mounts")) -> str | None:
    best, kind = "", None
    target = str(path.resolve())
    for m in read_mounts(mounts):
        where = str(m.where)
        inside = target == where or target.startswith(where.rstrip("/") + "/")
        if inside and len(where) >= len(best):
            best, kind = where, m.fstype
    return kind


def real_disk_dir(
    candidates: tuple[Path, ...] = CACHE_DIRS, mounts: Path = Path("/proc/self/mounts")
) -> Path | None:
    """The first writable directory whose filesystem is not memory-backed (tmpfs pages
    are shmem, not page cache), or None."""
    for d in candidates:
        if d.is_dir() and os.access(d, os.W_OK) and _fs_type(d, mounts) not in VOLATILE_FS:
            return d
    return None


def make_cache_file(directory: Path, size_b: int) -> tuple[int, Path]:
    """A file of `size_b` on disk, flushed and dropped from the page cache; returns its fd
    and path (see `cachefile` for why it stays linked until the show closes it). Its pages
    are charged to whoever reads them next."""
    from oomphony.allocator.fill import write_file

    remove_cache_files()  # the leftovers of shows that died without their reaper
    path = cache_file_path(directory, os.getpid())
    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_RDWR, 0o600)
    try:
        write_file(fd, 0, size_b)
    except BaseException:
        os.close(fd)
        path.unlink(missing_ok=True)
        raise
    return fd, path


class Allocator:
    def __init__(self, proc: subprocess.Popen[bytes], cage: Cage | None, shm_fd: int,
                 progress_map, cmd_fd: int, cache_fd: int | None,
                 cache_path: Path | None = None) -> None:  # fmt: skip
        self._proc = proc
        self.pid = proc.pid
        self.cage = cage
        self._shm_fd = shm_fd
        self._shm = progress_map
        self._cmd_fd: int | None = cmd_fd
        self._cache_fd = cache_fd
        self._cache_path = cache_path
        self._outbox = b""
        self._manual = False
        self._sleeper: subprocess.Popen[bytes] | None = None
        self._pidfd: int | None = None
        with contextlib.suppress(OSError, AttributeError):
            self._pidfd = os.pidfd_open(proc.pid)

    @classmethod
    def start(
        cls,
        cage: Cage | None,
        *,
        rate_bps: float,
        cache_b: int = 0,
        sleeper_b: int = 0,
        cache_dir: Path | None = None,
        cache_file_b: int = 0,
    ) -> Allocator:
        """Spawn the allocator (and the sleeper when `sleeper_b`); see the module doc.
        `cache_b` is read into the page cache at once; `cache_file_b` only prepares a file
        that large for later `FillCache` commands (a setlist's cache act)."""
        shm_fd, progress_map = shm.create()
        cache_fd = cache_path = None
        directory = cache_dir or real_disk_dir()
        if directory is None:
            log.warning("no directory on a real disk: the page-cache fill is skipped")
        else:  # even empty: a later FillCache grows it from inside the cage
            cache_fd, cache_path = make_cache_file(directory, max(cache_b, cache_file_b))
            os.set_inheritable(cache_fd, True)
        cmd_r, cmd_w = os.pipe()
        os.set_blocking(cmd_w, False)
        argv = [sys.executable, "-m", "oomphony.allocator", "--parent", str(os.getpid()),
                "--shm-fd", str(shm_fd), "--cmd-fd", str(cmd_r), "--cache-b", str(cache_b),
                "--rate", "inf" if math.isinf(rate_bps) else repr(float(rate_bps))]  # fmt: skip
        if cache_fd is not None:
            argv += ["--cache-fd", str(cache_fd)]
        argv += cls._cage_args(cage) if cage is not None else ["--uncaged"]
        fds = tuple(fd for fd in (shm_fd, cmd_r, cache_fd) if fd is not None)
        try:
            proc = subprocess.Popen(
                cage.wrap_argv(argv) if cage is not None else argv,
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, pass_fds=fds,
                preexec_fn=preexec(),
            )  # fmt: skip
        except OSError:
            for fd in (shm_fd, cmd_r, cmd_w, cache_fd):
                if fd is not None:
                    os.close(fd)
            if cache_path is not None:
                cache_path.unlink(missing_ok=True)
            raise
        finally:
            with contextlib.suppress(OSError):
                os.close(cmd_r)
        if cage is not None:
            cage.bind_pid(proc.pid)
        self = cls(proc, cage, shm_fd, progress_map, cmd_w, cache_fd, cache_path)
        if sleeper_b > 0:
            self._start_sleeper(sleeper_b)
        return self

    @staticmethod
    def _cage_args(cage: Cage | None) -> list[str]:
        where = None if cage is None else cage.method.child_cgroup(cage)
        return [] if where is None else ["--cgroup", str(where)]

    def _start_sleeper(self, size_b: int) -> None:
        if self._sleeper is not None and self._sleeper.poll() is None:
            log.warning("a sleeper is already running (pid %d)", self._sleeper.pid)
            return
        argv = [sys.executable, "-m", "oomphony.allocator", "--sleeper", "--parent",
                str(os.getpid()), "--shm-fd", str(self._shm_fd), "--size", str(size_b)]  # fmt: skip
        if self.cage is not None:
            argv += ["--cgroup", str(self.cage.ref.path)]
        self._sleeper = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            pass_fds=(self._shm_fd,),
            preexec_fn=preexec(),
        )
        shm.put(self._shm, shm.SLEEPER_PID, self._sleeper.pid)

    # --- every tick -------------------------------------------------------------------

    def send(self, cmd: c.Command) -> None:
        """Forward a command; never blocks (a full pipe keeps the rest for later)."""
        if isinstance(cmd, c.KillNow):
            self._manual = True
            with contextlib.suppress(OSError):
                os.kill(self.pid, signal.SIGKILL)
            return
        if isinstance(cmd, c.StartSleeper):
            self._start_sleeper(cmd.size_b)
            return
        if isinstance(cmd, c.WakeSleeper):
            if self._sleeper is not None and self._sleeper.poll() is None:
                os.kill(self._sleeper.pid, signal.SIGUSR1)
            return
        line = shm.encode(cmd)
        if line is None:
            log.debug("allocator ignores %r", cmd)
            return
        self._outbox += line
        self._flush()

    def _flush(self) -> None:
        if not self._outbox or self._cmd_fd is None:
            return
        try:
            n = os.write(self._cmd_fd, self._outbox)
            self._outbox = self._outbox[n:]
        except BlockingIOError:
            pass
        except OSError:  # the child is gone
            self._outbox = b""

    def progress(self) -> Progress:
        allocated, rate, cache, phase, s_pid, s_b, s_wakes, _ = shm.read_all(self._shm)
        return Progress(
            allocated_b=allocated,
            rate_bps=rate,
            cache_filled_b=cache,
            phase=shm.PHASES[phase] if phase < len(shm.PHASES) else "?",
            sleeper_pid=s_pid or None,
            sleeper_b=s_b,
            sleeper_wakes=s_wakes,
        )

    def poll(self) -> int | None:
        """The return code once the allocator exited (negative signal number), else None."""
        self._flush()
        return self._proc.poll()

    def fileno(self) -> int | None:
        return self._pidfd

    @property
    def manual_kill(self) -> bool:
        return self._manual

    @property
    def sleeper_pid(self) -> int | None:
        return None if self._sleeper is None else self._sleeper.pid

    def sleeper_alive(self) -> bool:
        return self._sleeper is not None and self._sleeper.poll() is None

    # --- the end ------------------------------------------------------------------------

    def close(self, timeout_s: float = 1.0) -> None:
        """Ask the allocator to stop, then SIGTERM, then SIGKILL; the same for the sleeper."""
        stop_process(self._proc, ask=self._ask_stop, ask_s=timeout_s / 2, term_s=timeout_s / 2)
        if self._sleeper is not None:
            stop_process(self._sleeper, term_s=timeout_s / 2)
            self._sleeper = None
        close_fds(self._cmd_fd, self._pidfd, self._cache_fd)
        self._cmd_fd = self._pidfd = self._cache_fd = None
        if self._cache_path is not None:
            self._cache_path.unlink(missing_ok=True)
            self._cache_path = None
        with contextlib.suppress(OSError):
            os.close(self._shm_fd)  # the mapping stays readable

    def _ask_stop(self) -> None:
        self._outbox += b"stop\n"
        self._flush()

    def __enter__(self) -> Allocator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
