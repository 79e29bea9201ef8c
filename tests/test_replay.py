"""Replay: a recorded trace as a source — frames by time, its kill events once, a cut-off
trace up to its last whole line, and the same acts recognised again."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_director import run_show  # pytest puts tests/ on sys.path

from oomphony.commands import SetRate
from oomphony.errors import TraceError
from oomphony.frame import ActEvent, AllocatorExit, OomKill
from oomphony.show.director import Director
from oomphony.show.replay import ReplaySource
from oomphony.show.setlist import load_setlist
from oomphony.trace import read_trace
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
