"""Cached text: what every frame draws stays rendered, and a typed line is the whole
line's render cut to its typed characters, pixel for pixel the same as the prefix."""

from __future__ import annotations

import os

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")

import numpy as np
import pygame
import pytest

from oomphony.picture import text

LINE = "Memory cgroup out of memory: Killed process 4242 (python3) total-vm:398448kB"
GREEN = (120, 255, 120)


@pytest.fixture(autouse=True)
def _fonts():
    pygame.display.init()
    text.ensure_init()


def test_a_label_drawn_every_frame_is_never_rendered_again():
    steady = [text.render(f"label {i}", 20, (255, 255, 255)) for i in range(50)]
    for n in range(3 * text._CACHE_MAX):  # a flood of one-off strings between frames
        text.render(f"figure {n}", 20, (255, 255, 255))
        if n % 20 == 0:
            again = [text.render(f"label {i}", 20, (255, 255, 255)) for i in range(50)]
            assert all(a is b for a, b in zip(again, steady, strict=True))
        assert len(text._text_cache) <= text._CACHE_MAX


def test_the_least_recently_drawn_entry_goes_first():
    text._text_cache.clear()
    first = text.render("first", 20, GREEN)
    for n in range(text._CACHE_MAX):
        text.render(f"other {n}", 20, GREEN)
    assert text.render("first", 20, GREEN) is not first  # rendered anew: it was forgotten


@pytest.mark.parametrize("mono", [True, False])
@pytest.mark.parametrize("n", [1, 9, 30, len(LINE) - 1, len(LINE)])
def test_a_typed_prefix_looks_like_the_prefix_drawn_alone(mono, n):
    cut, alone = pygame.Surface((1300, 50)), pygame.Surface((1300, 50))
    with text.recording() as drawn:
        box = text.draw(cut, LINE, 24, GREEN, (7, 5), mono=mono, upto=n, role="kernel")
    ref = text.draw(alone, LINE[:n], 24, GREEN, (7, 5), mono=mono)
    assert box == ref
    assert [(d.text, d.rect) for d in drawn] == [(LINE[:n], ref)]
    a, b = pygame.surfarray.array3d(cut), pygame.surfarray.array3d(alone)
    assert np.array_equal(a, b)
    assert a[: box.right].max() > 0 and not a[box.right :].any()


def test_nothing_typed_draws_nothing():
    surf = pygame.Surface((600, 50))
    box = text.draw(surf, LINE, 24, GREEN, (7, 5), mono=True, upto=0)
    assert box.w == 0 and not pygame.surfarray.array3d(surf).any()
