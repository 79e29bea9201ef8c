"""Screenshots written by a worker thread: the PNG holds exactly the frame's pixels, the
writer finishes its queue on close, and a failed write stops the screenshots with one
warning."""

from __future__ import annotations

import logging
import os
from pathlib import Path

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")

import numpy as np
import pygame
import pytest

from oomphony.picture.shots import STRIP_ROWS, ShotWriter, png_bytes


def noisy(size: tuple[int, int], seed: int = 0) -> pygame.Surface:
    surf = pygame.Surface(size)
    rng = np.random.default_rng(seed)
    pygame.surfarray.blit_array(surf, rng.integers(0, 256, (*size, 3), dtype=np.uint8))
    return surf


@pytest.mark.parametrize("size", [(1, 1), (7, 3), (33, STRIP_ROWS + 1), (320, 2 * STRIP_ROWS)])
def test_the_png_holds_the_frame_pixel_for_pixel(tmp_path: Path, size) -> None:
    surf = noisy(size, seed=size[0])
    path = tmp_path / "f.png"
    path.write_bytes(png_bytes(surf))
    back = pygame.image.load(str(path))
    assert back.get_size() == size
    assert np.array_equal(pygame.surfarray.array3d(back), pygame.surfarray.array3d(surf))


def test_the_writer_saves_the_frame_as_it_was_when_asked(tmp_path: Path) -> None:
    surf = noisy((64, 48))
    want = pygame.surfarray.array3d(surf)
    writer = ShotWriter()
    writer.save(surf, tmp_path / "01-overture.png")
    surf.fill((255, 0, 0))  # the next frame is drawn while the PNG is written
    writer.save(surf, tmp_path / "02-cache.png")
    writer.close()
    first = pygame.surfarray.array3d(pygame.image.load(str(tmp_path / "01-overture.png")))
    second = pygame.surfarray.array3d(pygame.image.load(str(tmp_path / "02-cache.png")))
    assert np.array_equal(first, want)
    assert (second == np.array([255, 0, 0], dtype=np.uint8)).all()
    assert not writer.failed


def test_a_failed_write_stops_the_screenshots_with_one_warning(tmp_path: Path, caplog) -> None:
    writer = ShotWriter()
    gone = tmp_path / "missing"  # no such directory: every write fails
    with caplog.at_level(logging.WARNING, logger="oomphony.picture.shots"):
        for i in range(3):
            writer.save(noisy((16, 16)), gone / f"{i}.png")
        writer.close()
    assert writer.failed
    warnings = [r for r in caplog.records if "screenshots stop" in r.getMessage()]
    assert len(warnings) == 1
    writer.save(noisy((16, 16)), tmp_path / "later.png")  # ignored once failed
    writer.close()
    assert not (tmp_path / "later.png").exists()
