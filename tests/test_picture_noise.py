"""The noise field follows its parameters: a new tint is cooked a strip per frame and
shown once complete."""

from __future__ import annotations

import os

import numpy as np
import pygame
import pytest

from oomphony.picture.noise import COOK_STRIPS, NoiseField, NoiseParams

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")


@pytest.fixture
def screen() -> pygame.Surface:
    pygame.display.init()
    yield pygame.Surface((320, 180))
    pygame.display.quit()


def mean_rgb(surf: pygame.Surface) -> np.ndarray:
    return pygame.surfarray.array3d(surf).reshape(-1, 3).mean(axis=0)


def test_new_tint_shows_after_the_strips_are_cooked(screen: pygame.Surface) -> None:
    field = NoiseField(seed=3)
    red = NoiseParams(density=1.0, tint=(240, 16, 16))
    blue = NoiseParams(density=1.0, tint=(16, 16, 240))
    field.draw(screen, red)
    r, _, b = mean_rgb(screen)
    assert r > 4 * b  # the first atlas is cooked at once
    for i in range(COOK_STRIPS):
        field.draw(screen, blue)
        r, _, b = mean_rgb(screen)
        if i < COOK_STRIPS - 1:
            assert r > 4 * b, f"half-cooked atlas shown after strip {i + 1}"
    assert b > 4 * r  # complete: the new tint is on screen


def test_density_thins_the_noise(screen: pygame.Surface) -> None:
    field = NoiseField(seed=3)
    lit = []
    for density in (1.0, 0.5, 0.1):
        for _ in range(COOK_STRIPS + 1):
            field.draw(screen, NoiseParams(density=density, tint=(255, 255, 255)))
        lit.append(float((pygame.surfarray.array3d(screen).max(axis=-1) > 8).mean()))
    assert lit[0] > lit[1] > lit[2]


def test_a_target_that_moves_mid_cook_ends_on_the_latest(screen: pygame.Surface) -> None:
    field = NoiseField(seed=3)
    field.draw(screen, NoiseParams(1.0, (240, 16, 16)))
    field.draw(screen, NoiseParams(1.0, (16, 240, 16)))  # starts cooking green
    for _ in range(COOK_STRIPS):
        field.draw(screen, NoiseParams(1.0, (16, 16, 240)))  # but blue is wanted now
    r, g, b = mean_rgb(screen)
    assert b > 4 * max(r, g)
