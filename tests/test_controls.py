"""Live controls through a real window: keys pressed under Xvfb with xdotool (XTEST), read
back from the show's trace. Needs Xvfb and xdotool (marker `display`); CI has both."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from test_window import window_env

from oomphony.cues import Cues
from oomphony.frame import ActEvent, AllocatorExit, OomKill
from oomphony.picture import Stage
from oomphony.picture.display import DEFAULT_WINDOW
from oomphony.sources.sim import SimSource
from oomphony.support.demo import caged_frame
from oomphony.trace.reader import read_trace

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


LONG_LESSON = " ".join(
    f"Sentence {i} of a lesson too long for one screen, read out to the back of the room."
    for i in range(1, 13)
)


def test_right_turns_the_explanations_pages_before_the_next_act(
    tmp_path: Path, xvfb_display: str
) -> None:
    """A classroom act with a long explanation: → turns its pages (as many as the picture
    lays out at the window's size) and only then moves the show to the next act."""
    setlist = tmp_path / "lesson.toml"
    setlist.write_text(
        textwrap.dedent(f"""\
        [show]
        title = "a long lesson"
        description = "paging"
        memory = "256MiB"
        swap = "64MiB"
        picture = "classroom"

        [[act]]
        name = "lesson"
        kind = "overture"
        title = "A long lesson"
        caption = "A short caption."
        explanation = "{LONG_LESSON}"
        until = "key"

        [[act]]
        name = "after"
        kind = "epilogue"
        title = "After the lesson"
        caption = "The next act."
        until = "key"
        """)
    )
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")  # this process only lays out text
    stage = Stage(DEFAULT_WINDOW, preset="classroom")
    stage.set_origin(SimSource.origin)
    stage.update(0.0, caged_frame(0.0), Cues(0.0, title="A long lesson", explanation=LONG_LESSON,
                                              picture_preset="classroom"))  # fmt: skip
    pages = len(stage.caption_pages())
    assert pages >= 2
    trace = tmp_path / "t.jsonl"
    show = subprocess.Popen(
        [sys.executable, "-m", "oomphony", "run", str(setlist), "--backend", "sim",
         "--display", "window", "--no-audio", "--record", str(trace)],
        env=window_env(xvfb_display), stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip

    def acts() -> list[str]:
        assert show.poll() is None, show.stderr.read() if show.stderr else ""
        try:
            events = read_trace(trace).events
            return [e.name for e in events if isinstance(e, ActEvent) and not e.recognised]
        except Exception:  # the trace is being written
            return []

    try:
        wait_for(lambda: acts() == ["lesson"] and len(frames_of(trace)) > 20)
        for _ in range(pages - 1):  # the pages of the lesson
            press(xvfb_display, "Right")
            time.sleep(0.3)
        time.sleep(1.0)
        assert acts() == ["lesson"], "→ moved on before the last page"
        press(xvfb_display, "Right")  # on the last page: the next act
        wait_for(lambda: acts() == ["lesson", "after"])
        press(xvfb_display, "q")
        assert show.wait(timeout=20) == 0, show.stderr.read() if show.stderr else ""
    finally:
        if show.poll() is None:
            show.kill()
            show.wait()
