"""The picture as the runner sees it: a display, a stage, a clock, and screenshots.

`View.frame` runs one picture frame (events → update → draw → flip) and returns the
live-control actions as the runner's action names. The next key turns the caption's
page first, and only on its last page goes on to the runner (the next act).
"""

from __future__ import annotations

import time
from pathlib import Path

import pygame

from oomphony.commands import Action
from oomphony.cues import Act, Cues, Status
from oomphony.frame import MemoryFrame
from oomphony.picture import Display, HudInfo, Stage
from oomphony.picture.display import HEADLESS_DRIVERS
from oomphony.picture.shots import ShotWriter
from oomphony.sources.base import Origin

_VIEW_ACTIONS = (Action.HUD, Action.HELP, Action.RESIZE, Action.FULLSCREEN)  # not passed on
# How long into an act its screenshot is taken (show seconds): long enough for the act's
# look to settle; the kill screen types the kernel's line out (~2 s for a 180-character line).
SHOT_DELAY_S = {Act.KILL: 2.6}
DEFAULT_SHOT_DELAY_S = 1.5


class View:
    def __init__(
        self, display: Display, stage: Stage, *, screenshots: str | Path | None = None
    ) -> None:
        self.display = display
        self.stage = stage
        self.clock = pygame.time.Clock()
        self.hud_on = False
        self.help_on = False
        self._frame_ms = 0.0
        self._shots = Path(screenshots) if screenshots else None
        self._writer = ShotWriter()  # the PNG is written beside the show, not in a frame
        self._shot_n = 0
        self._act: Act | None = None
        self._act_since = 0.0
        self._act_shot = False
        if self._shots is not None:
            self._shots.mkdir(parents=True, exist_ok=True)

    @classmethod
    def open(
        cls,
        mode: str,
        *,
        preset: str = "stage",
        palette: str = "default",
        seed: int = 0,
        screenshots: str | Path | None = None,
    ) -> View:
        display = Display.open(mode)
        stage = Stage(display.size, preset=preset, palette=palette, seed=seed)
        stage.kiosk = display.kiosk
        stage.auto_page = display.kiosk or display.mode == "none"  # nobody at the keys
        return cls(display, stage, screenshots=screenshots)

    @property
    def interactive(self) -> bool:
        """Somebody can press keys: a real window or screen, not SDL's dummy or offscreen
        driver (there a wait for a key would never end)."""
        if self.display.mode == "none":
            return False
        return pygame.display.get_driver() not in HEADLESS_DRIVERS

    def set_origin(self, origin: Origin) -> None:
        """The source's origin, handed down by the runner: sim and replay are labelled."""
        self.stage.set_origin(origin)

    def frame(self, dt_s: float, frame: MemoryFrame, cues: Cues, status: Status) -> list[Action]:
        """One picture frame; returns the presenter's actions for the runner."""
        started = time.perf_counter()
        passed: list[Action] = []
        for action in self.display.poll(time.monotonic()):
            if action is Action.HUD:
                self.hud_on = not self.hud_on
            elif action is Action.HELP:
                self.help_on = not self.help_on
            elif action is Action.RESIZE:
                self.stage.resize(self.display.size)
            elif action is Action.NEXT_ACT and self.stage.next_page():
                continue  # the explanation's next page, before the next act
            elif action not in _VIEW_ACTIONS:
                passed.append(action)
        self.stage.update(dt_s, frame, cues)
        hud = None
        if self.hud_on:
            hud = HudInfo(fps=self.clock.get_fps(), frame_ms=self._frame_ms, status=status)
        self.stage.failures = status.failures
        self.stage.draw(self.display.surface, hud, self.help_on)
        self.display.flip()
        self._maybe_screenshot(cues)
        self._frame_ms = (time.perf_counter() - started) * 1000
        return passed

    def _maybe_screenshot(self, cues: Cues) -> None:
        """With --screenshots: one PNG per act, taken once the act has settled (a copy of
        the frame now, written by the ShotWriter's thread)."""
        if self._shots is None or self._writer.failed:
            return
        if cues.act != self._act:
            self._act, self._act_since, self._act_shot = cues.act, cues.t_s, False
        delay = SHOT_DELAY_S.get(cues.act, DEFAULT_SHOT_DELAY_S)
        if not self._act_shot and cues.t_s - self._act_since >= delay:
            self._act_shot = True
            self._shot_n += 1
            path = self._shots / f"{self._shot_n:02d}-{cues.act.value}.png"
            self._writer.save(self.display.surface, path)

    def tick(self, fps: int) -> float:
        """Wait for the next frame (clock.tick, never tick_busy_loop); real seconds."""
        return self.clock.tick(fps) / 1000.0

    def reset(self) -> None:
        self.stage.reset()
        self._act = None

    def close(self) -> None:
        self._writer.close()
        self.display.close()
