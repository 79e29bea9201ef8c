"""The arena as cells: who owns each cell of RAM and of swap. Pure functions, no pygame.

The arena is the memory the allocator competes for: the cage when caged (its limit is
free + page cache + allocator + sleeper + other), the machine otherwise. Each cell of
the map stands for `limit_b / n` bytes; counts are rounded with the largest-remainder
method so the cells always add up and each owner is within one cell of its share.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from oomphony.frame import AllocState, MemoryFrame
from oomphony.picture.palette import ALLOC, CACHE, FREE, OTHER, SLEEPER

N_OWNERS = 5
# Where an owner takes free cells (True: lowest index first) and which of its own cells it
# gives back first (True: lowest first). The allocator grows from the start of the map and
# the cache sits at the end, so when the allocator needs room the cache gives way at its
# front, next to the allocator.
_TAKE_LOW = {OTHER: True, SLEEPER: True, ALLOC: True, CACHE: False}
_RELEASE_LOW = {OTHER: False, SLEEPER: False, ALLOC: False, CACHE: True}
_GROW_ORDER = (OTHER, SLEEPER, ALLOC, CACHE)


@dataclass(frozen=True, slots=True)
class ArenaParts:
    """The arena split by owner, in bytes. RAM parts add up to `ram_b`."""

    ram_b: int
    free_b: int
    cache_b: int
    other_b: int
    alloc_b: int
    sleeper_b: int
    swap_total_b: int
    swap_other_b: int
    swap_alloc_b: int
    swap_sleeper_b: int
    caged: bool

    @property
    def ram(self) -> tuple[int, int, int, int, int]:
        """Bytes indexed by FREE, CACHE, OTHER, ALLOC, SLEEPER."""
        return (self.free_b, self.cache_b, self.other_b, self.alloc_b, self.sleeper_b)

    @property
    def swap(self) -> tuple[int, int, int, int, int]:
        """Swap bytes indexed like `ram` (index FREE holds the empty swap)."""
        used = self.swap_other_b + self.swap_alloc_b + self.swap_sleeper_b
        return (
            max(0, self.swap_total_b - used),
            0,
            self.swap_other_b,
            self.swap_alloc_b,
            self.swap_sleeper_b,
        )

    @property
    def swap_used_b(self) -> int:
        return self.swap_other_b + self.swap_alloc_b + self.swap_sleeper_b


def _resident(p: AllocState | None) -> int:
    if p is None or not p.alive:
        return 0
    if p.rss_b is not None:
        return max(0, p.rss_b)
    return max(0, p.allocated_b - (p.swap_b or 0))


def _swapped(p: AllocState | None) -> int:
    if p is None or not p.alive:
        return 0
    return max(0, p.swap_b or 0)


def arena_parts(frame: MemoryFrame) -> ArenaParts:
    """Split the frame's arena by owner. The cache is taken as measured; the allocator and
    the sleeper are clamped into what is left, and "other" is the rest of what is used."""
    ram = max(1, frame.limit_b)
    used = min(ram, max(0, frame.used_b))
    cache = min(ram, max(0, frame.cache_b))
    left = ram - cache
    alloc = min(left, _resident(frame.alloc))
    left -= alloc
    sleeper = min(left, _resident(frame.sleeper))
    left -= sleeper
    other = min(left, max(0, used - cache - alloc - sleeper))
    free = left - other
    swap_total = max(0, frame.swap_limit_b)
    swap_used = min(swap_total, max(0, frame.swap_b))
    s_alloc = min(swap_used, _swapped(frame.alloc))
    s_sleep = min(swap_used - s_alloc, _swapped(frame.sleeper))
    s_other = swap_used - s_alloc - s_sleep
    return ArenaParts(
        ram_b=ram,
        free_b=free,
        cache_b=cache,
        other_b=other,
        alloc_b=alloc,
        sleeper_b=sleeper,
        swap_total_b=swap_total,
        swap_other_b=s_other,
        swap_alloc_b=s_alloc,
        swap_sleeper_b=s_sleep,
        caged=frame.cage is not None and frame.cage.limit_b is not None,
    )


def cell_counts(parts_b: tuple[int, ...], n: int) -> tuple[int, ...]:
    """Largest-remainder apportionment of `n` cells to byte counts (which need not add
    up to anything in particular: the shares are of their sum)."""
    total = sum(parts_b)
    if n <= 0:
        return tuple(0 for _ in parts_b)
    if total <= 0:
        return (n, *(0 for _ in parts_b[1:]))
    exact = [p * n / total for p in parts_b]
    base = [int(x) for x in exact]
    short = n - sum(base)
    order = sorted(range(len(parts_b)), key=lambda i: (base[i] - exact[i], i))
    for i in order[:short]:
        base[i] += 1
    return tuple(base)


def reassign(owners: np.ndarray, targets: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Move cells between owners until each owner holds `targets[owner]` cells, changing as
    few cells as possible. Returns (new owners, mask of cells that changed)."""
    new = owners.copy()
    if sum(targets) != len(owners):
        raise ValueError(f"targets add up to {sum(targets)}, not {len(owners)} cells")
    counts = np.bincount(new, minlength=N_OWNERS)
    for o in _GROW_ORDER:
        excess = int(counts[o]) - targets[o]
        if excess > 0:
            idx = np.flatnonzero(new == o)
            new[idx[:excess] if _RELEASE_LOW[o] else idx[-excess:]] = FREE
    for o in _GROW_ORDER:
        need = targets[o] - int(np.count_nonzero(new == o))
        if need > 0:
            idx = np.flatnonzero(new == FREE)
            new[idx[:need] if _TAKE_LOW[o] else idx[-need:]] = o
    return new, new != owners
