"""Opening the picture somewhere: a window, the whole screen, a kiosk, a bare console.

Modes (`--display`):
- `window`: a resizable window (F11 toggles fullscreen).
- `fullscreen`: the whole screen at the desktop's resolution (F11 toggles back).
- `kiosk`: fullscreen, cursor hidden, screen saver off; quitting needs Q or Esc held for
  2 s (the runner loops the show).
- `console`: SDL's KMSDRM driver on a bare Linux TTY (no X, no Wayland): run from a text
  console (Ctrl+Alt+F3) as a user who can open /dev/dri/card* (root, or the `video`
  group); `dri_status()` says whether that is possible here (doctor shows it). SDL
  presents the picture through an OpenGL ES 2 renderer there (see `CONSOLE_ENV`).
- `none`: headless; the scene is drawn on an off-screen surface (screenshots still work).

Only `pygame.display` is initialised here (never the mixer: it would grab the sound
device the audio process needs).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pygame

from oomphony.commands import Action
from oomphony.errors import DisplayError
from oomphony.picture.keys import QUIT_KEYS, HoldToQuit, map_key

log = logging.getLogger(__name__)

HEADLESS_DRIVERS = ("offscreen", "dummy")
MODES = ("window", "fullscreen", "kiosk", "console", "none")
DEFAULT_WINDOW = (1280, 720)
ALTERNATIVES = (
    "use --display none for a headless run, run under xvfb-run, "
    "or --display console on a bare Linux TTY"
)
CONSOLE_ALTERNATIVES = (
    "run it from a text console as root or a user in group video (`oomphony doctor` says "
    "whether /dev/dri is usable), or use --display none for a headless run"
)
# SDL's settings for --display console (each only where the environment does not set it).
# KMSDRM shows a pygame surface through an SDL renderer on an EGL/GBM window. SDL picks
# its desktop "opengl" renderer first; where libGL.so.1 is missing (a bare console box
# often has Mesa's EGL and GLES but no GLX/libGL) SDL still creates that renderer on the
# GLES library, its fixed-function calls resolve to no-op stubs, and the screen stays
# black while flips succeed (measured in the Debian 12 VM: bochs-drm, Mesa llvmpipe).
# OpenGL ES 2 is what KMSDRM's EGL provides everywhere it works.
CONSOLE_ENV = {"SDL_VIDEODRIVER": "kmsdrm", "SDL_FRAMEBUFFER_ACCELERATION": "opengles2"}


def dri_status(dev_root: Path = Path("/dev")) -> tuple[bool, str]:
    """Whether SDL's KMSDRM driver could open a DRM device here, and one line why."""
    dri = dev_root / "dri"
    cards = sorted(dri.glob("card*")) if dri.is_dir() else []
    if not cards:
        return False, f"no {dri}/card* (no DRM/KMS graphics device): --display console unusable"
    usable = [c for c in cards if os.access(c, os.R_OK | os.W_OK)]
    if not usable:
        return (
            False,
            f"{cards[0]} exists but is not readable and writable by this user "
            "(join the 'video' group or run as root)",
        )
    return True, f"{usable[0]} usable for --display console (run it from a text console)"


class Display:
    """A place the stage is shown; `surface` is what `Stage.draw` paints."""

    def __init__(self, mode: str, surface: pygame.Surface, window_size: tuple[int, int]):
        self.mode = mode
        self.surface = surface
        self.size: tuple[int, int] = surface.get_size()
        self.window_size = window_size
        self.fullscreen = mode in ("fullscreen", "kiosk", "console")
        self.hold = HoldToQuit()
        self._owns_display = mode != "none"

    @property
    def kiosk(self) -> bool:
        return self.mode == "kiosk"

    @classmethod
    def open(
        cls, mode: str, *, size: tuple[int, int] | None = None, title: str = "oomphony"
    ) -> Display:
        if mode not in MODES:
            raise DisplayError(f"unknown display mode {mode!r}; choose one of {', '.join(MODES)}")
        window = size or DEFAULT_WINDOW
        if mode == "none":
            return cls(mode, pygame.Surface(window), window)
        if mode == "window" and not (
            os.environ.get("DISPLAY")
            or os.environ.get("WAYLAND_DISPLAY")
            or os.environ.get("SDL_VIDEODRIVER")
        ):
            # A window needs a window system; without one, SDL's probe only prints noise
            # (Wayland's "XDG_RUNTIME_DIR is invalid") before falling back to offscreen.
            raise DisplayError(
                f"no display for --display window (no DISPLAY, no WAYLAND_DISPLAY); {ALTERNATIVES}"
            )
        previous_env = {k: os.environ.get(k) for k in CONSOLE_ENV}
        if mode == "console":
            os.environ["SDL_VIDEODRIVER"] = CONSOLE_ENV["SDL_VIDEODRIVER"]
            os.environ.setdefault(
                "SDL_FRAMEBUFFER_ACCELERATION", CONSOLE_ENV["SDL_FRAMEBUFFER_ACCELERATION"]
            )
        try:
            pygame.display.init()
            driver = pygame.display.get_driver()
            if driver in HEADLESS_DRIVERS and os.environ.get("SDL_VIDEODRIVER") != driver:
                # SDL falls back to an invisible surface when it finds no screen: a show
                # nobody can see is an error unless that driver was asked for.
                raise pygame.error(f"no X11, Wayland or KMSDRM screen found (SDL chose {driver})")
            pygame.display.set_caption(title)
            if mode == "window":
                surface = pygame.display.set_mode(window, pygame.RESIZABLE)
            else:
                surface = pygame.display.set_mode(size or (0, 0), pygame.FULLSCREEN)
        except pygame.error as err:
            pygame.display.quit()
            if mode == "console":  # leave the environment as it was
                for key, value in previous_env.items():
                    if value is None:
                        os.environ.pop(key, None)
                    else:
                        os.environ[key] = value
            hint = CONSOLE_ALTERNATIVES if mode == "console" else ALTERNATIVES
            raise DisplayError(f"no display for --display {mode} ({err}); {hint}") from err
        if mode != "window":
            pygame.display.set_allow_screensaver(False)
        if mode in ("kiosk", "console"):
            pygame.mouse.set_visible(False)
        log.info("display %s via %s at %s", mode, pygame.display.get_driver(), surface.get_size())
        return cls(mode, surface, window)

    # --- per frame ----------------------------------------------------------------------

    def poll(self, now_s: float) -> list[Action]:
        """Pending window events as actions; resizes and F11 are handled here (and
        reported as RESIZE so the stage can follow). Never blocks."""
        if not self._owns_display:
            return []
        actions: list[Action] = []
        for ev in pygame.event.get():
            if ev.type == pygame.QUIT:
                actions.append(Action.QUIT)
            elif ev.type in (pygame.VIDEORESIZE, pygame.WINDOWSIZECHANGED):
                self._refresh_surface(actions)
            elif ev.type == pygame.KEYDOWN:
                if self.kiosk and ev.key in QUIT_KEYS:
                    self.hold.press(now_s)
                    continue
                act = map_key(ev.key, getattr(ev, "unicode", ""))
                if act is Action.FULLSCREEN:
                    if self.kiosk:
                        continue
                    self.toggle_fullscreen()
                    actions.append(Action.FULLSCREEN)
                    self._refresh_surface(actions)
                elif act is not None:
                    actions.append(act)
            elif ev.type == pygame.KEYUP and ev.key in QUIT_KEYS:
                self.hold.release()
        if self.kiosk and self.hold.should_quit(now_s):
            self.hold.release()
            actions.append(Action.QUIT)
        return actions

    def _refresh_surface(self, actions: list[Action]) -> None:
        surf = pygame.display.get_surface()
        if surf is None:
            return
        self.surface = surf
        if surf.get_size() != self.size:
            self.size = surf.get_size()
            if not self.fullscreen:
                self.window_size = self.size
            if Action.RESIZE not in actions:
                actions.append(Action.RESIZE)

    def toggle_fullscreen(self) -> None:
        if self.fullscreen:
            self.surface = pygame.display.set_mode(self.window_size, pygame.RESIZABLE)
        else:
            self.window_size = self.size
            self.surface = pygame.display.set_mode((0, 0), pygame.FULLSCREEN)
        self.fullscreen = not self.fullscreen

    def describe(self) -> tuple[str, tuple[int, int]]:
        """SDL's video driver ("none" off-screen) and the size drawn at."""
        driver = "none"
        if self._owns_display and pygame.display.get_init():
            driver = pygame.display.get_driver()
        return driver, self.surface.get_size()

    def flip(self) -> None:
        if self._owns_display:
            pygame.display.flip()

    def screenshot(self, path: str | Path) -> None:
        pygame.image.save(self.surface, str(path))

    def close(self) -> None:
        if self._owns_display and pygame.display.get_init():
            pygame.mouse.set_visible(True)
            pygame.display.quit()
        self._owns_display = False
