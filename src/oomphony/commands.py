"""Commands from the director (or a key press) to whatever drives the allocator.

The live backend forwards them to the allocator child; the simulator applies them to
its model; replay ignores them. Rates are bytes per second, sizes bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


@dataclass(frozen=True, slots=True)
class SetRate:
    rate_bps: float


@dataclass(frozen=True, slots=True)
class Ramp:
    from_bps: float
    to_bps: float
    over_s: float


@dataclass(frozen=True, slots=True)
class Hold:
    """Stop allocating, keep what is held."""


@dataclass(frozen=True, slots=True)
class Release:
    """Give back `size_b` bytes (all when None)."""

    size_b: int | None = None


@dataclass(frozen=True, slots=True)
class FillCache:
    """Read `size_b` of a file on disk from inside the cage, so the cache is charged there."""

    size_b: int


@dataclass(frozen=True, slots=True)
class StartSleeper:
    """Start a process in the cage with `size_b` of working set it then leaves cold."""

    size_b: int


@dataclass(frozen=True, slots=True)
class WakeSleeper:
    """The sleeper touches all its pages again (swap-ins)."""


@dataclass(frozen=True, slots=True)
class KillNow:
    """A manual SIGKILL (the K key): reported as manual, never as an OOM kill."""


@dataclass(frozen=True, slots=True)
class Restart:
    """Start a fresh allocator after a kill (R key, kiosk loop)."""


Command = (
    SetRate | Ramp | Hold | Release | FillCache | StartSleeper | WakeSleeper | KillNow | Restart
)


# --- the presenter's actions (a key press in picture/keys.py, an OSC cue in show/oscin.py) -


class Action(Enum):
    PAUSE = "pause"  # a toggle (Space)
    PAUSE_ON = "pause_on"  # pause, if not paused (a remote cue: /oomphony/pause)
    RESUME = "resume"  # resume, if paused (/oomphony/resume)
    RATE_UP = "rate_up"
    RATE_DOWN = "rate_down"
    NEXT_ACT = "next_act"
    KILL = "kill"
    RESTART = "restart"
    MUTE = "mute"  # a toggle (M)
    MUTE_ON = "mute_on"  # remote cues: /oomphony/mute 1, /oomphony/mute 0
    MUTE_OFF = "mute_off"
    HUD = "hud"
    FULLSCREEN = "fullscreen"
    HELP = "help"
    QUIT = "quit"
    RESIZE = "resize"  # the display changed size: call Stage.resize(display.size)


@dataclass(frozen=True, slots=True)
class RateCue:
    """A remote cue (OSC `/oomphony/rate`): set the allocation rate to `rate_bps`, or
    multiply the current one by `factor`. Exactly one of the two is given."""

    rate_bps: float | None = None
    factor: float | None = None


# What the director, the runner or the view may be asked to do: a key's action, or a
# remote cue (show/oscin.py), through the same path (Runner._act_on).
Pressed = Action | RateCue

# The actions the director acts on (and every RateCue); the runner does KILL, RESTART,
# MUTE* and QUIT itself, the view HUD, HELP, FULLSCREEN and RESIZE.
DIRECTOR_ACTIONS = frozenset(
    {
        Action.PAUSE,
        Action.PAUSE_ON,
        Action.RESUME,
        Action.RATE_UP,
        Action.RATE_DOWN,
        Action.NEXT_ACT,
    }
)
