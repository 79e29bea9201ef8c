"""The allocator in a real cage on the real kernel: cache fill, swap, the OOM kill,
commands, the sleeper, and dying with a SIGKILLed show."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from oomphony import commands as c
from oomphony.allocator.fill import Filler
from oomphony.allocator.handle import Allocator, real_disk_dir
from oomphony.allocator.shm import decode, encode
from oomphony.cage.cage import Cage
from oomphony.sources.killwatch import KillWatch, classify_exit
from oomphony.units import MiB


def _stat(cage: Cage) -> dict[str, int]:
    text = (cage.ref.path / "memory.stat").read_text()
    return {k: int(v) for k, v in (line.split() for line in text.splitlines())}


def _wait(pred, timeout_s: float = 10.0, step_s: float = 0.01):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = pred()
        if value:
            return value
        time.sleep(step_s)
    return pred()


def _vm(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
    return 0


@pytest.mark.parametrize(
    "cmd",
    [c.SetRate(5e6), c.SetRate(math.inf), c.Ramp(0.0, 1e8, 2.5), c.Hold(), c.Release(),
     c.Release(4096 * 3), c.FillCache(123 * 4096)],
)  # fmt: skip
def test_command_wire_roundtrip(cmd: c.Command) -> None:
    line = encode(cmd)
    assert line is not None and line.endswith(b"\n")
    verb, nums = decode(line.decode())
    assert verb in {"rate", "ramp", "hold", "release", "cache"}
    if isinstance(cmd, c.SetRate):
        assert nums == [cmd.rate_bps]
    if isinstance(cmd, c.Release):
        assert nums == [-1.0 if cmd.size_b is None else cmd.size_b]
    if isinstance(cmd, c.Ramp):
        assert nums == [cmd.from_bps, cmd.to_bps, cmd.over_s]


def test_filler_pages_are_unique_and_released() -> None:
    f = Filler(seed=1)
    f.fill(10 * 4096 + 1)
    assert f.filled_b == 11 * 4096
    region = f._regions[0][1][: f.filled_b].reshape(-1, 4096)
    assert len({bytes(p) for p in region}) == 11  # every page differs (the stamp)
    assert len(set(bytes(region[0][8:]))) > 200  # random bytes, not a fill value
    assert f.release(3 * 4096) == 3 * 4096 and f.filled_b == 8 * 4096
    assert f.release() == 8 * 4096 and f.filled_b == 0


def test_cache_dir_is_on_a_real_disk(tmp_path: Path) -> None:
    mounts = tmp_path / "mounts"
    mounts.write_text(f"/dev/vda / ext4 rw 0 0\ntmpfs {tmp_path}/shm tmpfs rw 0 0\n")
    (tmp_path / "shm").mkdir()
    (tmp_path / "disk").mkdir()
    candidates = (tmp_path / "shm", tmp_path / "disk")
    assert real_disk_dir(candidates, mounts) == tmp_path / "disk"
    assert real_disk_dir(candidates[:1], mounts) is None


# --- the real kernel ------------------------------------------------------------------


@pytest.mark.cgroup
@pytest.mark.swap
def test_cache_drains_swap_fills_then_one_oom_kill() -> None:
    with Cage.create(160 * MiB, 48 * MiB) as cage, KillWatch(cage) as kw:
        alloc = Allocator.start(cage, rate_bps=150 * MiB, cache_b=48 * MiB)
        try:
            peak_cache = last_cache = swap_before = 0
            kills = []
            while alloc.poll() is None:
                s = _stat(cage)
                if alloc.progress().phase == "allocating":
                    peak_cache = max(peak_cache, s["total_cache"])
                    last_cache = s["total_cache"]
                    swap_before = max(swap_before, s["total_swap"])
                kills += kw.poll(0.0)
                time.sleep(0.01)
            rc = alloc.poll()
            _wait(lambda: kills.extend(kw.poll(1.0)) or len(kills) >= 1, 2.0)
            time.sleep(2 * kw.grace_s)
            kills += kw.poll(1.0)
        finally:
            alloc.close()
    assert peak_cache >= 32 * MiB  # the cache fill was charged to the cage
    assert last_cache < peak_cache / 2  # and drained as anon grew
    assert swap_before > 0
    assert rc == -signal.SIGKILL
    assert len(kills) == 1
    (kill,) = kills
    assert kill.pid == alloc.pid
    assert kill.kernel_line and f"Killed process {alloc.pid}" in kill.kernel_line
    assert kill.anon_rss_b and kill.anon_rss_b > 64 * MiB
    ex = classify_exit(rc, alloc.pid, kills, manual=False, t_s=1.0, oom_counter_rose=True)
    assert ex.how == "oom_kill"


@pytest.mark.cgroup
@pytest.mark.parametrize("manual", [True, False])
def test_sigkill_is_never_an_oom_kill(manual: bool) -> None:
    with Cage.create(128 * MiB, 32 * MiB) as cage, KillWatch(cage) as kw:
        alloc = Allocator.start(cage, rate_bps=50 * MiB)
        try:
            assert _wait(lambda: alloc.progress().allocated_b >= 4 * MiB)
            if manual:
                alloc.send(c.KillNow())
            else:
                os.kill(alloc.pid, signal.SIGKILL)
            rc = _wait(alloc.poll, 5.0)
            time.sleep(2 * kw.grace_s)
            kills = kw.poll(1.0)
        finally:
            alloc.close()
        assert alloc.manual_kill is manual
        ex = classify_exit(rc, alloc.pid, kills, manual=alloc.manual_kill, t_s=1.0,
                           oom_counter_rose=kw.count > 0)  # fmt: skip
    assert kills == []
    assert ex.how == ("manual_kill" if manual else "sigkill")


@pytest.mark.cgroup
def test_commands_change_progress() -> None:
    with Cage.create(192 * MiB, 0) as cage:
        alloc = Allocator.start(cage, rate_bps=100 * MiB)
        try:
            assert _wait(lambda: alloc.progress().allocated_b >= 8 * MiB)
            assert alloc.progress().rate_bps == 100 * MiB
            alloc.send(c.Hold())
            assert _wait(lambda: alloc.progress().phase == "holding")
            held = alloc.progress().allocated_b
            time.sleep(0.1)
            assert alloc.progress().allocated_b == held
            assert alloc.progress().rate_bps == 0
            alloc.send(c.Release(4 * MiB))
            assert _wait(lambda: alloc.progress().allocated_b == held - 4 * MiB)
            alloc.send(c.Release())
            assert _wait(lambda: alloc.progress().allocated_b == 0)
            assert _wait(lambda: _stat(cage)["total_rss"] < 8 * MiB)
            alloc.send(c.SetRate(40 * MiB))
            assert _wait(lambda: alloc.progress().allocated_b >= 4 * MiB)
            assert alloc.progress().rate_bps == 40 * MiB
            alloc.send(c.Ramp(10 * MiB, 20 * MiB, 30.0))
            assert _wait(lambda: 10 * MiB <= alloc.progress().rate_bps < 20 * MiB)
            alloc.send(c.FillCache(16 * MiB))
            assert _wait(lambda: alloc.progress().cache_filled_b == 16 * MiB)
            assert alloc.poll() is None
        finally:
            alloc.close()
        assert alloc.poll() == 0  # asked to stop, it stopped


@pytest.mark.cgroup
@pytest.mark.swap
def test_sleeper_swaps_out_under_pressure_and_back_in_on_wake() -> None:
    with Cage.create(128 * MiB, 96 * MiB) as cage:
        alloc = Allocator.start(cage, rate_bps=150 * MiB, sleeper_b=40 * MiB)
        try:
            assert _wait(lambda: alloc.progress().sleeper_b == 40 * MiB)
            spid = alloc.progress().sleeper_pid
            assert spid == alloc.sleeper_pid
            assert _wait(lambda: alloc.progress().allocated_b >= 120 * MiB)
            alloc.send(c.Hold())
            swapped = _wait(lambda: _vm(spid, "VmSwap"))
            assert swapped > 0
            alloc.send(c.Release())
            assert _wait(lambda: alloc.progress().allocated_b == 0)
            alloc.send(c.WakeSleeper())
            assert _wait(lambda: alloc.progress().sleeper_wakes == 1)
            assert _vm(spid, "VmSwap") < swapped
        finally:
            alloc.close()
        assert not alloc.sleeper_alive()


_SHOW = """
import json, sys, time
from oomphony.cage.cage import Cage
from oomphony.allocator.handle import Allocator
stage = sys.argv[1]
cage = Cage.create(160 << 20, 64 << 20)
a = Allocator.start(cage, rate_bps=120 << 20, cache_b=96 << 20, sleeper_b=16 << 20)
def swap():
    s = dict(l.split() for l in open(cage.ref.path / "memory.stat"))
    return int(s["total_swap"])
while True:
    p = a.progress()
    if (stage == "cache" and p.phase == "cache" or stage == "alloc" and
            p.phase == "allocating" or stage == "swap" and swap() > 0) and p.sleeper_pid:
        break
    time.sleep(0.002)
print(json.dumps({"pids": [a.pid, p.sleeper_pid], "cage": str(cage.ref.path)}), flush=True)
time.sleep(60)
"""


def _gone(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] in "ZX"
    except OSError:
        return True


@pytest.mark.cgroup
@pytest.mark.swap
@pytest.mark.parametrize("stage", ["cache", "alloc", "swap"])
def test_sigkilled_show_leaves_nothing_behind(stage: str) -> None:
    show = subprocess.Popen([sys.executable, "-c", _SHOW, stage], stdout=subprocess.PIPE)
    try:
        info = json.loads(show.stdout.readline())
    finally:
        show.kill()
        show.wait()
    pids, path = info["pids"], Path(info["cage"])
    # PR_SET_PDEATHSIG: the kernel kills them with the show (how fast: perf/bench_lifecycle.py).
    assert _wait(lambda: all(_gone(p) for p in pids), 10.0, 0.002)
    assert _wait(lambda: not path.exists(), 10.0)  # the reaper removed the cage
