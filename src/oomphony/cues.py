"""What the director tells the picture and the sound: the act, the words, the kill.

Renderers draw from a `MemoryFrame` plus the current `Cues`; they never read /proc.
This module does not import pygame or numpy.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import NamedTuple

from oomphony.frame import Event, OomKill

# The picture presets, by name (a setlist's `picture`; the picture draws them): `stage`
# for a hall, `classroom` shows each act's longer explanation. Here, free of pygame, so a
# setlist can be checked against them without opening the picture.
PICTURE_PRESETS: tuple[str, ...] = ("stage", "classroom")


class Act(StrEnum):
    """The story's parts, in order. Setlist acts each map onto one of these."""

    ATTRACT = "attract"  # kiosk: between shows
    OVERTURE = "overture"  # memory filling, cache full
    CACHE = "cache"  # the page cache gives way
    SWAP = "swap"  # cold pages pushed out to swap
    KILL = "kill"  # the OOM killer strikes (flash, kernel line)
    EPILOGUE = "epilogue"  # the aftermath


@dataclass(frozen=True, slots=True)
class Cues:
    t_s: float
    act: Act = Act.OVERTURE
    act_name: str = ""  # the setlist's name for the act
    act_index: int = -1  # the act's place in the setlist (0 = first); -1: none
    title: str = ""  # short caption, the act's title
    caption: str = ""  # one plain sentence
    explanation: str = ""  # the longer classroom text
    kill: OomKill | None = None  # the kill, once it has happened (stays set)
    kill_t_s: float | None = None  # show time of the kill
    manual_kill: bool = False  # the allocator was killed by a key press, not the kernel
    new_events: tuple[Event, ...] = ()  # events that arrived since the previous cues
    paused: bool = False
    sound_preset: str = "stage"
    picture_preset: str = "stage"
    notes: tuple[str, ...] = field(default=())  # e.g. "no swap on this machine: act skipped"


@dataclass(frozen=True, slots=True)
class Status:
    """What the runner tells the picture each frame for the presenter's HUD."""

    audio: str = ""  # e.g. "jack 48 kHz", "off (--no-audio)", "muted · …"
    underflows: int = 0
    backend: str = ""  # live | sim | replay
    cage: str = ""  # e.g. "256 MiB + 512 MiB swap (cgroup v1)" or "none (global)"
    fallbacks: tuple[str, ...] = ()
    frame_p99_ms: float | None = None  # over the last 10 s
    dropped: int = 0  # frame slots missed this show
    kill_detect_ms: float | None = None  # the last OOM kill: kernel → show knew
    kill_screen_ms: float | None = None  # show knew → kill screen on the display
    has_kill: bool = False
    # --global: what protects the show ("show locked, adj -1000 · …"); "" for a caged show
    protections: str = ""
    footprint: str = ""  # resident memory of the show and the audio process, e.g. "show 98 MiB"
    failures: tuple[str, ...] = ()  # what went wrong (another process OOM-killed): on screen
    osc: OscCounters | None = None  # None: no --osc-out and no --osc-in


class OscCounters(NamedTuple):
    """The OSC link's counts over the run (docs/osc.md), for the HUD and the trace."""

    sent: int = 0  # datagrams sent (frame bundles and event messages, every target)
    send_errors: int = 0  # datagrams a target's socket refused (full buffer, unreachable)
    cues: int = 0  # cues received and acted on
    ignored: int = 0  # datagrams or messages ignored: not OSC, unknown address, wrong args
