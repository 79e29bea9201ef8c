"""The show so far, then its last 60 s, as a stacked chart (anon, cache, free in RAM;
swap above), with markers for acts and events. Until the show is a window long the chart
spans the show so far, so it fills the width from the first seconds. `History` is pure
data; `time_axis` is pure; `draw_timeline` draws.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import pygame

from oomphony.picture import text
from oomphony.picture.arena import ArenaParts
from oomphony.picture.palette import Palette, scale

WINDOW_S = 60.0
SAMPLE_S = 0.25  # one stored sample per quarter second: 240 points across the chart
SWAP_BAND = 0.30  # share of the chart's height for the swap band (when there is swap)
MIN_SPAN_S = 5.0  # the first seconds are drawn on a 5 s axis (a sliver of data is no chart)


@dataclass(frozen=True, slots=True)
class Sample:
    t_s: float
    anon: float  # fractions of RAM: allocator + sleeper + other
    cache: float
    free: float
    swap: float  # fraction of the swap limit (0 when there is no swap)


@dataclass(frozen=True, slots=True)
class Marker:
    t_s: float
    label: str
    kind: str  # "act" or "kill"


def sample_of(t_s: float, parts: ArenaParts) -> Sample:
    ram = max(1, parts.ram_b)
    anon = (parts.alloc_b + parts.sleeper_b + parts.other_b) / ram
    swap = parts.swap_used_b / parts.swap_total_b if parts.swap_total_b > 0 else 0.0
    return Sample(t_s, anon, parts.cache_b / ram, parts.free_b / ram, swap)


class History:
    def __init__(self) -> None:
        self.samples: deque[Sample] = deque()
        self.markers: deque[Marker] = deque()
        self.has_swap = False
        self._bucket_t: float | None = None  # when the newest stored sample's bucket began

    def add(self, sample: Sample, *, has_swap: bool) -> None:
        self.has_swap = has_swap
        if (
            self.samples
            and self._bucket_t is not None
            and 0 <= sample.t_s - self._bucket_t < SAMPLE_S
        ):
            self.samples[-1] = sample  # keep the newest value of this quarter second
        else:
            self.samples.append(sample)
            self._bucket_t = sample.t_s
        self._trim(sample.t_s)

    def mark(self, t_s: float, label: str, kind: str) -> None:
        self.markers.append(Marker(t_s, label, kind))

    def _trim(self, now: float) -> None:
        while len(self.samples) > 2 and self.samples[1].t_s < now - WINDOW_S:
            self.samples.popleft()
        while self.markers and self.markers[0].t_s < now - WINDOW_S:
            self.markers.popleft()

    def clear(self) -> None:
        self._bucket_t = None
        self.samples.clear()
        self.markers.clear()


def time_axis(hist: History) -> tuple[float, float]:
    """(time at the chart's left edge, seconds across it): the show so far (at least
    MIN_SPAN_S) until it is WINDOW_S long, then the last WINDOW_S."""
    now = hist.samples[-1].t_s
    left = max(hist.samples[0].t_s, now - WINDOW_S)
    return left, max(MIN_SPAN_S, now - left)


def axis_label(span_s: float) -> str:
    return f"last {WINDOW_S:.0f} s" if span_s >= WINDOW_S - 1e-6 else "the show so far"


def draw_timeline(
    surface: pygame.Surface, rect: pygame.Rect, hist: History, palette: Palette, px: int
) -> None:
    if not hist.samples:
        return
    left, span = time_axis(hist)
    label_h = round(px * 1.3)
    chart = pygame.Rect(rect.x, rect.y + label_h, rect.w, max(4, rect.h - label_h))
    swap_h = round(chart.h * SWAP_BAND) if hist.has_swap else 0
    ram = pygame.Rect(chart.x, chart.y + swap_h, chart.w, chart.h - swap_h)

    def x_of(t: float) -> float:
        return chart.x + (t - left) / span * chart.w

    xs = [x_of(s.t_s) for s in hist.samples]
    pairs = list(zip(xs, hist.samples, strict=True))
    clip = surface.get_clip()
    surface.set_clip(chart.clip(clip))  # the sample before the window starts left of it
    if len(xs) >= 2:  # three bands, each level worked out once per sample
        bottom, h = ram.bottom, ram.h
        anon = [(x, bottom - min(1.0, s.anon) * h) for x, s in pairs]
        stacked = [(x, bottom - min(1.0, s.anon + s.cache) * h) for x, s in pairs]
        x0, x1 = xs[0], xs[-1]
        pygame.draw.polygon(
            surface, scale(palette.alloc, 0.85), [*anon, (x1, bottom), (x0, bottom)]
        )
        pygame.draw.polygon(surface, palette.cache, stacked + anon[::-1])
        pygame.draw.polygon(surface, palette.free, [(x0, ram.y), (x1, ram.y), *stacked[::-1]])
    if swap_h:
        band = pygame.Rect(chart.x, chart.y, chart.w, swap_h - 2)
        surface.fill(palette.swap_empty, band)
        pts = [(x, band.bottom - min(1.0, s.swap) * band.h) for x, s in pairs]
        if len(pts) >= 2:
            pygame.draw.polygon(
                surface,
                scale(palette.alloc, 0.6),
                [*pts, (pts[-1][0], band.bottom), (pts[0][0], band.bottom)],
            )
            pygame.draw.lines(surface, palette.alloc, False, pts, max(1, px // 10))
    surface.set_clip(clip)
    if swap_h:
        text.draw(surface, "swap", px, palette.text_dim, (band.x + 4, band.y), role="timeline")
    label = axis_label(span)
    text.draw(surface, label, px, palette.text_dim, (rect.x, rect.y), role="timeline")
    free_left = rect.right  # labels are placed newest first, right to left, never overlapping
    first_label_end = rect.x + text.text_width(label + " ", px)
    for mk in reversed(hist.markers):
        x = round(x_of(mk.t_s))
        if x < chart.x:
            continue
        col = palette.danger if mk.kind == "kill" else palette.accent
        pygame.draw.line(surface, col, (x, chart.y), (x, chart.bottom), max(2, px // 8))
        lab = text.render(mk.label, px, col, bold=True)
        lx = min(x + 4, free_left - lab.get_width())
        if lx < first_label_end:
            continue
        text.draw(surface, mk.label, px, col, (lx, rect.y), role="timeline", bold=True)
        free_left = lx - px
