"""The scene drawn from synthetic frames, checked pixel by pixel where the picture could
lie: the cache's share of the RAM map, cells in the swap area, the kill screen's pid,
captions inside the screen."""

from __future__ import annotations

import os
from dataclasses import replace

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")

import numpy as np
import pygame
import pytest

from oomphony.cues import Act, Cues, Status
from oomphony.picture import HudInfo, Stage
from oomphony.picture.killscreen import NO_LINE, kill_screen_layout
from oomphony.picture.layout import Grid
from oomphony.picture.palette import get_palette
from oomphony.support.demo import act_cues, caged_frame, kill_cues
from oomphony.units import MiB

LIMIT = 256 * MiB
SIZES = [(1280, 720), (1920, 1080)]


def settle(stage: Stage, frame, cues, seconds: float = 1.5, fps: int = 30) -> None:
    """Feed the same frame long enough for flashes and flights to end."""
    for _ in range(round(seconds * fps)):
        stage.update(1.0 / fps, frame, cues)


def count_color(surface: pygame.Surface, rect: pygame.Rect, rgb) -> int:
    px = pygame.surfarray.pixels3d(surface)[rect.left : rect.right, rect.top : rect.bottom]
    return int(np.all(px == np.array(rgb, dtype=np.uint8), axis=2).sum())


def cell_area(grid: Grid, n: int) -> int:
    return n * (grid.cell_px - grid.gap_px) ** 2


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("palette", ["default", "colorblind"])
@pytest.mark.parametrize("cache_mib", [0, 7, 40, 100, 160, 256])
def test_cache_share_of_the_map_matches_the_frame(size, palette, cache_mib):
    stage = Stage(size, palette=palette)
    alloc = max(0, (LIMIT - cache_mib * MiB) * 3 // 4)
    frame = caged_frame(
        3.0,
        limit_b=LIMIT,
        cache_b=cache_mib * MiB,
        alloc_b=alloc,
        other_b=min(8 * MiB, LIMIT - cache_mib * MiB - alloc),
    )
    settle(stage, frame, act_cues(3.0, Act.CACHE))
    surf = pygame.Surface(size)
    stage.draw(surf)
    grid = stage.rammap.ram_grid
    pal = get_palette(palette)
    area = cell_area(grid, grid.n)
    cache_px = count_color(surf, grid.rect, pal.cache)
    alloc_px = count_color(surf, grid.rect, pal.alloc)
    assert abs(cache_px / area - frame.cache_b / frame.limit_b) <= 0.02
    assert abs(alloc_px / area - alloc / frame.limit_b) <= 0.02


def test_cache_drain_shows_in_the_map_over_time():
    stage, surf = Stage((1280, 720)), pygame.Surface((1280, 720))
    pal = get_palette("default")
    shares = []
    for t, cache in enumerate((150, 100, 50, 5)):
        frame = caged_frame(float(t), cache_b=cache * MiB, alloc_b=(250 - cache) * MiB)
        settle(stage, frame, act_cues(float(t), Act.CACHE), seconds=1.0)
        stage.draw(surf)
        grid = stage.rammap.ram_grid
        shares.append(count_color(surf, grid.rect, pal.cache) / cell_area(grid, grid.n))
    assert shares == sorted(shares, reverse=True) and shares[0] > 0.5 and shares[-1] < 0.03


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("swap_mib", [0, 3, 64, 200])
def test_swapped_cells_appear_in_the_swap_area(size, swap_mib):
    stage = Stage(size)
    frame = caged_frame(
        5.0,
        limit_b=LIMIT,
        swap_limit_b=LIMIT,
        cache_b=4 * MiB,
        alloc_b=240 * MiB,
        alloc_swap_b=swap_mib * MiB,
    )
    settle(stage, frame, act_cues(5.0, Act.SWAP))
    surf = pygame.Surface(size)
    stage.draw(surf)
    sg = stage.rammap.swap_grid
    n_swap = stage.rammap.swap.n
    alloc_px = count_color(surf, sg.rect, get_palette("default").alloc)
    share = alloc_px / cell_area(sg, n_swap)
    if swap_mib == 0:
        assert alloc_px == 0
    else:
        assert alloc_px > 0
        assert abs(share - swap_mib * MiB / LIMIT) <= max(0.02, 1.0 / n_swap)


def test_swap_in_sends_cells_back():
    stage = Stage((1280, 720))
    pal = get_palette("default")
    out = caged_frame(1.0, alloc_b=200 * MiB, sleeper_b=2 * MiB, sleeper_swap_b=30 * MiB)
    settle(stage, out, act_cues(1.0, Act.SWAP))
    back = caged_frame(2.0, alloc_b=0, alive=False, sleeper_b=32 * MiB, sleeper_swap_b=0)
    stage.update(0.05, back, act_cues(2.0, Act.EPILOGUE))
    assert stage.rammap.flights, "a swap-in starts pages flying back to RAM"
    settle(stage, back, act_cues(2.0, Act.EPILOGUE))
    surf = pygame.Surface((1280, 720))
    stage.draw(surf)
    assert count_color(surf, stage.rammap.swap_grid.rect, pal.sleeper) == 0
    assert count_color(surf, stage.rammap.ram_grid.rect, pal.sleeper) > 0


@pytest.mark.parametrize(
    ("kernel_line", "pid", "expect"),
    [
        ("", 8273, "Killed process 8273 (python)"),
        (None, 8273, NO_LINE),
        ("Out of memory: Killed process 51234 (stress-ng) total-vm:1kB", 51234, "51234"),
    ],
)
def test_kill_screen_types_the_kernel_line_and_the_pid(kernel_line, pid, expect):
    """A live kill (the kernel's line read from the cgroup's events and the log)."""
    size = (1280, 720)
    stage = Stage(size)
    settle(stage, caged_frame(1.0, alloc_b=200 * MiB, pid=pid), act_cues(1.0, Act.SWAP))
    cues = kill_cues(2.0, pid, kernel_line=kernel_line)
    cues = replace(cues, kill=replace(cues.kill, source="memory.events"))
    dead = caged_frame(2.0, alloc_b=0, alive=False, pid=pid)
    settle(stage, dead, cues, seconds=4.0)
    lines, typed = kill_screen_layout(cues, stage.obituary, stage.kill_age_s(), stage.layout)
    kernel = [ln for ln in lines if ln.role == "kernel"]
    typed_text = "".join(ln.text for ln in kernel)[:typed]
    assert expect in typed_text.replace("\n", "")
    obit = [ln.text for ln in lines if ln.role == "obit"]
    assert any(f"pid {pid}" in s for s in obit)
    surf = pygame.Surface(size)
    stage.draw(surf)
    pal = get_palette("default")
    for ln in kernel + [ln for ln in lines if ln.role == "obit"]:
        assert surf.get_rect().contains(ln.rect)
        region = pygame.surfarray.pixels3d(surf)[
            ln.rect.left : ln.rect.right, ln.rect.top : ln.rect.bottom
        ]
        color = pal.terminal if ln.role == "kernel" else pal.text
        lit = np.all(np.abs(region.astype(int) - color) < 40, axis=2).sum()
        assert lit > ln.rect.h, f"no glyphs drawn for {ln.text!r}"


def test_obituary_figures_come_from_the_frames():
    stage = Stage((1280, 720))
    for t in range(11):
        frame = caged_frame(
            10.0 + t, alloc_b=20 * MiB * t, alloc_swap_b=10 * MiB * t, swap_limit_b=LIMIT
        )
        stage.update(1.0, frame, act_cues(10.0 + t, Act.SWAP))
    stage.update(0.1, caged_frame(21.5, alive=False), kill_cues(21.5, 4242))
    ob = stage.obituary
    assert ob is not None
    assert ob.pid == 4242 and ob.name == "python"
    assert ob.peak_b == 300 * MiB  # 200 MiB resident + 100 MiB swapped at the peak
    assert ob.swap_b == 100 * MiB
    assert ob.time_to_kill_s == pytest.approx(11.5)


def test_manual_kill_is_not_called_an_oom_kill():
    stage = Stage((1280, 720))
    settle(stage, caged_frame(1.0, alloc_b=100 * MiB), act_cues(1.0, Act.OVERTURE))
    cues = Cues(t_s=2.0, act=Act.KILL, manual_kill=True, kill_t_s=2.0)
    settle(stage, caged_frame(2.0, alive=False), cues, seconds=3.0)
    lines, _ = kill_screen_layout(cues, stage.obituary, stage.kill_age_s(), stage.layout)
    words = " ".join(ln.text for ln in lines)
    assert "not an OOM kill" in words and "OUT OF MEMORY" not in words
    assert "manual" in words.lower()


LONG = (
    "The kernel keeps recently read files in otherwise unused memory, the page cache, "
    "because reading them again from disk would be slow. When a program asks for more "
    "memory and none is free, the kernel drops those cached pages first: they are copies, "
    "so nothing is lost except speed. " * 3
)


@pytest.mark.parametrize("size", [(1280, 720), (3840, 2160), (1080, 1920), (2560, 1080)])
@pytest.mark.parametrize("preset", ["stage", "classroom"])
def test_captions_fit_inside_the_screen_and_stay_large(size, preset):
    stage = Stage(size, preset=preset)
    cues = act_cues(1.0, Act.CACHE, explanation=LONG)
    stage.update(0.1, caged_frame(1.0, cache_b=10 * MiB), cues)
    lines = stage.caption_lines()
    screen = pygame.Rect((0, 0), size)
    assert lines and lines[0].role == "title"
    body = [ln for ln in lines if ln.role == "body"]
    assert body
    for ln in lines:
        assert screen.contains(ln.rect), ln
        assert stage.layout.caption.contains(ln.rect), ln
        assert ln.px >= 0.04 * size[1]
        assert ln.rect.h >= 0.04 * size[1]
    text = " ".join(ln.text for ln in body)
    if preset == "classroom":
        assert text.startswith("The kernel keeps recently read files")
    else:
        assert text == cues.caption


@pytest.mark.parametrize(
    "size", [(1280, 720), (1920, 1080), (3840, 2160), (720, 1280), (1000, 1000), (3440, 1440)]
)
def test_layout_panels_stay_on_screen_and_apart(size):
    lay = Stage(size).layout
    screen = pygame.Rect((0, 0), size)
    panels = [lay.ram_panel, lay.swap_panel, lay.gauges, lay.timeline, lay.caption]
    for r in panels:
        assert screen.contains(r) and r.w > 0 and r.h > 0
    for i, a in enumerate(panels):
        for b in panels[i + 1 :]:
            assert not a.colliderect(b), (a, b)


def test_hud_and_help_draw_text_on_top():
    stage, surf = Stage((1280, 720)), pygame.Surface((1280, 720))
    settle(stage, caged_frame(1.0, cache_b=50 * MiB), act_cues(1.0, Act.OVERTURE), 0.2)
    stage.draw(surf)
    before = pygame.surfarray.array3d(surf)
    hud = HudInfo(59.9, 4.2, Status("jack 48 kHz", 3, "live", "256 MiB", ("PSI: none",)))
    stage.draw(surf, hud=hud, help_overlay=True)
    after = pygame.surfarray.array3d(surf)
    r = stage.layout.hud
    assert (
        before[r.left : r.right, r.top : r.bottom] != after[r.left : r.right, r.top : r.bottom]
    ).any()


def test_reset_forgets_the_show():
    stage = Stage((1280, 720))
    settle(stage, caged_frame(1.0, alloc_b=100 * MiB), act_cues(1.0, Act.SWAP), 0.5)
    stage.update(0.1, caged_frame(2.0, alive=False), kill_cues(2.0, 4242))
    assert stage.obituary is not None and stage.history.samples
    stage.reset()
    assert stage.obituary is None and not stage.history.samples
    stage.draw(pygame.Surface((1280, 720)))  # draws before any frame without failing
