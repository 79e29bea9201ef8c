"""Changing figures (gauge values, the HUD) drawn from cached glyphs.

A figure such as "83 MiB/s" changes many times a second; rendering it with the font
each time cost 0.05–0.3 ms per string, and every new string also went into the text
cache, whose periodic clearing made one frame re-render every label at once. Here each
character is rendered once per (size, colour, style) and a string is one `blits` call of
its glyphs, placed by the font's advances (DejaVu's digits have one width, so figures
do not jitter). Drop shadows are a dark pass under the light one, as `text.render` does.
"""

from __future__ import annotations

import pygame

from oomphony.picture import text

RGB = tuple[int, int, int]
SHADOW: RGB = (0, 0, 0)
MAX_GLYPHS = 4000  # characters × sizes × colours; a show uses a few hundred


class Glyphs:
    def __init__(self) -> None:
        self._glyphs: dict[tuple, tuple[pygame.Surface, int]] = {}

    def _glyph(self, ch: str, px: int, color: RGB, bold: bool, mono: bool):
        key = (ch, px, color, bold, mono)
        g = self._glyphs.get(key)
        if g is None:
            if len(self._glyphs) >= MAX_GLYPHS:
                self._glyphs.clear()
            f = text.font(px, bold=bold, mono=mono)
            metrics = f.metrics(ch)
            advance = metrics[0][4] if metrics and metrics[0] else f.size(ch)[0]
            g = (f.render(ch, True, color), advance)
            self._glyphs[key] = g
        return g

    @staticmethod
    def shadow_px(px: int, *, bold: bool = False, mono: bool = False) -> int:
        return max(1, text.font(px, bold=bold, mono=mono).get_height() // 14)

    def size(
        self, s: str, px: int, *, bold: bool = False, mono: bool = False, shadow: bool = False
    ) -> tuple[int, int]:
        w = sum(self._glyph(ch, px, SHADOW, bold, mono)[1] for ch in s)
        h = text.font(px, bold=bold, mono=mono).get_height()
        d = self.shadow_px(px, bold=bold, mono=mono) if shadow else 0
        return w + d, h + d

    def draw(
        self,
        surface: pygame.Surface,
        s: str,
        pos: tuple[int, int],
        px: int,
        color: RGB,
        *,
        bold: bool = False,
        mono: bool = False,
        shadow: bool = False,
    ) -> None:
        x0, y = pos
        passes = [(color, 0)]
        if shadow:
            passes.insert(0, (SHADOW, self.shadow_px(px, bold=bold, mono=mono)))
        seq = []
        for col, d in passes:
            x = x0
            for ch in s:
                surf, adv = self._glyph(ch, px, col, bold, mono)
                seq.append((surf, (x + d, y + d)))
                x += adv
        surface.blits(seq, doreturn=False)


GLYPHS = Glyphs()  # shared by the gauges and the HUD
