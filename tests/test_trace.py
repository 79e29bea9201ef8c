"""Trace format: round trip, a cut-off last line, and broken files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from oomphony.errors import TraceError
from oomphony.frame import (
    AllocatorExit,
    AllocState,
    CageMem,
    MachineMem,
    MemoryFrame,
    OomKill,
    Pressure,
    Rates,
)
from oomphony.trace.format import frame_from_dict, frame_to_dict, recorded_setlist, setlist_record
from oomphony.trace.reader import read_trace
from oomphony.trace.writer import TraceWriter

SHIPPED = Path(__file__).resolve().parents[1] / "assets" / "traces" / "cage-256MiB.jsonl"

ints = st.integers(min_value=0, max_value=2**40)


def make_frame(t: float, cache: int = 100, swap: int = 0) -> MemoryFrame:
    return MemoryFrame(
        t_s=t,
        machine=MachineMem(1000, 500, 600, 200, 100, 50, 50),
        cage=CageMem(300, 100, 250, cache, 150, swap, 0),
        alloc=AllocState(42, True, 150, 140, 0, 1e6),
        rates=Rates(0.0, 0.0, 1.0),
        psi=Pressure(0.1, 0.0),
    )


@given(
    t=st.floats(min_value=0, max_value=1e5, allow_nan=False),
    cache=ints,
    swap=ints,
    kills=st.none() | st.integers(0, 10),
)
def test_frame_round_trip(t: float, cache: int, swap: int, kills: int | None) -> None:
    f = make_frame(round(t, 4), cache, swap)
    f = MemoryFrame(
        f.t_s, f.machine, CageMem(300, None, 250, cache, None, swap, kills), f.alloc, f.rates, f.psi
    )
    back = frame_from_dict(json.loads(json.dumps(frame_to_dict(f))))
    assert back == f


def test_writer_reader_round_trip(tmp_path) -> None:
    path = tmp_path / "t.jsonl"
    w = TraceWriter(path)
    w.cage = {"version": 1, "memory_b": 300}
    frames = [make_frame(i / 50, cache=100 - i) for i in range(20)]
    for f in frames:
        w.frame(f)
    kill = OomKill(
        0.4, 42, "python3", 150, "kmsg", "Memory cgroup out of memory: Killed process 42"
    )
    w.event(kill)
    w.event(AllocatorExit(0.41, 42, "oom_kill", -9, "killed by the kernel"))
    w.close()
    tr = read_trace(path)
    assert tr.header["oomphony_trace"] == 1
    assert tr.header["cage"] == {"version": 1, "memory_b": 300}
    assert tr.frames == frames
    assert tr.events[0] == kill
    assert tr.events[1].how == "oom_kill"
    assert not tr.truncated


def test_cut_off_last_line_replays_up_to_it(tmp_path) -> None:
    path = tmp_path / "t.jsonl"
    w = TraceWriter(path)
    for i in range(10):
        w.frame(make_frame(i / 10))
    w.close()
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 25])  # the show was killed mid-write
    tr = read_trace(path)
    assert tr.truncated
    assert len(tr.frames) == 9
    assert tr.frames[-1].t_s == pytest.approx(0.8)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty file"),
        (b"hello\n", ":1: not an oomphony trace"),
        (b'{"oomphony_trace": 99}\n', ":1: not an oomphony trace"),
        (b'{"oomphony_trace": 1}\n{"t": 1\n{"t": 2}\n', ":2: malformed"),
        (b'{"oomphony_trace": 1}\n{"t": 1, "machine": 3}\n{"t": 2}\n', ":2: malformed"),
    ],
)
def test_broken_traces_are_one_clear_error(tmp_path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_bytes(content)
    with pytest.raises(TraceError, match=message):
        read_trace(path)


def test_unreadable_and_unwritable_paths(tmp_path) -> None:
    with pytest.raises(TraceError, match="cannot read trace"):
        read_trace(tmp_path / "missing.jsonl")
    with pytest.raises(TraceError, match="cannot write trace"):
        TraceWriter(tmp_path / "no-such-dir" / "t.jsonl")


def test_header_records_the_setlist_and_the_options(tmp_path) -> None:
    path = tmp_path / "t.jsonl"
    w = TraceWriter(path)
    toml = '[show]\ntitle = "t"\n\n[[act]]\nname = "overture"\nuntil = "2s"\n'
    w.setlist = setlist_record("mine", "mine.toml", toml)
    w.options = {"command": "run", "backend": "sim", "speed": 4.0, "memory_b": None}
    w.frame(make_frame(0.0))
    w.close()
    header = read_trace(path).header
    assert header["setlist"] == {"name": "mine", "path": "mine.toml", "toml": toml}
    assert recorded_setlist(header) == header["setlist"]
    assert header["options"] == {"command": "run", "backend": "sim", "speed": 4.0, "memory_b": None}


@pytest.mark.parametrize(
    "setlist", [None, "speedrun", {"name": "x"}, {"name": 3, "toml": ""}, {"toml": "[show]"}]
)
def test_a_header_without_a_usable_setlist_names_none(setlist: object) -> None:
    header = {"oomphony_trace": 1, "setlist": setlist}
    assert recorded_setlist(header) is None


def test_the_shipped_trace_predates_the_setlist_field() -> None:
    header = read_trace(SHIPPED).header
    assert "setlist" not in header and recorded_setlist(header) is None
