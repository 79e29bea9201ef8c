"""The director: setlists end to end against the simulator, recognition from telemetry,
and what it says when the machine cannot play an act (no swap, no kill)."""

from __future__ import annotations

import itertools
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from oomphony.commands import (
    Action,
    Command,
    FillCache,
    Hold,
    Ramp,
    SetRate,
    StartSleeper,
    WakeSleeper,
)
from oomphony.cues import Act, Cues
from oomphony.frame import (
    ActEvent,
    AllocatorExit,
    AllocState,
    CageMem,
    Event,
    MachineMem,
    MemoryFrame,
    OomKill,
)
from oomphony.show.director import NO_SWAP_NOTE, Director, step
from oomphony.show.library import load_setlist
from oomphony.show.recognise import RecogState, recognise
from oomphony.show.setlist import parse_setlist
from oomphony.show.state import initial_state
from oomphony.sources.sim import SimSource
from oomphony.trace.reader import read_trace
from oomphony.trace.writer import TraceWriter
from oomphony.units import GiB, MiB

HZ = 50.0
TALK_ACTS = ["overture", "the cache gives way", "into the swap", "the killer", "epilogue"]
STORY = ["overture", "cache", "swap", "kill", "epilogue"]


def run_show(
    setlist_name: str,
    trace_path: Path,
    *,
    memory_b: int = 512 * MiB,
    swap_b: int = 256 * MiB,
    seed: int = 0,
    keys: Callable[[Cues], tuple[Action, ...]] = lambda cues: (),
    max_s: float = 900.0,
    key_wait_s: float | None = None,
) -> tuple[Director, list[Command]]:
    """The runner's loop, headless: a show clock at HZ, every frame written to a trace."""
    sl = load_setlist(setlist_name)
    src = SimSource(memory_b=memory_b, swap_b=swap_b, seed=seed)
    src.start()
    director = Director(sl, has_swap=swap_b > 0, key_wait_s=key_wait_s)
    writer = TraceWriter(trace_path)
    writer.cage = src.describe_cage()
    sent: list[Command] = []
    pressed: tuple[str, ...] = ()
    n = 0
    dt = 0.0
    while n / HZ < max_s:
        t = n / HZ
        frame, events = src.step(t)
        cues, commands, acts = director.step(frame, events, dt, pressed)
        for cmd in commands:
            src.command(cmd)
        sent.extend(commands)
        writer.frame(frame)
        for ev in (*events, *acts):
            writer.event(ev)
        if director.finished:
            break
        pressed = keys(cues)
        dt = 1 / HZ
        n += 1
    writer.close()
    return director, sent


def acts_of(events: list[Event], *, recognised: bool) -> list[str]:
    return [e.name for e in events if isinstance(e, ActEvent) and e.recognised == recognised]


def test_talk_end_to_end(tmp_path: Path) -> None:
    director, _ = run_show("talk", tmp_path / "t.jsonl")
    assert director.finished
    trace = read_trace(tmp_path / "t.jsonl")
    assert acts_of(trace.events, recognised=False) == TALK_ACTS
    assert acts_of(trace.events, recognised=True) == STORY
    kills = [e for e in trace.events if isinstance(e, OomKill)]
    assert len(kills) == 1 and kills[0].source == "sim"
    times = [f.t_s for f in trace.frames]
    gaps = {round(b - a, 4) for a, b in itertools.pairwise(times)}
    assert gaps == {round(1 / HZ, 4)}
    assert 150 <= times[-1] <= 210  # "about 3 minutes"
    # Scripted and recognised acts tell the story in the same order.
    scripted = [e for e in trace.events if isinstance(e, ActEvent) and not e.recognised]
    assert [e.kind for e in scripted] == STORY


@pytest.mark.parametrize(
    ("name", "min_s", "max_s"),
    [("speedrun", 5, 30), ("kiosk", 70, 110), ("rearrange", 60, 240)],
)
def test_bundled_setlists_end_to_end(tmp_path: Path, name: str, min_s: float, max_s: float):
    director, _ = run_show(name, tmp_path / "t.jsonl", memory_b=1 * GiB, swap_b=512 * MiB)
    assert director.finished
    trace = read_trace(tmp_path / "t.jsonl")
    sl = load_setlist(name)
    assert acts_of(trace.events, recognised=False) == [a.name for a in sl.acts]
    assert acts_of(trace.events, recognised=True) == STORY
    assert sum(isinstance(e, OomKill) for e in trace.events) == 1
    assert min_s <= trace.frames[-1].t_s <= max_s


def test_classroom_waits_for_a_key_between_acts(tmp_path: Path) -> None:
    waits: list[float] = []

    def keys(cues: Cues) -> tuple[Action, ...]:
        # The last act waits for a key; the others end on their own, then pause.
        if cues.paused or cues.act_name == "epilogue":
            waits.append(cues.t_s)
            if len(waits) % 100 == 0:  # two seconds of waiting, then the teacher presses
                return (Action.NEXT_ACT,)
        return ()

    director, sent = run_show("classroom", tmp_path / "t.jsonl", keys=keys)
    assert director.finished
    trace = read_trace(tmp_path / "t.jsonl")
    sl = load_setlist("classroom")
    assert acts_of(trace.events, recognised=False) == [a.name for a in sl.acts]
    assert len(waits) >= 100 * len(sl.acts)
    assert sum(isinstance(c, Hold) for c in sent) >= len(sl.acts) - 1


def test_headless_classroom_does_not_wait_forever(tmp_path: Path) -> None:
    director, _ = run_show("classroom", tmp_path / "t.jsonl", key_wait_s=3.0)
    assert director.finished
    trace = read_trace(tmp_path / "t.jsonl")
    sl = load_setlist("classroom")
    assert acts_of(trace.events, recognised=False) == [a.name for a in sl.acts]
    starts = [e.t_s for e in trace.events if isinstance(e, ActEvent) and not e.recognised]
    # The last act waits for a key only: it ends 3 s after it began.
    assert trace.frames[-1].t_s == pytest.approx(starts[-1] + 3.0, abs=0.05)


def test_rearrange_sleeper_stays_in_swap_until_it_wakes(tmp_path: Path) -> None:
    _, sent = run_show("rearrange", tmp_path / "t.jsonl", memory_b=1 * GiB, swap_b=512 * MiB)
    assert any(isinstance(c, StartSleeper) for c in sent)
    assert any(isinstance(c, WakeSleeper) for c in sent)
    trace = read_trace(tmp_path / "t.jsonl")
    kill_t = next(e.t_s for e in trace.events if isinstance(e, OomKill))
    wake_t = next(e.t_s for e in trace.events if isinstance(e, ActEvent) and e.name ==
                  "the sleeper wakes")  # fmt: skip
    between = [f for f in trace.frames if kill_t + 1 < f.t_s < wake_t]
    assert between and all(f.sleeper is not None and f.sleeper.swap_b > 64 * MiB
                           for f in between)  # fmt: skip
    after = [f for f in trace.frames if f.t_s > wake_t]
    assert max(f.rates.swapin_bps or 0 for f in after) > 0
    assert after[-1].sleeper is not None and after[-1].sleeper.swap_b < between[0].sleeper.swap_b


def test_no_swap_skips_the_swap_act_with_a_note(tmp_path: Path) -> None:
    director, _ = run_show("talk", tmp_path / "t.jsonl", swap_b=0)
    assert director.finished
    trace = read_trace(tmp_path / "t.jsonl")
    assert acts_of(trace.events, recognised=False) == [a for a in TALK_ACTS if "swap" not in a]
    assert NO_SWAP_NOTE in director.state.notes
    assert sum(isinstance(e, OomKill) for e in trace.events) == 1


# --- synthetic frames ------------------------------------------------------------------


def frame(
    t: float,
    *,
    cache: int = 0,
    anon: int = 0,
    swap: int = 0,
    alloc: int = 0,
    pid: int = 100,
    alive: bool = True,
    kills: int = 0,
    limit: int = 256 * MiB,
) -> MemoryFrame:
    return MemoryFrame(
        t_s=t,
        machine=MachineMem(8 * GiB, 4 * GiB, 6 * GiB, 1 * GiB, 1 * GiB, 1 * GiB, 1 * GiB),
        cage=CageMem(limit, 128 * MiB, cache + anon, cache, anon, swap, kills),
        alloc=AllocState(pid, alive, alloc, anon, swap, 10 * MiB if alive else 0.0),
    )


SHORT = textwrap.dedent(
    """\
    [show]
    title = "short"
    description = "a short show"
    [[act]]
    name = "overture"
    caption = "x"
    rate = "10MiB/s"
    until = "used > 90%"
    [[act]]
    name = "into the swap"
    kind = "swap"
    caption = "x"
    until = "oom_kill"
    timeout = 5
    [[act]]
    name = "the killer"
    kind = "kill"
    caption = "x"
    until = "2s"
    [[act]]
    name = "epilogue"
    caption = "x"
    until = "1s"
    """
)


def drive(
    director: Director,
    frames: list[MemoryFrame],
    events: dict[int, list[Event]] | None = None,
    keys: dict[int, tuple[Action, ...]] | None = None,
) -> tuple[list[Cues], list[Command], list[ActEvent]]:
    cues_l: list[Cues] = []
    cmds: list[Command] = []
    acts: list[ActEvent] = []
    prev = frames[0].t_s
    for i, f in enumerate(frames):
        cues, c, a = director.step(f, (events or {}).get(i, []), f.t_s - prev,
                                   (keys or {}).get(i, ()))  # fmt: skip
        prev = f.t_s
        cues_l.append(cues)
        cmds.extend(c)
        acts.extend(a)
    return cues_l, cmds, acts


def test_kill_that_never_comes_ends_on_timeout_with_a_note() -> None:
    d = Director(parse_setlist(SHORT, where="s.toml", name="s"), has_swap=True)
    frames = [frame(i * 0.1, anon=250 * MiB, swap=100 * MiB) for i in range(120)]
    cues, _, acts = drive(d, frames)
    assert d.finished
    assert [a.name for a in acts if not a.recognised] == [
        "overture", "into the swap", "the killer", "epilogue"]  # fmt: skip
    assert any("never came" in n for n in cues[-1].notes)
    assert cues[-1].kill is None


def test_a_sigkill_that_is_not_the_oom_killer_is_said_so() -> None:
    d = Director(parse_setlist(SHORT, where="s.toml", name="s"), has_swap=True)
    frames = [frame(i * 0.1, anon=250 * MiB, swap=100 * MiB, alive=i < 10) for i in range(60)]
    exit_ev = AllocatorExit(1.0, 100, "sigkill", -9, "SIGKILL, no oom_kill counted")
    cues, _, acts = drive(d, frames, events={10: [exit_ev]})
    assert [a.name for a in acts if not a.recognised][:3] == [
        "overture", "into the swap", "the killer"]  # fmt: skip
    assert any("not by the kernel's OOM killer" in n for n in cues[-1].notes)
    assert all(a.kind != "kill" for a in acts if a.recognised)


def test_early_kill_jumps_to_the_kill_act() -> None:
    d = Director(parse_setlist(SHORT, where="s.toml", name="s"), has_swap=True)
    kill = OomKill(0.5, 100, "python3", 200 * MiB, "test", None)
    frames = [frame(i * 0.1, anon=10 * MiB, alive=i < 5, kills=int(i >= 5)) for i in range(40)]
    cues, _, acts = drive(d, frames, events={5: [kill]})
    assert [a.name for a in acts if not a.recognised] == ["overture", "the killer", "epilogue"]
    assert cues[6].act is Act.KILL and cues[6].kill == kill and cues[6].kill_t_s == 0.5


def test_keys_pause_rate_and_next() -> None:
    d = Director(parse_setlist(SHORT, where="s.toml", name="s"), has_swap=True)
    frames = [frame(i * 0.1, anon=10 * MiB) for i in range(10)]
    keys = {1: (Action.PAUSE,), 2: (Action.PAUSE,), 3: (Action.RATE_UP,),
            4: (Action.RATE_DOWN, Action.RATE_DOWN), 5: (Action.NEXT_ACT,)}  # fmt: skip
    cues, cmds, acts = drive(d, frames, keys=keys)
    assert cmds[0] == SetRate(10 * MiB)
    assert cmds[1:6] == [Hold(), SetRate(10 * MiB), SetRate(15 * MiB), SetRate(10 * MiB),
                         SetRate(10 * MiB / 1.5)]  # fmt: skip
    assert cues[1].paused and not cues[2].paused
    assert [a.name for a in acts if not a.recognised] == ["overture", "into the swap"]


def test_pause_resumes_a_ramp_where_it_was() -> None:
    text = SHORT.replace(
        'rate = "10MiB/s"', 'ramp = { from = "0MiB/s", to = "10MiB/s", over = 10 }'
    )
    text = text.replace('"0MiB/s"', '"1MiB/s"')
    d = Director(parse_setlist(text, where="s.toml", name="s"), has_swap=True)
    frames = [frame(i * 1.0, anon=10 * MiB) for i in range(8)]
    _, cmds, _ = drive(d, frames, keys={4: (Action.PAUSE,), 6: (Action.PAUSE,)})
    assert cmds[0] == Ramp(1 * MiB, 10 * MiB, 10.0)
    assert cmds[1] == Hold()
    resumed = cmds[2]
    assert isinstance(resumed, Ramp) and resumed.to_bps == 10 * MiB
    assert resumed.over_s == pytest.approx(6.0) and resumed.from_bps == pytest.approx(
        1 * MiB + 0.4 * 9 * MiB
    )


def test_relative_sizes_resolve_against_the_cage() -> None:
    sl = load_setlist("talk")
    state = initial_state(sl, has_swap=True)
    f = frame(0.0, limit=1000 * MiB)
    _, cues, cmds, acts = step(state, f, [], 0.0)
    assert FillCache(400 * MiB) in cmds
    assert SetRate(0.01 * 1000 * MiB) in cmds
    assert cues.act is Act.OVERTURE and cues.title and cues.caption and cues.explanation
    assert [a.name for a in acts] == ["overture", "overture"]


# --- recognition ---------------------------------------------------------------------------


def _recognised(frames: list[MemoryFrame], events: list[Event]) -> list[str]:
    state, names, ev_i = RecogState(), [], 0
    for f in frames:
        batch = []
        while ev_i < len(events) and events[ev_i].t_s <= f.t_s:
            batch.append(events[ev_i])
            ev_i += 1
        state, acts = recognise(state, f, batch)
        names.extend(a.name for a in acts)
    return names


@pytest.mark.parametrize("seed", [0, 1, 7])
@pytest.mark.parametrize("every", [2, 5, 13])
def test_recognition_does_not_depend_on_the_frame_rate(tmp_path: Path, seed: int, every: int):
    run_show("speedrun", tmp_path / "t.jsonl", seed=seed)
    trace = read_trace(tmp_path / "t.jsonl")
    src_events = [e for e in trace.events if isinstance(e, OomKill | AllocatorExit)]
    full = _recognised(trace.frames, src_events)
    assert full == STORY
    assert _recognised(trace.frames[::every], src_events) == full
    assert acts_of(trace.events, recognised=True) == full


def test_recognition_starts_again_with_a_new_allocator() -> None:
    frames = [frame(0, cache=100 * MiB), frame(1, cache=50 * MiB, alloc=60 * MiB),
              frame(2, pid=200, cache=50 * MiB)]  # fmt: skip
    assert _recognised(frames, []) == ["overture", "cache", "overture"]


FOLLOW = textwrap.dedent(
    """\
    [show]
    title = "follow"
    description = "captions follow the kernel"
    [[act]]
    name = "overture"
    caption = "x"
    rate = "1MiB/s"
    until = "{overture_until}"
    timeout = 500
    [[act]]
    name = "the cache gives way"
    kind = "cache"
    caption = "x"
    until = "oom_kill"
    timeout = 500
    """
)


def draining_early(n: int = 300) -> list[MemoryFrame]:
    """As measured in a v1 cage: the cache drains while usage is far below the limit."""
    out = []
    for i in range(n):
        anon = (20 + i // 2) * MiB
        cache = max(0, 100 - max(0, i - 100) // 2) * MiB
        out.append(frame(i * 0.1, cache=cache, anon=anon, alloc=anon))
    return out


@pytest.mark.parametrize(
    ("overture_until", "follows"),
    [("used > 98%", True), ("key", False)],
)
def test_captions_follow_the_kernel_unless_the_presenter_holds_the_act(
    overture_until: str, follows: bool
) -> None:
    text = FOLLOW.replace("{overture_until}", overture_until)
    d = Director(parse_setlist(text, where="f.toml", name="f"), has_swap=True)
    frames = draining_early()
    assert max(f.used_b for f in frames) < 0.9 * frames[0].limit_b  # "used > 98%" never holds
    cues, _, acts = drive(d, frames)
    recognised_cache = next(a.t_s for a in acts if a.recognised and a.kind == "cache")
    scripted = [(a.name, a.t_s) for a in acts if not a.recognised]
    if follows:
        assert scripted == [("overture", 0.0), ("the cache gives way", recognised_cache)]
        assert cues[-1].act is Act.CACHE
    else:
        assert scripted == [("overture", 0.0)]
        assert cues[-1].act is Act.OVERTURE
