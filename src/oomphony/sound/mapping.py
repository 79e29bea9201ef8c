"""From memory to sound: a pure function of (frame, cues, preset, previous state).

What the audience hears (constants in `presets.py`, each explained there):
- allocation rate → noise bed loudness (log scale): louder while the hog eats;
- fullness (used / limit) → bed colour: the low-pass cutoff *falls* as memory fills
  (white hiss → brown rumble), so the spectral centroid falls; resonance rises;
- page cache → a sweep whose pitch falls with the cache and whose level follows how
  fast it falls (silent while the cache holds);
- swap-outs / swap-ins per second → clicks per second (one per N pages);
- PSI some / full → beating / stutter;
- the kill (an OomKill in the cues, or a manual kill — same sting, since the audience
  hears the same event) → the sting, then near-silence, then the aftermath drone.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

from oomphony.cues import Act, Cues
from oomphony.frame import MemoryFrame, OomKill
from oomphony.sound.params import SoundParams
from oomphony.sound.presets import PRESET_BY_NAME, STAGE, Preset
from oomphony.trace.story import Story, advance
from oomphony.units import PAGE_B

log = logging.getLogger(__name__)
_warned: set[str] = set()

DRAIN_TAU_S = 0.25  # smoothing of the cache's fall rate (telemetry at 100 Hz is jumpy)
MIN_CACHE_PEAK_B = 1 << 20  # below 1 MiB of cache there is nothing to drain


@dataclass(frozen=True, slots=True)
class MappingState:
    t_s: float  # the frame time last seen
    cache_b: int
    story: Story  # the facts of this allocator life: its cache peak is the sweep's top
    drain_bps: float = 0.0  # smoothed rate at which the cache falls
    kills: int = 0  # kills seen: each new one bumps `kill_seq`
    kill_t_s: float | None = None  # show time of the latest kill


def preset_named(name: str) -> Preset:
    preset = PRESET_BY_NAME.get(name)
    if preset is None:
        if name not in _warned:
            _warned.add(name)
            log.warning("unknown sound preset %r: using %r", name, STAGE.name)
        return STAGE
    return preset


def _unit(x: float) -> float:
    """Clamp to 0..1; NaN → 0."""
    return min(1.0, max(0.0, x)) if x == x else 0.0


def _rate(x: float | None) -> float:
    return x if x is not None and math.isfinite(x) and x > 0 else 0.0


def _kill_time(frame: MemoryFrame, cues: Cues) -> float | None:
    """Show time of the kill the cues report (OomKill or manual), or None."""
    if cues.kill is not None:
        return cues.kill_t_s if cues.kill_t_s is not None else cues.kill.t_s
    for ev in cues.new_events:
        if isinstance(ev, OomKill):
            return ev.t_s
    if cues.manual_kill:
        return cues.kill_t_s if cues.kill_t_s is not None else frame.t_s
    return None


def map_frame(
    frame: MemoryFrame, cues: Cues, preset: str, prev: MappingState | None
) -> tuple[SoundParams, MappingState]:
    """Sound parameters for this frame. Pure: all memory lives in the returned state."""
    ps = preset_named(preset)
    cache = max(0, frame.cache_b)
    story = advance(prev.story if prev is not None else None, frame, cues.new_events)
    if prev is None:
        prev = MappingState(t_s=frame.t_s, cache_b=cache, story=story)
    dt = frame.t_s - prev.t_s
    drain = prev.drain_bps
    if dt > 0:
        fall = max(0.0, (prev.cache_b - cache) / dt)
        drain += (fall - drain) * (1.0 - math.exp(-dt / DRAIN_TAU_S))
    peak = max(story.cache_peak_b, cache, MIN_CACHE_PEAK_B)

    kills, kill_t = prev.kills, prev.kill_t_s
    seen = _kill_time(frame, cues)
    if seen is not None and seen != prev.kill_t_s:
        kills, kill_t = kills + 1, seen
    state = MappingState(frame.t_s if dt > 0 else prev.t_s, cache, story, drain, kills, kill_t)

    now = max(frame.t_s, cues.t_s)
    after_kill = kill_t is not None and (
        cues.kill is not None
        or cues.manual_kill
        or cues.act in (Act.KILL, Act.EPILOGUE)
        or now - kill_t < ps.kill_quiet_s + ps.drone_fade_s
    )
    common = {
        "master": ps.master,
        "kill_seq": float(kills),
        "kill_t_s": kill_t if kill_t is not None else -1.0,
        "sting_gain": ps.sting_gain,
    }
    if after_kill:
        assert kill_t is not None
        fade = _unit((now - kill_t - ps.kill_quiet_s) / ps.drone_fade_s)
        return SoundParams(**common, drone_gain=ps.drone_gain * fade), state

    limit = max(1, frame.limit_b)
    alloc_bps = _rate(frame.alloc.rate_bps) if frame.alloc.alive else 0.0
    loud = _unit(
        math.log1p(alloc_bps / ps.rate_knee_bps) / math.log1p(ps.rate_full_bps / ps.rate_knee_bps)
    )
    full = _unit(frame.used_b / limit)
    cache_frac = _unit(cache / peak)
    some = _unit((frame.psi.some or 0.0) / ps.psi_full_scale)
    stall = _unit((frame.psi.full or 0.0) / ps.psi_full_scale)
    clicks_per_b = 1.0 / (PAGE_B * ps.pages_per_click)
    params = SoundParams(
        **common,
        bed_gain=ps.bed_floor + (ps.bed_max - ps.bed_floor) * loud,
        bed_cutoff_hz=ps.cutoff_empty_hz * (ps.cutoff_full_hz / ps.cutoff_empty_hz) ** full,
        bed_q=ps.q_empty + (ps.q_full - ps.q_empty) * full * full,
        sweep_hz=ps.sweep_bottom_hz * (ps.sweep_top_hz / ps.sweep_bottom_hz) ** cache_frac,
        sweep_gain=ps.sweep_max * _unit(drain / (limit * ps.drain_full_frac_ps)),
        click_out_ps=min(ps.click_max_ps, _rate(frame.rates.swapout_bps) * clicks_per_b),
        click_in_ps=min(ps.click_max_ps, _rate(frame.rates.swapin_bps) * clicks_per_b),
        click_gain=ps.click_gain,
        beat_hz=ps.beat_hz_min + (ps.beat_hz_max - ps.beat_hz_min) * some,
        beat_depth=ps.beat_depth_max * some,
        stutter=stall,
        drone_gain=ps.drone_gain if cues.act is Act.EPILOGUE else 0.0,
    )
    return params, state
