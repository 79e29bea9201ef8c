"""`oomphony record` against the real kernel: a real cage, a real OOM kill.

These are the engine's acceptance checks; they need root and a memory cgroup (marker
`cgroup`) and, for the swap act, active swap (marker `swap`). CI has both.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from oomphony.frame import EndEvent, OomKill
from oomphony.telemetry.cgroupfs import find_memory_controller
from oomphony.trace.reader import read_trace
from oomphony.trace.summary import summarise

RECORD_ARGS = ["--memory", "192MiB", "--swap", "64MiB", "--cache", "64MiB", "--rate", "150MiB/s"]


def oomphony_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "oomphony", *args]


def leftover_cgroups() -> list[Path]:
    """Cages whose show is gone (`oomphony-<show pid>-<n>`). Cages of shows still running
    are not left over: others may run shows on this machine while the tests run."""
    mc = find_memory_controller()
    roots = [r for r in (mc.v1_root, mc.v2_root) if r is not None]
    cages = [p for r in roots for p in r.glob("**/oomphony-*") if p.is_dir()]
    return [p for p in cages if not Path(f"/proc/{p.name.split('-')[1]}").exists()]


def dead(pid: int) -> bool:
    """Gone, or a zombie: a killed process whose parent has not reaped it yet."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] == "Z"


@pytest.mark.cgroup
@pytest.mark.swap
@pytest.mark.slow
def test_record_to_the_oom_kill(tmp_path: Path) -> None:
    before = set(leftover_cgroups())
    trace_path = tmp_path / "t.jsonl"
    out = subprocess.run(
        oomphony_cmd("record", str(trace_path), *RECORD_ARGS),
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert out.returncode == 0, out.stderr
    trace = read_trace(trace_path)
    s = summarise(trace)
    # ended by itself (how long it took, and its frame rate: perf/bench_lifecycle.py)
    assert [e.reason for e in trace.events if isinstance(e, EndEvent)] == ["finished"]
    assert all(a.t_s < b.t_s for a, b in zip(trace.frames, trace.frames[1:], strict=False))
    # the cage's cache fell by >= 80 % from its peak while the allocator grew
    assert trace.header["cage"]["memory_b"] == 192 * 2**20
    # the header says how it was made: no setlist, a plain fill at these values
    options = trace.header["options"]
    assert trace.header["setlist"] is None
    assert (options["command"], options["backend"]) == ("record", "live")
    assert (options["cache_b"], options["rate_bps"], options["sleeper_b"]) == (
        64 * 2**20, 150 * 2**20, 0,
    )  # fmt: skip
    assert s.cache_peak_b > 32 * 2**20
    assert s.cache_drained_t_s is not None
    at_peak = next(f for f in trace.frames if f.t_s == s.cache_peak_t_s)
    at_drained = next(f for f in trace.frames if f.t_s == s.cache_drained_t_s)
    assert at_drained.alloc.allocated_b > at_peak.alloc.allocated_b
    # swap in the cage before the kill
    kills = [e for e in trace.events if isinstance(e, OomKill)]
    assert len(kills) == 1
    kill = kills[0]
    assert s.first_swap_t_s is not None and s.first_swap_t_s < kill.t_s
    assert max(f.cage.swap_b or 0 for f in trace.frames if f.t_s < kill.t_s) > 0
    # the victim is the allocator, and the kernel said so in its own words
    alloc_pids = {f.alloc.pid for f in trace.frames}
    assert alloc_pids == {kill.pid}
    assert kill.kernel_line is not None
    assert f"Killed process {kill.pid} " in kill.kernel_line
    # the printed summary names the kill and the kernel line
    assert "the OOM kill" in out.stdout
    assert kill.kernel_line in out.stdout
    # nothing left behind
    assert set(leftover_cgroups()) <= before
    assert dead(kill.pid)


def _wait_for(trace_path: Path, predicate, timeout_s: float = 20.0) -> dict | None:
    """Read the growing trace until a frame satisfies `predicate`; return that frame."""
    deadline = time.monotonic() + timeout_s
    seen = 0
    while time.monotonic() < deadline:
        try:
            lines = trace_path.read_text().splitlines()
        except FileNotFoundError:
            lines = []
        for line in lines[seen:]:
            try:
                obj = json.loads(line)
            except json.JSONDecodeError:
                break
            seen += 1
            if "machine" in obj and predicate(obj):
                return obj
        time.sleep(0.01)
    return None


MOMENTS = {
    "first frame": lambda f: True,
    "cache filled": lambda f: f["cage"]["cache_b"] >= 48 * 2**20,
    "allocating": lambda f: f["alloc"]["allocated_b"] >= 64 * 2**20,
    "swapping": lambda f: (f["cage"]["swap_b"] or 0) > 0,
}


@pytest.mark.cgroup
@pytest.mark.swap
@pytest.mark.slow
@pytest.mark.parametrize("moment", list(MOMENTS))
def test_sigkill_of_record_leaves_nothing_behind(tmp_path: Path, moment: str) -> None:
    before = set(leftover_cgroups())
    trace_path = tmp_path / "t.jsonl"
    # a slower rate, so every moment is reached well before the kill
    args = [*RECORD_ARGS[:-1], "40MiB/s"]
    proc = subprocess.Popen(
        oomphony_cmd("record", str(trace_path), *args),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
    )
    try:
        frame = _wait_for(trace_path, MOMENTS[moment])
        assert frame is not None, f"never reached {moment!r}"
        alloc_pid = frame["alloc"]["pid"]
        assert not dead(alloc_pid)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=5)
        # PR_SET_PDEATHSIG ends it; how fast is measured in perf/bench_lifecycle.py
        killed_at = time.monotonic()
        while not dead(alloc_pid) and time.monotonic() - killed_at < 10:
            time.sleep(0.002)
        assert dead(alloc_pid), "the allocator outlived the show"
        deadline = time.monotonic() + 10
        while set(leftover_cgroups()) - before and time.monotonic() < deadline:
            time.sleep(0.05)
        assert set(leftover_cgroups()) <= before
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.cgroup
@pytest.mark.swap
@pytest.mark.slow
def test_record_a_setlist_prints_records_summary(tmp_path: Path) -> None:
    """`record FILE SETLIST`: the setlist's acts on the live kernel, then record's own
    summary (not `run`'s report); the trace names the setlist and the command."""
    before = set(leftover_cgroups())
    trace_path = tmp_path / "t.jsonl"
    out = subprocess.run(
        oomphony_cmd("record", str(trace_path), "speedrun", "--memory", "256MiB", "--swap",
                     "128MiB"),
        capture_output=True,
        text=True,
        timeout=180,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    trace = read_trace(trace_path)
    s = summarise(trace)
    lines = out.stdout.splitlines()
    assert lines[0] == f"trace: {trace_path}   cage: 256 MiB + 128 MiB swap"
    assert lines[1] == "setlist: speedrun"
    assert lines[2:] == s.lines()
    assert "show (live)" not in out.stdout
    assert s.kill is not None and s.kill.kernel_line in out.stdout
    assert trace.header["setlist"]["name"] == "speedrun"
    assert trace.header["options"]["command"] == "record"
    assert set(leftover_cgroups()) <= before
