"""`oomphony record`: a live run in a cage, no window, a trace and a printed summary.

Without a setlist it runs the engine plainly: fill the page cache, then allocate at the
given rate until the OOM kill (or the duration), then a short tail for the aftermath.
With a setlist (`record FILE SETLIST`) the setlist's acts drive the allocator instead, so
`--rate`, `--cache` and `--sleeper` are refused; the summary is the same.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, replace
from typing import Any

from oomphony.commands import Action, Command
from oomphony.cues import Act, Cues
from oomphony.frame import ActEvent, AllocatorExit, Event, MemoryFrame, OomKill
from oomphony.units import MiB, format_size

DEFAULT_RATE_BPS = 100.0 * MiB

# After the allocator's end, keep recording this long: the calm after the kill is part of
# the show (the sound's silence, the cage emptying), and 1.5 s keeps `record` under 30 s.
TAIL_S = 1.5
# The kill screen holds this long before the epilogue.
KILL_HOLD_S = 3.0


@dataclass
class PlainDirector:
    """The director for a run without a setlist: one long act until the allocator ends.

    It still tells the picture and the sound about the kill, and finishes `tail_s` after
    the allocator's exit."""

    tail_s: float = TAIL_S
    finished: bool = False
    _cues: Cues | None = None
    _exit_t: float | None = None

    def step(
        self,
        frame: MemoryFrame,
        events: list[Event],
        dt_s: float,
        actions: tuple[Action, ...] = (),
    ) -> tuple[Cues, list[Command], list[ActEvent]]:
        cues = self._cues or Cues(
            t_s=frame.t_s,
            act=Act.OVERTURE,
            act_name="record",
            title="Filling memory",
            caption="A program is eating memory at a steady pace inside its cage.",
        )
        acts: list[ActEvent] = []
        for ev in events:
            if isinstance(ev, OomKill) and cues.kill is None:
                cues = replace(
                    cues,
                    act=Act.KILL,
                    title="The OOM killer",
                    caption="Memory and swap are full: the kernel killed the hog.",
                    kill=ev,
                    kill_t_s=ev.t_s,
                )
                acts.append(ActEvent(ev.t_s, "kill", Act.KILL.value, recognised=True))
            elif isinstance(ev, AllocatorExit):
                self._exit_t = ev.t_s
                if ev.how == "manual_kill":
                    cues = replace(cues, manual_kill=True, kill_t_s=ev.t_s, act=Act.KILL)
        if (
            cues.act is Act.KILL
            and cues.kill_t_s is not None
            and frame.t_s - cues.kill_t_s >= KILL_HOLD_S
        ):
            cues = replace(cues, act=Act.EPILOGUE)
        if self._exit_t is not None and frame.t_s - self._exit_t >= self.tail_s:
            self.finished = True
        self._cues = replace(cues, t_s=frame.t_s, new_events=tuple(events))
        return self._cues, [], acts


def cmd_record(args: argparse.Namespace) -> int:
    from oomphony.cage.sizing import GLOBAL_CACHE_CAP_B, resolve_sizes
    from oomphony.cli.app import LIVE_SAMPLE_HZ, _open_audio, confirm_global, notice, run_options
    from oomphony.cli.inputs import check_paths, check_record_options
    from oomphony.errors import UsageError
    from oomphony.show.runner import Runner, RunOptions
    from oomphony.sources.live import LivePlan, LiveSource
    from oomphony.trace.writer import TraceWriter

    check_record_options(args)
    check_paths(argparse.Namespace(record=args.file, audio_out=args.audio_out))
    if args.setlist:
        return _record_setlist(args)
    memory_b, swap_b = resolve_sizes(args.memory, args.swap, global_=args.global_)
    if args.cache is not None:
        cache_b = args.cache
    elif memory_b is not None:
        from oomphony.cage.sizing import cache_default_b

        cache_b = cache_default_b(memory_b)
    else:
        cache_b = GLOBAL_CACHE_CAP_B
    if memory_b is not None and cache_b >= memory_b:
        raise UsageError(f"--cache {format_size(cache_b)} must be smaller than the cage")
    confirm_global(args)
    plan = LivePlan(
        memory_b=memory_b,
        swap_b=swap_b,
        cache_b=cache_b,
        rate_bps=args.rate if args.rate is not None else DEFAULT_RATE_BPS,
        sleeper_b=args.sleeper or 0,
    )
    trace = TraceWriter(args.file)
    # what the plain fill really used (the defaults resolved), so the trace says it
    trace.options = {
        **run_options(args, "record", "live"),
        "cache_b": cache_b,
        "rate_bps": plan.rate_bps,
        "sleeper_b": plan.sleeper_b,
    }
    audio = _open_audio(args, default_silent=True)

    def make_show():
        source = LiveSource(plan)
        source.start()
        for line in source.fallbacks:
            notice(line)
        return source, PlainDirector()

    runner = Runner(
        trace=trace,
        audio=audio,
        options=RunOptions(sample_hz=LIVE_SAMPLE_HZ, duration_s=args.duration),
        backend="live",
        cage_desc=_cage_desc(memory_b, swap_b),
    )
    try:
        runner.run_loop(make_show, loop=False)
    finally:
        trace.close()
        if audio is not None:
            audio.close()
    _print_summary(args.file, audio)
    return 0


def _record_setlist(args: argparse.Namespace) -> int:
    """`record FILE SETLIST`: the setlist's acts on the live backend, no window, a trace,
    then record's summary."""
    from oomphony.cli.app import prepare_run, run_prepared

    run_args = argparse.Namespace(
        **{**vars(args), "backend": "live", "trace": None, "display": "none",
           "screenshots": None, "record": args.file, "speed": 1.0, "seed": 0,
           "shows": None, "palette": "default"}
    )  # fmt: skip
    prepared = prepare_run(run_args, command="record", default_silent=True)
    run_prepared(prepared)
    _print_summary(args.file, prepared.runner.audio)
    return 0


def _cage_desc(memory_b: int | None, swap_b: int | None) -> str:
    if not memory_b:
        return "none (--global)"
    return f"{format_size(memory_b)} + {format_size(swap_b or 0)} swap"


def _print_summary(path: str, audio: Any) -> None:
    from oomphony.trace.reader import read_trace
    from oomphony.trace.summary import summarise

    trace = read_trace(path)
    cage = trace.header.get("cage") or {}
    summary = summarise(trace)
    print(f"trace: {path}   cage: {_cage_desc(cage.get('memory_b'), cage.get('swap_b'))}")
    setlist = trace.header.get("setlist")
    if isinstance(setlist, dict) and setlist.get("name"):
        print(f"setlist: {setlist['name']}")
    for line in summary.lines():
        print(line)
    if audio is not None:
        underflows, worst = audio.counters()
        errors = audio.callback_errors()
        print(
            f"  audio: {audio.status}; {underflows} underflows, worst callback {worst:.2f} ms"
            + (f", {errors} failed callbacks" if errors else "")
        )
