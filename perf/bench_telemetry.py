"""Telemetry cost per full sample against psutil.virtual_memory() + psutil.swap_memory().

A full sample reads /proc/meminfo, /proc/vmstat, /proc/pressure/memory, the cage's cgroup
files and the allocator's /proc/PID/status, and builds a MemoryFrame. As root the cage is
a real (empty but for one `sleep`) v1/v2 memory cgroup made for the run and removed
after; otherwise the sample is machine-only, and the output says so.

Both are timed in alternating rounds in the same run; the figure is the median round.
Goal: our full sample, which reads far more, costs no more than those two psutil calls.

    .venv/bin/python perf/bench_telemetry.py [--samples N] [--rounds R]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from oomphony.frame import AllocState
from oomphony.telemetry import Sampler
from oomphony.telemetry.cgroupfs import CgroupRef, find_memory_controller
from perf._report import update_section


@contextmanager
def bench_cage():
    """A memory cgroup with one `sleep` in it, or None when not root / no controller."""
    mc = find_memory_controller()
    if os.geteuid() != 0 or (mc.v1_root is None and not mc.v2_has_memory):
        yield None, None
        return
    if mc.v1_root is not None:
        ref = CgroupRef(1, mc.v1_root / f"oomphony-bench-{os.getpid()}")
        limit_file, limit = "memory.limit_in_bytes", str(64 * 2**20)
    else:
        assert mc.v2_root is not None
        ref = CgroupRef(2, mc.v2_root / f"oomphony-bench-{os.getpid()}")
        limit_file, limit = "memory.max", str(64 * 2**20)
    ref.path.mkdir()
    proc = None
    try:
        (ref.path / limit_file).write_text(limit)
        proc = subprocess.Popen(["sleep", "600"])
        (ref.path / "cgroup.procs").write_text(str(proc.pid))
        yield ref, proc.pid
    finally:
        if proc is not None:
            proc.kill()
            proc.wait()
        for _ in range(50):
            try:
                ref.path.rmdir()
                break
            except OSError:
                time.sleep(0.02)


def time_sampler(sampler: Sampler, alloc: AllocState, n: int, t0: float) -> float:
    start = time.perf_counter()
    for i in range(n):
        sampler.sample(t0 + i * 0.01, alloc)
    return (time.perf_counter() - start) / n * 1e6


def time_psutil(n: int) -> float:
    vm, sw = psutil.virtual_memory, psutil.swap_memory
    start = time.perf_counter()
    for _ in range(n):
        vm()
        sw()
    return (time.perf_counter() - start) / n * 1e6


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=2000, help="samples per round")
    ap.add_argument("--rounds", type=int, default=7)
    args = ap.parse_args()

    with bench_cage() as (ref, pid):
        sampler = Sampler(cgroup=ref)
        machine_only = Sampler()
        alloc_pid = pid if pid is not None else os.getpid()
        alloc = AllocState(alloc_pid, True, 0, None, None, 0.0)
        ours, mine, ref_us = [], [], []
        time_sampler(sampler, alloc, 200, 0.0)  # warm up
        time_psutil(200)
        for r in range(args.rounds):
            t0 = 10.0 + r * args.samples
            ours.append(time_sampler(sampler, alloc, args.samples, t0))
            mine.append(time_sampler(machine_only, alloc, args.samples, t0))
            ref_us.append(time_psutil(args.samples))
        frame = sampler.sample(1e9, alloc)
        sampler.close()
        machine_only.close()

    full_us, machine_us, psutil_us = (statistics.median(x) for x in (ours, mine, ref_us))
    what = (
        f"machine + cgroup v{ref.version} cage + /proc/PID/status"
        if ref is not None
        else "machine + /proc/PID/status only (not root: no cage)"
    )
    rows = [
        ("full sample (" + what + ")", full_us),
        ("machine-only sample (meminfo, vmstat, PSI, status)", machine_us),
        ("psutil.virtual_memory() + psutil.swap_memory()", psutil_us),
    ]
    lines = [
        f"{args.rounds} rounds × {args.samples} samples, median round; "
        f"{platform.release()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"psutil {psutil.__version__}.",
        "",
        "| what | µs per call | ratio to psutil |",
        "| --- | ---: | ---: |",
    ]
    lines += [f"| {name} | {us:.1f} | {us / psutil_us:.2f} |" for name, us in rows]
    lines += [
        "",
        f"Goal: full sample ≤ psutil pair → ratio {full_us / psutil_us:.2f} "
        f"({'met' if full_us <= psutil_us else 'NOT met'}). "
        f"PSI source: {sampler.psi_source}; "
        f"cage read: {'yes' if frame.cage is not None else 'no'}.",
        "",
        "`.venv/bin/python perf/bench_telemetry.py`",
    ]
    text = "\n".join(lines)
    print(text)
    update_section("telemetry", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
