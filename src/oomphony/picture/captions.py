"""The caption area: the act's title and one plain sentence (classroom: the longer
explanation), sized for the back of a lecture hall.

`caption_layout` is pure: it decides the lines, their size and their boxes, never
going below `min_body_px` (≥ 4 % of the screen height) and never outside the caption
rectangle; text that cannot fit is cut with an ellipsis instead of shrinking further.
"""

from __future__ import annotations

from dataclasses import dataclass

import pygame

from oomphony.picture import text
from oomphony.picture.layout import Layout
from oomphony.picture.palette import Palette

LINE_GAP = 1.18  # line height as a multiple of the font size


@dataclass(frozen=True, slots=True)
class Line:
    text: str
    px: int
    bold: bool
    rect: pygame.Rect  # where the rendered line goes
    role: str  # "title" or "body"


def caption_layout(
    title: str, body: str, layout: Layout, *, classroom: bool = False
) -> tuple[Line, ...]:
    """Lines of the caption; `classroom` gives the (longer) body more room under a
    smaller title."""
    area = layout.caption
    lines: list[Line] = []
    y = area.y
    if title:
        tpx = (
            round(layout.body_px * 1.15) if classroom else layout.title_px
        )  # shrink a long title (not below the body's floor) before cutting
        while tpx > layout.min_body_px and text.text_width(title, tpx, bold=True) > area.w:
            tpx = max(layout.min_body_px, tpx - max(1, tpx // 12))
        t = text.ellipsize(title, tpx, area.w, bold=True)
        w, h = text.font(tpx, bold=True).size(t)
        lines.append(Line(t, tpx, True, pygame.Rect(area.x, y, w, h), "title"))
        y += round(tpx * LINE_GAP)
    if not body:
        return tuple(lines)
    room = area.bottom - y
    px = layout.body_px
    while True:
        wrapped = text.wrap(body, px, area.w)
        step = round(px * LINE_GAP)
        fits = max(0, (room - (text.font(px).get_height() - step)) // step)
        if len(wrapped) <= fits or px <= layout.min_body_px:
            break
        px = max(layout.min_body_px, px - max(1, px // 12))
    if len(wrapped) > fits:
        wrapped = wrapped[: max(0, fits)]
        if wrapped:
            wrapped[-1] = text.ellipsize(wrapped[-1] + " …", px, area.w)
    f = text.font(px)
    for s in wrapped:
        w, h = f.size(s)
        lines.append(Line(s, px, False, pygame.Rect(area.x, y, w, h), "body"))
        y += round(px * LINE_GAP)
    return tuple(lines)


def draw_caption(surface: pygame.Surface, lines: tuple[Line, ...], palette: Palette) -> None:
    for ln in lines:
        color = palette.accent if ln.role == "title" else palette.text
        surface.blit(text.render(ln.text, ln.px, color, bold=ln.bold, shadow=True), ln.rect)
