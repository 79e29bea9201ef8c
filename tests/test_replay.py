"""Replay: a recorded trace as a source — frames by time, its kill events once, a cut-off
trace up to its last whole line, and the same acts recognised again."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from test_director import run_show  # pytest puts tests/ on sys.path

from oomphony.commands import SetRate
from oomphony.errors import TraceError
from oomphony.frame import ActEvent, AllocatorExit, OomKill
from oomphony.show.director import Director
from oomphony.show.library import load_setlist
from oomphony.sources.replay import ReplaySource
from oomphony.trace.reader import read_trace
from oomphony.units import MiB


@pytest.fixture(scope="module")
def speedrun_trace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("replay") / "speedrun.jsonl"
    run_show("speedrun", path, memory_b=256 * MiB, swap_b=128 * MiB, seed=4)
    return path


def test_frames_by_time_and_events_once(speedrun_trace: Path) -> None:
    trace = read_trace(speedrun_trace)
    src = ReplaySource(speedrun_trace)
    src.start()
    assert src.describe_cage() == trace.header["cage"]
    seen = []
    for t in [0.0, 0.013, 1.0, 1.0, 5.55, 12.0, 13.0, 999.0]:
        frame, events = src.step(t)
        expected = max((f for f in trace.frames if f.t_s <= t), key=lambda f: f.t_s)
        assert frame == expected
        seen.extend(events)
    kinds = [type(e) for e in trace.events if isinstance(e, OomKill | AllocatorExit)]
    assert [type(e) for e in seen] == kinds and kinds  # each once, the show's acts not replayed
    assert src.done


def test_commands_are_ignored(speedrun_trace: Path, caplog: pytest.LogCaptureFixture) -> None:
    src = ReplaySource(speedrun_trace)
    before = src.step(2.0)[0]
    with caplog.at_level("INFO"):
        for _ in range(3):
            src.command(SetRate(1 * MiB))
    assert src.step(2.0)[0] == before
    assert sum("ignored" in r.message for r in caplog.records) == 1
    assert any("cannot be steered" in line for line in src.fallbacks)


def test_a_trace_cut_mid_line_replays_to_its_last_line(speedrun_trace: Path, tmp_path: Path):
    raw = speedrun_trace.read_bytes()
    cut = tmp_path / "cut.jsonl"
    cut.write_bytes(raw[: len(raw) // 2 + 17])
    whole_lines = raw[: len(raw) // 2 + 17].count(b"\n") - 1  # minus the header
    src = ReplaySource(cut)
    assert any("cut off" in line for line in src.fallbacks)
    assert len(src.frames) + len(src.trace.events) == whole_lines
    src.step(0.0)
    frame, _ = src.step(1e9)
    assert frame == src.frames[-1] and src.done


@pytest.mark.parametrize("content", [b"", b"not json\n", b'{"oomphony_trace": 1}\n'])
def test_not_a_replayable_trace(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_bytes(content)
    with pytest.raises(TraceError):
        ReplaySource(path)


@pytest.mark.parametrize("hz", [50.0, 30.0, 7.0])
def test_replayed_show_recognises_the_same_acts(speedrun_trace: Path, hz: float) -> None:
    original = read_trace(speedrun_trace)
    recognised = [e.name for e in original.events if isinstance(e, ActEvent) and e.recognised]
    src = ReplaySource(speedrun_trace)
    director = Director(load_setlist("speedrun"), has_swap=True)
    again: list[str] = []
    kills = 0
    n = 0
    while not src.done:
        frame, events = src.step(n / hz)
        kills += sum(isinstance(e, OomKill) for e in events)
        _, _, acts = director.step(frame, events, 1 / hz if n else 0.0)
        again.extend(a.name for a in acts if a.recognised)
        n += 1
    assert again == recognised == ["overture", "cache", "swap", "kill", "epilogue"]
    assert kills == 1


def test_a_later_kiosk_show_replays_from_the_start(speedrun_trace: Path) -> None:
    trace = read_trace(speedrun_trace)
    src = ReplaySource(speedrun_trace)
    offset = 1000.0
    first, _ = src.step(offset)
    assert first.t_s == offset and first.alloc == trace.frames[0].alloc
    frame, events = src.step(offset + 1e6)
    assert frame.t_s == offset + trace.frames[-1].t_s and src.done
    kill = next(e for e in trace.events if isinstance(e, OomKill))
    assert [e.t_s for e in events if isinstance(e, OomKill)] == [offset + kill.t_s]


# --- through the command line: a replay plays the setlist its trace recorded -----------

PRIVATE = textwrap.dedent(
    """
    [show]
    title = "A private test show"
    description = "three acts with names no bundled setlist uses"
    memory = "256MiB"
    swap = "128MiB"

    [[act]]
    name = "warming up"
    kind = "overture"
    title = "Warming up"
    caption = "A program eats memory."
    fill_cache = "30%"
    rate = "10%/s"
    until = "oom_kill"
    timeout = 40

    [[act]]
    name = "the end of the hog"
    kind = "kill"
    title = "Killed"
    caption = "The kernel killed the hog."
    until = "2s"

    [[act]]
    name = "afterwards"
    kind = "epilogue"
    title = "Quiet"
    caption = "Memory is free again."
    hold = true
    until = "1s"
    """
)
ENV = {**os.environ, "SDL_VIDEODRIVER": "dummy", "PYGAME_HIDE_SUPPORT_PROMPT": "1"}
SHIPPED = Path(__file__).resolve().parents[1] / "assets" / "traces" / "cage-256MiB.jsonl"


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    out = subprocess.run(
        [sys.executable, "-m", "oomphony", "run", *args, "--display", "none", "--no-audio"],
        capture_output=True,
        text=True,
        timeout=180,
        stdin=subprocess.DEVNULL,
        env=ENV,
    )
    assert out.returncode == 0, out.stderr
    return out


def scripted(path: Path) -> list[str]:
    return [e.name for e in read_trace(path).events if isinstance(e, ActEvent) and not e.recognised]


@pytest.fixture(scope="module")
def private_show(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A sim show of a setlist file that is gone once it has been recorded."""
    d = tmp_path_factory.mktemp("private")
    setlist = d / "private.toml"
    setlist.write_text(PRIVATE)
    trace = d / "private.jsonl"
    run_cli(str(setlist), "--backend", "sim", "--speed", "40", "--record", str(trace))
    setlist.unlink()
    return trace


def test_a_replay_without_a_setlist_plays_the_recorded_one(private_show: Path, tmp_path: Path):
    acts = scripted(private_show)
    assert acts == ["warming up", "the end of the hog", "afterwards"]
    again = tmp_path / "again.jsonl"
    out = run_cli("--trace", str(private_show), "--speed", "40", "--record", str(again))
    assert "setlist: private (recorded in the trace)" in out.stdout
    assert scripted(again) == acts  # the final act included
    header = read_trace(again).header
    assert header["setlist"] == read_trace(private_show).header["setlist"]
    assert header["options"]["backend"] == "replay"
    assert header["options"]["trace"] == str(private_show)


def test_a_named_setlist_still_overrides_the_recorded_one(private_show: Path, tmp_path: Path):
    again = tmp_path / "again.jsonl"
    out = run_cli("speedrun", "--trace", str(private_show), "--speed", "40", "--record", str(again))
    assert "recorded in the trace" not in out.stdout
    assert scripted(again)[0] == load_setlist("speedrun").acts[0].name
    assert read_trace(again).header["setlist"]["name"] == "speedrun"


def test_a_trace_from_before_setlists_replays_as_before(tmp_path: Path) -> None:
    """The shipped trace names no setlist: it replays with the default, `talk`."""
    again = tmp_path / "again.jsonl"
    out = run_cli("--trace", str(SHIPPED), "--speed", "40", "--record", str(again))
    assert "recorded in the trace" not in out.stdout
    assert read_trace(again).header["setlist"]["name"] == "talk"
    talk = [a.name for a in load_setlist("talk").acts]
    assert scripted(again) == talk[: len(scripted(again))] and len(scripted(again)) >= 4
