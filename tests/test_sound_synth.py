"""The synth on its own: rendered audio, no sound card."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs

from oomphony.sound.params import BLOCK_FRAMES, N_PARAMS, NAMES, SAMPLE_RATE_HZ, SoundParams
from oomphony.sound.synth import BUS_HEADROOM, CEILING, copy_state, new_state, render, render_into
from oomphony.sound.voices import STING_PEAK
from oomphony.support.analysis import centroid_hz, count_clicks, first_above, rms_db

SR = SAMPLE_RATE_HZ


def blocks(params: SoundParams | np.ndarray, seconds: float, st=None, seed: int = 0):
    """Render in device-sized blocks, as the callback does."""
    st = st or new_state(seed=seed)
    arr = params.to_array() if isinstance(params, SoundParams) else params
    n = round(seconds * SR / BLOCK_FRAMES)
    out = np.empty((n * BLOCK_FRAMES, 2), np.float32)
    for i in range(n):
        render_into(st, arr, out[i * BLOCK_FRAMES : (i + 1) * BLOCK_FRAMES])
    return out, st


def test_render_is_pure() -> None:
    st = new_state(seed=3)
    before = copy_state(st)
    p = SoundParams(master=0.7, bed_gain=0.1, click_out_ps=50, click_gain=0.3)
    a, st_a = render(st, p, 4096)
    b, _ = render(st, p, 4096)
    assert np.array_equal(a, b)
    assert np.array_equal(st.cur, before.cur) and st.samples == before.samples == 0
    assert st_a.samples == 4096


# Below the show bus's ceiling. At stage's loudest bed (0.16 RMS, reached only at
# 512 MiB/s) the bus trims the noise's peaks by ~1 dB on purpose, so that nothing before
# the kill comes within 3 dB of the sting (test_nothing_before_the_kill_comes_near_the_sting).
@pytest.mark.parametrize("gain", [0.02, 0.05, 0.1, 0.12])
def test_bed_rms_follows_gain(gain: float) -> None:
    quiet, _ = blocks(SoundParams(master=0.8, bed_gain=gain / 2), 1.0)
    loud, _ = blocks(SoundParams(master=0.8, bed_gain=gain), 1.0)
    # twice the gain is +6 dB (the limiter does not touch these levels)
    assert rms_db(loud[SR // 2 :]) - rms_db(quiet[SR // 2 :]) == pytest.approx(6.02, abs=0.5)


@pytest.mark.parametrize("cutoffs", [(8000.0, 2000.0), (2000.0, 400.0), (400.0, 100.0)])
def test_lower_cutoff_darker(cutoffs: tuple[float, float]) -> None:
    hi, lo = cutoffs
    bright, _ = blocks(SoundParams(master=0.8, bed_gain=0.1, bed_cutoff_hz=hi), 1.0)
    dark, _ = blocks(SoundParams(master=0.8, bed_gain=0.1, bed_cutoff_hz=lo), 1.0)
    assert centroid_hz(dark[SR // 2 :], SR) < centroid_hz(bright[SR // 2 :], SR)


@pytest.mark.parametrize("rate", [20.0, 60.0, 150.0, 300.0])
@pytest.mark.parametrize("voice", ["click_out_ps", "click_in_ps"])
def test_click_count_matches_rate(rate: float, voice: str) -> None:
    p = SoundParams(master=0.8, click_gain=0.4, **{voice: rate})
    x, _ = blocks(p, 2.0)
    counted = count_clicks(x[SR:], threshold=0.05)
    assert abs(counted - rate) <= 0.1 * rate


def test_swap_in_and_out_are_distinguishable() -> None:
    out, _ = blocks(SoundParams(master=0.8, click_gain=0.4, click_out_ps=50.0), 1.0)
    inn, _ = blocks(SoundParams(master=0.8, click_gain=0.4, click_in_ps=50.0), 1.0)
    # swap-outs on the right and bright, swap-ins on the left and dull
    assert rms_db(out[:, 1]) > rms_db(out[:, 0]) + 6
    assert rms_db(inn[:, 0]) > rms_db(inn[:, 1]) + 6
    assert centroid_hz(out, SR) > 2 * centroid_hz(inn, SR)


def test_kill_sting_within_one_block_then_silence() -> None:
    before = SoundParams(master=0.8, bed_gain=0.08, click_out_ps=80, click_gain=0.3)
    st = new_state()
    pre, st = blocks(before, 1.0, st)
    after = SoundParams(master=0.8, bed_gain=0.0, kill_seq=1.0, sting_gain=1.0)
    post, st = blocks(after, 3.0, st)
    sting_level = 0.5 * float(np.abs(post).max())
    assert rms_db(post[: SR // 5]) > rms_db(pre) + 6  # the sting stands out
    onset = first_above(post, sting_level)
    assert onset is not None and onset < BLOCK_FRAMES
    sting_rms = rms_db(post[: SR // 5])
    tail = rms_db(post[int(1.3 * SR) : int(1.6 * SR)])
    assert sting_rms - tail >= 30


def test_kill_seq_at_start_is_not_replayed() -> None:
    x, _ = blocks(SoundParams(master=0.8, kill_seq=3.0, sting_gain=1.0), 0.5)
    assert float(np.abs(x).max()) < 0.01


def test_sweep_is_phase_continuous_across_blocks() -> None:
    p = SoundParams(master=0.8, sweep_gain=0.2, sweep_hz=440.0)
    x, _ = blocks(p, 0.5)
    steady = x[SR // 4 :, 0].astype(np.float64)
    step = np.abs(np.diff(steady))
    edges = np.arange(BLOCK_FRAMES - 1, step.size, BLOCK_FRAMES)
    interior = np.delete(step, edges)
    assert step[edges].max() <= 1.05 * interior.max()  # no jump where blocks meet


def test_filter_continuous_across_block_sizes() -> None:
    """The same bed rendered in 512- and 4096-frame blocks has the same level and colour
    (a filter reset per block would add clicks and shift the spectrum up)."""
    p = SoundParams(master=0.8, bed_gain=0.1, bed_cutoff_hz=300.0, bed_q=3.0)
    small, _ = blocks(p, 1.0)
    big, _ = render(new_state(), p, SR)
    assert rms_db(small[SR // 2 :]) == pytest.approx(rms_db(big[SR // 2 :]), abs=1.0)
    assert centroid_hz(small[SR // 2 :], SR) == pytest.approx(
        centroid_hz(big[SR // 2 :], SR), rel=0.15
    )


@pytest.mark.parametrize("field", ["muted", "master"])
def test_mute_and_master_ramp_to_silence(field: str) -> None:
    on = SoundParams(master=0.8, bed_gain=0.1, drone_gain=0.1)
    st = new_state()
    _, st = blocks(on, 0.5, st)
    vals = on.to_array()
    vals[NAMES.index(field)] = 1.0 if field == "muted" else 0.0
    x, _ = blocks(vals, 0.5, st)
    first = np.abs(x[:BLOCK_FRAMES]).max()
    assert first > 0.0  # a ramp, not a cut
    assert np.abs(x[int(0.4 * SR) :]).max() < 1e-3


def test_starts_with_a_fade_in() -> None:
    x, _ = blocks(SoundParams(master=1.0, bed_gain=0.3, bed_cutoff_hz=16000.0), 0.5)
    assert np.abs(x[:64]).max() < 0.1 * np.abs(x[SR // 4 :]).max()


_extreme = hs.one_of(
    hs.floats(allow_nan=True, allow_infinity=True),
    hs.sampled_from([0.0, 1.0, -1.0, 1e308, -1e308, math.nan, math.inf, 1e6]),
)


@settings(max_examples=40, deadline=None)
@given(hs.lists(hs.lists(_extreme, min_size=N_PARAMS, max_size=N_PARAMS), min_size=1, max_size=6))
def test_never_above_minus_1_dbfs(seq: list[list[float]]) -> None:
    st = new_state()
    out = np.empty((BLOCK_FRAMES, 2), np.float32)
    for values in seq:
        arr = np.array(values, dtype=np.float64)
        for _ in range(3):
            render_into(st, arr, out)
            assert np.isfinite(out).all()
            assert float(np.abs(out).max()) <= CEILING


@pytest.mark.parametrize("kill_seq", [1.0, 2.0])
def test_loudest_settings_stay_under_ceiling(kill_seq: float) -> None:
    loud = SoundParams(
        master=1.0, bed_gain=1.0, bed_cutoff_hz=60.0, bed_q=8.0, sweep_gain=1.0,
        sweep_hz=50.0, click_out_ps=600, click_in_ps=600, click_gain=1.0,
        beat_depth=1.0, stutter=1.0, kill_seq=kill_seq, sting_gain=1.0, drone_gain=1.0,
    )  # fmt: skip
    x, _ = blocks(loud, 2.0)
    assert float(np.abs(x).max()) <= CEILING


@pytest.mark.parametrize("sting_gain", [1.0, 0.6])
def test_nothing_before_the_kill_comes_near_the_sting(sting_gain: float) -> None:
    """Every voice flat out (a swap storm at full pressure): the peaks stay 3 dB under
    the sting's, so the kill is the loudest moment of any show."""
    storm = SoundParams(
        master=0.8, bed_gain=0.5, bed_cutoff_hz=2000.0, bed_q=4.0, sweep_gain=0.5,
        sweep_hz=300.0, click_out_ps=600.0, click_in_ps=600.0, click_gain=1.0,
        beat_depth=1.0, beat_hz=10.0, stutter=1.0, sting_gain=sting_gain,
    )  # fmt: skip
    x, _ = blocks(storm, 2.0)
    sting_peak_out = STING_PEAK * sting_gain * 0.8
    assert np.abs(x[SR // 2 :]).max() <= BUS_HEADROOM * sting_peak_out * 1.001
