"""The RAM map and the swap area: memory as cells coloured by owner.

Cells keep their owner from frame to frame (`arena.reassign` changes as few as
possible), so the page cache visibly gives way to the allocator at its front, and a
cell that changes owner flashes briefly. Pages going out to swap fly from the RAM map
into the swap area (and back on swap-in); a swap cell lights up when its page lands.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pygame

from oomphony.picture.arena import ArenaParts, cell_counts, reassign
from oomphony.picture.layout import Grid, fit_cells, max_cells
from oomphony.picture.palette import ALLOC, FREE, Palette

FLASH_S = 0.5  # a cell that changed owner glows this long
FLIGHT_S = 0.7  # a page's flight between RAM and swap
MAX_NEW_FLIGHTS = 24  # per update, so a burst of swapping stays readable
MAX_FLIGHTS = 240


@dataclass(slots=True)
class Flight:
    start: tuple[float, float]
    end: tuple[float, float]
    t0: float
    owner: int


class CellField:
    """Owners of a grid's first `n` cells, with change flashes and arrival times."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.owners = np.zeros(n, dtype=np.int64)
        self.flash = np.zeros(n, dtype=np.float32)
        self.arrive_t = np.zeros(n, dtype=np.float64)

    def apply(self, counts: tuple[int, ...], *, flash: bool) -> np.ndarray:
        self.owners, changed = reassign(self.owners, counts)
        if flash:
            self.flash[changed] = 1.0
        return changed

    def colors(self, table: np.ndarray, now_s: float) -> np.ndarray:
        shown = np.where(self.arrive_t > now_s, FREE, self.owners)
        rgb = table[shown].astype(np.float32)
        f = np.ceil(self.flash[:, None] * 4.0) / 4.0  # 4 steps: fewer redraws of the map
        return (rgb + (255.0 - rgb) * (0.65 * f)).astype(np.uint8)


TILE_CACHE_MAX = 256  # cell tiles kept (a palette has about 30 cell colours)


class CellLayer:
    """A grid drawn as one opaque surface in the target's pixel format: the gap colour
    once, then a tile per cell; only the cells whose colour changed are repainted (most
    frames: none or a few), all in one `blits` call, then the layer is one plain blit."""

    def __init__(self, grid: Grid) -> None:
        self.grid = grid
        self._key: tuple | None = None
        self._last: np.ndarray | None = None
        self._tiles: dict[tuple[int, int, int], pygame.Surface] = {}
        inner = grid.cell_px - grid.gap_px
        self._inner = max(1, inner)
        r, c = np.divmod(np.arange(grid.n), grid.cols)
        self._pos = list(zip((c * grid.cell_px).tolist(), (r * grid.cell_px).tolist(), strict=True))

    def _surfaces(self, target: pygame.Surface, gap_rgb) -> None:
        self.big = pygame.Surface(self.grid.rect.size, 0, target)
        self.big.fill(gap_rgb)
        self._target = target
        self._tiles.clear()
        self._last = None

    def _tile(self, color: tuple[int, int, int]) -> pygame.Surface:
        tile = self._tiles.get(color)
        if tile is None:
            if len(self._tiles) >= TILE_CACHE_MAX:
                self._tiles.clear()
            tile = pygame.Surface((self._inner, self._inner), 0, self._target)
            tile.fill(color)
            self._tiles[color] = tile
        return tile

    def draw(self, surface: pygame.Surface, rgb: np.ndarray, gap_rgb) -> None:
        g = self.grid
        key = (surface.get_bitsize(), surface.get_masks(), gap_rgb)
        if key != self._key:
            self._surfaces(surface, gap_rgb)
            self._key = key
        full = np.empty((g.n, 3), dtype=np.uint8)
        full[:] = gap_rgb
        k = min(len(rgb), g.n)
        full[:k] = rgb[:k]
        last = self._last
        changed = np.arange(g.n) if last is None else np.flatnonzero((full != last).any(axis=1))
        if len(changed):
            pos, tile = self._pos, self._tile
            self.big.blits(
                [
                    (tile(tuple(col)), pos[i])
                    for i, col in zip(changed.tolist(), full[changed].tolist(), strict=True)
                ],
                doreturn=False,
            )
        self._last = full
        surface.blit(self.big, g.rect)


class RamMap:
    """State and drawing of the RAM map and the swap area."""

    def __init__(self, ram_grid: Grid, swap_area: pygame.Rect, seed: int = 0) -> None:
        self.rng = np.random.default_rng(seed)
        self.t_s = 0.0
        self.flights: list[Flight] = []
        self._sprites: dict[tuple, pygame.Surface] = {}
        self.set_geometry(ram_grid, swap_area)

    def set_geometry(self, ram_grid: Grid, swap_area: pygame.Rect) -> None:
        """New geometry (a resize): cells are re-dealt without flashes or flights."""
        self.ram_grid, self.swap_area = ram_grid, swap_area
        self.swap_grid = fit_cells(swap_area, 1, ram_grid.cell_px)
        self.ram = CellField(ram_grid.n)
        self.swap = CellField(0)
        self.flights.clear()
        self.ram_layer = CellLayer(ram_grid)
        self.swap_layer = CellLayer(self.swap_grid)
        self._primed = False
        self.bytes_per_cell = 0.0

    def reset(self) -> None:
        self.set_geometry(self.ram_grid, self.swap_area)

    def swap_cells_for(self, swap_total_b: int, ram_b: int) -> int:
        """Swap cells at the RAM map's bytes per cell (at least 8), kept to what the swap
        area can hold with cells no smaller than a third of a RAM cell."""
        if swap_total_b <= 0:
            return 0
        per_cell = max(1.0, ram_b / max(1, self.ram.n))
        want = max(8, round(swap_total_b / per_cell))
        cap = max_cells(self.swap_area, max(3, self.ram_grid.cell_px // 3))
        return int(min(want, cap))

    def update(self, dt_s: float, parts: ArenaParts) -> None:
        self.t_s += max(0.0, dt_s)
        now = self.t_s
        flash = self._primed
        self.bytes_per_cell = parts.ram_b / max(1, self.ram.n)
        self.ram.flash = np.maximum(0.0, self.ram.flash - dt_s / FLASH_S).astype(np.float32)
        self.ram.apply(cell_counts(parts.ram, self.ram.n), flash=flash)
        n_swap = self.swap_cells_for(parts.swap_total_b, parts.ram_b)
        if n_swap != self.swap.n:
            self.swap = CellField(n_swap)
            if n_swap:
                self.swap_grid = fit_cells(self.swap_area, n_swap, self.ram_grid.cell_px)
                self.swap_layer = CellLayer(self.swap_grid)
            flash = False
        if n_swap:
            self.swap.flash = np.maximum(0.0, self.swap.flash - dt_s / FLASH_S).astype(np.float32)
            before = self.swap.owners.copy()
            changed = self.swap.apply(cell_counts(parts.swap, n_swap), flash=False)
            if flash and changed.any():
                self._launch(before, changed, now)
        self.flights = [f for f in self.flights if now - f.t0 < FLIGHT_S]
        self._primed = True

    def _launch(self, before: np.ndarray, changed: np.ndarray, now: float) -> None:
        idx = np.flatnonzero(changed)
        if len(idx) > MAX_NEW_FLIGHTS:
            idx = np.sort(self.rng.choice(idx, MAX_NEW_FLIGHTS, replace=False))
        found: dict[int, np.ndarray] = {}

        def cells_of(owner: int) -> np.ndarray:
            if owner not in found:
                found[owner] = np.flatnonzero(self.ram.owners == owner)
            return found[owner]

        for k, i in enumerate(idx):
            owner_out = int(self.swap.owners[i])
            going_out = owner_out != FREE
            owner = owner_out if going_out else int(before[i])
            ram_cells = cells_of(owner)
            if len(ram_cells) == 0:
                ram_cells = cells_of(ALLOC)
            if len(ram_cells) == 0:
                ram_cells = np.arange(self.ram.n)
            j = int(self.rng.choice(ram_cells))
            a, b = self.ram_grid.cell_center(j), self.swap_grid.cell_center(int(i))
            t0 = now + 0.02 * k  # a stream, not a single jump
            if going_out:
                self.flights.append(Flight(a, b, t0, owner))
                self.swap.arrive_t[i] = t0 + FLIGHT_S
                self.swap.flash[i] = 1.0
            else:
                self.flights.append(Flight(b, a, t0, owner))
        del self.flights[:-MAX_FLIGHTS]

    def draw(self, surface: pygame.Surface, palette: Palette) -> None:
        table = np.array(palette.owners, dtype=np.uint8)
        gap = palette.background
        now = self.t_s
        self.ram_layer.draw(surface, self.ram.colors(table, now), gap)
        if self.swap.n:
            swap_table = table.copy()
            swap_table[FREE] = palette.swap_empty
            self.swap_layer.draw(surface, self.swap.colors(swap_table, now), gap)
        self._draw_flights(surface, palette, now)

    def _sprite(self, owner: int, s: int, palette: Palette) -> pygame.Surface:
        """A flying page: a square of the owner's colour with a white edge, drawn once per
        (owner, size) and then blitted (two draw calls per page per frame made the
        busiest swap frames the slowest)."""
        key = (owner, s, palette.owners[owner])
        surf = self._sprites.get(key)
        if surf is None:
            surf = pygame.Surface((s, s))
            surf.fill(palette.owners[owner])
            pygame.draw.rect(surf, (255, 255, 255), (0, 0, s, s), width=max(1, s // 8))
            self._sprites[key] = surf
        return surf

    def _draw_flights(self, surface: pygame.Surface, palette: Palette, now: float) -> None:
        size = max(3, self.ram_grid.cell_px - self.ram_grid.gap_px)
        blits = []
        for f in self.flights:
            u = (now - f.t0) / FLIGHT_S
            if u < 0.0 or u > 1.0:
                continue
            e = u * u * (3 - 2 * u)  # ease in and out
            x = f.start[0] + (f.end[0] - f.start[0]) * e
            y = (
                f.start[1]
                + (f.end[1] - f.start[1]) * e
                - 0.25 * self.ram_grid.rect.h * (4 * e * (1 - e))
            )  # an arc, so the flight reads as a movement
            s = round(size * (1.0 - 0.4 * e))
            blits.append((self._sprite(f.owner, s, palette), (round(x - s / 2), round(y - s / 2))))
        surface.blits(blits, doreturn=False)
