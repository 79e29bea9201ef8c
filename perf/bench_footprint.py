"""The show's memory footprint (issue 9): in a machine-wide OOM every megabyte the show
holds is taken from the audience's show, and every locked one cannot be reclaimed.

1. The audio process on a JACK dummy server (48 kHz, 512 frames): resident memory not
   counting JACK's shared segment (`VmRSS − RssShmem`), locked (`VmLck`), threads —
   today's (`AudioOutput`, sound/process.py) against the reference measured in the same
   run: a child set up as the audio process was before issue 9 (numpy and scipy.signal
   imported, OpenBLAS's default threads, `mlockall(MCL_CURRENT | MCL_FUTURE)`, a stream
   on the same server). Goal ≤ 64 MiB.
2. The show process at 1920×1080 (a fullscreen window on Xvfb, the sim backend, sound on
   the same server): its peak `VmRSS` over a speedrun, with SDL's default (OpenGL)
   window surface and as a --global show presents it (`SDL_FRAMEBUFFER_ACCELERATION=0`,
   show/shield.py), and the picture's frame p50/p99 of each. Goal ≤ 128 MiB.

    .venv/bin/python perf/bench_footprint.py [--seconds 20] [--no-report]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from oomphony.cage.protect import footprint
from oomphony.sound.output import AudioOutput
from oomphony.support import jackdummy
from oomphony.units import MiB

REFERENCE = """
import ctypes, sys, time
import numpy as np, scipy.signal, sounddevice as sd
def cb(outdata, frames, t, status):
    outdata.fill(0.0)
s = sd.OutputStream(samplerate=48000, blocksize=512, channels=2, dtype="float32", callback=cb)
ctypes.CDLL(None).mlockall(3)
s.start()
print("ready", flush=True)
sys.stdin.read()
"""


def _threads(pid: int) -> int:
    text = Path(f"/proc/{pid}/status").read_text()
    return int(text.split("Threads:")[1].split()[0])


def _row(name: str, pid: int) -> tuple[str, float, float, int]:
    fp = footprint(pid)
    rss = (fp.get("VmRSS", 0) - fp.get("RssShmem", 0)) / MiB
    return name, rss, fp.get("VmLck", 0) / MiB, _threads(pid)


def audio_rows() -> list[tuple[str, float, float, int]]:
    ref = subprocess.Popen(
        [sys.executable, "-c", REFERENCE], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    try:
        assert ref.stdout is not None and ref.stdout.readline().strip() == "ready"
        time.sleep(2.0)
        before = _row("before issue 9 (scipy, BLAS threads, mlockall)", ref.pid)
    finally:
        with contextlib.suppress(OSError):
            ref.communicate("", timeout=10)
    out = AudioOutput.open(shield=False)
    try:
        assert out.pid is not None, out.status
        time.sleep(2.0)
        now = _row("today (sound/process.py)", out.pid)
    finally:
        out.close()
    return [before, now]


def show_peak(seconds: float, accel: str, trace: Path) -> tuple[float, dict]:
    """Peak VmRSS (MiB) of a fullscreen 1080p sim show with sound, and its `picture`."""
    xvfb = subprocess.Popen(
        ["Xvfb", ":97", "-screen", "0", "1920x1080x24", "-nolisten", "tcp"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        time.sleep(1.5)
        env = {**os.environ, "DISPLAY": ":97", "SDL_FRAMEBUFFER_ACCELERATION": accel}
        show = subprocess.Popen(
            [sys.executable, "-m", "oomphony", "run", "speedrun", "--backend", "sim",
             "--display", "fullscreen", "--duration", str(seconds), "--record", str(trace)],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        peak = 0
        while show.poll() is None:
            peak = max(peak, footprint(show.pid).get("VmRSS", 0))
            time.sleep(0.25)
        pic = [json.loads(ln) for ln in trace.read_text().splitlines() if '"picture"' in ln]
        return peak / MiB, pic[-1] if pic else {}
    finally:
        xvfb.terminate()
        xvfb.wait()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--no-report", action="store_true")
    args = ap.parse_args()
    name = f"footprint{os.getpid()}"
    os.environ.update(JACK_DEFAULT_SERVER=name, JACK_NO_START_SERVER="1")
    jack = jackdummy.start(name)
    try:
        rows = audio_rows()
        with tempfile.TemporaryDirectory() as tmp:
            shows = [(a, *show_peak(args.seconds, a, Path(tmp) / f"{a}.jsonl")) for a in "10"]
    finally:
        jackdummy.stop(jack, name)
    lines = [
        "| audio process | resident, JACK's segment not counted | locked (VmLck) | threads |",
        "| --- | --- | --- | --- |",
    ]
    lines += [f"| {n} | {rss:.0f} MiB | {lck:.0f} MiB | {t} |" for n, rss, lck, t in rows]
    ratio = rows[1][1] / rows[0][1]
    lines += [
        "",
        f"- audio process: {rows[1][1]:.0f} MiB resident, **{ratio:.2f}×** the reference "
        f"measured in the same run (goal ≤ 64 MiB). VmLck counts the locked mappings' size: "
        "with MCL_ONFAULT only touched pages are resident and locked.",
        "",
        "| show process, fullscreen 1920×1080 on Xvfb | peak resident | × 128 MiB goal "
        "| frame p50 | frame p99 |",
        "| --- | --- | --- | --- | --- |",
    ]
    for accel, peak, pic in shows:
        how = "OpenGL window surface (SDL's default)" if accel == "1" else "as --global: no GL"
        lines.append(
            f"| {how} | {peak:.0f} MiB | {peak / 128:.2f} | {pic.get('p50_ms', 0):.1f} ms "
            f"| {pic.get('p99_ms', 0):.1f} ms |"
        )
    text = "\n".join(lines)
    print(text)
    if not args.no_report:
        from _report import update_section

        update_section("footprint", "`.venv/bin/python perf/bench_footprint.py`\n\n" + text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
