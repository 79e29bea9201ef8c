"""The cage: sizing, the v2 paths on fixture trees, the v1 cage on the real kernel."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from oomphony.cage import scope as userscope_mod
from oomphony.cage.cage import Cage
from oomphony.cage.cgroupdir import remove_stale
from oomphony.cage.methods import HOW_SCOPE, HOW_V1, HOW_V2
from oomphony.cage.sizing import default_sizes
from oomphony.errors import CageError, UsageError
from oomphony.units import GiB, MiB

MEMINFO = {"MemTotal": 24 * GiB, "MemAvailable": 20 * GiB}


@pytest.mark.parametrize(
    ("meminfo", "expected"),
    [
        ({"MemAvailable": 20 * GiB, "SwapTotal": GiB, "SwapFree": GiB}, (GiB, 512 * MiB)),
        (
            {"MemAvailable": 2 * GiB, "SwapTotal": GiB, "SwapFree": 300 * MiB},
            (512 * MiB, 150 * MiB),
        ),
        ({"MemAvailable": 20 * GiB, "SwapTotal": 0, "SwapFree": 0}, (GiB, 0)),
        ({"MemAvailable": 1000 * MiB + 123}, (250 * MiB, 0)),
    ],
)
def test_default_sizes(meminfo: dict[str, int], expected: tuple[int, int]) -> None:
    assert default_sizes(meminfo) == expected
    assert all(x % 4096 == 0 for x in default_sizes(meminfo))


def _v2_tree(tmp_path: Path, own: str, controllers: dict[str, str]) -> tuple[Path, Path]:
    """A fake unified hierarchy: `controllers` maps cgroup paths to cgroup.controllers."""
    root = tmp_path / "cg"
    for rel, ctl in controllers.items():
        d = root / rel.strip("/") if rel != "/" else root
        d.mkdir(parents=True, exist_ok=True)
        (d / "cgroup.controllers").write_text(ctl + "\n")
        (d / "cgroup.subtree_control").write_text("\n")
        (d / "cgroup.procs").write_text("")
    mounts = tmp_path / "mounts"
    mounts.write_text(f"cgroup2 {root} cgroup2 rw,nosuid 0 0\n")
    proc_cgroup = tmp_path / "cgroup"
    proc_cgroup.write_text(f"0::{own}\n")
    return mounts, proc_cgroup


def test_v2_delegated_subtree_writes_limits(tmp_path: Path) -> None:
    uid = 1000
    own = "/user.slice/user-1000.slice/user@1000.service/app.slice/term.scope"
    mounts, proc_cgroup = _v2_tree(
        tmp_path,
        own,
        {"/": "memory pids", "/user.slice/user-1000.slice/user@1000.service": "memory pids",
         "/user.slice/user-1000.slice/user@1000.service/app.slice": "memory pids",
         own: "memory pids"},
    )  # fmt: skip
    app = tmp_path / "cg/user.slice/user-1000.slice/user@1000.service/app.slice"
    for d in (app, app / "term.scope"):  # delegated: owned by the user
        os.chown(d, uid, uid)
        os.chown(d / "cgroup.procs", uid, uid)
    # term.scope holds our shell (no internal processes): make enabling +memory there fail.
    (app / "term.scope" / "cgroup.subtree_control").unlink()
    (app / "term.scope" / "cgroup.subtree_control").mkdir()
    c = Cage.create(
        192 * MiB, 48 * MiB, mounts=mounts, proc_cgroup=proc_cgroup, meminfo=MEMINFO,
        euid=uid, reaper=False,
    )  # fmt: skip
    assert c.how == HOW_V2
    assert c.ref.version == 2
    assert c.ref.path.parent == app
    assert (c.ref.path / "memory.max").read_text() == str(192 * MiB)
    assert (c.ref.path / "memory.swap.max").read_text() == str(48 * MiB)
    assert (app / "cgroup.subtree_control").read_text() == "+memory"
    assert c.describe() == {
        "version": 2, "path": str(c.ref.path), "memory_b": 192 * MiB, "swap_b": 48 * MiB,
        "how": HOW_V2,
    }  # fmt: skip
    assert c.wrap_argv(["x", "y"]) == ["x", "y"]


def _undelegated(tmp_path: Path, user_service_ctl: str) -> tuple[Path, Path]:
    """A login session's tree as the Debian 12 VM (tests/vm/, systemd 252) has it: every
    level up to the session scope has the memory controller, but all of it belongs to
    root; only user@UID.service (delegated) belongs to the user."""
    own = "/user.slice/user-1000.slice/session-c3.scope"
    user_service = "/user.slice/user-1000.slice/user@1000.service"
    return _v2_tree(
        tmp_path,
        own,
        {"/": "cpuset cpu io memory hugetlb pids rdma misc", "/user.slice": "cpu memory pids",
         "/user.slice/user-1000.slice": "cpu memory pids", own: "cpu memory pids",
         user_service: user_service_ctl, f"{user_service}/app.slice": user_service_ctl},
    )  # fmt: skip


def test_not_root_no_delegation_names_the_fix(tmp_path: Path, monkeypatch) -> None:
    mounts, proc_cgroup = _undelegated(tmp_path, "pids")
    with pytest.raises(CageError) as err:
        Cage.create(256 * MiB, 0, mounts=mounts, proc_cgroup=proc_cgroup, meminfo=MEMINFO,
                    euid=1000, reaper=False)  # fmt: skip
    msg = str(err.value)
    assert "\n" not in msg
    assert "systemd-run --user" in msg
    assert "--global" in msg


@pytest.mark.parametrize(
    ("bus", "user_service_ctl", "fix"),
    [(False, "memory pids", "enable-linger"), (True, "pids", "Delegate=cpu memory pids")],
)
def test_the_message_names_the_missing_piece(
    tmp_path: Path, monkeypatch, bus: bool, user_service_ctl: str, fix: str
) -> None:
    """No user session (nothing to talk to) and a session without memory delegation
    have different fixes; the one line names the right one."""
    mounts, proc_cgroup = _undelegated(tmp_path, user_service_ctl)
    runtime = tmp_path / "run"
    runtime.mkdir()
    if bus:
        (runtime / "bus").write_text("")
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    monkeypatch.setattr(userscope_mod.shutil, "which", lambda name: f"/usr/bin/{name}")
    with pytest.raises(CageError) as err:
        Cage.create(256 * MiB, 0, mounts=mounts, proc_cgroup=proc_cgroup, meminfo=MEMINFO,
                    euid=1000, reaper=False)  # fmt: skip
    assert fix in str(err.value) and "\n" not in str(err.value)


def test_v1_needs_root(tmp_path: Path) -> None:
    v1 = tmp_path / "memory"
    v1.mkdir()
    mounts = tmp_path / "mounts"
    mounts.write_text(f"cgroup {v1} cgroup rw,memory 0 0\n")
    with pytest.raises(CageError, match="--global"):
        Cage.create(256 * MiB, 0, mounts=mounts, meminfo=MEMINFO, euid=1000, reaper=False)


def _scope_cage(tmp_path: Path, monkeypatch) -> Cage:
    mounts, proc_cgroup = _undelegated(tmp_path, "memory pids")
    runtime = tmp_path / "run"
    runtime.mkdir()
    (runtime / "bus").write_text("")
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    monkeypatch.setattr(userscope_mod.shutil, "which", lambda name: f"/usr/bin/{name}")
    return Cage.create(256 * MiB, 64 * MiB, mounts=mounts, proc_cgroup=proc_cgroup,
                       meminfo=MEMINFO, euid=1000, reaper=False)  # fmt: skip


def test_scope_method_wraps_the_command(tmp_path: Path, monkeypatch) -> None:
    c = _scope_cage(tmp_path, monkeypatch)
    assert c.how == HOW_SCOPE
    argv = c.wrap_argv(["python", "-m", "x"])
    assert argv[:3] == ["systemd-run", "--user", "--scope"]
    assert f"MemoryMax={256 * MiB}" in argv and f"MemorySwapMax={64 * MiB}" in argv
    # The kill must not tear the scope down before its memory.events is read.
    assert "OOMPolicy=continue" in argv
    # A keeper holds the scope; the allocator is exec'd (it stays our child, same pid).
    sh = argv.index("sh")
    assert argv[sh + 1] == "-c" and "sleep infinity" in argv[sh + 2]
    assert 'exec "$@"' in argv[sh + 2]
    assert argv[-3:] == ["python", "-m", "x"]
    assert c.ref.path.name == c.unit


def _fake_proc(tmp_path: Path, pid: int, rel: str) -> Path:
    proc = tmp_path / "proc"
    (proc / str(pid)).mkdir(parents=True, exist_ok=True)
    (proc / str(pid) / "cgroup").write_text(f"0::{rel}\n")
    return proc


def test_scope_bind_waits_until_systemd_moved_the_process(tmp_path: Path, monkeypatch) -> None:
    """systemd-run execs the allocator only once the scope exists; until then the process
    is still in the caller's cgroup and the scope's files do not exist."""
    c = _scope_cage(tmp_path, monkeypatch)
    guess = c.ref.path
    child = subprocess.Popen(["sleep", "30"])
    try:
        proc = _fake_proc(tmp_path, child.pid, "/user.slice/user-1000.slice/session-c3.scope")
        real = f"/user.slice/user-1000.slice/user@1000.service/app.slice/{c.unit}"

        def later() -> None:
            time.sleep(0.3)
            (proc / str(child.pid) / "cgroup").write_text(f"0::{real}\n")

        t = threading.Thread(target=later)
        t.start()
        c.bind_pid(child.pid, proc=proc, timeout_s=10)
        t.join()
        assert c.ref.path == tmp_path / "cg" / real.lstrip("/")
        assert c.ref.path == guess  # the guess was right; only the timing was wrong
        assert child.poll() is None
        # The next allocator gets a scope of its own (the old unit may still be going).
        argv = c.wrap_argv(["python"])
        assert c.unit != guess.name and f"--unit={c.unit}" in argv
    finally:
        child.kill()
        child.wait()


def test_scope_that_never_comes_kills_the_process(tmp_path: Path, monkeypatch) -> None:
    c = _scope_cage(tmp_path, monkeypatch)
    child = subprocess.Popen(["sleep", "30"])
    proc = _fake_proc(tmp_path, child.pid, "/user.slice/user-1000.slice/session-3.scope")
    with pytest.raises(CageError, match="did not start the scope"):
        c.bind_pid(child.pid, proc=proc, timeout_s=0.3)
    assert child.wait(timeout=5) == -9  # never left running outside a cage


def test_join_scope_writes_the_pid_where_it_may(tmp_path: Path) -> None:
    """Where this user may move the process (a show started inside the user's systemd),
    the pid goes straight into the scope's cgroup.procs; a scope that is gone is a
    CageError naming it (the sleeper then exits instead of filling uncaged). The path
    through systemd (AttachProcessesToUnit) is tested in the VM (test_vm.py)."""
    scope = tmp_path / "oomphony-1-1.scope"
    scope.mkdir()
    (scope / "cgroup.procs").write_text("")
    userscope_mod.join_scope(scope, 4242)
    assert (scope / "cgroup.procs").read_text() == "4242"
    with pytest.raises(CageError, match=r"oomphony-1-2\.scope"):
        userscope_mod.join_scope(tmp_path / "oomphony-1-2.scope", 4242)


@pytest.mark.parametrize(("memory_b", "swap_b"), [(25 * GiB, 0), (8 * MiB, 0), (256 * MiB, -1)])
def test_impossible_sizes_are_usage_errors(memory_b: int, swap_b: int) -> None:
    with pytest.raises(UsageError):
        Cage.create(memory_b, swap_b, meminfo=MEMINFO, reaper=False)


def test_remove_stale_only_dead_owners(tmp_path: Path) -> None:
    for name in ("oomphony-111-1", "oomphony-222-3", "other-111-1", "oomphony-x-1"):
        (tmp_path / name).mkdir()
    removed = remove_stale(tmp_path, alive=lambda pid: pid == 222)
    assert [p.name for p in removed] == ["oomphony-111-1"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["oomphony-222-3", "oomphony-x-1",
                                                          "other-111-1"]  # fmt: skip


# --- the real kernel ------------------------------------------------------------------


@pytest.mark.cgroup
def test_v1_cage_limits_reaper_and_removal() -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    with Cage.create(128 * MiB, 32 * MiB) as probe:
        stale = probe.ref.path.parent / f"oomphony-{dead.pid}-9"
    stale.mkdir()
    c = Cage.create(160 * MiB, 48 * MiB)
    try:
        assert not stale.exists()
        p = c.ref.path
        assert c.how == HOW_V1 and p.name.startswith(f"oomphony-{os.getpid()}-")
        assert int((p / "memory.limit_in_bytes").read_text()) == 160 * MiB
        assert int((p / "memory.memsw.limit_in_bytes").read_text()) == 208 * MiB
        reaper = c._reaper
        assert reaper is not None and reaper.poll() is None
        sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        c.adopt(sleeper.pid)
        assert c.pids() == [sleeper.pid]
    finally:
        c.remove()
    assert not p.exists()
    assert sleeper.wait(timeout=5) == -9
    assert reaper.poll() is not None
    c.remove()  # idempotent


@pytest.mark.cgroup
def test_reaper_removes_cage_of_a_killed_show() -> None:
    script = (
        "import sys, time\n"
        "from oomphony.cage.cage import Cage\n"
        "c = Cage.create(128 << 20, 0)\n"
        "print(c.ref.path, flush=True)\n"
        "time.sleep(60)\n"
    )
    show = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    path = Path(show.stdout.readline().strip())
    assert path.is_dir()
    show.kill()
    show.wait()
    deadline = time.monotonic() + 10
    while path.exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not path.exists()
