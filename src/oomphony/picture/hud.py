"""The presenter HUD (fps, frame time, audio, backend, cage, fallbacks) and the `?`
overlay listing the controls."""

from __future__ import annotations

from dataclasses import dataclass

import pygame

from oomphony.picture import text
from oomphony.picture.glyphs import GLYPHS
from oomphony.picture.keys import CONTROLS
from oomphony.picture.layout import Layout
from oomphony.picture.palette import Palette


@dataclass(frozen=True, slots=True)
class HudInfo:
    fps: float
    frame_ms: float
    audio: str  # e.g. "jack 48 kHz", "off (--no-audio)", "muted"
    underflows: int
    backend: str  # live | sim | replay
    cage: str  # e.g. "256 MiB + 512 MiB swap (cgroup v1)" or "none (global)"
    fallbacks: tuple[str, ...] = ()
    frame_p99_ms: float | None = None  # over the last 10 s
    dropped: int = 0  # frame slots missed this show
    kill_detect_ms: float | None = None  # the last OOM kill: kernel → show knew
    kill_screen_ms: float | None = None  # show knew → kill screen on the display
    has_kill: bool = False


def _ms(v: float | None) -> str:
    return "—" if v is None else f"{v:.1f}"


def hud_lines(info: HudInfo) -> tuple[str, ...]:
    lines = [
        f"{info.fps:5.1f} fps  {info.frame_ms:5.1f} ms/frame",
        f"frame p99 {_ms(info.frame_p99_ms)} ms  dropped {info.dropped}",
        f"audio: {info.audio}  underflows {info.underflows}",
        f"backend: {info.backend}",
        f"cage: {info.cage}",
    ]
    if info.has_kill:
        lines.append(
            f"last kill: detect {_ms(info.kill_detect_ms)} ms  screen {_ms(info.kill_screen_ms)} ms"
        )
    if info.fallbacks:
        lines.append("fell back:")
        lines += [f"  {f}" for f in info.fallbacks[:4]]
    return tuple(lines)


def _dim_box(surface: pygame.Surface, rect: pygame.Rect, palette: Palette) -> None:
    rect = rect.clip(surface.get_rect())
    surface.fill((40, 40, 40), rect, special_flags=pygame.BLEND_RGB_MULT)
    pygame.draw.rect(surface, palette.text_dim, rect, width=max(1, rect.h // 150))


def draw_hud(surface: pygame.Surface, info: HudInfo, layout: Layout, palette: Palette) -> None:
    px = layout.small_px
    lines = [text.ellipsize(s, px, layout.hud.w - px) for s in hud_lines(info)]
    step = round(px * 1.25)
    box = pygame.Rect(layout.hud.x, layout.hud.y, layout.hud.w, step * len(lines) + px)
    _dim_box(surface, box, palette)
    y = box.y + px // 2
    budget = 1000.0 / 60.0
    warn = {
        0: info.frame_ms > budget,
        1: (info.frame_p99_ms or 0.0) > budget or info.dropped > 0,
        2: info.underflows > 0,
    }
    for i, s in enumerate(lines):
        color = palette.warn if warn.get(i) else palette.text
        GLYPHS.draw(surface, s, (box.x + px // 2, y), px, color, mono=True)
        y += step


def draw_help(surface: pygame.Surface, layout: Layout, palette: Palette, kiosk: bool) -> None:
    w, h = layout.size
    px = layout.label_px
    key_w = max(text.text_width(k, px, bold=True) for k, _ in CONTROLS) + px * 2
    rows = list(CONTROLS)
    if kiosk:
        rows.append(("kiosk", "the show loops; hold Q or Esc to leave"))
    step = round(px * 1.45)
    box = pygame.Rect(0, 0, round(0.8 * w), step * (len(rows) + 2))
    box.center = (w // 2, h // 2)
    _dim_box(surface, box, palette)
    y = box.y + px // 2
    surface.blit(text.render("controls", px, palette.accent, bold=True), (box.x + px, y))
    y += step * 1.3
    for k, v in rows:
        surface.blit(text.render(k, px, palette.accent, bold=True), (box.x + px, round(y)))
        v = text.ellipsize(v, px, box.w - key_w - 2 * px)
        surface.blit(text.render(v, px, palette.text), (box.x + px + key_w, round(y)))
        y += step
