"""`oomphony run` and `oomphony record`: arguments → `RunConfig` → a checked plan → the
--global confirmation → an opened show → its results printed. Assembling the show is
`show/assembly.py`'s; making its sources, `sources/factory.py`'s."""

from __future__ import annotations

import argparse
import sys

from oomphony.cli.report import print_run, print_summary
from oomphony.cli.runargs import record_config, run_config
from oomphony.errors import UsageError
from oomphony.show.assembly import Show, open_show, plan_show
from oomphony.show.config import RunConfig
from oomphony.show.runner import ShowResult

EXIT_OK = 0


def notice(text: str) -> None:
    """One line for the person at the keyboard (the CLI's voice, not a log record)."""
    print(f"oomphony: {text}", file=sys.stderr)


def confirm_global(config: RunConfig, *, yes: bool) -> None:
    """--global lets the real OOM killer loose on this machine: ask first."""
    if not config.cage.global_ or yes:
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


def prepare(config: RunConfig, *, yes: bool) -> Show:
    """Check everything, ask for --global's confirmation, then open the show."""
    plan = plan_show(config)
    if plan.source.backend in ("auto", "live"):
        confirm_global(config, yes=yes)
    return open_show(plan, notice)


def perform(show: Show) -> list[ShowResult]:
    """Run the show(s) and say once if the sound had failures."""
    results = show.run()
    audio = show.runner.audio
    end = audio.end_notice() if audio is not None else None
    if end:
        notice(end)
    return results


def cmd_run(args: argparse.Namespace) -> int:
    show = prepare(run_config(args), yes=args.yes)
    results = perform(show)
    if not show.interactive:
        print_run(results, show)
    return EXIT_OK


def cmd_record(args: argparse.Namespace) -> int:
    config = record_config(args)
    show = prepare(config, yes=args.yes)
    perform(show)
    assert config.record_path is not None
    print_summary(config.record_path, show.runner.audio)
    return EXIT_OK
