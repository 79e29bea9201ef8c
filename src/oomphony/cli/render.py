"""`oomphony render OUT [SETLIST]`: its arguments, its checks, its progress bar and its
one line of result. The render itself is `render/job.py`'s."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from oomphony.cli.inputs import check_output_file
from oomphony.errors import UsageError
from oomphony.show.config import PictureConfig, RunConfig

EXIT_OK = 0


def _size(text: str) -> tuple[int, int]:
    w, sep, h = text.lower().partition("x")
    try:
        if not sep:
            raise ValueError
        return int(w), int(h)
    except ValueError:
        raise UsageError(f"--size must look like 1280x720, got {text!r}") from None


def add_render_parser(sub: Any, positive: Callable, count: Callable) -> None:
    """The `render` subcommand (its number checks are the command line's own)."""
    from oomphony.render.encoders import DEFAULT_ENCODER, ENCODERS
    from oomphony.sound.presets import PRESET_BY_NAME

    p = sub.add_parser("render", help="render a show to a video (or .wav) file, faster than live")
    p.add_argument("out", metavar="OUT.mp4", help="the file: .mp4, .webm, .gif or .wav")
    p.add_argument("setlist", nargs="?", help="a bundled setlist or a file (default: talk)")
    p.add_argument("--trace", help="render a recorded show (its own setlist) instead of the sim")
    p.add_argument("--size", type=_size, default=(1280, 720), help="WxH, default 1280x720")
    p.add_argument("--fps", type=count("--fps", least=1), default=30, help="default 30")
    p.add_argument(
        "--speed", type=positive("--speed"), default=1.0, help="show clock speed (video = show ÷ X)"
    )
    p.add_argument("--seed", type=count("--seed", least=0), default=0, help="sim and noise seed")
    p.add_argument("--duration", type=positive("--duration"), help="stop after S show seconds")
    p.add_argument("--palette", choices=["default", "colorblind"], default="default")
    p.add_argument("--sound", choices=list(PRESET_BY_NAME), help="sound preset for every act")
    p.add_argument(
        "--encoder",
        choices=ENCODERS,
        default=DEFAULT_ENCODER,
        help=f"pipe: the imageio-ffmpeg wheel's ffmpeg; pyav: PyAV in process ({DEFAULT_ENCODER})",
    )


def render_config(args: argparse.Namespace) -> Any:
    from oomphony.render.job import RenderConfig

    check_output_file(args.out, "video")
    trace, out = Path(args.trace or ""), Path(args.out)
    if args.trace and trace.exists() and out.exists() and trace.samefile(out):
        raise UsageError(f"rendering to {args.out} would overwrite the trace being replayed")
    run = RunConfig(
        command="render",
        backend="replay" if args.trace else "sim",
        setlist=args.setlist,
        replay_path=args.trace,
        picture=PictureConfig(display="none", palette=args.palette),
        speed=args.speed,
        seed=args.seed,
        duration_s=args.duration,
    )
    return RenderConfig(
        out=Path(args.out), run=run, size=args.size, fps=args.fps, sound=args.sound,
        encoder=args.encoder,
    )  # fmt: skip


def _notice(text: str) -> None:
    print(f"oomphony: {text}", file=sys.stderr)


class _Bar:
    """tqdm on a terminal (show time done, frames per second, time left); nothing else."""

    def __init__(self, total_s: float | None) -> None:
        from tqdm import tqdm

        self.bar = tqdm(
            total=round(total_s, 1) if total_s else None,
            unit="show s",
            desc="render",
            file=sys.stderr,
            bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.1f}/{total:.1f} show s "
            "[{elapsed}<{remaining}{postfix}]",
            leave=False,
        )
        self.last_s = 0.0
        self.frames = 0

    def __call__(self, show_t_s: float, frames: int) -> None:
        if frames % 10 == 0:
            self.bar.update(round(show_t_s - self.last_s, 3))
            self.last_s = show_t_s
            elapsed = self.bar.format_dict["elapsed"] or 1e-9
            self.bar.set_postfix_str(f"{frames / elapsed:.0f} frames/s", refresh=False)

    def close(self) -> None:
        self.bar.close()


def _progress_bar(plan: Any) -> _Bar | None:
    if not sys.stderr.isatty():
        return None
    try:
        import tqdm  # noqa: F401
    except ImportError:
        return None
    from oomphony.render.job import estimate_show_s

    return _Bar(estimate_show_s(plan, _notice))


def cmd_render(args: argparse.Namespace) -> int:
    from oomphony.render.job import plan_render, render

    cfg = render_config(args)
    plan = plan_render(cfg)  # every input checked before a file is opened
    bar = _progress_bar(plan)
    try:
        result = render(cfg, plan, _notice, bar)
    finally:
        if bar is not None:
            bar.close()
    what = "simulated show" if result.simulated else "recorded show"
    picture = f"{result.frames} frames at {result.fps} fps, " if result.kind != "wav" else ""
    print(
        f"{result.path}: {result.video_s:.1f} s ({picture}a {what}, "
        f"{result.show_s:.1f} show s) in {result.wall_s:.1f} s, "
        f"{result.speedup:.1f}x real time"
    )
    return EXIT_OK
