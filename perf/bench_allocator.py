"""Allocator fill throughput to OOM, side by side with stress-ng, in the same cage.

Each run makes a fresh cage (memory + swap limit), starts one filler in it and measures
MiB/s to the OOM kill: bytes charged to the cage (memory + swap high-water mark) over
the time from the first charged MiB to the kill (the cage's oom_kill counter, woken by
the v1 eventfd). Runs alternate oomphony (unlimited rate, incompressible fill) and
`stress-ng --vm 1 --vm-keep --vm-bytes … --oomable`. Reported: medians and their ratio
(goal ≥ 1.0), plus the same figure counted from spawn (Python start-up included).

    .venv/bin/python perf/bench_allocator.py [--runs 3] [--memory 384MiB] [--swap 64MiB]
"""

from __future__ import annotations

import argparse
import math
import os
import select
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _report import update_section

from oomphony.allocator.handle import Allocator
from oomphony.cage.cage import Cage
from oomphony.sources.killwatch import KillWatch
from oomphony.units import MiB, parse_size


def _read_int(path: Path) -> int:
    return int(path.read_text().split()[0])


def _measure(
    cage: Cage, kw: KillWatch, t_spawn: float, poll, timeout_s: float = 15.0
) -> dict | None:
    usage = cage.ref.path / "memory.usage_in_bytes"
    t_first = None
    deadline = t_spawn + timeout_s
    fds = kw.filenos()
    while time.monotonic() < deadline:
        if t_first is None and _read_int(usage) >= MiB:
            t_first = time.monotonic()
        if kw.poll(0.0) or kw.count > 0:
            break
        if poll() is not None:
            time.sleep(0.05)
            kw.poll(0.0)
            if kw.count == 0:
                raise RuntimeError(f"the filler exited ({poll()}) without an OOM kill")
        select.select(fds, [], [], 0.001)
    t_kill = time.monotonic()
    if kw.count == 0:  # never reached the OOM kill: say what the cage looked like
        stat = dict(
            line.split() for line in (cage.ref.path / "memory.stat").read_text().splitlines()
        )
        keys = ("total_rss", "total_cache", "total_swap", "total_mapped_file")
        print("  stuck:", {k: int(stat[k]) // MiB for k in keys}, "MiB;",
              "swap free", Path("/proc/meminfo").read_text().split("SwapFree:")[1].split()[0], "kB",
              file=sys.stderr)  # fmt: skip
        return None
    peak = _read_int(cage.ref.path / "memory.memsw.max_usage_in_bytes")
    return {
        "peak_b": peak,
        "fill_s": t_kill - (t_first or t_spawn),
        "spawn_s": t_kill - t_spawn,
    }


def run_oomphony(memory_b: int, swap_b: int) -> dict:
    with Cage.create(memory_b, swap_b) as cage, KillWatch(cage) as kw:
        t0 = time.monotonic()
        alloc = Allocator.start(cage, rate_bps=math.inf)
        try:
            return _measure(cage, kw, t0, alloc.poll)
        finally:
            alloc.close()


def run_stress_ng(memory_b: int, swap_b: int) -> dict:
    vm_bytes = f"{(memory_b + swap_b) * 4 // MiB}M"
    with Cage.create(memory_b, swap_b) as cage, KillWatch(cage) as kw:
        procs = cage.ref.path / "cgroup.procs"

        def enter() -> None:  # runs in the child before exec: in the cage before it allocates
            procs.write_text(str(os.getpid()))

        t0 = time.monotonic()
        proc = subprocess.Popen(
            ["stress-ng", "--vm", "1", "--vm-keep", "--vm-bytes", vm_bytes, "--oomable",
             "--timeout", "60s", "--quiet"],
            preexec_fn=enter, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            return _measure(cage, kw, t0, lambda: None)
        finally:
            proc.kill()
            proc.wait()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--memory", default="384MiB")
    ap.add_argument("--swap", default="64MiB")
    args = ap.parse_args()
    if os.geteuid() != 0 or shutil.which("stress-ng") is None:
        print("needs root (a v1 cage) and stress-ng", file=sys.stderr)
        return 1
    memory_b, swap_b = parse_size(args.memory), parse_size(args.swap)
    results: dict[str, list[dict]] = {"oomphony": [], "stress-ng": []}
    stuck = {"oomphony": 0, "stress-ng": 0}
    for i in range(args.runs):
        for name, fn in (("oomphony", run_oomphony), ("stress-ng", run_stress_ng)):
            r = fn(memory_b, swap_b)
            if r is None:
                stuck[name] += 1
                print(f"run {i + 1} {name:9s}: no OOM kill within 120 s")
                continue
            results[name].append(r)
            print(f"run {i + 1} {name:9s}: {r['peak_b'] / MiB:6.0f} MiB in {r['fill_s']:.3f} s"
                  f" = {r['peak_b'] / MiB / r['fill_s']:7.0f} MiB/s"
                  f" (from spawn {r['peak_b'] / MiB / r['spawn_s']:7.0f} MiB/s)")  # fmt: skip

    def med(name: str, key: str) -> float:
        return statistics.median(r["peak_b"] / MiB / r[key] for r in results[name])

    ours, ref = med("oomphony", "fill_s"), med("stress-ng", "fill_s")
    ours_sp, ref_sp = med("oomphony", "spawn_s"), med("stress-ng", "spawn_s")
    text = (
        f"Cage {args.memory} + {args.swap} swap (cgroup v1), {args.runs} runs each, alternating; "
        "MiB/s to the OOM kill = cage memory+swap high-water mark / time.\n\n"
        "| filler | from first MiB charged | from spawn |\n| --- | ---: | ---: |\n"
        f"| oomphony allocator (unlimited rate, random tiled + stamp, NOHUGEPAGE) "
        f"| {ours:.0f} MiB/s | {ours_sp:.0f} MiB/s |\n"
        f"| stress-ng --vm 1 --vm-keep --oomable | {ref:.0f} MiB/s | {ref_sp:.0f} MiB/s |\n"
        f"| **ratio** (goal ≥ 1.0) | **{ours / ref:.2f}** | {ours_sp / ref_sp:.2f} |\n\n"
        "From spawn includes the allocator's Python + numpy start-up (outside the cage).\n"
        f"Runs left out (no OOM kill within 120 s): oomphony {stuck['oomphony']}, "
        f"stress-ng {stuck['stress-ng']}. This VM's monotonic clock sometimes jumps (the VM "
        "is paused), which makes single runs look slow; hence medians.\n"
        "Command: `.venv/bin/python perf/bench_allocator.py`"
    )
    print(f"ratio {ours / ref:.2f} (from spawn {ours_sp / ref_sp:.2f})")
    update_section("allocator", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
