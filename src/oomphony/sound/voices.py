"""The instrument's voices, each writing one block into a planar (2, n) float32 mix.

Called by `synth.render_into` with the synth state; every function uses the state's
preallocated buffers. float32 throughout (numpy's float32 sine is ~9× faster than
float64 here) except the bed's low-pass, which runs in float64 (an IIR at 40 Hz
needs the precision).
"""

from __future__ import annotations

import math

import numpy as np

from oomphony.sound.iir import biquad
from oomphony.sound.params import IDX
from oomphony.sound.state import CLICK_FRAMES, NOISE_TABLE_FRAMES, SynthState

TWO_PI = 2.0 * math.pi
STING_S = 1.2
# The sting is rendered at −0.5 dBFS peak, before master (the master limiter keeps the
# result under −1 dBFS): the kill must stand out. Measured in a live record at 150-200
# MiB/s of swap-out, the crackles peaked within 3 dB of a sting rendered at −3 dBFS.
STING_PEAK = 10 ** (-0.5 / 20)
SWEEP_DETUNE = 1.012  # right channel of the sweep: 1.2 % sharp, a slow beating width
DRONE_HZ = 55.0  # A1, with partials 2 and 3 (A2, E3): an open fifth, calm
DRONE_AMP = np.array([[0.5, 0.45, 0.15], [0.5, 0.2, 0.35]], np.float32)  # (L, R) × partial
DRONE_SWELL_HZ = 0.07
DRONE_LOOP_S = 0.2  # 11 periods of 55 Hz


# --- pre-rendered material ------------------------------------------------------------


def lowpass_coeffs(fc: float, q: float, sr: int) -> tuple[np.ndarray, np.ndarray]:
    b, a = np.empty(3), np.empty(3)
    fill_lowpass(b, a, fc, q, sr)
    return b, a


def fill_lowpass(b: np.ndarray, a: np.ndarray, fc: float, q: float, sr: int) -> None:
    """RBJ cookbook biquad low-pass, normalised (a[0] = 1), written in place."""
    w0 = TWO_PI * min(fc, 0.45 * sr) / sr
    cw, alpha = math.cos(w0), math.sin(w0) / (2.0 * q)
    a0 = 1.0 + alpha
    b[0] = b[2] = (1.0 - cw) / 2.0 / a0
    b[1] = (1.0 - cw) / a0
    a[0] = 1.0
    a[1] = -2.0 * cw / a0
    a[2] = (1.0 - alpha) / a0


def make_sting(sr: int, seed: int = 9) -> np.ndarray:
    """The kill: a low thump (88 → 38 Hz) and a noise burst, peak −0.5 dBFS (`STING_PEAK`,
    before master; the master limiter keeps the result under −1 dBFS), (2, frames).
    Attacks of 2–3 ms: a thump, not a click; a 50 ms fade at the end."""
    n = int(STING_S * sr)
    t = np.arange(n) / sr
    freq = 38.0 + 50.0 * np.exp(-t / 0.06)
    thump = np.sin(np.cumsum(TWO_PI * freq / sr)) * (1 - np.exp(-t / 0.003)) * np.exp(-t / 0.35)
    noise = np.random.default_rng(seed).standard_normal((2, n))
    b, a = lowpass_coeffs(3000.0, 0.707, sr)
    noise = biquad(b, a, noise, np.zeros((2, 2)))[0] * (1 - np.exp(-t / 0.002)) * np.exp(-t / 0.12)
    sting = thump[None, :] + 0.35 * noise
    fade = int(0.05 * sr)
    sting[:, -fade:] *= np.linspace(1.0, 0.0, fade)
    sting *= STING_PEAK / np.max(np.abs(sting))
    return sting.astype(np.float32)


def make_click(freq_hz: float, tau_s: float, pan: tuple[float, float], sr: int) -> np.ndarray:
    """One Geiger click: a 2 ms damped sine, peak 1 on the louder side, (2, frames)."""
    t = np.arange(CLICK_FRAMES) / sr
    env = np.exp(-t / tau_s)
    env[-8:] *= np.linspace(1.0, 0.0, 8)
    mono = np.sin(TWO_PI * freq_hz * t + 0.5) * env
    mono /= np.max(np.abs(mono))
    return (np.array(pan)[:, None] * mono[None, :]).astype(np.float32)


def bed_norm(fc: float, q: float, sr: int) -> float:
    """Output amplitude per unit `bed_gain`. Low-passed white noise of unit variance has
    RMS ≈ sqrt(π·Q·fc/sr) (the filter's noise bandwidth); we undo most of that loss but
    not all (exponent 0.65 kept): a full memory sounds darker and a bit quieter, not
    a louder rumble."""
    rms = math.sqrt(math.pi * q * min(fc, 0.45 * sr) / sr)
    rms_ref = math.sqrt(math.pi * 0.707 * 8000.0 / sr)
    return (rms / rms_ref) ** 0.65 / max(rms, 1e-3)


# --- per-block helpers ----------------------------------------------------------------


def active(st: SynthState, name: str, floor: float = 1e-6) -> bool:
    i = IDX[name]
    return st.cur[i] > floor or st.prev[i] > floor


def ramp(st: SynthState, name: str, n: int, out: np.ndarray, scale: float = 1.0) -> np.ndarray:
    """Linear per-sample ramp of one smoothed parameter over the block, times `scale`."""
    i = IDX[name]
    a, b = float(st.prev[i]) * scale, float(st.cur[i]) * scale
    np.multiply(st.ramp[:n], b - a, out=out[:n])
    out[:n] += a
    return out[:n]


# --- voices ---------------------------------------------------------------------------


def pressure(st: SynthState, n: int) -> np.ndarray:
    """Amplitude modulation shared by bed and sweep: 1 − depth·(1 − shape), shape 0..1,
    a sine sharpened by tanh into a gate as `stutter` rises."""
    am = st.am[:n]
    w = TWO_PI * math.exp(st.cur[IDX["beat_hz"]]) / st.sr
    phase0 = st.beat_phase
    st.beat_phase = (phase0 + w * n) % TWO_PI
    if not active(st, "beat_depth", 1e-4):
        am.fill(1.0)
        return am
    np.multiply(st.k[:n], w, out=am)
    am += phase0
    np.sin(am, out=am)
    sharp = 1.0 + 9.0 * float(st.cur[IDX["stutter"]])
    am *= sharp
    np.tanh(am, out=am)
    am *= 0.5 / math.tanh(sharp)
    am -= 0.5  # shape − 1, in −1..0
    am *= ramp(st, "beat_depth", n, st.t1)
    am += 1.0
    return am


def bed(st: SynthState, n: int, am: np.ndarray, mix: np.ndarray) -> None:
    """Noise bed. The noise is a window at a random offset into a pre-made table
    (drawing fresh Gaussian noise costs as much as the rest of the bed; filtered, a
    2.7 s table read at random offsets does not repeat audibly)."""
    if not active(st, "bed_gain"):
        mix.fill(0.0)
        return
    off = int(st.rng.integers(0, NOISE_TABLE_FRAMES - n))
    noise = st.noise_table[:, off : off + n]
    fc, q = math.exp(st.cur[IDX["bed_cutoff_hz"]]), float(st.cur[IDX["bed_q"]])
    fill_lowpass(st.b_bed, st.a_bed, fc, q, st.sr)
    y, st.zi_bed = biquad(st.b_bed, st.a_bed, noise, st.zi_bed)
    g = ramp(st, "bed_gain", n, st.g, bed_norm(fc, q, st.sr))
    g *= am
    np.multiply(y, g, out=mix, casting="same_kind")


def sweep(st: SynthState, n: int, am: np.ndarray, mix: np.ndarray) -> None:
    """Cache-drain tone: a phase-continuous glide, fundamental + octave
    (cos 2φ = 1 − 2 sin² φ: one sine per sample)."""
    w0 = math.exp(st.prev[IDX["sweep_hz"]]) * TWO_PI / st.sr
    w1 = math.exp(st.cur[IDX["sweep_hz"]]) * TWO_PI / st.sr
    advance = (w0 + w1) * 0.5 * n
    if not active(st, "sweep_gain"):
        st.sweep_phase[0] = (st.sweep_phase[0] + advance) % TWO_PI
        st.sweep_phase[1] = (st.sweep_phase[1] + advance * SWEEP_DETUNE) % TWO_PI
        return
    g = ramp(st, "sweep_gain", n, st.g)
    g *= am
    acc = st.t1[:n]  # phase advance since the block start, per sample
    np.multiply(st.ramp[:n], w1 - w0, out=acc)
    acc += w0
    np.cumsum(acc, out=acc)
    ph = st.pl[:, :n]
    tone = st.pl2[:, :n]
    for ch, detune in ((0, 1.0), (1, SWEEP_DETUNE)):
        np.multiply(acc, detune, out=ph[ch])
        ph[ch] += st.sweep_phase[ch]
        st.sweep_phase[ch] = (st.sweep_phase[ch] + float(acc[-1]) * detune) % TWO_PI
    np.sin(ph, out=ph)
    np.square(ph, out=tone)
    tone *= -0.7
    tone += 0.35
    tone += ph
    tone *= g
    mix += tone


def clicks(st: SynthState, n: int) -> None:
    """Schedule this block's clicks into the pending buffer (their tails carry over).
    Each voice's accumulator grows by rate/sr per sample and fires on crossing a
    threshold drawn from 0.7..1.3: irregular like a Geiger counter, exact on average."""
    st.fired_in_block = False
    for voice, name in ((0, "click_out_ps"), (1, "click_in_ps")):
        inc = float(st.cur[IDX[name]]) / st.sr
        if inc <= 0.0:
            continue
        tmpl = st.click_tmpl[voice]
        pos = 0.0
        for _ in range(64):  # bounded: at most 64 clicks per block (rate limit 600/s)
            need = (st.click_next[voice] - st.click_acc[voice]) / inc
            if pos + need >= n:
                st.click_acc[voice] += inc * (n - pos)
                break
            pos += need
            i = int(pos)
            st.pend[:, i : i + CLICK_FRAMES] += tmpl
            st.click_acc[voice] = 0.0
            st.click_next[voice] = 0.7 + 0.6 * st.rng.random()
            st.clicks_fired[voice] += 1
            st.fired_in_block = st.pend_live = True


def mix_clicks(st: SynthState, n: int, duck: np.ndarray, mix: np.ndarray) -> None:
    if not st.pend_live:
        return
    g = ramp(st, "click_gain", n, st.g)
    g *= duck
    pend = st.pend[:, :n]
    pend *= g
    mix += pend
    np.copyto(st.carry, st.pend[:, n : n + CLICK_FRAMES])
    st.pend[:, : n + CLICK_FRAMES] = 0.0
    st.pend[:, :CLICK_FRAMES] = st.carry
    st.pend_live = st.fired_in_block or n < CLICK_FRAMES


def sting(st: SynthState, n: int, mix: np.ndarray) -> None:
    if st.sting_pos < 0:
        return
    total = st.sting.shape[1]
    m = min(n, total - st.sting_pos)
    seg = st.pl[:, :m]
    np.multiply(
        st.sting[:, st.sting_pos : st.sting_pos + m], float(st.cur[IDX["sting_gain"]]), out=seg
    )
    mix[:, :m] += seg
    st.sting_pos = st.sting_pos + m if st.sting_pos + m < total else -1


def make_drone(sr: int) -> np.ndarray:
    """The aftermath loop: partials 1, 2, 3 of 55 Hz (A1, A2, E3: an open fifth), mixed
    per channel; exactly 11 periods (0.2 s), so it loops without a seam. (2, frames)."""
    n = round(DRONE_LOOP_S * sr)
    ph = TWO_PI * DRONE_HZ * np.arange(n) / sr
    partials = np.stack([np.sin(ph), np.sin(2 * ph + 1.0), np.sin(3 * ph + 2.0)])
    return (DRONE_AMP @ partials).astype(np.float32)


def drone(st: SynthState, n: int, mix: np.ndarray) -> None:
    """Aftermath: the pre-rendered loop, with a slow swell folded into the block gain."""
    if not active(st, "drone_gain", 1e-5):
        return
    sw0 = 0.75 + 0.25 * math.sin(st.swell_phase)
    st.swell_phase = (st.swell_phase + TWO_PI * DRONE_SWELL_HZ * n / st.sr) % TWO_PI
    sw1 = 0.75 + 0.25 * math.sin(st.swell_phase)
    i = IDX["drone_gain"]
    g = st.g[:n]
    a, b = float(st.prev[i]) * sw0, float(st.cur[i]) * sw1
    np.multiply(st.ramp[:n], b - a, out=g)
    g += a
    loop = st.drone_loop
    total = loop.shape[1]
    pos, done = st.drone_pos, 0
    while done < n:
        m = min(n - done, total - pos)
        seg = st.pl[:, done : done + m]
        np.multiply(loop[:, pos : pos + m], g[done : done + m], out=seg)
        mix[:, done : done + m] += seg
        done += m
        pos = (pos + m) % total
    st.drone_pos = pos
