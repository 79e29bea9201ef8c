"""The scene outside the kill screen: the RAM and swap titles, the RAM map, its legend,
the gauges, the timeline and the caption, drawn over the noise; and where the noise goes
around them (`SceneRegions`).

Figures that change while the show runs (the legend's sizes, the swap in use) are drawn
from cached glyphs (`glyphs.py`): no font rendering in the steady state.
"""

from __future__ import annotations

import pygame

from oomphony.picture import text
from oomphony.picture.arena import ArenaParts
from oomphony.picture.captions import Page, draw_caption
from oomphony.picture.gauges import Smoother, draw_gauges
from oomphony.picture.glyphs import GLYPHS
from oomphony.picture.layout import Layout
from oomphony.picture.noise import noise_regions
from oomphony.picture.palette import OWNER_NAMES, Palette
from oomphony.picture.rammap import RamMap
from oomphony.picture.timeline import History, draw_timeline
from oomphony.units import format_size

Regions = tuple[list[pygame.Rect], list[pygame.Rect]]
LEGEND_ORDER = (3, 1, 0, 2, 4)  # the hog, cache, free, other, sleeper


class SceneRegions:
    """Where the noise is full-strength and where it is dimmed behind a panel; the RAM
    and swap grids are opaque, so no noise is drawn under them. Worked out again only
    when the layout or the grids change."""

    def __init__(self) -> None:
        self._key: tuple | None = None
        self._regions: Regions = ([], [])

    def get(self, layout: Layout, rammap: RamMap) -> Regions:
        opaque = [rammap.ram_grid.rect] + ([rammap.swap_grid.rect] if rammap.swap.n else [])
        key = (layout, *opaque)
        if key != self._key:
            pad = layout.margin // 2
            panels = [
                r.inflate(pad * 2, pad * 2)
                for r in (
                    layout.ram_panel,
                    layout.swap_panel,
                    layout.gauges,
                    layout.timeline,
                    layout.caption,
                )
            ]
            self._key = key
            self._regions = noise_regions(layout.size, panels, opaque)
        return self._regions


def draw_scene(
    surface: pygame.Surface,
    layout: Layout,
    palette: Palette,
    parts: ArenaParts,
    *,
    paused: bool,
    rammap: RamMap,
    gauges: tuple,
    smoother: Smoother,
    history: History,
    caption: Page,
) -> None:
    pal, lay = palette, layout
    px = lay.label_px
    where = "the cage" if parts.caged else "the whole machine"
    title = f"RAM  {format_size(parts.ram_b)}  ({where})"
    surface.blit(text.render(title, px, pal.text, bold=True), lay.ram_title.topleft)
    if paused:
        badge = text.render("PAUSED", px, pal.accent, bold=True)
        surface.blit(badge, (lay.ram_title.right - badge.get_width(), lay.ram_title.y))
    swap_t = "SWAP  (disk)" if parts.swap_total_b > 0 else "SWAP  none"
    swap_t = text.ellipsize(swap_t, px, lay.swap_title.w, bold=True)
    surface.blit(text.render(swap_t, px, pal.text, bold=True), lay.swap_title.topleft)
    if parts.swap_total_b > 0:
        used = f"{format_size(parts.swap_used_b)} of {format_size(parts.swap_total_b)}"
        used = text.ellipsize(used, lay.small_px, lay.swap_title.w)
        pos = (lay.swap_foot.x, lay.swap_foot.y + round(lay.small_px * 0.3))
        GLYPHS.draw(surface, used, pos, lay.small_px, pal.text)
    rammap.draw(surface, pal)
    if parts.swap_total_b <= 0:
        msg = text.render("no swap here", px, pal.text_dim)
        surface.blit(msg, msg.get_rect(center=lay.swap_map.center))
    draw_legend(surface, lay, pal, parts)
    draw_gauges(surface, lay.gauges, gauges, smoother, pal, px)
    draw_timeline(surface, lay.timeline, history, pal, lay.small_px)
    draw_caption(surface, caption, pal)


def draw_legend(
    surface: pygame.Surface, layout: Layout, palette: Palette, parts: ArenaParts
) -> None:
    """A swatch and the size of each owner of RAM, left to right while they fit."""
    px = layout.small_px
    x, y = layout.legend.x, layout.legend.y + round(px * 0.4)
    sizes = parts.ram
    for owner in LEGEND_ORDER:
        if owner == 4 and sizes[owner] == 0:
            continue
        label = f"{OWNER_NAMES[owner]} {format_size(sizes[owner])}"
        label_w = GLYPHS.size(label, px)[0]
        need = px + px // 2 + label_w + px
        if x + need > layout.legend.right:
            break
        surface.fill(palette.owners[owner], (x, y + px // 8, px, px))
        GLYPHS.draw(surface, label, (x + px + px // 2, y - px // 8), px, palette.text)
        x += need
