"""Checks on what the user gave, made before anything starts (no cage, no audio process,
no window): every path the show would write or read, and options a command would
otherwise ignore. Each failure is one `UsageError` line (exit status 2)."""

from __future__ import annotations

import argparse
import os
import socket
from pathlib import Path

from oomphony.errors import UsageError


def _why_unwritable(p: Path) -> str | None:
    if p.is_dir():
        return "it is a directory"
    parent = p.parent
    if not parent.exists():
        return f"there is no directory {parent}"
    if not parent.is_dir():
        return f"{parent} is not a directory"
    if not os.access(parent, os.W_OK | os.X_OK):
        return f"{parent} is not writable (permission denied or a read-only file system)"
    if p.exists() and not os.access(p, os.W_OK):
        return "the file is not writable"
    return None


def check_output_file(path: str, what: str) -> None:
    """A file the show will write (`--record`, `--audio-out`, `record FILE`)."""
    why = _why_unwritable(Path(path))
    if why:
        raise UsageError(f"cannot write {what} {path}: {why}")


def check_output_dir(path: str, what: str) -> None:
    """A directory the show will write into (`--screenshots`); made if missing."""
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise UsageError(f"cannot write {what} into {path}: it is not a directory")
    try:
        p.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise UsageError(f"cannot write {what} into {path}: {err.strerror}") from None
    if not os.access(p, os.W_OK | os.X_OK):
        raise UsageError(
            f"cannot write {what} into {path}: "
            "not writable (permission denied or a read-only file system)"
        )


def _same_file(a: str, b: str) -> bool:
    pa, pb = Path(a), Path(b)
    try:
        if pa.exists() and pb.exists():
            return pa.samefile(pb)
    except OSError:
        return False
    return pa.resolve() == pb.resolve()


def check_paths(args: argparse.Namespace) -> None:
    """Every path of a `run` (or of `record`, whose trace is `args.record`)."""
    for what, path in (("trace", args.record), ("audio file", args.audio_out)):
        if path is not None:
            check_output_file(path, what)
    if args.record and args.audio_out and _same_file(args.record, args.audio_out):
        raise UsageError(f"the trace and the audio file are the same file: {args.record}")
    trace = getattr(args, "trace", None)
    if trace and args.record and _same_file(trace, args.record):
        raise UsageError(f"--record {args.record} would overwrite the trace being replayed")
    screenshots = getattr(args, "screenshots", None)
    if screenshots:
        check_output_dir(screenshots, "screenshots")


def check_audio_options(args: argparse.Namespace) -> None:
    if args.no_audio and args.audio_device is not None:
        raise UsageError("--audio-device names a device to play on; --no-audio plays none")


def check_run_options(args: argparse.Namespace, backend: str) -> None:
    """Options `run` would ignore with this backend or setlist."""
    check_audio_options(args)
    if backend == "replay":
        given = [o for o, v in (("--memory", args.memory), ("--swap", args.swap)) if v is not None]
        if args.global_:
            given.append("--global")
        if given:
            raise UsageError(
                f"{' and '.join(given)} set{'s' if len(given) == 1 else ''} a cage; "
                "a replay shows the cage of its trace"
            )


def check_record_options(args: argparse.Namespace) -> None:
    """`record FILE SETLIST`: the setlist's acts set the fill, the rate and the sleeper."""
    check_audio_options(args)
    if args.setlist:
        driven = (("--rate", args.rate), ("--cache", args.cache), ("--sleeper", args.sleeper))
        given = [o for o, v in driven if v is not None]
        if given:
            raise UsageError(
                f"{', '.join(given)}: with a setlist, its acts set the allocation rate, the "
                "cache fill and the sleeper (edit the setlist, or record without one)"
            )


# --- Open Sound Control (docs/osc.md) ------------------------------------------------------

LOOPBACK = "127.0.0.1"


def _port(text: str, option: str, given: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise UsageError(f"{option} {given!r}: the port must be a number from 1 to 65535")
    return int(text)


def parse_osc_address(text: str, option: str, *, host_optional: bool) -> tuple[str, int]:
    """`HOST:PORT` (`[v6]:PORT` for an IPv6 address); with `host_optional` a bare `PORT`
    means the loopback. The host must resolve now, not at the first frame."""
    host, sep, port = text.rpartition(":")
    if not sep:
        if not host_optional:
            raise UsageError(f"{option} {text!r}: expected HOST:PORT, e.g. 127.0.0.1:9000")
        host, port = LOOPBACK, text
    elif host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not host:
        raise UsageError(f"{option} {text!r}: expected HOST:PORT, e.g. 127.0.0.1:9000")
    number = _port(port, option, text)
    try:
        socket.getaddrinfo(host, number, type=socket.SOCK_DGRAM)
    except (OSError, UnicodeError) as err:
        why = getattr(err, "strerror", None) or err
        raise UsageError(f"{option} {text!r}: unknown host {host!r} ({why})") from None
    return host, number


def check_osc_options(
    args: argparse.Namespace,
) -> tuple[list[tuple[str, int]], tuple[str, int] | None]:
    """--osc-out (any number) and --osc-in, parsed; python-osc must be installed."""
    outs = [parse_osc_address(t, "--osc-out", host_optional=False) for t in args.osc_out or ()]
    listen = None
    if args.osc_in is not None:
        listen = parse_osc_address(args.osc_in, "--osc-in", host_optional=True)
    if outs or listen:
        from oomphony.show.osc import require_python_osc

        require_python_osc("--osc-out" if outs else "--osc-in")
    return outs, listen
