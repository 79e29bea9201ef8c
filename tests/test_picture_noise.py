"""The noise field follows its parameters at once (the palette does the thinning and the
tint), draws the panels' dimmed noise with the same arithmetic as the fills it replaced,
and writes every pixel outside the opaque grids exactly once."""

from __future__ import annotations

import os

import numpy as np
import pygame
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from oomphony.picture.noise import NoiseField, NoiseParams, level_colors, noise_regions

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")

rgb = st.tuples(st.integers(0, 255), st.integers(0, 255), st.integers(0, 255))


@pytest.fixture
def screen() -> pygame.Surface:
    pygame.display.init()
    yield pygame.Surface((320, 180))
    pygame.display.quit()


def mean_rgb(surf: pygame.Surface) -> np.ndarray:
    return pygame.surfarray.array3d(surf).reshape(-1, 3).mean(axis=0)


@settings(max_examples=40, deadline=None)
@given(cut=st.integers(0, 255), tint=rgb, dim=st.one_of(st.none(), rgb))
def test_palette_equals_the_subtract_and_multiply_fills(cut, tint, dim) -> None:
    """Each grey level's colour is what pygame's SUB and MULT fills make of it."""
    surf = pygame.Surface((256, 1), 0, 32)
    pygame.surfarray.blit_array(surf, np.repeat(np.arange(256)[:, None, None], 3, axis=2))
    surf.fill((cut, cut, cut), special_flags=pygame.BLEND_RGB_SUB)
    surf.fill(tint, special_flags=pygame.BLEND_RGB_MULT)
    if dim is not None:
        surf.fill(dim, special_flags=pygame.BLEND_RGB_MULT)
    want = pygame.surfarray.array3d(surf)[:, 0, :]
    assert np.array_equal(np.array(level_colors(cut, tint, dim)), want)


def test_a_new_tint_shows_in_the_next_frame(screen: pygame.Surface) -> None:
    field = NoiseField(seed=3)
    field.draw(screen, NoiseParams(density=1.0, tint=(240, 16, 16)))
    r, _, b = mean_rgb(screen)
    assert r > 4 * b
    field.draw(screen, NoiseParams(density=1.0, tint=(16, 16, 240)))
    r, _, b = mean_rgb(screen)
    assert b > 4 * r


def test_density_thins_the_noise(screen: pygame.Surface) -> None:
    field = NoiseField(seed=3)
    lit = []
    for density in (1.0, 0.5, 0.1):
        field.draw(screen, NoiseParams(density=density, tint=(255, 255, 255)))
        lit.append(float((pygame.surfarray.array3d(screen).max(axis=-1) > 8).mean()))
    assert lit[0] > lit[1] > lit[2]


PANELS = [pygame.Rect(10, 10, 150, 90), pygame.Rect(150, 10, 100, 90), pygame.Rect(0, 120, 320, 60)]
OPAQUE = [pygame.Rect(20, 20, 100, 50), pygame.Rect(300, 150, 40, 40)]


def coverage(rects: list[pygame.Rect], size=(320, 180)) -> np.ndarray:
    n = np.zeros(size, dtype=np.int32)
    for r in rects:
        n[r.left : r.right, r.top : r.bottom] += 1
    return n


def test_regions_cover_every_pixel_once_except_under_opaque_grids() -> None:
    bright, dim = noise_regions((320, 180), PANELS, OPAQUE)
    n = coverage(bright + dim)
    under_opaque = coverage(OPAQUE) > 0
    in_panel = coverage(PANELS) > 0
    assert (n <= 1).all()  # no pixel drawn twice
    assert (n[~under_opaque] == 1).all()  # every other pixel drawn
    assert (n[under_opaque & in_panel] == 0).all()  # nothing under a grid inside a panel
    assert (coverage(dim) > 0)[~in_panel].sum() == 0  # dimmed only inside panels
    assert (coverage(bright) > 0)[in_panel].sum() == 0  # full strength only outside


def test_drawn_regions_match_a_full_draw_dimmed_under_the_panels(
    screen: pygame.Surface,
) -> None:
    params, dim = NoiseParams(0.8, (200, 230, 255)), (70, 70, 84)
    full, part = NoiseField(seed=5), NoiseField(seed=5)  # same atlas, same offsets
    full.draw(screen, params)
    want = screen.copy()
    want_dim = screen.copy()
    want_dim.fill(dim, special_flags=pygame.BLEND_RGB_MULT)
    screen.fill((1, 2, 3))  # a sentinel: must survive under the opaque rectangles
    part.draw(screen, params, noise_regions((320, 180), PANELS, OPAQUE), dim)
    got = pygame.surfarray.array3d(screen)
    in_panel = coverage(PANELS) > 0
    grid = coverage(OPAQUE) > 0
    assert np.array_equal(got[~in_panel], pygame.surfarray.array3d(want)[~in_panel])
    panel_only = in_panel & ~grid
    assert np.array_equal(got[panel_only], pygame.surfarray.array3d(want_dim)[panel_only])
    assert (got[in_panel & grid] == (1, 2, 3)).all()
