"""What `oomphony run` does (and `oomphony record` with a setlist): check the input,
resolve sizes, build the source, director, sound and picture, and run them. The CLI
parses; this module assembles."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from oomphony.cage.sizing import GLOBAL_CACHE_CAP_B, resolve_sizes
from oomphony.cli.inputs import check_paths, check_run_options
from oomphony.errors import CageError, TraceError, UsageError
from oomphony.show.library import choose_setlist
from oomphony.show.runner import Director, Runner, RunOptions
from oomphony.sources.base import Source
from oomphony.sources.live import LivePlan, LiveSource
from oomphony.trace.reader import Trace, read_trace
from oomphony.trace.writer import TraceWriter
from oomphony.units import MiB

log = logging.getLogger(__name__)

# Live sampling rate: 100 Hz is what a full tick was measured at (~77 µs,
# docs/architecture.md "Measured facts"), and twice the trace contract's 50 Hz minimum.
LIVE_SAMPLE_HZ = 100.0


def notice(text: str) -> None:
    """One line for the person at the keyboard (the CLI's voice, not a log record)."""
    print(f"oomphony: {text}", file=sys.stderr)


def confirm_global(args: argparse.Namespace) -> None:
    """--global lets the real OOM killer loose on this machine: ask first."""
    if not args.global_ or args.yes:
        return
    if not sys.stdin.isatty():
        raise UsageError("--global needs a confirmation: run it in a terminal, or add --yes")
    print(
        "--global runs the allocator with no cage: it fills this machine's memory until the\n"
        "kernel's OOM killer strikes. Other programs may be pushed to swap or, rarely, killed.",
        file=sys.stderr,
    )
    answer = input("Type 'yes' to go on: ").strip().lower()
    if answer != "yes":
        raise UsageError("--global not confirmed")


def _open_audio(args: argparse.Namespace, *, default_silent: bool, preset: str = "stage"):
    """The sound output, or None. `record` plays to a device only when one is named."""
    wants_device = not args.no_audio and (args.audio_device is not None or not default_silent)
    if not wants_device and not args.audio_out:
        return None
    from oomphony.sound import AudioOutput

    out = AudioOutput.open(
        device=args.audio_device,
        latency=args.latency,
        wav_path=args.audio_out,
        no_audio=not wants_device,
        preset=preset,
    )
    if out.notice:
        notice(out.notice)
    return out


# The simulator's cage when neither the command line nor the setlist gives one: the size
# the talk was tried at on the developers' machines (a 512 MiB cage, 256 MiB of swap).
SIM_MEMORY_B = 512 * MiB
SIM_SWAP_B = 256 * MiB
# Headless, nobody can press a key: a setlist's "until key" waits this long instead.
HEADLESS_KEY_WAIT_S = 5.0


def _setlist_cache_b(setlist, memory_b: int) -> int:
    """The largest page-cache fill a setlist asks for, in bytes of this cage."""
    wants = [a.fill_cache for a in setlist.acts if a.fill_cache is not None]
    sizes = [int(w.resolve(memory_b)) for w in wants]
    # never more than 90 % of the cage: the file is made outside it, at this size
    return min(max(sizes, default=0), int(memory_b * 0.9))


def _pick_backend(args: argparse.Namespace) -> str:
    backend = args.backend
    if backend == "auto" and args.trace:
        backend = "replay"
    if backend == "replay" and not args.trace:
        raise UsageError("--backend replay needs --trace FILE (a trace from record or --record)")
    if args.trace and backend != "replay":
        raise UsageError(f"--trace replays a trace; it does not go with --backend {backend}")
    if backend == "live" and args.speed != 1.0:
        raise UsageError("--speed works with the sim and replay backends; live runs at 1x")
    return backend


# What the trace header's `options` records of the command line: (attribute, key).
_OPTION_KEYS = (
    ("memory", "memory_b"), ("swap", "swap_b"), ("global_", "global"), ("speed", "speed"),
    ("seed", "seed"), ("duration", "duration_s"), ("shows", "shows"), ("display", "display"),
    ("palette", "palette"), ("no_audio", "no_audio"), ("audio_device", "audio_device"),
    ("audio_out", "audio_out"), ("latency", "latency"), ("screenshots", "screenshots"),
    ("trace", "trace"), ("rate", "rate_bps"), ("cache", "cache_b"), ("sleeper", "sleeper_b"),
)  # fmt: skip


def run_options(args: argparse.Namespace, command: str, backend: str) -> dict[str, Any]:
    """The run's options as the trace header records them (docs/trace-format.md): what
    was asked (None: the default), with the backend the run really used."""
    opts: dict[str, Any] = {"command": command, "backend": backend}
    for attr, key in _OPTION_KEYS:
        if hasattr(args, attr):
            opts[key] = getattr(args, attr)
    return opts


def _read_replay(path: str) -> Trace:
    trace = read_trace(path)  # an unreadable or broken trace fails now, with one line
    if not trace.frames:
        raise TraceError(f"{path}: the trace holds no frames to replay")
    return trace


@dataclass
class PreparedRun:
    """Everything `oomphony run` assembled, ready to go (tests reach in here)."""

    runner: Runner
    make_show: Callable[[], tuple[Source, Director]]
    loop: bool
    state: dict[str, Any]
    interactive: bool

    def close(self) -> None:
        if self.runner.view is not None:
            self.runner.view.close()
        if self.runner.trace is not None:
            self.runner.trace.close()
        if self.runner.audio is not None:
            self.runner.audio.close()


def prepare_run(
    args: argparse.Namespace, *, command: str = "run", default_silent: bool = False
) -> PreparedRun:
    """Check every input first (one line, exit 2, nothing started), then assemble."""
    from oomphony.errors import DisplayError
    from oomphony.show.director import Director as SetlistDirector

    backend = _pick_backend(args)
    check_paths(args)
    replayed = _read_replay(args.trace) if backend == "replay" else None
    setlist, setlist_rec, from_trace = choose_setlist(args.setlist, replayed, args.trace)
    # --shows N plays any setlist N times; kiosk and looping setlists go on until then.
    loop = args.display == "kiosk" or setlist.loop or (args.shows or 1) > 1
    check_run_options(args, backend)
    memory_arg = args.memory if args.memory is not None else setlist.memory_b
    swap_arg = args.swap if args.swap is not None else setlist.swap_b
    if backend in ("auto", "live"):
        resolve_sizes(memory_arg, swap_arg, global_=args.global_)  # sizes fail now, not later
        confirm_global(args)
    trace = TraceWriter(args.record) if args.record else None
    if trace is not None:
        trace.setlist = setlist_rec
        trace.options = run_options(args, command, backend)

    view = None
    if args.display != "none" or args.screenshots:
        from oomphony.picture.view import View

        try:
            view = View.open(
                args.display,
                preset=setlist.picture_preset,
                palette=args.palette,
                seed=args.seed,
                screenshots=args.screenshots,
            )
        except DisplayError as err:
            notice(f"{err}; the show goes on without a picture")
    interactive = view is not None and view.interactive
    audio = _open_audio(args, default_silent=default_silent, preset=setlist.sound_preset)
    state: dict[str, Any] = {
        "backend": backend,
        "shows": 0,
        "setlist": setlist.name,
        "setlist_from_trace": from_trace,
    }

    def make_show() -> tuple[Source, Director]:
        state["shows"] += 1
        source = None
        if state["backend"] in ("auto", "live"):
            source = _start_live(args, setlist, memory_arg, swap_arg, state)
        if state["backend"] == "sim":
            from oomphony.sources.sim import SimSource

            source = SimSource(
                memory_b=memory_arg or SIM_MEMORY_B,
                swap_b=SIM_SWAP_B if swap_arg is None else swap_arg,
                seed=args.seed + state["shows"] - 1,
                caged=not args.global_,
            )
            source.start()
        elif state["backend"] == "replay":
            from oomphony.sources.replay import ReplaySource

            source = ReplaySource(args.trace, replayed)
            source.start()
        director = SetlistDirector(
            setlist,
            has_swap=source.has_swap,
            key_wait_s=None if interactive else HEADLESS_KEY_WAIT_S,
        )
        return source, director

    runner = Runner(
        trace=trace,
        audio=audio,
        view=view,
        options=RunOptions(
            speed=args.speed,
            sample_hz=LIVE_SAMPLE_HZ if backend == "live" else 50.0,
            duration_s=args.duration,
            max_shows=args.shows,
        ),
        backend=backend,
    )
    return PreparedRun(runner, make_show, loop, state, interactive)


def run_prepared(prepared: PreparedRun) -> list:
    """Run the show(s), close everything, and say once if the sound had failures."""
    try:
        results = prepared.runner.run_loop(prepared.make_show, loop=prepared.loop)
    finally:
        prepared.close()
    audio = prepared.runner.audio
    end = audio.end_notice() if audio is not None else None
    if end:
        notice(end)
    return results


def cmd_run(args: argparse.Namespace) -> int:
    prepared = prepare_run(args)
    results = run_prepared(prepared)
    if not prepared.interactive:
        _print_run(results, prepared.state, args)
    return 0


def _start_live(args, setlist, memory_arg, swap_arg, state):
    """A started live source; under --backend auto, a cage that cannot be made falls back
    to the simulator (once, with a notice)."""
    try:
        memory_b, swap_b = resolve_sizes(memory_arg, swap_arg, global_=args.global_)
        plan = LivePlan(
            memory_b=memory_b,
            swap_b=swap_b,
            cache_b=0,
            rate_bps=0.0,
            cache_file_b=_setlist_cache_b(setlist, memory_b or GLOBAL_CACHE_CAP_B),
        )
        source = LiveSource(plan)
        source.start()
    except CageError as err:
        if state["backend"] != "auto":
            raise
        notice(f"{err}. Running the simulator instead (--backend sim)")
        state["backend"] = "sim"
        return None
    state["backend"] = "live"
    for line in source.fallbacks:
        notice(line)
    return source


def _print_run(results, state: dict[str, Any], args: argparse.Namespace) -> None:
    from oomphony.frame import ActEvent, OomKill

    backend = state["backend"]
    if state["setlist_from_trace"]:
        print(f"setlist: {state['setlist']} (recorded in the trace)")
    for n, res in enumerate(results, start=1):
        acts = [e.name for e in res.events if isinstance(e, ActEvent) and not e.recognised]
        kills = [e for e in res.events if isinstance(e, OomKill)]
        head = f"show {n}" if len(results) > 1 else "show"
        print(f"{head} ({backend}): {res.t_end_s:.1f} s, ended: {res.reason}")
        if acts:
            print(f"  acts: {' → '.join(acts)}")
        for k in kills:
            if k.source == "sim":  # the simulator's pid and line are invented: say so
                print(f"  simulated OOM kill at {k.t_s:.2f} s (no real process was killed)")
                if k.kernel_line:
                    print(f"  the kernel would print: {k.kernel_line}")
                continue
            recorded = " (recorded)" if backend == "replay" else ""
            who = "pid unknown (only the counter rose)"
            if k.pid is not None:
                who = f"pid {k.pid} ({k.comm or 'unknown'})"
            print(f"  OOM kill at {k.t_s:.2f} s{recorded}: {who} (seen by {k.source})")
            if k.kernel_line:
                print(f"  kernel: {k.kernel_line}")
    if args.record:
        print(f"trace: {args.record}")
