"""The show's children after the show dies, and `record`'s pace: the timing figures that
the tests no longer assert (tests/test_record.py, tests/test_allocator.py keep the
non-timing checks: the children die, the cage goes, the run ends by itself).

1. Kill to gone. `oomphony record` runs with a sleeper; once the allocator has written
   64 MiB, the show is SIGKILLed and the time until the allocator and the sleeper are
   gone (or zombies) is measured: PR_SET_PDEATHSIG does it. Reference, same run, same
   moment: the allocator SIGKILLed directly (its own teardown, no death signal). Ratio
   = kill-the-show-to-allocator-gone / kill-the-allocator-to-gone. Also: the time until
   the reaper has removed the cage.
2. `record`'s pace. A plain `record` to the OOM kill (the README's example sizes): frames
   per second written (goal 100 Hz, the live sampling rate; the trace format promises
   even spacing, not a rate) and the run's length (goal under 30 s).

    .venv/bin/python perf/bench_lifecycle.py [--runs 5] [--no-report]   (as root)
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _report import update_section

from oomphony.trace.reader import read_trace
from oomphony.trace.summary import summarise

CAGE_ARGS = ["--memory", "192MiB", "--swap", "64MiB", "--cache", "32MiB"]
RECORD_ARGS = ["--memory", "192MiB", "--swap", "64MiB", "--cache", "64MiB", "--rate", "150MiB/s"]
LIVE_HZ = 100.0
RECORD_BUDGET_S = 30.0


def oomphony(*args: str) -> list[str]:
    return [sys.executable, "-m", "oomphony", *args]


def gone(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] in ("Z", "X")


def wait_gone(pids: list[int], start: float, limit_s: float = 10.0) -> dict[int, float]:
    """Seconds from `start` until each pid is gone (polled every 0.5 ms)."""
    out: dict[int, float] = {}
    while len(out) < len(pids) and time.monotonic() - start < limit_s:
        for pid in pids:
            if pid not in out and gone(pid):
                out[pid] = time.monotonic() - start
        time.sleep(0.0005)
    return out


def wait_frame(path: Path, predicate, timeout_s: float = 30.0) -> dict | None:
    deadline, seen = time.monotonic() + timeout_s, 0
    while time.monotonic() < deadline:
        lines = path.read_text().splitlines() if path.exists() else []
        for line in lines[seen:]:
            try:
                obj = json.loads(line)
            except json.JSONDecodeError:
                break
            seen += 1
            if "machine" in obj and predicate(obj):
                return obj
        time.sleep(0.005)
    return None


def kill_once(tmp: Path, victim: str) -> dict[str, float] | None:
    """SIGKILL the show (`victim` = 'show') or the allocator ('allocator') mid-run."""
    trace = tmp / f"{victim}.jsonl"
    trace.unlink(missing_ok=True)  # the previous run's trace would be read as this one's
    proc = subprocess.Popen(
        oomphony("record", str(trace), *CAGE_ARGS, "--rate", "40MiB/s", "--sleeper", "32MiB"),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        frame = wait_frame(
            trace, lambda f: f["alloc"]["allocated_b"] >= 64 << 20 and f.get("sleeper")
        )
        if frame is None:
            return None
        alloc, sleeper = frame["alloc"]["pid"], frame["sleeper"]["pid"]
        cage = Path(json.loads(trace.read_text().split("\n", 1)[0])["cage"]["path"])
        start = time.monotonic()
        os.kill(proc.pid if victim == "show" else alloc, signal.SIGKILL)
        times = wait_gone([alloc, sleeper] if victim == "show" else [alloc], start)
        out = {"alloc_s": times.get(alloc, float("nan"))}
        if victim == "show":
            out["sleeper_s"] = times.get(sleeper, float("nan"))
            proc.wait(5)
            while cage.exists() and time.monotonic() - start < 20:
                time.sleep(0.001)
            out["cage_s"] = time.monotonic() - start if not cage.exists() else float("nan")
        return out
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


def record_once(tmp: Path) -> tuple[float, float] | None:
    """(frames per second, seconds of show) of a plain record to the kill."""
    trace = tmp / "record.jsonl"
    out = subprocess.run(
        oomphony("record", str(trace), *RECORD_ARGS),
        capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    if out.returncode != 0:
        print(out.stderr.strip(), file=sys.stderr)
        return None
    t = read_trace(trace)
    return summarise(t).frame_hz, t.frames[-1].t_s


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--no-report", action="store_true")
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("needs root (a v1 cage)", file=sys.stderr)
        return 1
    show, direct, rec = [], [], []
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        for i in range(args.runs):
            s, a = kill_once(tmp, "show"), kill_once(tmp, "allocator")
            r = record_once(tmp)
            if s is None or a is None or r is None:
                print(f"run {i + 1}: a moment was never reached; left out")
                continue
            show.append(s)
            direct.append(a)
            rec.append(r)
            print(f"run {i + 1}: show killed → allocator gone {s['alloc_s'] * 1e3:6.1f} ms, "
                  f"sleeper {s['sleeper_s'] * 1e3:6.1f} ms, cage {s['cage_s'] * 1e3:6.0f} ms; "
                  f"allocator killed → gone {a['alloc_s'] * 1e3:6.1f} ms; "
                  f"record {r[0]:.0f} Hz, {r[1]:.1f} s")  # fmt: skip
    if not show:
        return 1

    def med(rows: list[dict], key: str) -> float:
        return statistics.median(r[key] for r in rows) * 1e3

    ref = med(direct, "alloc_s")
    hz = statistics.median(r[0] for r in rec)
    length = statistics.median(r[1] for r in rec)
    text = (
        f"{len(show)} runs, medians. Cage 192MiB + 64MiB swap (cgroup v1), the allocator at "
        "40 MiB/s with a 32 MiB sleeper, killed once it has written 64 MiB.\n\n"
        "| what | ms | ratio to the reference |\n| --- | ---: | ---: |\n"
        f"| show SIGKILLed → allocator gone (PDEATHSIG) | {med(show, 'alloc_s'):.1f} "
        f"| {med(show, 'alloc_s') / ref:.2f} |\n"
        f"| show SIGKILLed → sleeper gone (PDEATHSIG) | {med(show, 'sleeper_s'):.1f} "
        f"| {med(show, 'sleeper_s') / ref:.2f} |\n"
        f"| show SIGKILLed → cage removed (the reaper) | {med(show, 'cage_s'):.0f} "
        f"| {med(show, 'cage_s') / ref:.1f} |\n"
        f"| reference: allocator SIGKILLed directly → gone | {ref:.1f} | 1.00 |\n\n"
        f"`record {' '.join(RECORD_ARGS)}` to the kill: {hz:.0f} frames/s "
        f"(÷ {LIVE_HZ:.0f} Hz goal = {hz / LIVE_HZ:.2f}), {length:.1f} s of show "
        f"(÷ {RECORD_BUDGET_S:.0f} s budget = {length / RECORD_BUDGET_S:.2f}).\n\n"
        "`.venv/bin/python perf/bench_lifecycle.py` (as root)"
    )
    print()
    print(text)
    if not args.no_report:
        update_section("lifecycle", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
