"""The cage through the user's systemd: `systemd-run --user --scope`, for a normal user
on cgroup v2 whose own cgroup (a login session's scope) is not theirs to write.

Measured in the Debian 12 test VM (tests/vm/, systemd 252): systemd-run creates the
scope and moves itself into it over D-Bus, then execs the command; until then the
scope's cgroup does not exist, so nothing may open its files before `wait_in_scope`.
An empty scope is removed at once, and with default settings systemd stops the scope
on an OOM kill; a keeper process and `OOMPolicy=continue` hold it (and the
`memory.events` that proves the kill) until the show removes it. A process started later
(the sleeper) joins the running scope through `join_scope`.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

from oomphony.cage.lifeline import pid_alive
from oomphony.errors import CageError
from oomphony.telemetry.cgroupfs import own_cgroup

# Why `systemd-run --user --scope` cannot make the cage, and the fix, by what is missing.
NO_SCOPE = {
    "systemd-run": ("no systemd-run (not a systemd system)", "use a delegated cgroup"),
    "session": (
        "no systemd user session for `systemd-run --user` (no $XDG_RUNTIME_DIR/bus)",
        "log in through a session (or `loginctl enable-linger $USER`)",
    ),
    "memory": (
        "the systemd user session (`systemd-run --user`) has no memory controller delegated",
        "delegate it (`systemctl edit user@.service`: [Service] Delegate=cpu memory pids)",
    ),
}
# The scope's keeper: a process that holds the scope (and its memory.events) open after
# the allocator's kill. It inherits the allocator's descriptors, harmlessly: it only sleeps.
KEEPER_SH = 'sleep infinity </dev/null >/dev/null 2>&1 & exec "$@"'
# systemd-run's D-Bus round trip before it execs the allocator; seconds under emulation.
SCOPE_TIMEOUT_S = 30.0


def scope_problem(v2_root: Path, uid: int) -> str | None:
    """What keeps `systemd-run --user --scope` from making a memory cage (a `NO_SCOPE`
    key), or None when it can."""
    if shutil.which("systemd-run") is None:
        return "systemd-run"
    runtime = Path(os.environ.get("XDG_RUNTIME_DIR", f"/run/user/{uid}"))
    if not (runtime / "bus").exists() and not (runtime / "systemd" / "private").exists():
        return "session"
    user_service = v2_root / f"user.slice/user-{uid}.slice/user@{uid}.service"
    try:
        delegated = "memory" in (user_service / "cgroup.controllers").read_text().split()
    except OSError:
        return "session"
    return None if delegated else "memory"


def scope_argv(unit: str, memory_b: int, swap_b: int, argv: list[str]) -> list[str]:
    """`argv` run in a new scope `unit` with the cage's limits. `sh` starts the keeper,
    then execs `argv`: the command stays the caller's child, with the same pid."""
    return [
        "systemd-run", "--user", "--scope", "--quiet", "--collect",
        f"--unit={unit}", "-p", "Delegate=yes", "-p", "OOMPolicy=continue",
        "-p", f"MemoryMax={memory_b}", "-p", f"MemorySwapMax={swap_b}",
        "--", "sh", "-c", KEEPER_SH, "oomphony-cage", *argv,
    ]  # fmt: skip


def wait_in_scope(
    pid: int, unit: str, *, proc: Path = Path("/proc"), timeout_s: float = SCOPE_TIMEOUT_S
) -> str:
    """Wait until systemd has moved `pid` into the scope `unit`; its cgroup path (relative
    to the v2 mount). On failure the process is killed (it must never run uncaged) and
    CageError raised."""
    deadline = time.monotonic() + timeout_s
    rel = ""
    while True:
        with contextlib.suppress(OSError):
            rel = own_cgroup(2, proc / str(pid) / "cgroup")
            if rel.endswith(f"/{unit}"):
                return rel
        if not pid_alive(pid) or time.monotonic() > deadline:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
            raise CageError(
                f"systemd-run did not start the scope {unit} (pid {pid} in {rel or '?'})"
            )
        time.sleep(0.02)


def join_scope(cgroup: Path, pid: int, *, timeout_s: float = SCOPE_TIMEOUT_S) -> None:
    """Put `pid` (one of this user's processes) into the running scope whose cgroup is
    `cgroup`; CageError when that cannot be done.

    Writing the scope's `cgroup.procs` also needs write access to the `cgroup.procs` of the
    nearest common ancestor of the process's cgroup and the scope's. A show started
    inside the user's systemd (a desktop's terminal, under user@UID.service) has it; one
    started from a login session (session-N.scope, under root's user-UID.slice) has not
    (measured in the Debian 12 test VM: EACCES). Then the user's systemd is asked to move
    it (AttachProcessesToUnit, systemd 238+), as systemd-run did for the first process:
    the user manager asks the system manager when the process is outside its own tree.
    """
    try:
        (cgroup / "cgroup.procs").write_text(str(pid))
        return
    except PermissionError:
        pass
    except OSError as err:
        raise CageError(f"cannot move pid {pid} into {cgroup}: {err.strerror}") from err
    argv = ["busctl", "--user", f"--timeout={timeout_s:.0f}", "call",
            "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
            "org.freedesktop.systemd1.Manager", "AttachProcessesToUnit",
            "ssau", cgroup.name, "", "1", str(pid)]  # fmt: skip
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout_s + 5)
    except (OSError, subprocess.TimeoutExpired) as err:
        raise CageError(f"cannot ask systemd to move pid {pid} into {cgroup.name}: {err}") from err
    if r.returncode != 0:
        why = (r.stderr.strip().splitlines() or [f"busctl exit status {r.returncode}"])[-1]
        raise CageError(f"systemd did not move pid {pid} into {cgroup.name}: {why}")
