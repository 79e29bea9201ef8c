"""A real window under Xvfb: a live show in a cage to its OOM kill, photographed per act.

The screenshots must differ the way the show does: the page cache's colour gives way, and
the kill screen is dark. Needs Xvfb (marker `display`), root and a memory cgroup
(`cgroup`), and swap (`swap`); CI has all three.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from oomphony.picture.palette import PALETTES

WIDTH, HEIGHT = 1280, 720


@contextlib.contextmanager
def xvfb() -> Iterator[str]:
    """A private X server on a free display number, stopped afterwards."""
    for n in range(91, 120):
        if not Path(f"/tmp/.X11-unix/X{n}").exists() and not Path(f"/tmp/.X{n}-lock").exists():
            break
    proc = subprocess.Popen(
        ["Xvfb", f":{n}", "-screen", "0", f"{WIDTH}x{HEIGHT}x24", "-nolisten", "tcp"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while not Path(f"/tmp/.X11-unix/X{n}").exists():
            assert proc.poll() is None, "Xvfb did not start"
            assert time.monotonic() < deadline, "Xvfb did not come up"
            time.sleep(0.05)
        yield f":{n}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


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
def test_live_show_in_a_real_window(tmp_path: Path) -> None:
    shots = tmp_path / "shots"
    with xvfb() as display:
        env = {k: v for k, v in os.environ.items() if k != "SDL_VIDEODRIVER"}
        env.update(DISPLAY=display, PYGAME_HIDE_SUPPORT_PROMPT="1")
        out = subprocess.run(
            [sys.executable, "-m", "oomphony", "run", "speedrun", "--backend", "live",
             "--memory", "256MiB", "--swap", "128MiB", "--no-audio", "--display", "window",
             "--screenshots", str(shots)],
            capture_output=True, text=True, timeout=180, env=env, stdin=subprocess.DEVNULL,
        )  # fmt: skip
    assert out.returncode == 0, out.stderr
    taken = {p.stem.split("-", 1)[1]: p for p in sorted(shots.glob("*.png"))}
    assert {"overture", "cache", "swap", "kill", "epilogue"} <= set(taken), sorted(taken)
    imgs = {act: pixels(p) for act, p in taken.items()}
    assert imgs["overture"].shape[:2] == (WIDTH, HEIGHT)
    cache_rgb = PALETTES["default"].cache
    share = {act: colour_share(img, cache_rgb) for act, img in imgs.items()}
    # the page cache fills in the overture, then gives way to the allocator
    assert share["overture"] > 0.02
    assert share["swap"] < 0.5 * share["overture"]
    # the kill screen is dark, the scene before it is not
    assert dark_share(imgs["kill"]) > 0.8
    assert dark_share(imgs["swap"]) < dark_share(imgs["kill"]) - 0.2
