"""Where everything goes, in units relative to the screen.

`compute_layout(size)` is a pure function of the screen size: the same proportions from
1280×720 to 3840×2160, a landscape arrangement for wide screens and a stacked one for
tall ones. Text sizes are fractions of the screen height; the caption's body text is
never smaller than `CAPTION_MIN_FRAC` (4 % of the height, readable from the back of a
lecture hall).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from pygame import Rect

CAPTION_MIN_FRAC = 0.04  # caption body text ≥ 4 % of the screen height (the floor)
CAPTION_BODY_FRAC = 0.048
CAPTION_TITLE_FRAC = 0.075
LABEL_FRAC = 0.026  # gauge, legend and timeline labels
SMALL_FRAC = 0.021  # HUD and axis text
CLASSROOM_TOP = 0.45  # classroom, landscape: the RAM, swap and gauge panels' share
CLASSROOM_TIMELINE = 0.13  # … and the timeline's (the caption gets the rest)
RAM_CELLS_TARGET = 640  # cells in the RAM map, whatever the resolution


@dataclass(frozen=True, slots=True)
class Grid:
    """A grid of square cells: `cols × rows` cells of `cell_px`, `gap_px` between them."""

    rect: Rect  # exactly cols*cell_px × rows*cell_px, inside the area it was fitted to
    cols: int
    rows: int
    cell_px: int
    gap_px: int

    @property
    def n(self) -> int:
        return self.cols * self.rows

    def cell_rect(self, i: int) -> Rect:
        """The coloured part of cell i (row-major), without the gap."""
        r, c = divmod(i, self.cols)
        inner = self.cell_px - self.gap_px
        return Rect(self.rect.x + c * self.cell_px, self.rect.y + r * self.cell_px, inner, inner)

    def cell_center(self, i: int) -> tuple[float, float]:
        r, c = divmod(i, self.cols)
        half = (self.cell_px - self.gap_px) / 2
        return (self.rect.x + c * self.cell_px + half, self.rect.y + r * self.cell_px + half)


@dataclass(frozen=True, slots=True)
class Layout:
    size: tuple[int, int]
    margin: int
    ram_panel: Rect  # title + map + legend
    ram_title: Rect
    ram_map: Rect  # area the RAM grid is fitted into
    legend: Rect
    swap_panel: Rect
    swap_title: Rect
    swap_map: Rect
    swap_foot: Rect
    gauges: Rect
    timeline: Rect
    caption: Rect
    hud: Rect
    label_px: int
    small_px: int
    title_px: int
    body_px: int
    min_body_px: int
    landscape: bool


def _split_panel(panel: Rect, title_h: int, foot_h: int) -> tuple[Rect, Rect, Rect]:
    title = Rect(panel.x, panel.y, panel.w, title_h)
    body = Rect(panel.x, panel.y + title_h, panel.w, max(1, panel.h - title_h - foot_h))
    foot = Rect(panel.x, body.bottom, panel.w, foot_h)
    return title, body, foot


def compute_layout(size: tuple[int, int], *, classroom: bool = False) -> Layout:
    """`classroom` gives the caption (the longer explanations) more of the height."""
    w, h = max(1, int(size[0])), max(1, int(size[1]))
    m = max(4, round(0.022 * min(w, h)))
    u = min(h, 0.75 * w)  # labels follow the height, but not past what a narrow screen fits
    label_px = max(10, round(LABEL_FRAC * u))
    small_px = max(9, round(SMALL_FRAC * u))
    body_px = max(10, round(CAPTION_BODY_FRAC * h))
    min_body_px = max(8, math.ceil(CAPTION_MIN_FRAC * h))
    title_px = max(12, round(CAPTION_TITLE_FRAC * h))
    title_h = round(label_px * 1.5)
    landscape = w >= 1.15 * h
    if landscape:
        top_h = round((CLASSROOM_TOP if classroom else 0.52) * h)
        tl_h = round((CLASSROOM_TIMELINE if classroom else 0.17) * h)
        y0 = m
        ram_w = round(0.50 * w)
        swap_w = round(0.17 * w)
        ram_panel = Rect(m, y0, ram_w, top_h)
        swap_panel = Rect(ram_panel.right + m, y0, swap_w, top_h)
        gauges = Rect(swap_panel.right + m, y0, max(1, w - swap_panel.right - 2 * m), top_h)
        timeline = Rect(m, ram_panel.bottom + m, w - 2 * m, tl_h)
        caption = Rect(m, timeline.bottom + m, w - 2 * m, max(1, h - timeline.bottom - 2 * m))
    else:
        ram_panel = Rect(m, m, w - 2 * m, round((0.30 if classroom else 0.34) * h))
        row_y = ram_panel.bottom + m
        row_h = round((0.14 if classroom else 0.17) * h)
        swap_panel = Rect(m, row_y, round(0.40 * (w - 3 * m)), row_h)
        gauges = Rect(swap_panel.right + m, row_y, w - swap_panel.right - 2 * m, row_h)
        timeline = Rect(m, swap_panel.bottom + m, w - 2 * m, round(0.13 * h))
        caption = Rect(m, timeline.bottom + m, w - 2 * m, max(1, h - timeline.bottom - 2 * m))
    ram_title, ram_map, legend = _split_panel(ram_panel, title_h, round(label_px * 1.6))
    swap_title, swap_map, swap_foot = _split_panel(swap_panel, title_h, round(label_px * 1.6))
    hud_w, hud_h = round(0.30 * w), round(small_px * 1.25 * 8 + m)
    hud = Rect(w - hud_w - m, m, hud_w, hud_h)
    return Layout(
        size=(w, h),
        margin=m,
        ram_panel=ram_panel,
        ram_title=ram_title,
        ram_map=ram_map,
        legend=legend,
        swap_panel=swap_panel,
        swap_title=swap_title,
        swap_map=swap_map,
        swap_foot=swap_foot,
        gauges=gauges,
        timeline=timeline,
        caption=caption,
        hud=hud,
        label_px=label_px,
        small_px=small_px,
        title_px=title_px,
        body_px=body_px,
        min_body_px=min_body_px,
        landscape=landscape,
    )


def fit_grid(area: Rect, n_target: int, *, min_cells: int = 1) -> Grid:
    """Square cells filling `area` with about `n_target` cells (at least `min_cells`,
    when `min_cells` ≤ `n_target`); the grid is centred in the area."""
    n_target = max(1, n_target)
    aw, ah = max(1, area.w), max(1, area.h)
    cell = max(2, int(math.sqrt(aw * ah / n_target)))
    while cell > 2 and (aw // cell) * (ah // cell) < min(min_cells, n_target):
        cell -= 1
    cols, rows = max(1, aw // cell), max(1, ah // cell)
    gap = max(1, cell // 7)
    gw, gh = cols * cell, rows * cell
    rect = Rect(area.x + (aw - gw) // 2, area.y + (ah - gh) // 2, gw, gh)
    return Grid(rect=rect, cols=cols, rows=rows, cell_px=cell, gap_px=gap)


def fit_cells(area: Rect, n: int, max_cell_px: int) -> Grid:
    """A grid with room for at least `n` cells in `area` (largest square cells, at most
    `max_cell_px`), anchored top-left and centred horizontally. Returns a grid with
    fewer cells only when even 2-px cells cannot hold `n`."""
    n = max(1, n)
    aw, ah = max(1, area.w), max(1, area.h)
    cell = max(2, min(max_cell_px, int(math.sqrt(aw * ah / n))))
    while cell > 2 and (aw // cell) * (ah // cell) < n:
        cell -= 1
    cols = max(1, aw // cell)
    rows = max(1, min(ah // cell, math.ceil(n / cols)))
    gap = max(1, cell // 7)
    gw, gh = cols * cell, rows * cell
    rect = Rect(area.x + (aw - gw) // 2, area.y, gw, gh)
    return Grid(rect=rect, cols=cols, rows=rows, cell_px=cell, gap_px=gap)


def max_cells(area: Rect, min_cell_px: int) -> int:
    c = max(2, min_cell_px)
    return max(1, (area.w // c) * (area.h // c))
