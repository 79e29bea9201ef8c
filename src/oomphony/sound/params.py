"""The sound's parameters: what the mapping decides and the synth renders.

`SoundParams` is the code's view; the synth and the shared-memory channel use a flat
float64 vector (`to_array`) so the audio callback never touches Python objects. Every
value is a *target*: the synth ramps towards it (no zipper noise) and clamps it to the
range in `LIMITS` (so NaN, ±inf or absurd values can never reach the speakers).
"""

from __future__ import annotations

from dataclasses import astuple, dataclass, fields

import numpy as np

SAMPLE_RATE_HZ = 48_000
BLOCK_FRAMES = 512  # the device block; the synth accepts any block up to MAX_BLOCK_FRAMES
MAX_BLOCK_FRAMES = 4096
CHANNELS = 2


@dataclass(frozen=True, slots=True)
class SoundParams:
    master: float = 0.0  # master volume, linear 0..1 (the PA's fader)
    muted: float = 0.0  # 1 = muted (ramped, not cut)
    bed_gain: float = 0.0  # noise bed amplitude, linear, before master
    bed_cutoff_hz: float = 8000.0  # noise bed low-pass cutoff: its colour
    bed_q: float = 0.707  # noise bed low-pass resonance
    sweep_hz: float = 200.0  # cache-drain sweep pitch
    sweep_gain: float = 0.0  # cache-drain sweep amplitude
    click_out_ps: float = 0.0  # swap-out clicks per second (bright, right)
    click_in_ps: float = 0.0  # swap-in clicks per second (dull, left)
    click_gain: float = 0.0  # click amplitude
    beat_hz: float = 4.0  # pressure: beating / stutter rate
    beat_depth: float = 0.0  # pressure: 0 none .. 1 full modulation
    stutter: float = 0.0  # pressure: 0 smooth beating .. 1 hard gating (PSI full)
    kill_seq: float = 0.0  # number of kills so far; a change triggers the sting
    kill_t_s: float = -1.0  # show time of the latest kill (-1: none); the WAV sink aims at it
    sting_gain: float = 1.0  # sting amplitude (the sting is pre-rendered at -0.5 dBFS peak)
    drone_gain: float = 0.0  # the aftermath drone amplitude

    def to_array(self, out: np.ndarray | None = None) -> np.ndarray:
        vals = astuple(self)
        if out is None:
            return np.array(vals, dtype=np.float64)
        out[:] = vals
        return out

    @classmethod
    def from_array(cls, arr: np.ndarray) -> SoundParams:
        return cls(*(float(x) for x in arr[: len(NAMES)]))


NAMES: tuple[str, ...] = tuple(f.name for f in fields(SoundParams))
N_PARAMS = len(NAMES)
IDX: dict[str, int] = {name: i for i, name in enumerate(NAMES)}

# (low, high, value used for NaN) for every parameter: the last line of defence.
LIMITS: dict[str, tuple[float, float, float]] = {
    "master": (0.0, 1.0, 0.0),
    "muted": (0.0, 1.0, 1.0),
    "bed_gain": (0.0, 0.6, 0.0),
    "bed_cutoff_hz": (40.0, 16_000.0, 8000.0),
    "bed_q": (0.5, 8.0, 0.707),
    "sweep_hz": (20.0, 4000.0, 200.0),
    "sweep_gain": (0.0, 0.5, 0.0),
    "click_out_ps": (0.0, 600.0, 0.0),
    "click_in_ps": (0.0, 600.0, 0.0),
    "click_gain": (0.0, 0.8, 0.0),
    "beat_hz": (0.1, 30.0, 4.0),
    "beat_depth": (0.0, 1.0, 0.0),
    "stutter": (0.0, 1.0, 0.0),
    "kill_seq": (0.0, 1e9, 0.0),
    "kill_t_s": (-1.0, 1e9, -1.0),
    "sting_gain": (0.0, 1.0, 0.0),
    "drone_gain": (0.0, 0.3, 0.0),
}
LOW = np.array([LIMITS[n][0] for n in NAMES])
HIGH = np.array([LIMITS[n][1] for n in NAMES])
NAN_VALUE = np.array([LIMITS[n][2] for n in NAMES])


def sanitize(raw: np.ndarray, out: np.ndarray) -> np.ndarray:
    """Clamp a raw parameter vector into `out` (NaN → safe default). Allocation-free."""
    np.copyto(out, raw[:N_PARAMS])
    if not np.isfinite(out).all():  # the rare path allocates; the common one a few bytes
        bad = ~np.isfinite(out)
        out[bad] = np.where(np.isnan(out[bad]), NAN_VALUE[bad], np.sign(out[bad]) * 1e12)
    np.clip(out, LOW, HIGH, out=out)
    return out
