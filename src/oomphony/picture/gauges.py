"""Gauges: memory pressure (PSI some/full), swap out/in, major faults, allocation rate.

`gauge_rows` turns a frame into rows of (label, value text, level 0..1) — pure, so
tests can check what is shown; `Smoother` eases the levels so bars move like needles.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import pygame

from oomphony.frame import MemoryFrame
from oomphony.picture import text
from oomphony.picture.glyphs import GLYPHS
from oomphony.picture.palette import RGB, Palette, scale
from oomphony.units import MiB


@dataclass(frozen=True, slots=True)
class Bar:
    label: str
    value: str  # "—" when the machine cannot say
    level: float | None  # 0..1, None when unknown
    color: str  # palette attribute name
    # The number behind `value`, and how to write it: the figure on screen is eased like
    # the bar, so a 100 Hz source's 0-or-burst samples do not flicker under a full bar.
    raw: float | None = None
    fmt: Callable[[float | None], str] | None = None


def _log_level(v: float | None, lo: float, hi: float) -> float | None:
    """log-scaled 0..1 between lo and hi (0 at or below lo)."""
    if v is None:
        return None
    if v <= lo:
        return 0.0
    return min(1.0, math.log10(v / lo) / math.log10(hi / lo))


def _rate_text(bps: float | None) -> str:
    if bps is None:
        return "—"
    mib = bps / MiB
    return f"{mib:.0f} MiB/s" if mib >= 10 else f"{mib:.1f} MiB/s"


def _pct(v: float | None) -> str:
    return "—" if v is None else f"{100 * v:.0f} %"


def _per_s(v: float | None) -> str:
    return "—" if v is None else f"{v:.0f} /s"


def gauge_rows(frame: MemoryFrame) -> tuple[tuple[str, tuple[Bar, ...]], ...]:
    """The gauges' content: (heading, bars) per gauge."""
    psi, r = frame.psi, frame.rates
    # PSI as a share of time: square-root scale, so the first stalls are visible.
    some = None if psi.some is None else math.sqrt(min(1.0, max(0.0, psi.some)))
    full = None if psi.full is None else math.sqrt(min(1.0, max(0.0, psi.full)))
    alloc = frame.alloc.rate_bps if frame.alloc.alive else 0.0
    mf = r.majfault_ps
    return (
        (
            "pressure (stalled)",
            (
                Bar("some", _pct(psi.some), some, "warn", psi.some, _pct),
                Bar("full", _pct(psi.full), full, "danger", psi.full, _pct),
            ),
        ),
        (
            "swap traffic",
            (
                Bar(
                    "out",
                    _rate_text(r.swapout_bps),
                    _log_level(r.swapout_bps, 0.1 * MiB, 1000 * MiB),
                    "alloc",
                    r.swapout_bps,
                    _rate_text,
                ),
                Bar(
                    "in",
                    _rate_text(r.swapin_bps),
                    _log_level(r.swapin_bps, 0.1 * MiB, 1000 * MiB),
                    "sleeper",
                    r.swapin_bps,
                    _rate_text,
                ),
            ),
        ),
        (
            "major faults",
            (Bar("", _per_s(mf), _log_level(mf, 1.0, 1e5), "warn", mf, _per_s),),
        ),
        (
            "allocation",
            (
                Bar(
                    "",
                    _rate_text(alloc),
                    _log_level(alloc, 0.1 * MiB, 10000 * MiB),
                    "alloc",
                    alloc,
                    _rate_text,
                ),
            ),
        ),
    )


class Smoother:
    """Exponential easing of bar levels, and of the figures beside them, toward their
    targets (time constant TAU_S)."""

    TAU_S = 0.25

    def __init__(self) -> None:
        self.levels: dict[tuple[int, int], float] = {}
        self.values: dict[tuple[int, int], float] = {}

    def step(self, dt_s: float, rows) -> None:
        k = 1.0 - math.exp(-max(0.0, dt_s) / self.TAU_S)
        for gi, (_, bars) in enumerate(rows):
            for bi, bar in enumerate(bars):
                cur = self.levels.get((gi, bi), 0.0)
                target = bar.level or 0.0
                self.levels[(gi, bi)] = cur + (target - cur) * k
                if bar.raw is None or not math.isfinite(bar.raw):
                    self.values.pop((gi, bi), None)
                else:
                    was = self.values.get((gi, bi), bar.raw)
                    self.values[(gi, bi)] = was + (bar.raw - was) * k

    def clear(self) -> None:
        self.levels.clear()
        self.values.clear()

    def figure(self, gi: int, bi: int, bar: Bar) -> str:
        """The figure to show beside a bar: its eased number, else the frame's text."""
        eased = self.values.get((gi, bi))
        return bar.value if eased is None or bar.fmt is None else bar.fmt(eased)


def draw_gauges(
    surface: pygame.Surface, rect: pygame.Rect, rows, smooth: Smoother, palette: Palette, px: int
) -> None:
    n_bars = sum(len(b) for _, b in rows)
    px = max(8, min(px, round(rect.h / (len(rows) * 1.3 + n_bars * 1.5))))  # fit short panels
    head_h = px * 1.3
    bar_h = max(6.0, (rect.h - head_h * len(rows)) / max(1, n_bars))
    y = float(rect.y)
    label_w = text.text_width("some ", px, bold=True)
    for gi, (heading, bars) in enumerate(rows):
        surface.blit(text.render(heading, px, palette.text_dim), (rect.x, round(y)))
        y += head_h
        for bi, bar in enumerate(bars):
            color: RGB = getattr(palette, bar.color)
            h = max(4, round(bar_h * 0.62))
            by = round(y + (bar_h - h) / 2)
            x0 = rect.x + (label_w if bar.label else 0)
            track = pygame.Rect(x0, by, max(4, rect.right - x0), h)
            if bar.label:
                lab = text.render(bar.label, px, palette.text, bold=True)
                surface.blit(lab, (rect.x, by + (h - lab.get_height()) // 2))
            surface.fill(scale(color, 0.22) if bar.level is not None else (30, 30, 34), track)
            lvl = smooth.levels.get((gi, bi), 0.0)
            if bar.level is not None and lvl > 0.002:
                surface.fill(color, (track.x, track.y, max(2, round(track.w * lvl)), track.h))
            figure = smooth.figure(gi, bi, bar)
            vw, vh = GLYPHS.size(figure, px, bold=True, shadow=True)
            vx = track.right - vw - max(3, px // 4)
            GLYPHS.draw(surface, figure, (vx, by + (h - vh) // 2), px, palette.text,
                        bold=True, shadow=True)  # fmt: skip
            y += bar_h
