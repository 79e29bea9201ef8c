"""Commands from the director (or a key press) to whatever drives the allocator.

The live backend forwards them to the allocator child; the simulator applies them to
its model; replay ignores them. Rates are bytes per second, sizes bytes.
"""

from __future__ import annotations

from dataclasses import dataclass


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
