"""The parsed arguments of `run` and `record`, checked and turned into one `RunConfig`
(show/config.py). After this, nothing reads the argparse namespace again."""

from __future__ import annotations

import argparse

from oomphony.cli.inputs import (
    check_osc_options,
    check_paths,
    check_record_options,
    check_run_options,
)
from oomphony.errors import UsageError
from oomphony.show.config import (
    AudioConfig,
    CageRequest,
    OscConfig,
    PictureConfig,
    PlainFill,
    RunConfig,
)


def pick_backend(args: argparse.Namespace) -> str:
    """--backend as asked, with a --trace making "auto" a replay; contradictions refused."""
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


def _cage(args: argparse.Namespace) -> CageRequest:
    if args.unprotected and not args.global_:
        raise UsageError("--unprotected goes with --global (a caged show needs no protection)")
    return CageRequest(
        memory_b=args.memory, swap_b=args.swap, global_=args.global_, unprotected=args.unprotected
    )


def _audio(args: argparse.Namespace, *, device_by_default: bool) -> AudioConfig:
    return AudioConfig(
        no_audio=args.no_audio,
        device=args.audio_device,
        wav_path=args.audio_out,
        latency=args.latency,
        device_by_default=device_by_default,
    )


def _osc(args: argparse.Namespace) -> OscConfig:
    outs, listen = check_osc_options(args)
    return OscConfig(out=tuple(outs), listen=listen)


def run_config(args: argparse.Namespace) -> RunConfig:
    """`oomphony run`: every option checked that can be without reading a file."""
    backend = pick_backend(args)
    check_paths(args)
    check_run_options(args, backend)
    return RunConfig(
        command="run",
        backend=backend,
        setlist=args.setlist,
        replay_path=args.trace,
        record_path=args.record,
        cage=_cage(args),
        picture=PictureConfig(
            display=args.display, palette=args.palette, screenshots=args.screenshots
        ),
        audio=_audio(args, device_by_default=True),
        speed=args.speed,
        seed=args.seed,
        duration_s=args.duration,
        shows=args.shows,
        osc=_osc(args),
    )


def record_config(args: argparse.Namespace) -> RunConfig:
    """`oomphony record FILE [SETLIST]`: live, no picture, a device only when named. With a
    setlist its acts drive the allocator; without, a plain fill (--cache, --rate,
    --sleeper)."""
    check_record_options(args)
    check_paths(argparse.Namespace(record=args.file, audio_out=args.audio_out))
    fill = None
    if not args.setlist:
        fill = PlainFill(cache_b=args.cache, rate_bps=args.rate, sleeper_b=args.sleeper)
    return RunConfig(
        command="record",
        backend="live",
        setlist=args.setlist,
        record_path=args.file,
        cage=_cage(args),
        audio=_audio(args, device_by_default=False),
        duration_s=args.duration,
        fill=fill,
        osc=_osc(args),
    )
