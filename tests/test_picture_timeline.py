"""The timeline's history keeps one sample per quarter second, at any update rate; the
chart spans the show so far until the show is a window long, then its last window."""

from __future__ import annotations

import os

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")

import numpy as np
import pygame
import pytest

from oomphony.picture import text
from oomphony.picture.palette import get_palette
from oomphony.picture.timeline import (
    MIN_SPAN_S,
    SAMPLE_S,
    WINDOW_S,
    History,
    Sample,
    draw_timeline,
    time_axis,
)


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


def fed(seconds: float, hz: int = 30, *, t0: float = 0.0) -> History:
    hist = History()
    for i in range(int(seconds * hz) + 1):
        hist.add(Sample(t0 + i / hz, anon=0.2, cache=0.5, free=0.3, swap=0.0), has_swap=False)
    return hist


@pytest.mark.parametrize(
    ("seconds", "left", "span"),
    [
        (1.0, 0.0, MIN_SPAN_S),  # the first seconds: a short axis, not a sliver
        (10.0, 0.0, 10.0),  # the show so far, edge to edge
        (WINDOW_S + 90.0, 90.0, WINDOW_S),  # then the last window
    ],
)
def test_the_axis_spans_the_show_so_far_until_the_window(seconds, left, span):
    # a kiosk's later show starts at a show clock far from 0: the axis follows it
    for t0 in (0.0, 3600.0):
        got_left, got_span = time_axis(fed(seconds, t0=t0))
        assert got_left == pytest.approx(t0 + left, abs=SAMPLE_S)
        assert got_span == pytest.approx(span, abs=SAMPLE_S)


@pytest.mark.parametrize(
    ("seconds", "label"), [(12.0, "the show so far"), (WINDOW_S + 30.0, "last 60 s")]
)
def test_the_chart_fills_its_width_from_the_first_seconds(seconds, label):
    pal = get_palette("default")
    rect = pygame.Rect(20, 20, 900, 140)
    surf = pygame.Surface((940, 180))
    with text.recording() as drawn:
        draw_timeline(surf, rect, fed(seconds), pal, 16)
    assert [d.text for d in drawn if d.role == "timeline"] == [label]
    cache = np.all(pygame.surfarray.pixels3d(surf) == np.array(pal.cache, dtype=np.uint8), axis=2)
    cols = np.flatnonzero(cache.any(axis=1))
    assert cols.min() <= rect.x + 0.03 * rect.w  # from the left edge …
    assert cols.max() >= rect.right - 0.03 * rect.w  # … to the right edge
    assert not cache[: rect.x].any() and not cache[rect.right :].any()  # never outside
