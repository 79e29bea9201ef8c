"""The show measures itself: a `picture` event per show (frames, frame times, frames over
budget, driver and size) and the OOM kill's latencies (`detect_ms` from the kernel's own
timestamp, `screen_ms` to the kill screen's flip). Plausibility only, never a timing
threshold: this machine is shared."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from pathlib import Path

import pytest
from test_record import leftover_cgroups

from oomphony.frame import OomKill, PictureReport
from oomphony.show.director import Director
from oomphony.show.library import load_setlist
from oomphony.show.runner import Runner, RunOptions
from oomphony.show.stats import BUDGET_MS, FrameStats, percentile
from oomphony.sources.kclock import KmsgClock, kmsg_usec
from oomphony.sources.sim import SimSource
from oomphony.trace.reader import read_trace
from oomphony.trace.writer import TraceWriter
from oomphony.units import MiB

ENV = {**os.environ, "SDL_VIDEODRIVER": "dummy", "PYGAME_HIDE_SUPPORT_PROMPT": "1"}


@pytest.mark.parametrize(
    ("record", "usec"),
    [
        ("6,1234,5678901,-;Memory cgroup out of memory: Killed process 1 (x)", 5678901),
        ("4,7,12,c;hello", 12),
        ("no header at all", None),
        ("6,1234;too few fields", None),
        ("6,1,notanumber,-;x", None),
    ],
)
def test_kmsg_timestamp(record: str, usec: int | None) -> None:
    assert kmsg_usec(record) == usec


def test_latency_from_a_kernel_stamp_maps_through_the_offset() -> None:
    clock = KmsgClock(offset_s=0.002, calibrated=True)  # kmsg runs 2 ms ahead
    # stamped at 10.002 s on the kernel's clock = 10.000 s monotonic; known at 10.005 s
    assert clock.latency_ms(10_002_000, 10.005) == pytest.approx(5.0)
    assert clock.latency_ms(None, 10.005) is None
    assert clock.latency_ms(10_002_000, 9.9) == 0.0  # never negative


@pytest.mark.skipif(not os.access("/dev/kmsg", os.W_OK), reason="needs root to write /dev/kmsg")
def test_kernel_log_clock_calibrates_on_this_kernel() -> None:
    clock = KmsgClock.calibrate()
    assert clock.calibrated
    assert abs(clock.offset_s) < 60.0  # same boot, same kind of clock: close, not equal


def test_calibration_leaves_a_fifo_alone(tmp_path: Path) -> None:
    fifo = tmp_path / "kmsg"
    os.mkfifo(fifo)
    assert not KmsgClock.calibrate(str(fifo)).calibrated


def test_frame_stats_count_frames_over_budget_and_missed_slots() -> None:
    stats = FrameStats(fps=60)
    period = 1 / 60
    starts = [0.0, period, 2 * period, 5 * period, 6 * period]  # slots 3 and 4 missed
    works = [2.0, BUDGET_MS + 1.0, 3.0, 4.0, 30.0]
    for s, w in zip(starts, works, strict=True):
        stats.add(s, w)
    summary = stats.summary()
    assert summary is not None
    assert summary.frames == 5
    assert summary.over_budget == 2
    assert summary.dropped == 2
    assert summary.max_ms == 30.0
    assert summary.p50_ms == 4.0
    assert FrameStats().summary() is None


@pytest.mark.parametrize(("q", "want"), [(0.5, 50), (0.99, 99), (1.0, 100), (0.0, 1)])
def test_percentile_is_nearest_rank(q: float, want: int) -> None:
    assert percentile(list(range(100, 0, -1)), q) == want


def test_sim_show_with_a_picture_reports_frames_and_the_kill_screen(tmp_path: Path) -> None:
    """The runner with a real (off-screen) view: the trace gets the picture event, the
    kill its screen_ms, and the lines held back for it stay in time order."""
    from oomphony.picture.view import View

    view = View.open("none")
    source = SimSource(memory_b=256 * MiB, swap_b=128 * MiB, seed=1)
    source.start()
    trace = TraceWriter(tmp_path / "t.jsonl")
    runner = Runner(trace=trace, view=view, options=RunOptions(speed=8.0))
    try:
        runner.run_loop(lambda: (source, Director(load_setlist("speedrun"), has_swap=True)),
                        loop=False)  # fmt: skip
    finally:
        view.close()
    t = read_trace(tmp_path / "t.jsonl")
    pictures = [e for e in t.events if isinstance(e, PictureReport)]
    kills = [e for e in t.events if isinstance(e, OomKill)]
    assert len(pictures) == 1
    p = pictures[0]
    assert p.frames > 0
    assert 0 < p.p50_ms <= p.p99_ms <= p.max_ms
    assert 0 <= p.over_budget <= p.frames
    assert p.driver == "none"
    assert list(p.size) == [1280, 720]
    assert len(kills) == 1
    assert kills[0].detect_ms is None  # the simulator has no kernel log
    assert kills[0].screen_ms is not None and kills[0].screen_ms >= 0
    times = [f.t_s for f in t.frames]
    assert all(a < b for a, b in itertools.pairwise(times))


@pytest.mark.cgroup
@pytest.mark.slow
def test_live_show_trace_carries_picture_and_kill_latencies(tmp_path: Path) -> None:
    trace_path = tmp_path / "live.jsonl"
    proc = subprocess.Popen(
        [sys.executable, "-m", "oomphony", "run", "speedrun", "--backend", "live",
         "--memory", "192MiB", "--swap", "64MiB", "--display", "window", "--no-audio",
         "--record", str(trace_path)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL,
        env=ENV,
    )  # fmt: skip
    try:
        _, err = proc.communicate(timeout=180)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == 0, err
    # its cage is gone (cages are named after the show's pid; other shows may run here)
    assert not [c for c in leftover_cgroups() if c.name.startswith(f"oomphony-{proc.pid}-")]
    t = read_trace(trace_path)
    pictures = [e for e in t.events if isinstance(e, PictureReport)]
    kills = [e for e in t.events if isinstance(e, OomKill)]
    assert len(pictures) == 1
    p = pictures[0]
    assert p.frames > 0
    assert p.driver == "dummy"
    assert list(p.size) == [1280, 720]
    assert 0 < p.p50_ms <= p.p99_ms <= p.max_ms
    assert kills, "the allocator was never OOM-killed"
    k = kills[0]
    if os.access("/dev/kmsg", os.R_OK):
        assert k.detect_ms is not None and 0 <= k.detect_ms < 1000
    assert k.screen_ms is not None and k.screen_ms >= 0


def test_hud_shows_frame_p99_dropped_frames_and_the_last_kill() -> None:
    from oomphony.cues import Status
    from oomphony.picture.hud import HudInfo, hud_lines

    base = HudInfo(60.0, 4.0, Status("off", 0, "live", "256 MiB"))
    quiet = "\n".join(hud_lines(base))
    assert "frame p99 — ms  dropped 0" in quiet
    assert "last kill" not in quiet
    status = Status("off", 0, "live", "256 MiB", frame_p99_ms=7.25, dropped=3,
                    kill_detect_ms=3.4, kill_screen_ms=None, has_kill=True)  # fmt: skip
    info = HudInfo(60.0, 4.0, status)
    shown = "\n".join(hud_lines(info))
    assert "frame p99 7.2 ms  dropped 3" in shown
    assert "last kill: detect 3.4 ms  screen — ms" in shown
