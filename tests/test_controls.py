"""Live controls through a real window: keys pressed under Xvfb with xdotool (XTEST), read
back from the show's trace. Needs Xvfb and xdotool (marker `display`); CI has both."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_window import window_env

from oomphony.frame import AllocatorExit, OomKill
from oomphony.trace import read_trace

pytestmark = [
    pytest.mark.display,
    pytest.mark.skipif(shutil.which("xdotool") is None, reason="needs xdotool (Debian xdotool)"),
]


def press(display: str, key: str) -> None:
    """A real key press: with no window manager, the pointer-root focus sends it to the
    show's window."""
    subprocess.run(["xdotool", "key", key], env={"DISPLAY": display}, check=True)


def wait_for(predicate, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def frames_of(path: Path):
    try:
        return read_trace(path).frames
    except Exception:  # the trace is being written: a read may race a line
        return []


def test_space_k_and_q_in_a_real_window(tmp_path: Path, xvfb_display: str) -> None:
    trace = tmp_path / "t.jsonl"
    show = subprocess.Popen(
        [sys.executable, "-m", "oomphony", "run", "speedrun", "--backend", "sim",
         "--display", "window", "--no-audio", "--record", str(trace)],
        env=window_env(xvfb_display), stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        # the overture runs: the allocator is allocating
        wait_for(lambda: any(f.alloc.rate_bps > 0 and f.t_s > 1.0 for f in frames_of(trace)))
        press(xvfb_display, "space")  # pause: the allocator holds
        wait_for(lambda: frames_of(trace)[-1].alloc.rate_bps == 0)
        held = frames_of(trace)[-1].alloc.allocated_b
        time.sleep(0.5)
        assert frames_of(trace)[-1].alloc.allocated_b == held
        press(xvfb_display, "space")  # resume
        wait_for(lambda: frames_of(trace)[-1].alloc.rate_bps > 0)
        press(xvfb_display, "k")  # a manual SIGKILL, never called an OOM kill
        wait_for(lambda: not frames_of(trace)[-1].alloc.alive)
        press(xvfb_display, "q")
        assert show.wait(timeout=20) == 0, show.stderr.read() if show.stderr else ""
    finally:
        if show.poll() is None:
            show.kill()
            show.wait()
    done = read_trace(trace)
    exits = [e for e in done.events if isinstance(e, AllocatorExit)]
    assert [e.how for e in exits] == ["manual_kill"]
    assert not [e for e in done.events if isinstance(e, OomKill)]
    assert done.events[-1].reason == "quit"
