"""The RAM map's arithmetic: frames → owners → cells, and cells that change as little as
possible."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from oomphony.picture.arena import arena_parts, cell_counts, reassign
from oomphony.picture.palette import ALLOC, CACHE, FREE, OTHER, SLEEPER
from oomphony.support.demo import caged_frame
from oomphony.units import MiB


@given(
    parts=st.lists(st.integers(0, 2**40), min_size=1, max_size=6),
    n=st.integers(0, 5000),
)
def test_cell_counts_add_up_and_stay_within_one_cell(parts, n):
    counts = cell_counts(tuple(parts), n)
    assert sum(counts) == n
    total = sum(parts)
    if total and n:
        for p, c in zip(parts, counts, strict=True):
            assert abs(c - p * n / total) < 1.0


@given(
    start=st.lists(st.integers(0, 4), min_size=1, max_size=400),
    weights=st.lists(st.integers(0, 1000), min_size=5, max_size=5),
)
def test_reassign_reaches_targets_with_fewest_changes(start, weights):
    owners = np.array(start, dtype=np.int64)
    targets = cell_counts(tuple(weights), len(owners))
    new, changed = reassign(owners, targets)
    assert tuple(np.bincount(new, minlength=5)) == targets
    before = np.bincount(owners, minlength=5)
    # every cell that changed left an owner with too many or joined one with too few
    surplus = sum(max(0, int(before[o]) - targets[o]) for o in range(5))
    assert int(changed.sum()) <= 2 * surplus
    assert np.array_equal(changed, new != owners)


def test_reassign_rejects_targets_that_do_not_cover_the_cells():
    with pytest.raises(ValueError):
        reassign(np.zeros(10, dtype=np.int64), (5, 1, 0, 0, 0))


def test_cache_gives_way_at_its_front_next_to_the_allocator():
    n = 100
    owners = np.zeros(n, dtype=np.int64)
    owners, _ = reassign(owners, (40, 40, 0, 20, 0))  # free 40, cache 40, alloc 20
    assert set(np.flatnonzero(owners == ALLOC)) == set(range(20))
    assert set(np.flatnonzero(owners == CACHE)) == set(range(60, 100))
    owners, changed = reassign(owners, (0, 30, 0, 70, 0))  # the hog takes the free, then cache
    cache = np.flatnonzero(owners == CACHE)
    assert list(cache) == list(range(70, 100))  # the cache lost its lowest cells
    assert int(changed.sum()) == 50


@pytest.mark.parametrize(
    ("kw", "expect"),
    [
        (dict(cache_b=64 * MiB, alloc_b=100 * MiB), dict(cache_b=64 * MiB, alloc_b=100 * MiB)),
        (
            dict(cache_b=10 * MiB, alloc_b=200 * MiB, other_b=20 * MiB, sleeper_b=16 * MiB),
            dict(other_b=20 * MiB, sleeper_b=16 * MiB, free_b=10 * MiB),
        ),
        (
            dict(cache_b=0, alloc_b=250 * MiB, alloc_swap_b=100 * MiB, sleeper_swap_b=8 * MiB),
            dict(swap_alloc_b=100 * MiB, swap_sleeper_b=8 * MiB, swap_other_b=0),
        ),
        (dict(cache_b=200 * MiB, alloc_b=200 * MiB), dict(cache_b=200 * MiB, alloc_b=56 * MiB)),
    ],
)
def test_arena_parts_split_the_cage(kw, expect):
    parts = arena_parts(caged_frame(1.0, limit_b=256 * MiB, **kw))
    assert sum(parts.ram) == parts.ram_b == 256 * MiB
    assert parts.caged
    for name, value in expect.items():
        assert getattr(parts, name) == value, name


def test_arena_parts_of_a_dead_allocator_hold_nothing():
    parts = arena_parts(caged_frame(1.0, alloc_b=100 * MiB, alloc_swap_b=5 * MiB, alive=False))
    assert parts.alloc_b == 0 and parts.swap_alloc_b == 0


def test_owner_constants_are_distinct():
    assert len({FREE, CACHE, OTHER, ALLOC, SLEEPER}) == 5


@pytest.mark.parametrize("changed", [3, 200])  # a few cells repainted; most: all redrawn
def test_cell_layer_repaints_changed_cells_like_a_full_redraw(changed: int) -> None:
    import pygame

    from oomphony.picture.layout import fit_grid
    from oomphony.picture.rammap import CellLayer

    grid = fit_grid(pygame.Rect(5, 7, 300, 200), 640)
    rng = np.random.default_rng(1)
    before = rng.integers(0, 255, (grid.n, 3), dtype=np.uint8)
    after = before.copy()
    idx = rng.choice(grid.n, changed, replace=False)
    after[idx] = rng.integers(0, 255, (changed, 3), dtype=np.uint8)
    gap = (6, 6, 12)
    kept, fresh = pygame.Surface((320, 220)), pygame.Surface((320, 220))
    layer = CellLayer(grid)
    layer.draw(kept, before, gap)
    layer.draw(kept, after, gap)  # the same layer: only changed cells repainted
    CellLayer(grid).draw(fresh, after, gap)
    assert np.array_equal(pygame.surfarray.array3d(kept), pygame.surfarray.array3d(fresh))
