"""`oomphony run` end to end: the sim talk, the live speedrun and its replay, the kiosk soak."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psutil
import pytest
from test_record import leftover_cgroups

from oomphony.cli.command import build_parser
from oomphony.cues import Act
from oomphony.frame import ActEvent, AllocatorExit, OomKill
from oomphony.show.library import load_setlist, setlist_text
from oomphony.trace.reader import read_trace

ENV = {**os.environ, "SDL_VIDEODRIVER": "dummy", "PYGAME_HIDE_SUPPORT_PROMPT": "1"}


def run(*args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "oomphony", "run", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
        env=ENV,
    )


def scripted(trace) -> list[str]:
    return [e.name for e in trace.events if isinstance(e, ActEvent) and not e.recognised]


def recognised(trace) -> list[str]:
    return [e.kind for e in trace.events if isinstance(e, ActEvent) and e.recognised]


@pytest.mark.slow
def test_sim_talk_acts_in_order_one_kill_frames_at_rate(tmp_path: Path) -> None:
    out = run(
        "talk", "--backend", "sim", "--speed", "20", "--display", "none", "--no-audio",
        "--record", str(tmp_path / "t.jsonl"),
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    trace = read_trace(tmp_path / "t.jsonl")
    assert scripted(trace) == [a.name for a in load_setlist("talk").acts]
    assert len([e for e in trace.events if isinstance(e, OomKill)]) == 1
    steps = {round(b.t_s - a.t_s, 4) for a, b in zip(trace.frames, trace.frames[1:], strict=False)}
    assert steps == {0.02}  # 50 Hz of show time, every frame


def test_shows_n_plays_a_one_shot_setlist_n_times(tmp_path: Path) -> None:
    """--shows N on a setlist that plays once: the show N times, each to its kill."""
    out = run(
        "speedrun", "--backend", "sim", "--speed", "50", "--display", "none", "--no-audio",
        "--shows", "2", "--record", str(tmp_path / "t.jsonl"),
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    trace = read_trace(tmp_path / "t.jsonl")
    assert scripted(trace) == [a.name for a in load_setlist("speedrun").acts] * 2
    assert len([e for e in trace.events if isinstance(e, OomKill)]) == 2


@pytest.mark.cgroup
@pytest.mark.swap
@pytest.mark.slow
def test_live_speedrun_then_replay_gives_the_same_acts(tmp_path: Path) -> None:
    before = set(leftover_cgroups())
    live = tmp_path / "live.jsonl"
    out = run(
        "speedrun", "--backend", "live", "--display", "none", "--no-audio",
        "--memory", "256MiB", "--swap", "128MiB", "--record", str(live),
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    trace = read_trace(live)
    kills = [e for e in trace.events if isinstance(e, OomKill)]
    exits = [e for e in trace.events if isinstance(e, AllocatorExit)]
    assert len(kills) == 1 and kills[0].pid == trace.frames[0].alloc.pid
    assert [e.how for e in exits] == ["oom_kill"]
    acts = recognised(trace)
    order = [Act.CACHE.value, Act.SWAP.value, Act.KILL.value]
    assert [a for a in acts if a in order] == order
    assert set(leftover_cgroups()) <= before

    # the trace says which setlist and options made it
    assert trace.header["setlist"]["name"] == "speedrun"
    assert trace.header["setlist"]["toml"] == setlist_text("speedrun")
    options = trace.header["options"]
    assert (options["backend"], options["memory_b"], options["swap_b"]) == (
        "live", 256 * 2**20, 128 * 2**20,
    )  # fmt: skip
    played = scripted(trace)
    assert played == [a.name for a in load_setlist("speedrun").acts]

    # its replay, without naming the setlist, is the same show: the same acts, the last too
    replayed = tmp_path / "replayed.jsonl"
    out = run(
        "--backend", "replay", "--trace", str(live), "--speed", "8",
        "--display", "none", "--no-audio", "--record", str(replayed),
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert "setlist: speedrun (recorded in the trace)" in out.stdout
    again = read_trace(replayed)
    assert scripted(again) == played
    assert recognised(again) == acts


@pytest.mark.slow
def test_kiosk_soak_fifty_shows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    args = build_parser().parse_args(
        [
            "run",
            "kiosk",
            "--backend",
            "sim",
            "--speed",
            "400",
            "--display",
            "kiosk",
            "--no-audio",
            "--shows",
            "50",
        ]
    )
    from oomphony.cli.run import prepare
    from oomphony.cli.runargs import run_config

    show = prepare(run_config(args), yes=False)
    me = psutil.Process()
    children_before = {p.pid for p in me.children(recursive=True)}
    rss: dict[int, int] = {}
    kills: list[int] = []

    def after(n: int, result) -> None:
        rss[n] = me.memory_info().rss
        kills.append(sum(isinstance(e, OomKill) for e in result.events))
        assert result.reason == "finished", f"show {n} ended: {result.reason}"

    show.runner.on_show_end = after
    results = show.run()
    assert len(results) == 50
    assert kills == [1] * 50
    assert abs(rss[50] - rss[5]) <= 0.10 * rss[5], (rss[5], rss[50])
    assert {p.pid for p in me.children(recursive=True)} == children_before


def hud_of_a_run(monkeypatch: pytest.MonkeyPatch, *argv: str) -> list[tuple[str, ...]]:
    """Run `oomphony run ARGV` in this process, with a picture (--screenshots gives one
    even headless) and the HUD on; the HUD's lines of every picture frame."""
    from oomphony.cli.run import prepare
    from oomphony.cli.runargs import run_config
    from oomphony.picture.hud import HudInfo, hud_lines

    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")
    show = prepare(run_config(build_parser().parse_args(["run", *argv])), yes=False)
    view = show.runner.view
    assert view is not None
    view.hud_on = True
    seen: list[tuple[str, ...]] = []
    real_frame = view.frame

    def frame(dt_s, frame, cues, status):
        seen.append(hud_lines(HudInfo(fps=0.0, frame_ms=0.0, status=status)))
        return real_frame(dt_s, frame, cues, status)

    view.frame = frame
    show.run()
    assert seen
    return seen


@pytest.mark.parametrize(
    ("argv", "backend", "cage"),
    [
        (["speedrun", "--backend", "sim", "--memory", "256MiB", "--swap", "64MiB"], "sim",
         "256 MiB + 64 MiB swap · simulated"),
        (["--trace", "assets/traces/cage-256MiB.jsonl"], "replay",
         "256 MiB + 128 MiB swap · cgroup v1 (root)"),
    ],
)  # fmt: skip
def test_the_hud_names_the_backend_and_cage_the_show_runs_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, argv: list[str], backend: str, cage: str
) -> None:
    argv = [*argv, "--speed", "20", "--duration", "2", "--display", "none", "--no-audio"]
    seen = hud_of_a_run(monkeypatch, *argv, "--screenshots", str(tmp_path))
    assert {lines[3] for lines in seen} == {f"backend: {backend}"}
    assert {lines[4] for lines in seen} == {f"cage: {cage}"}


@pytest.mark.cgroup
def test_the_hud_says_live_not_auto_when_auto_runs_live(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The bug was "backend: auto" and no cage on the HUD of `run` (the default backend)."""
    before = set(leftover_cgroups())
    seen = hud_of_a_run(
        monkeypatch, "speedrun", "--memory", "64MiB", "--swap", "none", "--duration", "1",
        "--display", "none", "--no-audio", "--screenshots", str(tmp_path),
    )  # fmt: skip
    assert {lines[3] for lines in seen} == {"backend: live"}
    cages = {lines[4] for lines in seen}
    assert len(cages) == 1, cages  # the cage's method follows: cgroup v1, v2 or a scope
    assert cages.pop().startswith("cage: 64 MiB + 0 B swap · ")
    assert set(leftover_cgroups()) <= before
