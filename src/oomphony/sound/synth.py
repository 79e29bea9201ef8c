"""The noise instrument: (state, parameters) → (stereo samples, state), block by block.

Voices (in `voices.py`), mixed in this order:
- noise bed: white noise through a resonant low-pass (`iir.biquad`: scipy's `lfilter`
  in numpy, with carried state, so the filter is continuous across blocks). A high
  cutoff is white; a low one is brown. Loudness follows `bed_gain`, colour
  `bed_cutoff_hz` / `bed_q`.
- sweep: a phase-continuous tone whose pitch follows `sweep_hz` (the mapping lets it
  fall with the page cache).
- clicks: swap traffic as a Geiger counter, one click per accumulator crossing; count
  over a second matches the rate (std ≈ sqrt(rate/33)). Swap-outs bright, right;
  swap-ins dull, left.
- pressure: amplitude beating of bed and sweep at `beat_hz`; `stutter` sharpens it.
- the kill: a pre-rendered sting (low thump + noise burst, rendered at −0.5 dBFS peak,
  `voices.STING_PEAK`) starts at the first block that sees a new `kill_seq`; the other
  voices duck to silence for `DUCK_S`, and before it they are held 3 dB under the
  sting's peak (`BUS_HEADROOM`).
- drone: the calm aftermath (three soft partials with a slow swell).
Then master volume, a peak limiter (−1.5 dBFS threshold, instant attack, slow release)
and a hard clip at −1 dBFS: whatever the parameters (NaN, inf, absurd), no sample
exceeds −1 dBFS. Every parameter is smoothed per block and ramped per sample.

`render_into` updates a `SynthState` in place and writes into a caller's buffer, using
only the state's preallocated arrays (the audio callback's path; the few temporaries
left are the biquad's output and scalars). `render` is the pure form: it copies the
state and returns fresh samples. Buffers are planar (channels, frames) float32.
"""

from __future__ import annotations

import copy
import math

import numpy as np

from oomphony.sound import voices
from oomphony.sound.params import (
    CHANNELS,
    IDX,
    MAX_BLOCK_FRAMES,
    SAMPLE_RATE_HZ,
    SoundParams,
    sanitize,
)
from oomphony.sound.state import NOISE_TABLE_FRAMES, SynthState

CEILING = 10 ** (-1.0 / 20)  # −1 dBFS: the hard limit for any sample
LIMIT_THRESHOLD = 10 ** (-1.5 / 20)  # the limiter aims a little below the ceiling
LIMIT_RELEASE_S = 0.4  # limiter gain recovers over ~this time
# Everything before the kill (bed, sweep, clicks, pressure) is limited to 3 dB under the
# sting's peak, so the kill is always the loudest moment: in a live record at 150-200 MiB/s
# of swap-out the crackles came within 2-3 dB of the sting. 3 dB, not more: a harder bus
# limit flattened the noise bed's rise with the allocation rate (tried at 6 dB).
BUS_HEADROOM = 10 ** (-3.0 / 20)
DUCK_S = 1.5  # after a kill, the other voices stay silent this long (the sting's length)
DUCK_RELEASE_S = 0.5

# Smoothing time constants (seconds) per parameter: short for clicks (their count must
# track the swap rate second by second), longer for colour (a slow, unzippered sweep).
_TAU_S = {
    "master": 0.05,
    "muted": 0.02,
    "bed_gain": 0.08,
    "bed_cutoff_hz": 0.15,
    "bed_q": 0.15,
    "sweep_hz": 0.1,
    "sweep_gain": 0.1,
    "click_out_ps": 0.03,
    "click_in_ps": 0.03,
    "click_gain": 0.05,
    "beat_hz": 0.2,
    "beat_depth": 0.15,
    "stutter": 0.15,
    "kill_seq": 0.0,
    "kill_t_s": 0.0,
    "sting_gain": 0.0,
    "drone_gain": 0.5,
}
_LOG_PARAMS = ("bed_cutoff_hz", "sweep_hz", "beat_hz")  # smoothed in the log domain


def new_state(sr: int = SAMPLE_RATE_HZ, seed: int = 0) -> SynthState:
    st = SynthState(
        sr=sr,
        rng=np.random.default_rng(seed),
        sting=voices.make_sting(sr),
        noise_table=np.random.default_rng(seed + 1).standard_normal((2, NOISE_TABLE_FRAMES)),
        click_tmpl=(
            voices.make_click(3200.0, 0.0004, (0.35, 1.0), sr),
            voices.make_click(900.0, 0.0008, (1.0, 0.35), sr),
        ),
    )
    st.drone_loop = voices.make_drone(sr)
    for name, tau in _TAU_S.items():
        st.tau[IDX[name]] = max(tau * sr, 1e-9)  # in samples; 0 means jump
    return st


def copy_state(st: SynthState) -> SynthState:
    """A deep copy that shares the read-only tables."""
    shared = (st.noise_table, st.sting, st.drone_loop, *st.click_tmpl)
    return copy.deepcopy(st, memo={id(a): a for a in shared})


def render(
    st: SynthState, params: SoundParams | np.ndarray, frames: int
) -> tuple[np.ndarray, SynthState]:
    """Pure form: (state, params) → (samples (frames, 2) float32, new state)."""
    st = copy_state(st)
    p = params.to_array() if isinstance(params, SoundParams) else params
    out = np.empty((frames, CHANNELS), np.float32)
    for start in range(0, frames, MAX_BLOCK_FRAMES):
        render_into(st, p, out[start : start + MAX_BLOCK_FRAMES])
    return out, st


def _smooth(st: SynthState, raw: np.ndarray, n: int) -> None:
    tgt = sanitize(raw, st.target)
    for name in _LOG_PARAMS:
        tgt[IDX[name]] = math.log(tgt[IDX[name]])
    np.copyto(st.prev, st.cur)
    if not st.started:
        np.copyto(st.cur, tgt)
        st.cur[IDX["master"]] = 0.0  # fade in from silence
        np.copyto(st.prev, st.cur)
        st.kill_seen = float(tgt[IDX["kill_seq"]])  # a kill from before we started is not replayed
        st.started = True
    # alpha = 1 − exp(−n/tau), tau = 0 → 1 (jump)
    np.divide(-float(n), st.tau, out=st.alpha)
    np.exp(st.alpha, out=st.alpha)
    np.subtract(1.0, st.alpha, out=st.alpha)
    np.subtract(tgt, st.cur, out=tgt)
    tgt *= st.alpha
    st.cur += tgt


def render_into(st: SynthState, raw_params: np.ndarray, out: np.ndarray) -> None:
    """Render `len(out)` frames (≤ MAX_BLOCK_FRAMES) into `out` (frames, 2), in place."""
    n = out.shape[0]
    sr = st.sr
    _smooth(st, raw_params, n)
    np.divide(st.k[:n], float(n), out=st.ramp[:n])
    mix = st.mix[:, :n]

    # kill trigger: start the sting at this block, duck everything else
    if st.cur[IDX["kill_seq"]] != st.kill_seen:
        st.kill_seen = float(st.cur[IDX["kill_seq"]])
        st.sting_pos = 0
        st.duck_left = int(DUCK_S * sr)
    duck0 = st.duck
    if st.duck_left > 0:
        st.duck = 0.0
        st.duck_left = max(0, st.duck_left - n)
    else:
        st.duck = min(1.0, st.duck + n / (DUCK_RELEASE_S * sr))
    duck = st.duckbuf[:n]
    np.multiply(st.ramp[:n], st.duck - duck0, out=duck)
    duck += duck0

    am = voices.pressure(st, n)
    am *= duck
    voices.bed(st, n, am, mix)
    voices.sweep(st, n, am, mix)
    voices.clicks(st, n)
    voices.mix_clicks(st, n, duck, mix)
    sting_gain = float(st.cur[IDX["sting_gain"]])
    if sting_gain > 0.0:  # no sting, nothing to stand out from: the master limiter alone
        bus = BUS_HEADROOM * voices.STING_PEAK * sting_gain
        st.bus_gain = _limit(st, n, mix, bus, st.bus_gain)
    voices.sting(st, n, mix)
    voices.drone(st, n, mix)
    _master(st, n, mix)
    np.copyto(out, mix.T, casting="same_kind")
    st.samples += n


def _limit(
    st: SynthState,
    n: int,
    mix: np.ndarray,
    threshold: float,
    g0: float,
    *,
    peak: float | None = None,
) -> float:
    """Peak limiter, in place: instant attack (whole block), slow release (ramped).
    Returns the gain the next block starts from."""
    if peak is None:
        absb = st.pl[:, :n]
        np.abs(mix, out=absb)
        peak = float(absb.max())
    target = min(1.0, threshold / peak) if peak > 0.0 and math.isfinite(peak) else 1.0
    if target >= 1.0 and g0 >= 1.0:  # the common case: nothing to limit, nothing to do
        return 1.0
    if target <= g0:
        mix *= target
        return target
    g1 = g0 + (target - g0) * (1.0 - math.exp(-n / (LIMIT_RELEASE_S * st.sr)))
    gl = st.g[:n]
    np.multiply(st.ramp[:n], g1 - g0, out=gl)
    gl += g0
    mix *= gl
    return g1


def _master(st: SynthState, n: int, mix: np.ndarray) -> None:
    m, u = IDX["master"], IDX["muted"]
    g0 = float(st.prev[m]) * (1.0 - float(st.prev[u]))
    g1 = float(st.cur[m]) * (1.0 - float(st.cur[u]))
    g = st.g[:n]
    np.multiply(st.ramp[:n], g1 - g0, out=g)
    g += g0
    mix *= g
    absb = st.pl[:, :n]
    np.abs(mix, out=absb)
    peak = float(absb.max())
    if not math.isfinite(peak) or not math.isfinite(float(st.zi_bed.sum())):
        st.zi_bed[:] = 0.0  # a poisoned filter state: reset, and drop the block
        mix[:] = 0.0
        peak = 0.0
    st.lim_gain = _limit(st, n, mix, LIMIT_THRESHOLD, st.lim_gain, peak=peak)
    np.minimum(mix, CEILING * 0.999, out=mix)  # numerically a no-op after the limiter,
    np.maximum(mix, -CEILING * 0.999, out=mix)  # but the ceiling is a promise
