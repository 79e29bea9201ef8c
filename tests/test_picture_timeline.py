"""The timeline's history keeps one sample per quarter second, at any update rate."""

from __future__ import annotations

import pytest

from oomphony.picture.timeline import SAMPLE_S, WINDOW_S, History, Sample


@pytest.mark.parametrize("update_hz", [10, 60, 240])
def test_history_spans_the_time_it_was_fed(update_hz: int) -> None:
    hist = History()
    seconds = 10.0
    n = int(seconds * update_hz)
    for i in range(n + 1):
        t = i / update_hz
        hist.add(Sample(t, anon=t / seconds, cache=0.1, free=0.0, swap=0.0), has_swap=False)
    span = hist.samples[-1].t_s - hist.samples[0].t_s
    assert span == pytest.approx(seconds, abs=SAMPLE_S)
    # a bucket closes at the first update at least SAMPLE_S after it opened
    assert seconds / (SAMPLE_S + 1 / update_hz) - 1 <= len(hist.samples) <= seconds / SAMPLE_S + 1
    # the newest value of the last bucket is kept
    assert hist.samples[-1].anon == pytest.approx(1.0)


def test_history_forgets_beyond_the_window() -> None:
    hist = History()
    for i in range(int(3 * WINDOW_S * 10)):
        hist.add(Sample(i / 10, 0.5, 0.2, 0.3, 0.0), has_swap=False)
    span = hist.samples[-1].t_s - hist.samples[0].t_s
    assert WINDOW_S - 1 <= span <= WINDOW_S + 1
