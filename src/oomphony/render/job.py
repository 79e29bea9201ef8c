"""One render: a checked plan, the runner driving the off-screen picture and the offline
sound on one clock, the encoder, and the file renamed into place at the end.

The plan is the show's own (`show/assembly.plan_show`): a setlist on the simulator, or a
recorded trace replayed with its setlist. Nothing is opened before every input is known
good. The runner is the live show's (`show/runner.Runner`); only its view and its sound
are offline (`render/offline.py`), so frame *i* is the `Stage` drawn at show time
*i* × speed / fps and the sound is the synth rendered for exactly the frames' span.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from oomphony.errors import UsageError
from oomphony.render.encoders import DEFAULT_ENCODER, Encoder, Target, kind_of, open_encoder
from oomphony.render.offline import REPLAY_TAIL_S, HeldEnd, OfflineAudio, OfflineView
from oomphony.show.assembly import HEADLESS_SAMPLE_HZ, Show, ShowPlan, plan_show
from oomphony.show.config import RunConfig
from oomphony.show.runner import Runner, RunOptions
from oomphony.sound.params import SAMPLE_RATE_HZ
from oomphony.sound.presets import PRESET_BY_NAME
from oomphony.sources.factory import SourceFactory

Notice = Callable[[str], None]
Progress = Callable[[float, int], None]  # (show seconds done, frames done)
MAX_SIZE = (7680, 4320)
MAX_FPS = 240
# An estimate of the show's length (for the progress bar's time left) runs the show
# without picture or sound; this fast a show clock never waits.
DRY_RUN_SPEED = 1e9


@dataclass(frozen=True, slots=True)
class RenderConfig:
    out: Path
    run: RunConfig  # backend sim or replay, setlist, trace, seed, speed, duration, palette
    size: tuple[int, int] = (1280, 720)
    fps: int = 30
    sound: str | None = None  # a sound preset for every act; None: the setlist's
    encoder: str = DEFAULT_ENCODER


@dataclass(frozen=True, slots=True)
class RenderResult:
    path: Path
    kind: str
    frames: int
    fps: int
    samples: int
    sample_rate: int
    show_s: float  # show time covered (video time × speed)
    wall_s: float
    first_kill_frame: int | None  # the first frame showing a kill screen
    backend: str  # "sim" or "replay"
    simulated: bool  # the show's kernel was the simulator (a sim, or a replay of one)

    @property
    def video_s(self) -> float:
        return self.frames / self.fps

    @property
    def speedup(self) -> float:
        """Seconds of video made per second of wall time."""
        return self.video_s / self.wall_s if self.wall_s > 0 else float("inf")


def check_render(cfg: RenderConfig) -> str:
    """What needs no file: the output's kind, the size and rate (one line, exit 2)."""
    kind = kind_of(cfg.out)
    w, h = cfg.size
    if kind != "wav":
        if w <= 0 or h <= 0 or w > MAX_SIZE[0] or h > MAX_SIZE[1]:
            raise UsageError(
                f"--size {w}x{h}: width and height must be 2–{MAX_SIZE[0]} × 2–{MAX_SIZE[1]}"
            )
        if w % 2 or h % 2:
            raise UsageError(
                f"--size {w}x{h}: width and height must be even (H.264 and VP9 in yuv420p "
                "halve the colour resolution), e.g. --size {w + w % 2}x{h + h % 2}"
            )
    if not 0 < cfg.fps <= MAX_FPS:
        raise UsageError(f"--fps must be 1–{MAX_FPS}, got {cfg.fps}")
    if cfg.sound is not None and cfg.sound not in PRESET_BY_NAME:
        raise UsageError(f"unknown sound preset {cfg.sound!r} (known: {', '.join(PRESET_BY_NAME)})")
    if cfg.run.backend not in ("sim", "replay"):
        raise UsageError("a render plays the simulator or a recorded trace (--trace)")
    return kind


def plan_render(cfg: RenderConfig) -> ShowPlan:
    """Every input checked, nothing opened: the output's name, the setlist or trace."""
    check_render(cfg)
    return plan_show(cfg.run)


def estimate_show_s(plan: ShowPlan, notice: Notice) -> float | None:
    """The show's length in show seconds, for the progress bar: a replay's trace says;
    a simulated show is run once without picture or sound (a fraction of a second)."""
    duration = plan.config.duration_s
    if plan.source.replay is not None:
        length = plan.source.replay.frames[-1].t_s + REPLAY_TAIL_S
        return min(length, duration) if duration is not None else length
    options = RunOptions(speed=DRY_RUN_SPEED, sample_hz=HEADLESS_SAMPLE_HZ, duration_s=duration)
    runner = Runner(options=options)
    show = Show(plan, runner, SourceFactory(plan.source, notice), interactive=False)
    results = runner.run_loop(show.make_show, loop=False)
    return results[-1].t_end_s if results else None


def render(
    cfg: RenderConfig, plan: ShowPlan, notice: Notice, progress: Progress | None = None
) -> RenderResult:
    """Render the planned show into `cfg.out` (a temporary name until it is complete)."""
    kind = check_render(cfg)
    setlist = plan.setlist
    assert setlist is not None  # a render always plays a setlist
    target = Target(cfg.out, kind, cfg.size, cfg.fps, SAMPLE_RATE_HZ)
    started = time.perf_counter()
    encoder = open_encoder(target, cfg.encoder, notice)
    try:
        view, audio, show = _assemble(cfg, plan, target, encoder, notice, progress)
        show.runner.run_loop(lambda: _held(show), loop=False)
        samples = audio.finish(view.frames, cfg.fps) if target.has_audio else 0
        encoder.finish()
    except BaseException:
        encoder.abort()  # the final name never holds half a file
        raise
    origin = view.stage.origin
    return RenderResult(
        path=cfg.out,
        kind=kind,
        frames=view.frames,
        fps=cfg.fps,
        samples=samples,
        sample_rate=SAMPLE_RATE_HZ,
        show_s=view.frames * cfg.run.speed / cfg.fps,
        wall_s=time.perf_counter() - started,
        first_kill_frame=view.first_kill_frame,
        backend=show.backend,
        simulated=origin.simulated or origin.kind == "sim",
    )


def _held(show: Show) -> tuple[Any, Any]:
    """The next show; a replay's last frame held so its kill screen plays out."""
    source, director = show.make_show()
    return (HeldEnd(source) if source.name == "replay" else source), director


def _assemble(
    cfg: RenderConfig,
    plan: ShowPlan,
    target: Target,
    encoder: Encoder,
    notice: Notice,
    progress: Progress | None,
) -> tuple[OfflineView, OfflineAudio, Show]:
    setlist = plan.setlist
    assert setlist is not None

    def on_frame(surface, index: int, show_t_s: float) -> None:
        encoder.video(surface)
        if progress is not None:
            progress(show_t_s, index + 1)

    view = OfflineView(
        cfg.size if target.has_video else (64, 36),  # the sound alone: a token picture
        cfg.fps,
        on_frame,
        preset=setlist.picture_preset,
        palette=plan.config.picture.palette,
        seed=plan.config.seed,
        draw=target.has_video,
    )
    audio = OfflineAudio(
        encoder.audio,
        speed=plan.config.speed,
        preset=cfg.sound or setlist.sound_preset,
        force_preset=cfg.sound is not None,
        seed=plan.config.seed,
    )
    options = RunOptions(
        speed=plan.config.speed,
        sample_hz=HEADLESS_SAMPLE_HZ,
        fps=cfg.fps,
        duration_s=plan.config.duration_s,
    )
    runner = Runner(audio=audio, view=view, options=options)
    show = Show(replace(plan, loop=False), runner, SourceFactory(plan.source, notice), False)
    return view, audio, show
