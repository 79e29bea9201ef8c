"""The picture and the sound on one offline clock, for the `Runner` to drive.

`OfflineView` has the runner's side of `picture.view.View` (`frame`, `tick`,
`set_origin`, `reset`, `close`) but draws the same `Stage` on an off-screen surface and
never waits: its `tick` returns exactly one frame period, so the runner draws frame *i*
at show time *i* × `speed` / `fps` and the video shows it at *i* / `fps`.

`OfflineAudio` has the runner's side of `sound.AudioOutput` (`update`, `set_muted`,
`counters`, `callback_errors`, `close`) and renders the same synth through the WAV
sink's `ClockedRenderer`, keyed to the video's clock (show time / `speed`). Its kill
time is scaled the same way, so the sting lands where the kill's frame is. `finish`
renders exactly to the end of the last frame: samples = round(frames × rate / fps).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np
import pygame

from oomphony.commands import Action
from oomphony.cues import Cues, Status
from oomphony.frame import Event, MemoryFrame
from oomphony.picture.stage import Stage
from oomphony.sound.mapping import MappingState, map_frame
from oomphony.sound.params import IDX, SAMPLE_RATE_HZ, SoundParams
from oomphony.sound.presets import PRESET_BY_NAME
from oomphony.sound.sinks import ClockedRenderer
from oomphony.sources.base import Origin, Source

FrameSink = Callable[[pygame.Surface, int, float], None]  # (surface, frame index, show t)
AudioSink = Callable[[np.ndarray], None]  # float32 (n, 2) blocks in [-1, 1]
_KILL_T = IDX["kill_t_s"]
# A recorded trace stops shortly after the kill (the recorder's last frames); a video of it
# would end with the kernel's line half typed. Its last frame is held this long (show
# seconds): the kill screen's own minimum (picture/stage.py KILL_SCREEN_MIN_S).
REPLAY_TAIL_S = 6.0


class OfflineView:
    """Draws each frame the runner asks for off-screen and hands it to `on_frame`."""

    interactive = False  # nobody at the keys: the caption's pages turn by themselves

    def __init__(
        self,
        size: tuple[int, int],
        fps: int,
        on_frame: FrameSink,
        *,
        preset: str = "stage",
        palette: str = "default",
        seed: int = 0,
        draw: bool = True,  # False: the sound alone is wanted, only the clock runs
    ) -> None:
        self.fps = fps
        self.draw = draw
        self.surface = pygame.Surface(size, depth=32)
        self.stage = Stage(size, preset=preset, palette=palette, seed=seed)
        self.stage.auto_page = True
        self.frames = 0  # frames drawn so far
        self.first_kill_frame: int | None = None  # the first frame showing a kill screen
        self._on_frame = on_frame
        self._show_t_s = 0.0

    def set_origin(self, origin: Origin) -> None:
        self.stage.set_origin(origin)  # the sim or replay badge, as on a live screen

    def frame(self, dt_s: float, frame: MemoryFrame, cues: Cues, status: Status) -> list[Action]:
        self._show_t_s += dt_s
        if self.draw:
            self.stage.update(dt_s, frame, cues)
            self.stage.draw(self.surface)
            if self.first_kill_frame is None and self.stage.kill_shown_t_s is not None:
                self.first_kill_frame = self.frames
        self._on_frame(self.surface, self.frames, self._show_t_s)
        self.frames += 1
        return []

    def tick(self, fps: int) -> float:
        """One frame period of the video, in seconds; never waits."""
        return 1.0 / self.fps

    def reset(self) -> None:
        self.stage.reset()

    def close(self) -> None:
        return None


class OfflineAudio:
    """The show's sound, rendered offline on the video's clock (show time / speed)."""

    status = "offline render"

    def __init__(
        self,
        on_audio: AudioSink,
        *,
        speed: float,
        preset: str,
        force_preset: bool = False,
        seed: int = 0,
        sr: int = SAMPLE_RATE_HZ,
    ) -> None:
        self.sr = sr
        self.speed = speed
        self.preset = preset
        self.force_preset = force_preset  # --sound: one preset for every act
        self.renderer = ClockedRenderer(on_audio, sr, seed)
        self._mapping: MappingState | None = None
        self._arr = SoundParams().to_array()

    def update(self, t_s: float, frame: MemoryFrame, cues: Cues) -> None:
        name = self.preset
        if not self.force_preset and cues.sound_preset in PRESET_BY_NAME:
            name = cues.sound_preset
        params, self._mapping = map_frame(frame, cues, name, self._mapping)
        params.to_array(self._arr)
        if self._arr[_KILL_T] >= 0.0:  # the sting aims at the kill on the video's clock
            self._arr[_KILL_T] /= self.speed
        self.renderer.advance(t_s / self.speed, self._arr)

    def finish(self, frames: int, fps: int) -> int:
        """Render to the end of the last frame, exactly; returns the samples rendered."""
        end = round(frames * self.sr / fps)
        if self.renderer.pos < end:
            self.renderer.advance(end / self.sr, self._arr)
        return self.renderer.pos

    def set_muted(self, muted: bool) -> None:
        return None  # nobody presses M during a render

    def counters(self) -> tuple[int, float]:
        return 0, 0.0

    def callback_errors(self) -> int:
        return 0

    def footprint_b(self) -> tuple[int, int] | None:
        return None  # no audio process: the sound is made in the render's own process

    def close(self, end_t_s: float | None = None) -> None:
        return None  # the render job calls `finish` with the frame count


class HeldEnd:
    """A source whose last frame is held `tail_s` show seconds after it is done (the
    kill screen of a replay types out in full). Everything else is the source's own."""

    def __init__(self, inner: Source, tail_s: float = REPLAY_TAIL_S) -> None:
        self.inner = inner
        self.tail_s = tail_s
        self._last: MemoryFrame | None = None
        self._end_t: float | None = None  # show time the source ran out
        self._t = 0.0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    @property
    def done(self) -> bool:
        return self._end_t is not None and self._t >= self._end_t + self.tail_s - 1e-9

    def step(self, t_s: float) -> tuple[MemoryFrame, list[Event]]:
        self._t = t_s
        if self._end_t is None or self._last is None:
            self._last, events = self.inner.step(t_s)
            if self.inner.done:
                self._end_t = t_s
            return self._last, events
        return replace(self._last, t_s=t_s), []
