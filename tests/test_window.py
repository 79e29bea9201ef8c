"""A real window under Xvfb: a live show in a cage to its OOM kill, photographed per act.

The screenshots must differ the way the show does: the page cache's colour gives way, and
the kill screen is dark. Needs Xvfb (marker `display`), root and a memory cgroup
(`cgroup`), and swap (`swap`); CI has all three.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import XVFB_SIZE

from oomphony.picture.layout import compute_layout
from oomphony.picture.palette import PALETTES

WIDTH, HEIGHT = XVFB_SIZE


def window_env(display: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "SDL_VIDEODRIVER"}
    env.update(DISPLAY=display, PYGAME_HIDE_SUPPORT_PROMPT="1")
    return env


def pixels(path: Path) -> np.ndarray:
    import pygame

    surf = pygame.image.load(str(path))
    return pygame.surfarray.array3d(surf).astype(np.int16)


def colour_share(img: np.ndarray, rgb: tuple[int, int, int], tol: int = 12) -> float:
    close = np.all(np.abs(img - np.array(rgb, dtype=np.int16)) <= tol, axis=-1)
    return float(close.mean())


def dark_share(img: np.ndarray) -> float:
    return float((img.max(axis=-1) < 40).mean())


@pytest.mark.display
@pytest.mark.cgroup
@pytest.mark.swap
@pytest.mark.slow
def test_live_show_in_a_real_window(tmp_path: Path, xvfb_display: str) -> None:
    shots = tmp_path / "shots"
    out = subprocess.run(
        [sys.executable, "-m", "oomphony", "run", "speedrun", "--backend", "live",
         "--memory", "256MiB", "--swap", "128MiB", "--no-audio", "--display", "window",
         "--screenshots", str(shots)],
        capture_output=True, text=True, timeout=180, env=window_env(xvfb_display),
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    taken = {p.stem.split("-", 1)[1]: p for p in sorted(shots.glob("*.png"))}
    assert {"overture", "cache", "swap", "kill", "epilogue"} <= set(taken), sorted(taken)
    imgs = {act: pixels(p) for act, p in taken.items()}
    assert imgs["overture"].shape[:2] == (WIDTH, HEIGHT)
    cache_rgb = PALETTES["default"].cache
    ram = compute_layout((WIDTH, HEIGHT)).ram_map  # the RAM map (the timeline keeps history)
    share = {
        act: colour_share(img[ram.left : ram.right, ram.top : ram.bottom], cache_rgb)
        for act, img in imgs.items()
    }
    # the page cache fills in the overture, then gives way to the allocator
    assert share["overture"] > 0.02
    assert share["swap"] < 0.5 * share["overture"]
    # the kill screen is dark, the scene before it is not
    assert dark_share(imgs["kill"]) > 0.8
    assert dark_share(imgs["swap"]) < dark_share(imgs["kill"]) - 0.2
