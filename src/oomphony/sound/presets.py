"""Sound presets: how strongly memory events are voiced.

`stage` is dramatic (a PA in a hall), `classroom` gentler, quieter and clearer (fewer,
better separated clicks; less resonance; a softer sting), `booth` is `stage` at
background level for an unattended kiosk. Levels are linear amplitudes before the
master limiter (−1 dBFS ceiling); the noise bed's `bed_*` values are its RMS.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from oomphony.units import MiB


@dataclass(frozen=True, slots=True)
class Preset:
    name: str
    master: float  # master volume, 0..1
    # noise bed loudness ← allocation rate, on a log scale: silent-ish floor at rest,
    # `bed_max` at `rate_full_bps`; `rate_knee_bps` is where the log curve bends (below it
    # the response is nearly linear, so a 1 MiB/s trickle is already audible).
    bed_floor: float
    bed_max: float
    rate_knee_bps: float
    rate_full_bps: float
    # noise bed colour ← fullness (used / limit): exponential glide of the low-pass
    # cutoff from `cutoff_empty_hz` (near white) to `cutoff_full_hz` (brown), resonance
    # rising with fullness² so it only sings near the limit.
    cutoff_empty_hz: float
    cutoff_full_hz: float
    q_empty: float
    q_full: float
    # cache drain sweep: pitch ← cache / its peak (falls with the cache, exponential
    # between `sweep_bottom_hz` and `sweep_top_hz`); level ← how fast the cache falls,
    # full at `drain_full_frac_ps` of the arena per second.
    sweep_top_hz: float
    sweep_bottom_hz: float
    sweep_max: float
    drain_full_frac_ps: float
    # swap crackle: one click per `pages_per_click` 4 KiB pages swapped, capped at
    # `click_max_ps`. A laptop swaps ~1–200 MiB/s (256–51 200 pages/s): with 64 pages a
    # click, 1 MiB/s is 4 clicks/s (a sparse tick) and 25 MiB/s 100/s (a crackle); the
    # cap keeps a swap storm from becoming a wall of noise.
    pages_per_click: int
    click_max_ps: float
    click_gain: float
    # pressure (PSI some/full, fraction of time stalled): beating depth and rate rise
    # with `some`, reaching their maximum at `psi_full_scale`; `full` turns the beating
    # into a stutter. PSI barely moves before swapping, so 0.3 is already a lot.
    psi_full_scale: float
    beat_hz_min: float
    beat_hz_max: float
    beat_depth_max: float
    # the kill and after
    sting_gain: float
    kill_quiet_s: float  # near-silence after the kill before the drone starts
    drone_fade_s: float
    drone_gain: float


STAGE = Preset(
    name="stage",
    master=0.8,
    bed_floor=0.006,
    bed_max=0.16,
    rate_knee_bps=4 * MiB,
    rate_full_bps=512 * MiB,
    cutoff_empty_hz=9000.0,
    cutoff_full_hz=160.0,
    q_empty=0.707,
    q_full=5.0,
    sweep_top_hz=1400.0,
    sweep_bottom_hz=55.0,
    sweep_max=0.2,
    drain_full_frac_ps=0.05,
    pages_per_click=64,
    click_max_ps=400.0,
    click_gain=0.3,
    psi_full_scale=0.3,
    beat_hz_min=2.0,
    beat_hz_max=14.0,
    beat_depth_max=0.85,
    sting_gain=1.0,
    kill_quiet_s=2.5,
    drone_fade_s=6.0,
    drone_gain=0.12,
)

CLASSROOM = Preset(
    name="classroom",
    master=0.5,
    bed_floor=0.003,
    bed_max=0.08,
    rate_knee_bps=4 * MiB,
    rate_full_bps=512 * MiB,
    cutoff_empty_hz=6000.0,
    cutoff_full_hz=300.0,
    q_empty=0.707,
    q_full=1.5,
    sweep_top_hz=1000.0,
    sweep_bottom_hz=80.0,
    sweep_max=0.15,
    drain_full_frac_ps=0.05,
    pages_per_click=128,
    click_max_ps=150.0,
    click_gain=0.25,
    psi_full_scale=0.3,
    beat_hz_min=1.5,
    beat_hz_max=6.0,
    beat_depth_max=0.5,
    sting_gain=0.6,
    kill_quiet_s=2.0,
    drone_fade_s=4.0,
    drone_gain=0.08,
)

BOOTH = replace(STAGE, name="booth", master=0.35)

PRESET_BY_NAME: dict[str, Preset] = {p.name: p for p in (STAGE, CLASSROOM, BOOTH)}
PRESETS: tuple[str, ...] = tuple(PRESET_BY_NAME)
