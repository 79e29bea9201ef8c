"""Measuring rendered sound (for tests, benchmarks and offline checks), and rendering a
sequence of frames through the mapping and the synth without any device."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from oomphony.cues import Cues
from oomphony.frame import MemoryFrame
from oomphony.sound.mapping import map_frame
from oomphony.sound.sinks import ClockedRenderer
from oomphony.support.demo import caged_frame
from oomphony.units import MiB


def rms_db(x: np.ndarray) -> float:
    """RMS level in dBFS (both channels together); −inf dB floors at −200."""
    rms = float(np.sqrt(np.mean(np.square(x, dtype=np.float64))))
    return 20.0 * np.log10(max(rms, 1e-10))


def centroid_hz(x: np.ndarray, sr: int) -> float:
    """Spectral centroid of the mono sum (power-weighted mean frequency)."""
    mono = x.astype(np.float64).sum(axis=1) if x.ndim == 2 else x.astype(np.float64)
    spec = np.abs(np.fft.rfft(mono * np.hanning(len(mono)))) ** 2
    freqs = np.fft.rfftfreq(len(mono), 1.0 / sr)
    return float((spec * freqs).sum() / max(spec.sum(), 1e-30))


def count_clicks(x: np.ndarray, threshold: float, refractory: int = 48) -> int:
    """Onsets where |x| (either channel) rises above `threshold`, at most one per
    `refractory` samples."""
    env = np.abs(x).max(axis=1) if x.ndim == 2 else np.abs(x)
    above = np.flatnonzero(env > threshold)
    if above.size == 0:
        return 0
    gaps = np.diff(above)
    return 1 + int(np.count_nonzero(gaps > refractory))


def first_above(x: np.ndarray, threshold: float, start: int = 0) -> int | None:
    env = np.abs(x[start:]).max(axis=1) if x.ndim == 2 else np.abs(x[start:])
    idx = np.flatnonzero(env > threshold)
    return start + int(idx[0]) if idx.size else None


def frame_for(
    t_s: float,
    *,
    limit_b: int = 256 * MiB,
    used_frac: float = 0.3,
    cache_b: int = 64 * MiB,
    rate_bps: float = 0.0,
    swapout_bps: float | None = 0.0,
    swapin_bps: float | None = 0.0,
    psi_some: float | None = 0.0,
    psi_full: float | None = 0.0,
    alive: bool = True,
) -> MemoryFrame:
    """A caged frame with the values the mapping reads: `used_frac` of the limit in use,
    `cache_b` of it page cache, the rest the allocator's."""
    used = int(limit_b * used_frac)
    return caged_frame(
        t_s,
        limit_b=limit_b,
        swap_limit_b=128 * MiB,
        cache_b=cache_b,
        alloc_b=max(0, used - cache_b),
        rate_bps=rate_bps,
        pid=1234,
        alive=alive,
        psi_some=psi_some,
        psi_full=psi_full,
        swapout_bps=swapout_bps,
        swapin_bps=swapin_bps,
    )


def render_show(
    steps: Iterable[tuple[MemoryFrame, Cues]], preset: str = "stage", end_t_s: float | None = None
) -> np.ndarray:
    """Render (frame, cues) pairs keyed to show time, as the WAV sink would: (n, 2)."""
    blocks: list[np.ndarray] = []
    renderer = ClockedRenderer(lambda b: blocks.append(b.copy()))
    mapping = None
    for frame, cues in steps:
        params, mapping = map_frame(frame, cues, preset, mapping)
        renderer.advance(max(frame.t_s, cues.t_s), params.to_array())
    if end_t_s is not None:
        renderer.finish(end_t_s, tail_s=0.0)
    return np.concatenate(blocks) if blocks else np.zeros((0, 2), np.float32)
