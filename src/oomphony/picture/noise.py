"""The noise field: the talk's `/dev/random` piped to the framebuffer.

A noise atlas is made once per screen size (fresh random bytes every frame cost 5–14 ms
at 1080p; blitting a pre-made atlas at a random offset about 0.5 ms,
docs/architecture.md "Measured facts"). Each frame the atlas is copied at a random
offset, thinned by subtracting a constant (fewer pixels survive: density) and tinted by
multiplying a colour (brightness and hue). `noise_params` decides those from the act and
the allocation rate; it is a pure function.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pygame

from oomphony.cues import Act
from oomphony.picture.palette import RGB, Palette, mix, scale

PAD = 96  # atlas is this much larger than the screen on each axis (room for offsets)
GRAIN = 2  # one noise "pixel" is GRAIN×GRAIN screen pixels: chunky, like a CRT


@dataclass(frozen=True, slots=True)
class NoiseParams:
    density: float  # 0..1: share of noise pixels that survive
    tint: RGB  # multiplied into the surviving noise: hue and brightness


def rate_level(rate_bps: float, limit_b: int) -> float:
    """Allocation rate on a 0..1 scale: log-scaled fill speed of the arena; 1 = filling
    the arena in one second or faster, 0 = ≥ 1000 s to fill (or not allocating)."""
    if rate_bps <= 0 or limit_b <= 0:
        return 0.0
    fill_per_s = rate_bps / limit_b
    return min(1.0, max(0.0, 1.0 + math.log10(fill_per_s) / 3.0))


def noise_params(
    act: Act,
    rate: float,
    pressure: float,
    since_act_s: float,
    palette: Palette,
    *,
    kill_age_s: float | None = None,
) -> NoiseParams:
    """Density and tint of the noise for an act, a rate level (0..1), PSI some (0..1) and
    the time since the act began: calm → cache drain → swap → kill flash → black."""
    rate = min(1.0, max(0.0, rate))
    pressure = min(1.0, max(0.0, pressure))
    if kill_age_s is not None and act in (Act.KILL, Act.EPILOGUE):
        # After the flash (drawn by the kill screen) the field dies out to black.
        k = max(0.0, 1.0 - kill_age_s / 1.5)
        return NoiseParams(0.6 * k, scale(palette.noise_swap, k))
    if act is Act.ATTRACT:
        breath = 0.5 + 0.5 * math.sin(since_act_s * 0.8)
        return NoiseParams(0.10 + 0.08 * breath, scale(palette.noise_calm, 0.6 + 0.2 * breath))
    if act is Act.OVERTURE:
        return NoiseParams(0.15 + 0.30 * rate, scale(palette.noise_calm, 0.6 + 0.4 * rate))
    if act is Act.CACHE:
        hue = mix(palette.noise_calm, palette.cache, min(1.0, since_act_s / 3.0))
        return NoiseParams(0.35 + 0.30 * rate, scale(hue, 0.75 + 0.25 * rate))
    if act is Act.SWAP:
        hue = mix(palette.cache, palette.noise_swap, min(1.0, since_act_s / 2.0))
        return NoiseParams(
            0.45 + 0.25 * rate + 0.30 * pressure, scale(hue, 0.8 + 0.2 * rate + 0.2 * pressure)
        )
    if act is Act.KILL:
        return NoiseParams(0.7, scale(palette.noise_swap, 0.8))
    # EPILOGUE without a kill: nearly black, a faint calm hiss.
    return NoiseParams(0.08, scale(palette.noise_calm, 0.35))


def make_atlas(size: tuple[int, int], template: pygame.Surface, seed: int) -> pygame.Surface:
    """A grey noise surface PAD larger than `size`, in `template`'s pixel format. Values
    are skewed toward dark (u³) so that thinning leaves sparse bright sparks."""
    w, h = size[0] + PAD, size[1] + PAD
    gw, gh = math.ceil(w / GRAIN), math.ceil(h / GRAIN)
    rng = np.random.default_rng(seed)
    u = rng.random((gw, gh), dtype=np.float32)
    grey = (u * u * u * 255.0).astype(np.uint8)
    small = pygame.Surface((gw, gh), 0, 24)
    pygame.surfarray.blit_array(small, np.repeat(grey[:, :, None], 3, axis=2))
    big = pygame.transform.scale(small, (gw * GRAIN, gh * GRAIN))
    atlas = pygame.Surface((w, h), 0, template)
    atlas.blit(big, (0, 0))
    return atlas


# A re-tint is three passes over the whole atlas (~2 ms at 1080p, measured): done at once
# it made a tenth of the frames the slowest ones. It is spread over this many frames
# instead, into a second atlas shown when complete (a lag of a few frames, invisible in
# noise).
COOK_STRIPS = 4


class NoiseField:
    """Draws the noise: the raw atlas is thinned and tinted into a second atlas only when
    the (quantised) parameters change, a strip per frame; each frame is then one blit of
    the last complete atlas at a random offset."""

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed
        self.rng = np.random.default_rng(seed + 1)
        self.raw: pygame.Surface | None = None
        self.cooked: pygame.Surface | None = None  # shown
        self._next: pygame.Surface | None = None  # being cooked
        self._raw_key: tuple | None = None
        self._cook_key: tuple | None = None  # what `cooked` shows
        self._next_key: tuple | None = None  # what `_next` is becoming
        self._strip = 0

    @staticmethod
    def quantise(params: NoiseParams) -> tuple[int, tuple[int, int, int]]:
        d = min(1.0, max(0.0, params.density))
        cut = round(255 * (1.0 - d) ** 3)
        # u³ noise: a pixel survives a cut c when u > (c/255)^(1/3), so density d needs
        # c = 255 (1 − d)³; survivors keep a range of 255 − c, then take the tint.
        # Coarse steps (invisible in noise) so that ramps re-tint the atlas only now and then.
        tint = (params.tint[0] & ~15, params.tint[1] & ~15, params.tint[2] & ~15)
        return cut & ~7, tint

    def _cook(self, dest: pygame.Surface, key: tuple, rect: pygame.Rect) -> None:
        cut, tint = key
        dest.blit(self.raw, rect.topleft, rect)
        if cut > 0:
            dest.fill((cut, cut, cut), rect, special_flags=pygame.BLEND_RGB_SUB)
        dest.fill(tint, rect, special_flags=pygame.BLEND_RGB_MULT)

    def _step_cook(self, want: tuple) -> None:
        """Advance the background re-tint by one strip toward `want`."""
        assert self.raw is not None and self._next is not None
        if want != self._next_key:  # new target: start over
            self._next_key, self._strip = want, 0
        w, h = self.raw.get_size()
        y0 = h * self._strip // COOK_STRIPS
        y1 = h * (self._strip + 1) // COOK_STRIPS
        self._cook(self._next, want, pygame.Rect(0, y0, w, y1 - y0))
        self._strip += 1
        if self._strip == COOK_STRIPS:
            self.cooked, self._next = self._next, self.cooked
            self._cook_key, self._next_key, self._strip = want, None, 0

    def draw(self, surface: pygame.Surface, params: NoiseParams) -> None:
        size = surface.get_size()
        key = (size, surface.get_bitsize(), surface.get_masks())
        want = self.quantise(params)
        if self.raw is None or self._raw_key != key:
            self.raw = make_atlas(size, surface, self.seed)
            self.cooked, self._next = self.raw.copy(), self.raw.copy()
            self._cook(self.cooked, want, self.raw.get_rect())  # the first one at once
            self._raw_key, self._cook_key, self._next_key, self._strip = key, want, None, 0
        elif want != self._cook_key or self._next_key is not None:
            self._step_cook(want)
        assert self.cooked is not None
        ox, oy = (int(v) * GRAIN for v in self.rng.integers(0, PAD // GRAIN, size=2))
        surface.blit(self.cooked, (0, 0), pygame.Rect(ox, oy, size[0], size[1]))
