"""The noise field: the talk's `/dev/random` piped to the framebuffer.

A noise atlas is made once per screen size (fresh random bytes every frame cost 5–14 ms
at 1080p; blitting a pre-made atlas at a random offset about 0.5 ms,
docs/architecture.md "Measured facts"). The atlas holds grey levels in an 8-bit
surface: thinning (subtracting a constant: fewer pixels survive, the density) and
tinting (multiplying a colour: brightness and hue) are done by its 256-colour palette,
so a new look costs nothing per pixel, and an 8-bit blit reads a quarter of the bytes of
a 32-bit one (measured at 1080p: 0.6 ms against 1.1 ms). The panels' dimmed noise is a
second palette over the same levels, so no pixel is drawn twice. `noise_params` decides
density and tint from the act and the allocation rate; it is a pure function.
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


def make_atlas(size: tuple[int, int], seed: int) -> np.ndarray:
    """Grey noise levels (0..255, indexed [x, y]) PAD larger than `size`, in blocks of
    GRAIN×GRAIN. Values are skewed toward dark (u³) so that thinning leaves sparse
    bright sparks."""
    w, h = size[0] + PAD, size[1] + PAD
    gw, gh = math.ceil(w / GRAIN), math.ceil(h / GRAIN)
    rng = np.random.default_rng(seed)
    u = rng.random((gw, gh), dtype=np.float32)
    grey = (u * u * u * 255.0).astype(np.uint8)
    return np.repeat(np.repeat(grey, GRAIN, axis=0), GRAIN, axis=1)[:w, :h]


_LEVELS = np.arange(256, dtype=np.int32)


def _mult(a: np.ndarray, c: np.ndarray) -> np.ndarray:
    """pygame's BLEND_RGB_MULT of levels `a` by channel values `c` (broadcast)."""
    return np.where((a > 0) & (c > 0), (a * c + 255) >> 8, 0)


def level_colors(cut: int, tint: RGB, dim: RGB | None = None) -> list[list[int]]:
    """The colour each grey level becomes: thinned (minus `cut`, floored at 0), tinted
    (multiplied by `tint`) and, under a panel, dimmed (multiplied by `dim`), with the same
    integer arithmetic as pygame's BLEND_RGB_SUB and BLEND_RGB_MULT fills."""
    v = np.maximum(0, _LEVELS - max(0, min(255, cut)))[:, None]
    rgb = _mult(v, np.array(tint, dtype=np.int32)[None, :])
    if dim is not None:
        rgb = _mult(rgb, np.array(dim, dtype=np.int32)[None, :])
    return rgb.tolist()


def subtract(outer: pygame.Rect, holes: list[pygame.Rect]) -> list[pygame.Rect]:
    """Disjoint rectangles covering the part of `outer` that no hole covers."""
    pieces = [pygame.Rect(outer)]
    for hole in holes:
        out: list[pygame.Rect] = []
        for r in pieces:
            cut = r.clip(hole)
            if cut.w == 0 or cut.h == 0:
                out.append(r)
                continue
            if cut.top > r.top:
                out.append(pygame.Rect(r.x, r.y, r.w, cut.top - r.top))
            if cut.bottom < r.bottom:
                out.append(pygame.Rect(r.x, cut.bottom, r.w, r.bottom - cut.bottom))
            if cut.left > r.left:
                out.append(pygame.Rect(r.x, cut.y, cut.left - r.left, cut.h))
            if cut.right < r.right:
                out.append(pygame.Rect(cut.right, cut.y, r.right - cut.right, cut.h))
        pieces = out
    return pieces


def noise_regions(
    size: tuple[int, int], panels: list[pygame.Rect], opaque: list[pygame.Rect]
) -> tuple[list[pygame.Rect], list[pygame.Rect]]:
    """Where the noise goes at full strength (outside every panel) and dimmed (inside a
    panel), as disjoint rectangles; nothing under `opaque` rectangles (drawn over anyway).
    Every other pixel of the screen is written exactly once."""
    screen = pygame.Rect(0, 0, *size)
    bright = subtract(screen, panels)
    dim: list[pygame.Rect] = []
    for i, p in enumerate(panels):
        dim += subtract(p.clip(screen), panels[:i] + opaque)
    return bright, dim


class NoiseField:
    """Draws the noise: an 8-bit atlas of grey levels whose palette does the thinning and
    the tint (a change of parameters costs 256 colours, not a pass over the screen); each
    frame is one blit of the atlas at a random offset, a full-strength copy outside the
    panels and a dimmed copy (its own palette) inside them."""

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed
        self.rng = np.random.default_rng(seed + 1)
        self.atlas: pygame.Surface | None = None  # full strength
        self.dimmed: pygame.Surface | None = None  # the same levels, for under the panels
        self._size: tuple[int, int] | None = None
        self._keys: dict[str, tuple | None] = {"bright": None, "dim": None}

    @staticmethod
    def quantise(params: NoiseParams) -> tuple[int, RGB]:
        """The level cut and tint for `params`. u³ noise: a pixel survives a cut c when
        u > (c/255)^(1/3), so density d needs c = 255 (1 − d)³; survivors keep a range
        of 255 − c, then take the tint."""
        d = min(1.0, max(0.0, params.density))
        tint = tuple(min(255, max(0, int(c))) for c in params.tint)
        return round(255 * (1.0 - d) ** 3), tint  # type: ignore[return-value]

    def _ensure(self, size: tuple[int, int]) -> None:
        if self.atlas is not None and self._size == size:
            return
        levels = make_atlas(size, self.seed)
        self.atlas = pygame.Surface(levels.shape, 0, 8)
        pygame.surfarray.blit_array(self.atlas, levels)
        self.dimmed = self.atlas.copy()
        self._size = size
        self._keys = {"bright": None, "dim": None}

    def _tint(self, which: str, surf: pygame.Surface, key: tuple) -> None:
        if self._keys[which] != key:
            self._keys[which] = key
            surf.set_palette(level_colors(*key))

    def draw(
        self,
        surface: pygame.Surface,
        params: NoiseParams,
        regions: tuple[list[pygame.Rect], list[pygame.Rect]] | None = None,
        dim: RGB | None = None,
    ) -> None:
        """Noise over the whole surface, or over `regions` (full-strength rectangles,
        dimmed rectangles, from `noise_regions`) with `dim` multiplied into the second."""
        size = surface.get_size()
        self._ensure(size)
        assert self.atlas is not None and self.dimmed is not None
        cut, tint = self.quantise(params)
        self._tint("bright", self.atlas, (cut, tint, None))
        ox, oy = (int(v) * GRAIN for v in self.rng.integers(0, PAD // GRAIN, size=2))
        if regions is None:
            surface.blit(self.atlas, (0, 0), pygame.Rect(ox, oy, size[0], size[1]))
            return
        bright, dimmed = regions
        for r in bright:
            surface.blit(self.atlas, r.topleft, r.move(ox, oy))
        if dimmed:
            self._tint("dim", self.dimmed, (cut, tint, dim or (255, 255, 255)))
            for r in dimmed:
                surface.blit(self.dimmed, r.topleft, r.move(ox, oy))
