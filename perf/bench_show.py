"""A live show measured by itself: frame times and kill → screen latency from its trace.

Runs `oomphony run speedrun --backend live` (a 256 MiB cage with 128 MiB of swap, no
audio) RUNS times in each configuration: a 1920×1080 window under Xvfb, the same size
with SDL's dummy driver, and a 1280×720 window under Xvfb. Each show's trace carries a
`picture` event (frames, p50/p99/max frame ms, frames over the 16.7 ms budget, dropped
frame slots) and its `oom_kill` event `detect_ms` (the kernel's kmsg stamp of the kill
→ the show knew) and `screen_ms` (→ the flip of the first kill-screen frame).
Goals (issue 12): kill → screen (detect_ms + screen_ms) ≤ 20 ms at p90; 0 frames over
budget at 1280×720.

Run: `.venv/bin/python perf/bench_show.py [--runs N]` as root (the cage; /dev/kmsg).
The window size is set by the wrapper below (the show has no size flag): it sets
`oomphony.picture.display.DEFAULT_WINDOW` before running the CLI.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _report import update_section

from oomphony.frame import OomKill, PictureReport
from oomphony.show.stats import percentile
from oomphony.trace.reader import read_trace

RUNS = 10
CONFIGS = (  # (label, driver, size)
    ("1920×1080 window, Xvfb", "x11", (1920, 1080)),
    ("1920×1080, SDL dummy driver", "dummy", (1920, 1080)),
    ("1280×720 window, Xvfb", "x11", (1280, 720)),
)
SHOW_ARGS = ["run", "speedrun", "--backend", "live", "--memory", "256MiB", "--swap", "128MiB",
             "--display", "window", "--no-audio"]  # fmt: skip
WRAPPER = (
    "import sys; from oomphony.picture import display; "
    "display.DEFAULT_WINDOW = (int(sys.argv[1]), int(sys.argv[2])); "
    "from oomphony.cli.command import main; sys.exit(main(sys.argv[3:]))"
)
GOAL_KILL_P90_MS = 20.0


@contextlib.contextmanager
def xvfb(size: tuple[int, int]) -> Iterator[str]:
    """A private X server on a free display number, stopped afterwards."""
    n = next(
        n
        for n in range(120, 200)
        if not Path(f"/tmp/.X11-unix/X{n}").exists() and not Path(f"/tmp/.X{n}-lock").exists()
    )
    proc = subprocess.Popen(
        ["Xvfb", f":{n}", "-screen", "0", f"{size[0]}x{size[1]}x24", "-nolisten", "tcp"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 10
        while not Path(f"/tmp/.X11-unix/X{n}").exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("Xvfb did not come up")
            time.sleep(0.05)
        yield f":{n}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def one_show(driver: str, size: tuple[int, int], display: str | None, trace: Path) -> str | None:
    """Run one show; None on success, else one line saying what went wrong."""
    env = {**os.environ, "PYGAME_HIDE_SUPPORT_PROMPT": "1"}
    env.pop("SDL_VIDEODRIVER", None)
    env.pop("DISPLAY", None)
    if driver == "dummy":
        env["SDL_VIDEODRIVER"] = "dummy"
    else:
        env["DISPLAY"] = display or ""
    cmd = [sys.executable, "-c", WRAPPER, str(size[0]), str(size[1]), *SHOW_ARGS,
           "--record", str(trace)]  # fmt: skip
    proc = subprocess.Popen(
        cmd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        _, err = proc.communicate(timeout=240)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        return "timed out after 240 s"
    if proc.returncode != 0:
        return f"exit status {proc.returncode}: {err.strip().splitlines()[-1:] or ''}"
    return None


def gather(traces: list[Path]) -> tuple[list[PictureReport], list[OomKill]]:
    pictures: list[PictureReport] = []
    kills: list[OomKill] = []
    for p in traces:
        t = read_trace(p)
        pictures += [e for e in t.events if isinstance(e, PictureReport)]
        kills += [e for e in t.events if isinstance(e, OomKill)]
    return pictures, kills


def fmt(values: list[float], q: float) -> str:
    return f"{percentile(values, q):.1f}" if values else "—"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=RUNS, help=f"shows per configuration ({RUNS})")
    ap.add_argument("--no-readme", action="store_true", help="do not rewrite perf/README.md")
    args = ap.parse_args(argv)
    if os.geteuid() != 0:
        print("bench_show: needs root (the live show's cage and /dev/kmsg)", file=sys.stderr)
        return 2
    if shutil.which("Xvfb") is None:
        print("bench_show: Xvfb not found (Debian xvfb); the Xvfb rows are skipped")
    rows, notes, verdicts = [], [], []
    with tempfile.TemporaryDirectory(prefix="oomphony-bench-show-") as tmp:
        for label, driver, size in CONFIGS:
            if driver == "x11" and shutil.which("Xvfb") is None:
                continue
            traces, failures = [], []
            with contextlib.ExitStack() as stack:
                display = stack.enter_context(xvfb(size)) if driver == "x11" else None
                for i in range(args.runs):
                    trace = Path(tmp) / f"{driver}-{size[0]}-{i}.jsonl"
                    failed = one_show(driver, size, display, trace)
                    if failed:
                        failures.append(failed)
                    else:
                        traces.append(trace)
                    print(f"{label}: show {i + 1}/{args.runs} {failed or 'ok'}", flush=True)
            pictures, kills = gather(traces)
            if not pictures:
                notes.append(f"{label}: no show completed ({'; '.join(failures[:2])})")
                continue
            total = [k.detect_ms + k.screen_ms for k in kills
                     if k.detect_ms is not None and k.screen_ms is not None]  # fmt: skip
            detect = [k.detect_ms for k in kills if k.detect_ms is not None]
            screen = [k.screen_ms for k in kills if k.screen_ms is not None]
            over = sum(p.over_budget for p in pictures)
            frames = sum(p.frames for p in pictures)
            drv = sorted({p.driver for p in pictures})
            line = (
                f"| {label} ({'/'.join(drv)}) | {len(pictures)} | {frames} | "
                f"{statistics.median(p.p50_ms for p in pictures):.2f} | "
                f"{statistics.median(p.p99_ms for p in pictures):.2f} | "
                f"{max(p.max_ms for p in pictures):.1f} | {over} | "
                f"{sum(p.dropped for p in pictures)} | "
                f"{fmt(detect, 0.5)} / {fmt(detect, 0.9)} | "
                f"{fmt(screen, 0.5)} / {fmt(screen, 0.9)} | "
                f"**{fmt(total, 0.5)} / {fmt(total, 0.9)}** |"
            )
            rows.append(line)
            print(line)
            if failures:
                notes.append(f"{label}: {len(failures)} show(s) failed: {failures[0]}")
            kill_ok = bool(total) and percentile(total, 0.9) <= GOAL_KILL_P90_MS
            verdicts.append(
                f"{label}: kill → screen p90 "
                + (f"{percentile(total, 0.9):.1f} ms" if total else "unmeasured")
                + (" (goal ≤ 20 ms met)" if kill_ok else " (goal ≤ 20 ms not met)")
                + (
                    f", {over} frames over budget (goal 0 " + ("met)" if over == 0 else "not met)")
                    if size == (1280, 720)
                    else ""
                )
            )
    load = os.getloadavg()
    lines = [
        f"`oomphony run speedrun --backend live --memory 256MiB --swap 128MiB --display "
        f"window --no-audio`, {args.runs} shows per row, figures from each show's trace "
        "(`picture` event; `oom_kill` `detect_ms` and `screen_ms`). Frame p50 and p99 are "
        "the median over the shows; max is the worst frame of all; kill → screen is "
        "detect_ms + screen_ms over all kills.",
        "",
        "| configuration | shows | frames | frame p50 ms | frame p99 ms | max ms "
        "| frames > 16.7 ms | dropped | detect p50 / p90 ms | screen p50 / p90 ms "
        "| kill → screen p50 / p90 ms |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        *rows,
        "",
        *notes,
        "Verdict: " + "; ".join(verdicts) + ".",
        "",
        f"Machine: {platform.release()}, {len(os.sched_getaffinity(0))} CPUs, Python "
        f"{platform.python_version()}; load average at the end {load[0]:.1f} / {load[1]:.1f} "
        f"/ {load[2]:.1f} (1/5/15 min).",
        "",
        f"Command: `.venv/bin/python perf/bench_show.py --runs {args.runs}` (as root).",
    ]
    for n in [*notes, *verdicts]:
        print(n)
    if not args.no_readme:
        update_section("show", "\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
