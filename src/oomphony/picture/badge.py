"""The honest label: a small badge in the caption area's top-right corner saying that the
show is simulated, or a replay of a recorded show (where and when it was recorded).
A live show has none: it is what it claims to be.

`badge_lines` and `badge_layout` are pure; `draw_badge` only paints. The badge is drawn
on every screen (the scene, the kill screen, the kiosk's attract screen).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pygame

from oomphony.picture import text
from oomphony.picture.layout import Layout
from oomphony.picture.palette import Palette
from oomphony.sources.base import Origin

MAX_SHARE = 0.40  # the badge takes at most this share of the caption's width


@dataclass(frozen=True, slots=True)
class BadgeLine:
    text: str
    px: int
    bold: bool
    rect: pygame.Rect


@dataclass(frozen=True, slots=True)
class Badge:
    box: pygame.Rect  # the filled box; captions keep clear of it
    lines: tuple[BadgeLine, ...]


def recorded_when(started: str) -> str:
    """A trace header's ISO-8601 start as "2026-11-26 14:26 UTC" (as given if unreadable)."""
    try:
        t = datetime.fromisoformat(started)
    except ValueError:
        return started
    if t.tzinfo is None:
        return t.strftime("%Y-%m-%d %H:%M")
    return t.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def badge_lines(origin: Origin) -> tuple[str, ...]:
    """What the badge says, first line in bold; () for a live show."""
    if origin.kind == "sim":
        return ("SIMULATED", "not the real kernel")
    if origin.kind != "replay":
        return ()
    head = "REPLAY of a simulated show" if origin.simulated else "REPLAY"
    where = f"recorded on {origin.host}" if origin.host else "recorded"
    when = recorded_when(origin.recorded) if origin.recorded else ""
    return (head, where, when) if when else (head, where)


def badge_layout(origin: Origin, layout: Layout) -> Badge | None:
    words = badge_lines(origin)
    if not words:
        return None
    area = layout.caption
    limit = round(MAX_SHARE * area.w)
    pad = max(3, layout.small_px // 3)
    sizes = [round(layout.label_px * 1.25)] + [layout.label_px] * (len(words) - 1)
    floor = max(9, layout.small_px * 3 // 4)
    sizes = [
        text.fit_px(s, px, limit - 2 * pad, min(px, floor), bold=i == 0)
        for i, (s, px) in enumerate(zip(words, sizes, strict=True))
    ]
    # every line of the badge fits its box: a host name too long even at the floor wraps
    parts: list[tuple[str, int, bool]] = []
    for i, (s, px) in enumerate(zip(words, sizes, strict=True)):
        parts += [(p, px, i == 0) for p in text.wrap(s, px, limit - 2 * pad, bold=i == 0)]
    w = max(text.text_width(s, px, bold=b) for s, px, b in parts) + 2 * pad
    box = pygame.Rect(area.right - w, area.y, w, 0)
    y = box.y + pad
    lines = []
    for s, px, b in parts:
        h = text.font(px, bold=b).get_height()
        lines.append(
            BadgeLine(s, px, b, pygame.Rect(box.x + pad, y, text.text_width(s, px, bold=b), h))
        )
        y += h
    box.h = y + pad - box.y
    return Badge(box, tuple(lines))


def draw_badge(surface: pygame.Surface, badge: Badge, palette: Palette) -> None:
    surface.fill(palette.background, badge.box)
    pygame.draw.rect(surface, palette.warn, badge.box, width=max(2, badge.box.h // 20))
    for ln in badge.lines:
        color = palette.warn if ln.bold else palette.text
        text.draw(surface, ln.text, ln.px, color, ln.rect.topleft, role="badge", bold=ln.bold)
