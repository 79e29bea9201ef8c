"""The show loop itself: kiosk recovery from a failed show, and the headless clock."""

from __future__ import annotations

import itertools

import pytest

from oomphony.frame import ActEvent, MemoryFrame
from oomphony.show.director import Director
from oomphony.show.library import load_setlist
from oomphony.show.runner import Runner, RunOptions
from oomphony.sources.sim import SimSource
from oomphony.trace.reader import read_trace
from oomphony.trace.writer import TraceWriter
from oomphony.units import MiB


class BrokenSim(SimSource):
    """A simulator whose telemetry breaks mid-show, as a real source can."""

    def step(self, t_s: float) -> tuple[MemoryFrame, list]:
        frame, events = super().step(t_s)
        if frame.t_s > 5.0:
            raise OSError("telemetry went away")
        return frame, events


def test_kiosk_logs_a_failed_show_and_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    setlist = load_setlist("speedrun")
    made: list[str] = []

    def make_show():
        broken = len(made) == 1  # the second show fails
        made.append("broken" if broken else "ok")
        cls = BrokenSim if broken else SimSource
        source = cls(memory_b=256 * MiB, swap_b=128 * MiB, seed=len(made))
        source.start()
        return source, Director(setlist, has_swap=True, key_wait_s=1.0)

    runner = Runner(options=RunOptions(speed=1e6, max_shows=3))
    results = runner.run_loop(make_show, loop=True)
    assert made == ["ok", "broken", "ok"]
    assert [r.reason for r in results] == ["finished", "failed", "finished"]
    assert "show 2 failed: telemetry went away" in caplog.text


def test_a_single_show_that_fails_raises() -> None:
    def make_show():
        source = BrokenSim(memory_b=256 * MiB, swap_b=128 * MiB)
        source.start()
        return source, Director(load_setlist("speedrun"), has_swap=True, key_wait_s=1.0)

    with pytest.raises(OSError, match="telemetry went away"):
        Runner(options=RunOptions(speed=1e6)).run_loop(make_show, loop=False)


@pytest.mark.parametrize("sample_hz", [25.0, 50.0])
def test_headless_clock_gives_frames_at_the_sample_rate(tmp_path, sample_hz: float) -> None:
    setlist = load_setlist("speedrun")
    source = SimSource(memory_b=256 * MiB, swap_b=128 * MiB)
    source.start()
    director = Director(setlist, has_swap=True)
    trace = TraceWriter(tmp_path / "t.jsonl")
    runner = Runner(trace=trace, options=RunOptions(speed=1e6, sample_hz=sample_hz))
    result = runner.run_show(source, director)
    trace.close()
    assert result.reason == "finished"
    acts = [e.name for e in result.events if isinstance(e, ActEvent) and not e.recognised]
    assert acts == [a.name for a in setlist.acts]
    frames = read_trace(tmp_path / "t.jsonl").frames
    steps = {round(b.t_s - a.t_s, 4) for a, b in itertools.pairwise(frames)}
    assert steps == {round(1 / sample_hz, 4)}


def test_the_collector_is_restored_after_a_show_with_a_picture_even_a_failed_one() -> None:
    """Frames run with start-up frozen and automatic collection off; afterwards (also
    after a failure) the collector is back as it was."""
    import gc

    from oomphony.picture.view import View

    view = View.open("none")
    source = BrokenSim(memory_b=256 * MiB, swap_b=128 * MiB)
    source.start()
    runner = Runner(view=view, options=RunOptions(speed=4.0))
    seen: list[tuple[bool, int]] = []
    real_frame = view.frame

    def frame(*args):
        seen.append((gc.isenabled(), gc.get_freeze_count()))
        return real_frame(*args)

    view.frame = frame
    try:
        with pytest.raises(OSError, match="telemetry went away"):
            runner.run_show(source, Director(load_setlist("speedrun"), has_swap=True))
    finally:
        view.close()
    assert seen and all(not enabled and frozen > 0 for enabled, frozen in seen)
    assert gc.isenabled()
    assert gc.get_freeze_count() == 0
