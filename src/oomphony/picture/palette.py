"""Colours of the show: one default palette and one colour-blind-safe palette.

The colour-blind palette takes its hues from Okabe & Ito's "Color Universal Design"
set (orange, sky blue, bluish green, reddish purple, vermillion), which stays
distinguishable under protanopia, deuteranopia and tritanopia. Every colour that
carries meaning sits on a near-black background with high contrast.
"""

from __future__ import annotations

from dataclasses import dataclass

from oomphony.errors import UsageError

RGB = tuple[int, int, int]

# Owners of a RAM cell, in the order the map's colour table uses.
FREE, CACHE, OTHER, ALLOC, SLEEPER = range(5)
OWNER_NAMES = ("free", "page cache", "others", "the hog", "sleeper")


@dataclass(frozen=True, slots=True)
class Palette:
    name: str
    background: RGB
    panel_dim: RGB  # multiplied into the noise behind a panel (BLEND_RGB_MULT)
    text: RGB
    text_dim: RGB
    accent: RGB  # titles
    free: RGB
    cache: RGB
    other: RGB
    alloc: RGB
    sleeper: RGB
    swap_empty: RGB
    danger: RGB  # kill, full pressure
    warn: RGB  # some pressure, swap traffic
    ok: RGB
    terminal: RGB  # the kernel's line, typed out
    noise_calm: RGB
    noise_swap: RGB

    @property
    def owners(self) -> tuple[RGB, RGB, RGB, RGB, RGB]:
        """Colours indexed by FREE, CACHE, OTHER, ALLOC, SLEEPER."""
        return (self.free, self.cache, self.other, self.alloc, self.sleeper)


DEFAULT = Palette(
    name="default",
    background=(6, 6, 12),
    panel_dim=(70, 70, 84),
    text=(245, 245, 250),
    text_dim=(165, 170, 185),
    accent=(255, 214, 102),
    free=(40, 48, 64),
    cache=(40, 200, 225),
    other=(130, 136, 150),
    alloc=(255, 46, 99),
    sleeper=(170, 110, 255),
    swap_empty=(28, 22, 34),
    danger=(255, 40, 40),
    warn=(255, 170, 40),
    ok=(90, 220, 120),
    terminal=(120, 255, 140),
    noise_calm=(110, 150, 255),
    noise_swap=(255, 70, 120),
)

COLORBLIND = Palette(
    name="colorblind",
    background=(0, 0, 0),
    panel_dim=(70, 70, 70),
    text=(255, 255, 255),
    text_dim=(190, 190, 190),
    accent=(240, 228, 66),  # yellow
    free=(48, 52, 60),
    cache=(86, 180, 233),  # sky blue
    other=(150, 150, 150),
    alloc=(230, 159, 0),  # orange
    sleeper=(204, 121, 167),  # reddish purple
    swap_empty=(26, 26, 26),
    danger=(213, 94, 0),  # vermillion
    warn=(240, 228, 66),
    ok=(0, 158, 115),  # bluish green
    terminal=(240, 240, 240),
    noise_calm=(86, 180, 233),
    noise_swap=(230, 159, 0),
)

PALETTES = {p.name: p for p in (DEFAULT, COLORBLIND)}


def get_palette(name: str) -> Palette:
    try:
        return PALETTES[name]
    except KeyError:
        known = ", ".join(PALETTES)
        raise UsageError(f"unknown palette {name!r}; choose one of: {known}") from None


def mix(a: RGB, b: RGB, t: float) -> RGB:
    """Linear blend from a (t=0) to b (t=1), clamped."""
    t = min(1.0, max(0.0, t))
    return (
        round(a[0] + (b[0] - a[0]) * t),
        round(a[1] + (b[1] - a[1]) * t),
        round(a[2] + (b[2] - a[2]) * t),
    )


def scale(c: RGB, k: float) -> RGB:
    return (min(255, round(c[0] * k)), min(255, round(c[1] * k)), min(255, round(c[2] * k)))
