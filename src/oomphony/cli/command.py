"""The command line (README.md, docs/architecture.md "Errors and exit status").
`main()` returns the exit status:
0 ok, 1 anything else, 2 usage or input error (one clear line, never a traceback),
130 interrupted (Ctrl-C; the cage and the children are cleaned up first)."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from collections.abc import Sequence
from types import FrameType

from oomphony import __version__
from oomphony.cli.render import add_render_parser
from oomphony.errors import OomphonyError, UsageError
from oomphony.units import parse_rate, parse_size, parse_swap

EXIT_OK, EXIT_FAIL, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
log = logging.getLogger("oomphony")


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line and exit status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{message} (see '{self.prog} --help')")


def _size(what: str):
    def conv(text: str) -> int:
        return parse_size(text, what=what)

    return conv


def _swap(text: str) -> int | None:
    return parse_swap(text, what="--swap")  # the setlist's grammar: auto, none, 0, 64MiB


def _rate(text: str) -> float:
    return parse_rate(text, what="--rate")


def _positive(what: str):
    def conv(text: str) -> float:
        try:
            v = float(text)
        except ValueError:
            raise UsageError(f"{what} must be a number, got {text!r}") from None
        if not v > 0 or v == float("inf"):
            raise UsageError(f"{what} must be more than zero, got {text!r}")
        return v

    return conv


def _count(what: str, *, least: int):
    def conv(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            raise UsageError(f"{what} must be a whole number, got {text!r}") from None
        if v < least:
            raise UsageError(f"{what} must be at least {least}, got {text!r}")
        return v

    return conv


def _latency(text: str) -> str | float:
    """PortAudio's "low" / "high", or seconds in (0, 2]; checked even with --no-audio."""
    if text in ("low", "high"):
        return text
    try:
        seconds = float(text)
    except ValueError:
        seconds = float("nan")
    if not 0.0 < seconds <= 2.0:
        raise UsageError(f"--latency must be low, high or seconds (0-2], got {text!r}")
    return seconds


def _add_cage_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--memory", type=_size("--memory"), help="cage memory limit, e.g. 256MiB")
    p.add_argument(
        "--swap", type=_swap, help="cage swap limit, e.g. 64MiB; none (or 0) for no swap"
    )
    p.add_argument(
        "--global",
        dest="global_",
        action="store_true",
        help="no cage: the machine-wide show of the talk (asks for confirmation)",
    )
    p.add_argument("--yes", action="store_true", help="skip the --global confirmation")
    p.add_argument(
        "--unprotected",
        action="store_true",
        help="--global even where the show cannot lock its memory and shield itself from "
        "the OOM killer (it may then be killed or stall)",
    )


def _add_audio_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--no-audio", action="store_true", help="no sound")
    p.add_argument("--audio-device", help="PortAudio device name or index")
    p.add_argument("--audio-out", metavar="FILE.wav", help="also write the sound to a WAV file")
    p.add_argument(
        "--latency", type=_latency, default="high", help="audio latency: low, high or seconds"
    )


def _add_osc_args(p: argparse.ArgumentParser) -> None:
    """Open Sound Control (docs/osc.md); checked in cli/inputs.py."""
    p.add_argument(
        "--osc-out",
        action="append",
        metavar="HOST:PORT",
        help="send the show's state as OSC to HOST:PORT (repeatable)",
    )
    p.add_argument(
        "--osc-in",
        metavar="[HOST:]PORT",
        help="listen for OSC cues on PORT (loopback), or on HOST:PORT",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="oomphony", description="The Linux memory manager, performed live.")
    parser.add_argument("--version", action="version", version=f"oomphony {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)

    run = sub.add_parser("run", help="run a show (the default: run talk)")
    run.add_argument(
        "setlist",
        nargs="?",
        help="a bundled setlist or a file (default: talk; a replay: the trace's own)",
    )
    run.add_argument("--backend", choices=["auto", "live", "sim", "replay"], default="auto")
    run.add_argument("--trace", help="the trace to replay (--backend replay)")
    _add_cage_args(run)
    run.add_argument(
        "--display",
        choices=["window", "fullscreen", "kiosk", "console", "none"],
        default="window",
    )
    run.add_argument("--palette", choices=["default", "colorblind"], default="default")
    _add_audio_args(run)
    run.add_argument("--record", metavar="FILE.jsonl", help="write the run's trace")
    run.add_argument("--speed", type=_positive("--speed"), default=1.0)
    run.add_argument("--seed", type=_count("--seed", least=0), default=0)
    run.add_argument("--duration", type=_positive("--duration"), help="stop after S seconds")
    run.add_argument(
        "--shows",
        type=_count("--shows", least=1),
        help="a looping show (kiosk) stops after N shows",
    )
    run.add_argument(
        "--screenshots", metavar="DIR", help="save a PNG of each act into DIR (for slides)"
    )
    _add_osc_args(run)

    rec = sub.add_parser("record", help="a live run in a cage: trace only, then a summary")
    rec.add_argument("file", metavar="FILE.jsonl")
    rec.add_argument("setlist", nargs="?", help="run a setlist's acts instead of a plain fill")
    _add_cage_args(rec)
    # --cache, --rate and --sleeper drive a plain fill; a setlist's acts set them instead
    rec.add_argument("--cache", type=_size("--cache"), help="page cache to fill first")
    rec.add_argument("--rate", type=_rate, help="allocation rate (default 100MiB/s)")
    rec.add_argument("--duration", type=_positive("--duration"), help="stop after S seconds")
    rec.add_argument("--sleeper", type=_size("--sleeper"), help="sleeper size")
    _add_audio_args(rec)
    _add_osc_args(rec)
    rec.set_defaults(no_audio_default=True)

    add_render_parser(sub, _positive, _count)
    sub.add_parser("doctor", help="what this machine can do, and what will fall back")
    sub.add_parser("setlists", help="list the bundled setlists")
    chk = sub.add_parser("check", help="validate setlist files")
    chk.add_argument("files", nargs="+")
    return parser


def _on_signal(signum: int, _frame: FrameType | None) -> None:
    # SIGTERM/SIGHUP: unwind like Ctrl-C so the cage and the children are cleaned up.
    raise KeyboardInterrupt(signal.Signals(signum).name)


# Options whose value may start with '-' (argparse would take "-5MiB/s" for an option and
# report a missing value instead of the bad value the user typed).
_VALUE_OPTIONS = (
    "--memory",
    "--swap",
    "--cache",
    "--rate",
    "--speed",
    "--duration",
    "--seed",
    "--shows",
    "--latency",
    "--sleeper",
    "--fps",
    "--size",
)


def _join_dashed_values(args: list[str]) -> list[str]:
    out: list[str] = []
    i = 0
    while i < len(args):
        if args[i] in _VALUE_OPTIONS and i + 1 < len(args) and args[i + 1].startswith("-"):
            out.append(f"{args[i]}={args[i + 1]}")
            i += 2
        else:
            out.append(args[i])
            i += 1
    return out


def main(argv: Sequence[str] | None = None) -> int:
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    args_list = _join_dashed_values(list(sys.argv[1:] if argv is None else argv))
    if not args_list or (
        args_list[0].startswith("-")
        and args_list[0]
        not in (
            "-h",
            "--help",
            "--version",
            "-v",
            "--verbose",
        )
    ):
        args_list.insert(0, "run")
    try:
        args = build_parser().parse_args(args_list)
        if args.command is None:
            args = build_parser().parse_args([*args_list, "run"])
    except UsageError as err:
        print(f"oomphony: {err}", file=sys.stderr)
        return EXIT_USAGE
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="oomphony: %(message)s",
    )
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _on_signal)
    try:
        return _dispatch(args)
    except UsageError as err:
        print(f"oomphony: {err}", file=sys.stderr)
        return EXIT_USAGE
    except OomphonyError as err:
        print(f"oomphony: {err}", file=sys.stderr)
        return EXIT_FAIL
    except KeyboardInterrupt:
        print("oomphony: interrupted; cage and children cleaned up", file=sys.stderr)
        return EXIT_INTERRUPTED


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "doctor":
        from oomphony.cli.doctor import doctor

        return doctor(sys.stdout)
    if args.command == "setlists":
        from oomphony.show.library import bundled_setlists

        for name, description in bundled_setlists():
            print(f"{name:<12} {description}")
        return EXIT_OK
    if args.command == "check":
        from oomphony.errors import SetlistError
        from oomphony.show.library import load_setlist

        status = EXIT_OK
        for path in args.files:
            try:
                sl = load_setlist(path)
            except SetlistError as err:
                for problem in getattr(err, "problems", (str(err),)):  # file:line: what
                    print(f"oomphony: {problem}", file=sys.stderr)
                status = EXIT_USAGE
            else:
                print(f"{path}: ok ({len(sl.acts)} acts)")
        return status
    if args.command == "render":
        from oomphony.cli.render import cmd_render

        return cmd_render(args)
    if args.command == "record":
        from oomphony.cli.run import cmd_record

        return cmd_record(args)
    from oomphony.cli.run import cmd_run

    return cmd_run(args)
