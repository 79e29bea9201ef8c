"""Honest labels on the rendered picture (SDL dummy driver): a sim show wears a badge on
every screen and its kill screen shows what the kernel *would* print, without a shell
prompt or a made-up pid; a replay names the recorded show (host and date from the trace
header); a live show keeps the kernel's line. Checked on the words the text layer drew
and on the pixels of the badge."""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")

import numpy as np
import pygame
import pytest

from oomphony.commands import SetRate
from oomphony.cues import Act, Cues
from oomphony.frame import OomKill
from oomphony.picture import Display, Stage, text
from oomphony.picture.badge import Badge, recorded_when
from oomphony.picture.killscreen import FLASH_S
from oomphony.picture.palette import get_palette
from oomphony.picture.view import View
from oomphony.show.director import Director
from oomphony.show.library import load_setlist
from oomphony.show.runner import Runner, RunOptions
from oomphony.sources.base import Origin
from oomphony.sources.replay import ReplaySource, recorded_origin
from oomphony.sources.sim import SimSource
from oomphony.support.demo import act_cues, caged_frame, kill_cues
from oomphony.trace.reader import Trace
from oomphony.trace.writer import TraceWriter
from oomphony.units import MiB

SHIPPED = Path(__file__).parent.parent / "assets" / "traces" / "cage-256MiB.jsonl"
SIZES = [(1024, 768), (1920, 1080)]
PAL = get_palette("default")


def settle(stage: Stage, frame, cues, seconds: float, fps: int = 30) -> None:
    for _ in range(round(seconds * fps)):
        stage.update(1.0 / fps, frame, cues)


def draw(stage: Stage) -> tuple[pygame.Surface, list[text.Drawn]]:
    surf = pygame.Surface(stage.size)
    with text.recording() as drawn:
        stage.draw(surf)
    return surf, drawn


def words(drawn: list[text.Drawn], *roles: str) -> list[str]:
    return [d.text for d in drawn if not roles or d.role in roles]


def badge_painted(surf: pygame.Surface, badge: Badge) -> bool:
    """The badge's box is on the picture: an unbroken border in the warning colour along
    its top, and glyphs of its bold first line (warning colour) and of the line under it
    (text colour) inside."""
    box = badge.box
    px = pygame.surfarray.pixels3d(surf)
    top = px[box.left : box.right, box.top]
    border = float(np.all(top == np.array(PAL.warn, dtype=np.uint8), axis=1).mean())
    inner = px[box.left + 3 : box.right - 3, box.top + 3 : box.bottom - 3].astype(int)
    head = int(np.all(np.abs(inner - PAL.warn) < 50, axis=2).sum())
    under = int(np.all(np.abs(inner - PAL.text) < 50, axis=2).sum())
    return border > 0.95 and head > box.h and under > box.h


def sim_kill() -> OomKill:
    """A kill made by the real simulator (its line and its invented pid)."""
    sim = SimSource(memory_b=64 * MiB, swap_b=16 * MiB, seed=3)
    sim.start()
    sim.command(SetRate(256 * MiB))
    for i in range(1, 2000):
        kills = [ev for ev in sim.step(i * 0.02)[1] if isinstance(ev, OomKill)]
        if kills:
            return kills[0]
    raise AssertionError("the simulator never killed")


def kill_stage(size, origin: Origin, kill: OomKill | None, *, manual: bool = False) -> Stage:
    """A stage whose allocator ran and was killed, 4 s ago (the line is typed)."""
    stage = Stage(size)
    stage.set_origin(origin)
    pid = kill.pid if kill is not None and kill.pid is not None else 4242
    settle(stage, caged_frame(1.0, alloc_b=200 * MiB, pid=pid), act_cues(1.0, Act.SWAP), 0.5)
    cues = Cues(
        t_s=2.0,
        act=Act.KILL,
        title="3. The OOM killer",
        caption="RAM and swap are full: the kernel kills the hog.",
        kill=kill,
        kill_t_s=2.0,
        manual_kill=manual,
    )
    settle(stage, caged_frame(2.0, alive=False, pid=pid), cues, 4.0)
    assert stage.kill_screen_active()
    return stage


# --- the badge --------------------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES)
def test_a_sim_show_wears_its_badge_on_every_screen(size):
    sim = Origin("sim", simulated=True)
    stage = Stage(size)
    stage.set_origin(sim)
    screens = {}
    screens["before the first frame"] = draw(stage)
    settle(
        stage, caged_frame(1.0, cache_b=60 * MiB, alloc_b=30 * MiB), act_cues(1, Act.OVERTURE), 1
    )
    screens["scene"] = draw(stage)
    stage.update(0.1, caged_frame(2.0, alive=False), kill_cues(2.0, 4242))
    assert stage.kill_age_s() < FLASH_S
    screens["kill flash"] = draw(stage)
    settle(stage, caged_frame(2.0, alive=False), kill_cues(2.0, 4242), 4.0)
    screens["kill screen"] = draw(stage)
    attract = Cues(t_s=9.0, act=Act.ATTRACT, title="oomphony", caption="The next show starts.")
    stage.reset()
    settle(stage, caged_frame(9.0, alive=False), attract, 0.5)
    screens["attract"] = draw(stage)
    badge = stage.badge()
    assert badge is not None
    for name, (surf, drawn) in screens.items():
        assert words(drawn, "badge")[:2] == ["SIMULATED", "not the real kernel"], name
        assert badge_painted(surf, badge), name
        assert surf.get_rect().contains(badge.box)


def test_a_live_show_has_no_badge():
    stage = Stage((1024, 768))
    settle(stage, caged_frame(1.0, cache_b=60 * MiB), act_cues(1, Act.OVERTURE), 0.5)
    surf, drawn = draw(stage)
    assert stage.badge() is None and not words(drawn, "badge")
    # the corner where a badge would be holds no warning-coloured border
    lay = stage.layout
    corner = pygame.surfarray.pixels3d(surf)[
        lay.caption.right - 200 : lay.caption.right, lay.caption.y
    ]
    assert not np.all(corner == np.array(PAL.warn, dtype=np.uint8), axis=1).any()


def test_a_replay_names_the_recorded_show():
    replay = ReplaySource(SHIPPED)
    header = replay.trace.header
    host, started = header["host"]["hostname"], header["started"]
    stage = Stage((1024, 768))
    stage.set_origin(replay.origin)
    frame = replay.frames[300]
    settle(stage, frame, act_cues(frame.t_s, Act.CACHE), 0.5)
    surf, drawn = draw(stage)
    badge = " ".join(words(drawn, "badge"))
    assert badge.startswith("REPLAY") and "simulated" not in badge
    assert f"recorded on {host}" in badge
    assert started[:10] in badge and recorded_when(started) in badge
    assert badge_painted(surf, stage.badge())


# --- the kill screen ----------------------------------------------------------------------


@pytest.mark.parametrize("size", SIZES)
def test_a_sim_kill_is_what_the_kernel_would_print(size):
    kill = sim_kill()
    assert kill.source == "sim" and kill.pid is not None
    assert "Killed process <pid> " in kill.kernel_line  # the simulator invents no pid
    stage = kill_stage(size, Origin("sim", simulated=True), kill)
    surf, drawn = draw(stage)
    shown = words(drawn)
    assert not [s for s in shown if s.lstrip().startswith("$")], "no shell prompt"
    assert any("would print" in s for s in words(drawn, "prompt"))
    assert any("would kill" in s for s in words(drawn, "sub"))
    assert not any(str(kill.pid) in s for s in shown), "the invented pid is not shown"
    kernel = " ".join(words(drawn, "kernel"))
    assert "Killed process <pid> (python3)" in kernel
    assert kernel.split() == kill.kernel_line.replace(str(kill.pid), "<pid>").split()
    assert "simulated, no real pid" in " ".join(words(drawn, "obit"))
    assert badge_painted(surf, stage.badge())
    for d in drawn:  # every word is on the screen, in glyphs
        if d.role in ("kernel", "prompt", "obit"):
            assert surf.get_rect().contains(d.rect)
            region = pygame.surfarray.pixels3d(surf)[
                d.rect.left : d.rect.right, d.rect.top : d.rect.bottom
            ]
            assert (region.max(axis=2) > 100).sum() > d.rect.h, d.text


def test_a_manual_kill_in_the_simulator_sends_no_signal():
    stage = kill_stage((1024, 768), Origin("sim", simulated=True), None, manual=True)
    _, drawn = draw(stage)
    shown = " ".join(words(drawn))
    assert "not an OOM kill" in shown and "no signal is sent" in shown
    assert "$ kill" not in shown and "SIGKILL sent" not in shown


def test_a_replay_kill_shows_the_recorded_line_and_where_it_was_recorded():
    replay = ReplaySource(SHIPPED)
    kill = next(ev for ev in replay.events if isinstance(ev, OomKill))
    assert kill.source != "sim" and kill.kernel_line
    stage = kill_stage((1024, 768), replay.origin, kill)
    _, drawn = draw(stage)
    prompt = " ".join(words(drawn, "prompt"))
    assert "recorded" in prompt and replay.trace.header["host"]["hostname"] in prompt
    assert not prompt.startswith("$")
    assert " ".join(words(drawn, "kernel")).split() == kill.kernel_line.split()
    assert f"pid {kill.pid}" in " ".join(words(drawn, "obit"))


def test_a_replay_of_a_sim_show_is_still_called_simulated(tmp_path):
    """Record a sim show through the runner, replay it: the badge and the kill screen say
    the recorded show was simulated."""
    path = tmp_path / "sim.jsonl"
    runner = Runner(trace=TraceWriter(path), options=RunOptions(speed=200.0))

    def make_show():
        source = SimSource(memory_b=64 * MiB, swap_b=16 * MiB, seed=1)
        source.start()
        return source, Director(load_setlist("speedrun"), has_swap=True, key_wait_s=0.5)

    runner.run_loop(make_show, loop=False)
    replay = ReplaySource(path)
    assert replay.origin.kind == "replay" and replay.origin.simulated
    kill = next(ev for ev in replay.events if isinstance(ev, OomKill))
    stage = kill_stage((1024, 768), replay.origin, kill)
    _, drawn = draw(stage)
    assert words(drawn, "badge")[0] == "REPLAY of a simulated show"
    assert any("would print" in s for s in words(drawn, "prompt"))
    assert not any(str(kill.pid) in s for s in words(drawn))


@pytest.mark.parametrize(
    ("kernel_line", "prompt"),
    [
        (
            "Memory cgroup out of memory: Killed process 8273 (python) total-vm:1kB",
            "$ dmesg | tail -1",
        ),
        (None, "(the kernel's log could not be read)"),
    ],
)
def test_a_live_kill_keeps_the_kernel_line(kernel_line, prompt):
    kill = OomKill(2.0, 8273, "python", 255 * MiB, "cgroup-eventfd", kernel_line)
    stage = kill_stage((1024, 768), Origin("live"), kill)
    _, drawn = draw(stage)
    assert words(drawn, "prompt") == [prompt]
    kernel = " ".join(words(drawn, "kernel"))
    assert kernel == (kernel_line or "killed by the kernel")
    assert "pid 8273" in " ".join(words(drawn, "obit"))
    assert not words(drawn, "badge")


# --- the one-way flow: source → runner → view → stage ------------------------------------


def test_the_runner_hands_the_sources_origin_to_a_kiosk_view():
    """A kiosk (SDL dummy driver) runs two sim shows with the attract screen between them;
    every frame it shows, the attract screen's too, carries the badge."""
    display = Display.open("kiosk", size=(1024, 768))
    stage = Stage(display.size)
    view = View(display, stage)
    seen: list[tuple[Act | None, bool]] = []
    flip = display.flip

    def look_then_flip() -> None:  # what the screen is about to show
        badge = stage.badge()
        seen.append((stage.cues.act if stage.cues else None, badge is not None
                     and badge_painted(display.surface, badge)))  # fmt: skip
        flip()

    display.flip = look_then_flip
    runner = Runner(view=view, options=RunOptions(duration_s=1.5, attract_s=1.0, max_shows=2))
    sources: list[SimSource] = []

    def make_show():
        sources.append(SimSource(memory_b=128 * MiB, swap_b=32 * MiB, seed=len(sources)))
        sources[-1].start()
        return sources[-1], Director(load_setlist("kiosk"), has_swap=True, key_wait_s=1.0)

    try:
        runner.run_loop(make_show, loop=True)
    finally:
        view.close()
    assert len(sources) == 2 and stage.origin is sources[-1].origin
    assert {act for act, _ in seen} >= {Act.OVERTURE, Act.ATTRACT}
    assert all(painted for _, painted in seen), [act for act, ok in seen if not ok][:5]


LIVE_KILL = OomKill(6.0, 19382, "python3", 270 * MiB, "cgroup-eventfd", "Killed process 19382")
SIM_KILL = OomKill(6.0, 57340, "python3", 256 * MiB, "sim", "Killed process 57340")


@pytest.mark.parametrize(
    ("header", "events", "simulated"),
    [
        (
            {"cage": {"version": 1, "memory_b": 1}, "options": {"backend": "live"}},
            [LIVE_KILL],
            False,
        ),
        ({"cage": None, "options": {"backend": "sim"}}, [], True),  # sim with --global: no cage
        ({"cage": {"kind": "sim", "memory_b": 1}}, [], True),  # an older sim trace
        ({"cage": None}, [SIM_KILL], True),  # known by the simulator's kill
        ({}, [], False),  # nothing says so: the picture does not claim it
    ],
)
def test_a_replay_knows_a_simulated_recording(header, events, simulated):
    trace = Trace(header={"oomphony_trace": 1, **header}, events=events)
    origin = recorded_origin(trace)
    assert origin.kind == "replay" and origin.simulated is simulated
    assert origin.host == "" and origin.recorded == ""
