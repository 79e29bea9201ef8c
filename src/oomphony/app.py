"""What `oomphony run` and `oomphony record` do: resolve sizes, build the source,
director, sound and picture, and run them. The CLI parses; this module assembles."""

from __future__ import annotations

import argparse
import logging
import sys

from oomphony.errors import UsageError
from oomphony.live import LivePlan, LiveSource
from oomphony.record import PlainDirector
from oomphony.runner import Runner, RunOptions
from oomphony.summary import summarise
from oomphony.trace import TraceWriter, read_trace
from oomphony.units import GiB, format_size

log = logging.getLogger(__name__)

# Live sampling rate: 100 Hz is what DESIGN.md measured a full tick at (~77 µs), and
# twice the trace contract's 50 Hz minimum.
LIVE_SAMPLE_HZ = 100.0
# Without a cage the deliberate cache fill is capped: a machine-wide show fills the real
# page cache, and a large fill only lengthens the overture.
GLOBAL_CACHE_CAP_B = 1 * GiB
# The deliberate page-cache fill is about 40 % of the cage (DESIGN.md "Default sizing").
CACHE_SHARE = 0.4


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


def resolve_sizes(
    memory_b: int | None, swap_b: int | None, *, global_: bool
) -> tuple[int | None, int]:
    """The cage's memory and swap: the user's, else DESIGN.md's defaults. None = no cage."""
    from oomphony.cage import default_sizes
    from oomphony.telemetry import read_meminfo

    meminfo = read_meminfo()
    if global_:
        if memory_b is not None or swap_b is not None:
            raise UsageError("--global has no cage: --memory and --swap do not apply")
        return None, 0
    d_mem, d_swap = default_sizes(meminfo)
    total = meminfo.get("MemTotal", 0)
    mem = d_mem if memory_b is None else memory_b
    swap = d_swap if swap_b is None else swap_b
    if total and mem >= total:
        raise UsageError(
            f"--memory {format_size(mem)} is larger than this machine's RAM ({format_size(total)})"
        )
    if mem < 16 * 1024 * 1024:
        raise UsageError(f"--memory {format_size(mem)} is too small for a show (16 MiB at least)")
    return mem, swap


def cmd_record(args: argparse.Namespace) -> int:
    confirm_global(args)
    memory_b, swap_b = resolve_sizes(args.memory, args.swap, global_=args.global_)
    if args.cache is not None:
        cache_b = args.cache
    elif memory_b is not None:
        cache_b = int(memory_b * CACHE_SHARE)
    else:
        cache_b = GLOBAL_CACHE_CAP_B
    if memory_b is not None and cache_b >= memory_b:
        raise UsageError(f"--cache {format_size(cache_b)} must be smaller than the cage")
    trace = TraceWriter(args.file)
    audio = _open_audio(args, default_silent=True)
    plan = LivePlan(
        memory_b=memory_b,
        swap_b=swap_b,
        cache_b=cache_b,
        rate_bps=args.rate,
        sleeper_b=args.sleeper,
    )
    if args.setlist:
        raise UsageError("record with a setlist: use 'oomphony run SETLIST --record FILE'")

    def make_show():
        source = LiveSource(plan)
        source.start()
        for line in source.fallbacks:
            notice(line)
        return source, PlainDirector()

    cage_desc = (
        f"{format_size(memory_b)} + {format_size(swap_b)} swap" if memory_b else "none (--global)"
    )
    runner = Runner(
        trace=trace,
        audio=audio,
        options=RunOptions(sample_hz=LIVE_SAMPLE_HZ, duration_s=args.duration),
        backend="live",
        cage_desc=cage_desc,
    )
    try:
        runner.run_loop(make_show, loop=False)
    finally:
        trace.close()
        if audio is not None:
            audio.close()
    summary = summarise(read_trace(args.file))
    print(f"trace: {args.file}   cage: {cage_desc}")
    for line in summary.lines():
        print(line)
    if audio is not None:
        underflows, worst = audio.counters()
        print(f"  audio: {audio.status}; {underflows} underflows, worst callback {worst:.2f} ms")
    return 0


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


def cmd_run(args: argparse.Namespace) -> int:
    raise UsageError("'oomphony run' is not built yet; use 'oomphony record FILE.jsonl'")
