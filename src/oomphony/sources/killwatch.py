"""Kill detection and attribution: did the kernel's OOM killer strike, whom, and in its
own words?

Detectors (docs/architecture.md "Kill detection": measured latencies after the kernel's
timestamp):
- the cage's `oom_kill` counter: v1 `memory.oom_control` (an eventfd registered through
  `cgroup.event_control` wakes a `select`, 0.2–5 ms), v2 `memory.events` (polled), or
  machine-wide `/proc/vmstat` `oom_kill` without a cage;
- the kernel's "Killed process" line from `/dev/kmsg` (3–5 ms), else `journalctl -k -f`,
  else none. Lines are attributed to our cage through the preceding `oom-kill:` line's
  `task_memcg=` (other shows on the same machine have their own OOM kills).

One kill seen by both is reported once: the counter's event waits up to `grace_s` for
its kernel line; `source` names the detector that saw it first. A SIGKILL alone never
counts as an OOM kill (`classify_exit`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from oomphony.cage.cage import Cage
from oomphony.cage.lifeline import close_fds, stop_process
from oomphony.frame import AllocatorExit, Failure, OomKill
from oomphony.sources.kclock import KmsgClock, kmsg_usec
from oomphony.sources.kernlog import kmsg_message, parse_context_line, parse_kill_line
from oomphony.units import format_size

log = logging.getLogger(__name__)

GRACE_S = 0.03  # how long a counter-only kill waits for its kernel line (kmsg lags 3–5 ms)


def oomd_running(proc: Path = Path("/proc")) -> bool:
    """Whether systemd-oomd runs here (it may kill a user scope before the kernel does)."""
    with contextlib.suppress(OSError):
        for entry in proc.iterdir():
            if entry.name.isdigit():
                with contextlib.suppress(OSError):
                    if (entry / "comm").read_text().strip() == "systemd-oomd":
                        return True
    return False


def journal_kernel_readable() -> bool | None:
    """Can this user read the kernel's messages from the journal? None: no journalctl.
    An unprivileged user outside groups adm/systemd-journal sees only their own journal,
    which holds no kernel lines."""
    journalctl = shutil.which("journalctl")
    if journalctl is None:
        return None
    try:
        out = subprocess.run(
            [journalctl, "-k", "-b", "-n", "1", "-q", "--no-pager", "-o", "cat"],
            capture_output=True, timeout=20, stdin=subprocess.DEVNULL,
        )  # fmt: skip
    except (OSError, subprocess.TimeoutExpired):
        return False
    return out.returncode == 0 and bool(out.stdout.strip())


@dataclass
class _Pending:
    t_s: float
    seen: float  # monotonic


class KillWatch:
    def __init__(
        self,
        cage: Cage | None,
        *,
        kmsg_path: str = "/dev/kmsg",
        use_journal: bool = True,
        grace_s: float = GRACE_S,
        vmstat_path: str = "/proc/vmstat",
    ) -> None:
        self.cage = cage
        self.grace_s = grace_s
        self.fallbacks: list[str] = []
        self.sources: list[str] = []
        self.oomd = False
        self._counter_fd: int | None = None
        self._eventfd: int | None = None
        self._counter_key = b"oom_kill "
        self._counter_source = "vmstat"
        self._kmsg_fd: int | None = None
        self._kclock = KmsgClock()  # kmsg stamps → monotonic, for detect_ms
        self._journal: subprocess.Popen[bytes] | None = None
        self._journal_buf = b""
        self._pending: list[_Pending] = []
        self._absorb = 0  # kills already reported from the kernel line, before the counter
        self._ours: set[int] = set()  # pids the kernel's oom-kill: lines put in our cage
        self._seen_context = False
        self._open_counter(vmstat_path)
        self.count = self._read_counter() or 0
        self._open_kernel_log(kmsg_path, use_journal)
        if cage is not None and cage.method.oomd_may_kill:
            self.oomd = oomd_running()

    # --- setup --------------------------------------------------------------------------

    def _open_counter(self, vmstat_path: str) -> None:
        cage = self.cage
        if cage is None:
            path = vmstat_path
        elif cage.ref.version == 1:
            path, self._counter_source = str(cage.ref.path / "memory.oom_control"), "cgroup"
        else:
            path, self._counter_source = str(cage.ref.path / "memory.events"), "memory.events"
        try:
            self._counter_fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except OSError as err:
            self.fallbacks.append(f"no oom_kill counter ({path}: {err.strerror})")
            return
        if cage is not None and cage.ref.version == 1:
            try:
                efd = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
                with open(cage.ref.path / "cgroup.event_control", "w") as f:
                    f.write(f"{efd} {self._counter_fd}")
                self._eventfd, self._counter_source = efd, "cgroup-eventfd"
            except OSError as err:
                log.warning("no OOM eventfd (%s); polling memory.oom_control", err)
                self._counter_source = "memory.oom_control"
        self.sources.append(self._counter_source)

    def _open_kernel_log(self, kmsg_path: str, use_journal: bool) -> None:
        try:
            fd = os.open(kmsg_path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
            with contextlib.suppress(OSError):  # a FIFO (tests) cannot seek
                os.lseek(fd, 0, os.SEEK_END)
            self._kmsg_fd = fd
            self.sources.append("kmsg")
            self._kclock = KmsgClock.calibrate(kmsg_path)
            return
        except OSError as err:
            reason = f"{kmsg_path}: {err.strerror}"
        journalctl = shutil.which("journalctl") if use_journal else None
        if journalctl is not None and not journal_kernel_readable():
            reason += "; the journal shows this user no kernel lines"
            journalctl = None
        if journalctl is not None:
            try:
                self._journal = subprocess.Popen(
                    [journalctl, "-k", "-f", "-n", "0", "-o", "cat", "--no-pager"],
                    stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                )  # fmt: skip
                os.set_blocking(self._journal.stdout.fileno(), False)
                self.sources.append("journal")
                self.fallbacks.append(f"kernel lines from journalctl -k ({reason})")
                return
            except OSError:
                self._journal = None
        self.fallbacks.append(f"no kernel log ({reason}): kills shown without the kernel's line")

    def filenos(self) -> list[int]:
        """Descriptors that become readable on a kill (for a select loop)."""
        fds = [self._eventfd, self._kmsg_fd]
        if self._journal is not None and self._journal.stdout is not None:
            fds.append(self._journal.stdout.fileno())
        return [fd for fd in fds if fd is not None]

    # --- every tick ---------------------------------------------------------------------

    def _read_counter(self) -> int | None:
        if self._counter_fd is None:
            return None
        try:
            data = os.pread(self._counter_fd, 8192, 0)
        except OSError:
            return None
        for line in data.split(b"\n"):
            if line.startswith(self._counter_key):
                return int(line.split()[1])
        return None

    def _kernel_lines(self) -> list[tuple[str, str, int | None]]:
        """(source, message, kmsg stamp in µs or None) of each new kernel log line."""
        out: list[tuple[str, str, int | None]] = []
        if self._kmsg_fd is not None:
            while True:
                try:
                    rec = os.read(self._kmsg_fd, 8192)
                except BlockingIOError:
                    break
                except BrokenPipeError:  # the ring buffer overran us: keep going
                    continue
                except OSError:
                    break
                if not rec:
                    break
                for line in rec.decode(errors="replace").split("\n"):
                    if line and not line.startswith(" "):  # " KEY=value" continues a record
                        out.append(("kmsg", kmsg_message(line), kmsg_usec(line)))
        elif self._journal is not None and self._journal.stdout is not None:
            with contextlib.suppress(BlockingIOError, OSError):
                chunk = os.read(self._journal.stdout.fileno(), 65536)
                self._journal_buf += chunk or b""
            *lines, self._journal_buf = self._journal_buf.split(b"\n")
            out += [("journal", ln.decode(errors="replace"), None) for ln in lines]
        return out

    def _is_ours(self, kill: dict) -> bool:
        if self.cage is None:
            return True
        # Old kernels have no oom-kill: line; then a pending counter rise vouches for it.
        return kill["pid"] in self._ours or (not self._seen_context and bool(self._pending))

    def poll(self, t_s: float) -> list[OomKill]:
        """New OOM kills since the last call; never blocks."""
        now = time.monotonic()
        out: list[OomKill] = []
        if self._eventfd is not None:
            with contextlib.suppress(BlockingIOError, OSError):
                os.eventfd_read(self._eventfd)
        n = self._read_counter()
        if n is not None and n > self.count:
            rise, self.count = n - self.count, n
            absorbed = min(rise, self._absorb)
            self._absorb -= absorbed
            self._pending += [_Pending(t_s, now) for _ in range(rise - absorbed)]
        name = self.cage.ref.path.name if self.cage is not None else None
        for source, line, usec in self._kernel_lines():
            ctx = parse_context_line(line)
            if ctx is not None:
                self._seen_context = True
                memcg = ctx.get("task_memcg", "") + " " + ctx.get("oom_memcg", "")
                if name is None or f"/{name} " in memcg + " ":
                    with contextlib.suppress(ValueError):
                        self._ours.add(int(ctx["pid"]))
                continue
            kill = parse_kill_line(line)
            if kill is None or not self._is_ours(kill):
                continue
            if self._pending:
                first = self._pending.pop(0)
                detect = self._kclock.latency_ms(usec, first.seen)
                out.append(self._event(first.t_s, self._counter_source, kill, detect))
            else:
                self._absorb += 1 if self._counter_fd is not None else 0
                out.append(self._event(t_s, source, kill, self._kclock.latency_ms(usec, now)))
        has_log = self._kmsg_fd is not None or self._journal is not None
        while self._pending and (not has_log or now - self._pending[0].seen >= self.grace_s):
            p = self._pending.pop(0)
            out.append(OomKill(p.t_s, None, None, None, self._counter_source, None))
        return out

    @staticmethod
    def _event(t_s: float, source: str, kill: dict, detect_ms: float | None = None) -> OomKill:
        return OomKill(
            t_s, kill["pid"], kill["comm"], kill["anon_rss_b"], source, kill["line"], detect_ms
        )

    def close(self) -> None:
        close_fds(self._eventfd, self._counter_fd, self._kmsg_fd)
        self._eventfd = self._counter_fd = self._kmsg_fd = None
        if self._journal is not None:
            stop_process(self._journal, term_s=1.0)
            if self._journal.stdout is not None:
                self._journal.stdout.close()
            self._journal = None

    def __enter__(self) -> KillWatch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def classify_exit(
    returncode: int | None,
    pid: int,
    kills: list[OomKill],
    *,
    manual: bool,
    t_s: float,
    oom_counter_rose: bool,
    oomd: bool = False,
) -> AllocatorExit:
    """How the allocator ended. An OOM kill only when confirmed: a kernel line naming `pid`,
    or the cage's counter rising with no kernel line naming someone else."""
    mine = [k for k in kills if k.pid == pid]
    others_named = any(k.pid is not None and k.pid != pid for k in kills)
    unnamed = any(k.pid is None for k in kills)
    confirmed = bool(mine) or (oom_counter_rose and (unnamed or not others_named))
    if returncode is not None and returncode >= 0:
        return AllocatorExit(t_s, pid, "exit", returncode, f"exited with status {returncode}")
    if returncode is None:
        if mine:
            return AllocatorExit(t_s, pid, "oom_kill", None, _oom_detail(mine))
        return AllocatorExit(t_s, pid, "exit", None, "ended; exit status unknown")
    if returncode != -signal.SIGKILL:
        name = _signame(-returncode)
        return AllocatorExit(t_s, pid, "signal", returncode, f"killed by {name}")
    if confirmed and (mine or not manual):
        return AllocatorExit(t_s, pid, "oom_kill", returncode, _oom_detail(mine))
    if manual:
        return AllocatorExit(t_s, pid, "manual_kill", returncode, "killed by hand (SIGKILL)")
    detail = "killed by a SIGKILL that the kernel did not record as an OOM kill"
    if oomd:
        detail += "; systemd-oomd is running and most likely killed the scope"
    return AllocatorExit(t_s, pid, "sigkill", returncode, detail)


def other_process_kill(kill: OomKill, ours: tuple[int | None, ...]) -> Failure | None:
    """An OOM kill the kernel's line names, of a process that is not one of `ours` (the
    allocator, the sleeper): without a cage, a failure of the show. A kill only the
    counter saw (no pid) is not: `classify_exit` weighs it against the allocator's end."""
    if kill.pid is None or kill.pid in ours:
        return None
    detail = (
        f"the kernel's OOM killer killed another process: pid {kill.pid} "
        f"({kill.comm or 'unknown'}), not the allocator"
    )
    return Failure(kill.t_s, "other_oom_kill", detail, kill.pid, kill.comm, kill.kernel_line)


def _oom_detail(mine: list[OomKill]) -> str:
    if mine and mine[0].anon_rss_b is not None:
        k = mine[0]
        return f"killed by the kernel's OOM killer ({k.comm}, anon-rss {format_size(k.anon_rss_b)})"
    return "killed by the kernel's OOM killer"


def _signame(signo: int) -> str:
    try:
        return signal.Signals(signo).name
    except ValueError:
        return f"signal {signo}"
