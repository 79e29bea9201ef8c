"""The presenter HUD (fps, frame time, audio, backend, cage, fallbacks) and the `?`
overlay listing the controls."""

from __future__ import annotations

from dataclasses import dataclass

import pygame

from oomphony.cues import Status
from oomphony.picture import text
from oomphony.picture.glyphs import GLYPHS
from oomphony.picture.keys import CONTROLS
from oomphony.picture.layout import Layout
from oomphony.picture.palette import Palette


@dataclass(frozen=True, slots=True)
class HudInfo:
    """The HUD's content: the view's own frame rate and cost, and the runner's Status."""

    fps: float
    frame_ms: float
    status: Status


def _ms(v: float | None) -> str:
    return "—" if v is None else f"{v:.1f}"


def hud_lines(info: HudInfo) -> tuple[str, ...]:
    st = info.status
    lines = [
        f"{info.fps:5.1f} fps  {info.frame_ms:5.1f} ms/frame",
        f"frame p99 {_ms(st.frame_p99_ms)} ms  dropped {st.dropped}",
        f"audio: {st.audio}  underflows {st.underflows}",
        f"backend: {st.backend}",
        f"cage: {st.cage}",
    ]
    if st.osc is not None:
        o = st.osc
        lines.append(
            f"osc: sent {o.sent} (errors {o.send_errors})  cues {o.cues}  ignored {o.ignored}"
        )
    if st.protections:
        lines.append(f"protected: {st.protections}")
    if st.footprint:
        lines.append(f"memory: {st.footprint}")
    if st.has_kill:
        lines.append(
            f"last kill: detect {_ms(st.kill_detect_ms)} ms  screen {_ms(st.kill_screen_ms)} ms"
        )
    if st.fallbacks:
        lines.append("fell back:")
        lines += [f"  {f}" for f in st.fallbacks[:4]]
    lines += [f"FAILURE: {f}" for f in st.failures[:3]]
    return tuple(lines)


def draw_failures(
    surface: pygame.Surface, failures: tuple[str, ...], layout: Layout, palette: Palette
) -> None:
    """What went wrong, on every screen, HUD or not: the show never hides a failure."""
    px = layout.label_px
    lines = [text.ellipsize(f"FAILURE: {f}", px, layout.size[0] - 3 * px) for f in failures[:3]]
    step = round(px * 1.3)
    box = pygame.Rect(px, px, layout.size[0] - 2 * px, step * len(lines) + px)
    _dim_box(surface, box, palette)
    y = box.y + px // 2
    for s in lines:
        surface.blit(text.render(s, px, palette.warn, bold=True), (box.x + px // 2, y))
        y += step


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
        1: (info.status.frame_p99_ms or 0.0) > budget or info.status.dropped > 0,
        2: info.status.underflows > 0,
    }
    for i, s in enumerate(lines):
        failed = s.startswith("FAILURE")
        color = palette.warn if warn.get(i) or failed else palette.text
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
