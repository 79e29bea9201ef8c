"""Memory → sound: tests on audio rendered through the mapping (no sound card). Each
would fail if the mapping broke."""

from __future__ import annotations

import itertools
import logging

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hs

from oomphony.cues import Act, Cues
from oomphony.frame import OomKill
from oomphony.sound import PRESETS, map_frame
from oomphony.sound.params import HIGH, LOW, SAMPLE_RATE_HZ
from oomphony.sound.presets import PRESET_BY_NAME
from oomphony.sound.voices import STING_PEAK
from oomphony.support.analysis import (
    centroid_hz,
    count_clicks,
    first_above,
    frame_for,
    render_show,
    rms_db,
)
from oomphony.units import PAGE_B
from oomphony.units import MiB as MIB

SR = SAMPLE_RATE_HZ
FPS = 100  # telemetry frames per second


def steady(preset: str = "stage", seconds: float = 2.0, **kw) -> np.ndarray:
    """A show holding one state; returns its last second."""
    steps = [(frame_for(i / FPS, **kw), Cues(t_s=i / FPS)) for i in range(int(seconds * FPS) + 1)]
    return render_show(steps, preset)[-SR:]


def kill_show(kill_t: float, seconds: float, preset: str = "stage") -> np.ndarray:
    """Allocating and swapping until the kill at `kill_t`, reported 3 ms later."""
    kill = OomKill(kill_t, 4321, "python3", 200 * MIB, "sim", None)
    steps = []
    for i in range(int(seconds * FPS) + 1):
        t = i / FPS
        known = t >= kill_t + 0.003
        frame = frame_for(
            t,
            rate_bps=0.0 if known else 100 * MIB,
            swapout_bps=0.0 if known else 20 * MIB,
            used_frac=0.4 if known else 0.97,
            alive=not known,
        )
        cues = Cues(
            t_s=t,
            act=Act.KILL if known else Act.SWAP,
            kill=kill if known else None,
            kill_t_s=kill_t if known else None,
        )
        steps.append((frame, cues))
    return render_show(steps, preset)


@pytest.mark.parametrize("preset", PRESETS)
def test_rms_rises_with_allocation_rate(preset: str) -> None:
    rates = [0, 1 * MIB, 10 * MIB, 100 * MIB, 500 * MIB]
    levels = [rms_db(steady(preset, rate_bps=r)) for r in rates]
    assert all(b > a + 1.0 for a, b in itertools.pairwise(levels)), levels


@pytest.mark.parametrize("preset", PRESETS)
def test_centroid_falls_as_memory_fills(preset: str) -> None:
    """As designed: memory filling darkens the bed (white hiss → brown rumble)."""
    fills = [0.0, 0.3, 0.6, 0.9, 1.0]
    cents = [centroid_hz(steady(preset, rate_bps=50 * MIB, used_frac=f), SR) for f in fills]
    assert all(b < a for a, b in itertools.pairwise(cents)), cents


@pytest.mark.parametrize("preset", ["stage", "classroom"])
@pytest.mark.parametrize("mib_s", [10, 20, 40])
@pytest.mark.parametrize("direction", ["swapout_bps", "swapin_bps"])
def test_click_count_matches_swap_rate(preset: str, mib_s: int, direction: str) -> None:
    ps = PRESET_BY_NAME[preset]
    expected = min(ps.click_max_ps, mib_s * MIB / PAGE_B / ps.pages_per_click)
    x = steady(preset, **{direction: mib_s * MIB})
    counted = count_clicks(x, threshold=0.03)
    assert abs(counted - expected) <= 0.1 * expected, (counted, expected)


def test_swap_in_and_out_sound_different() -> None:
    out = steady(swapout_bps=10 * MIB)
    inn = steady(swapin_bps=10 * MIB)
    assert rms_db(out[:, 1]) > rms_db(out[:, 0]) and rms_db(inn[:, 0]) > rms_db(inn[:, 1])


@pytest.mark.parametrize("preset", PRESETS)
def test_kill_sting_then_level_drops_30_db(preset: str) -> None:
    kill_t = 2.0
    x = kill_show(kill_t, 4.0, preset)
    ps = PRESET_BY_NAME[preset]
    sting_peak = STING_PEAK * ps.master * ps.sting_gain
    assert float(np.abs(x[: int(kill_t * SR)]).max()) < 0.75 * sting_peak  # before: lower
    onset = first_above(x, 0.75 * sting_peak, int((kill_t - 0.5) * SR))
    assert onset is not None
    assert 0 <= onset - kill_t * SR < 512  # within one block (here: on the kill's sample)
    sting = rms_db(x[onset : onset + SR // 5])
    after = rms_db(x[onset + int(1.3 * SR) : onset + int(1.8 * SR)])
    assert sting - after >= 30


def test_aftermath_drone_comes_after_the_quiet() -> None:
    ps = PRESET_BY_NAME["stage"]
    x = kill_show(1.0, 1.0 + ps.kill_quiet_s + ps.drone_fade_s + 1.0)
    quiet = rms_db(x[int((1.0 + 1.5) * SR) : int((1.0 + ps.kill_quiet_s) * SR)])
    drone = rms_db(x[-SR:])
    assert drone > quiet + 30
    assert drone < rms_db(x[int(1.0 * SR) : int(1.2 * SR)]) - 6  # calm, below the sting


def test_cache_drain_sweep_falls_with_the_cache() -> None:
    prev = None
    pitches, gains = [], []
    for i in range(300):
        t = i / FPS
        cache = 128 * MIB - int(min(t, 1.5) * 64 * MIB)  # falls 64 MiB/s for 1.5 s
        params, prev = map_frame(frame_for(t, cache_b=cache), Cues(t_s=t), "stage", prev)
        pitches.append(params.sweep_hz)
        gains.append(params.sweep_gain)
    assert all(b <= a for a, b in itertools.pairwise(pitches[:150]))
    assert pitches[149] < pitches[0] / 2
    assert max(gains[20:150]) > 0.5 * PRESET_BY_NAME["stage"].sweep_max
    assert gains[-1] < 0.05 * max(gains)  # the cache holds: the sweep fades


@pytest.mark.parametrize(
    "kw", [{"rate_bps": 100 * MIB}, {"swapout_bps": 30 * MIB}, {"psi_some": 0.3}]
)
def test_classroom_is_gentler_than_stage(kw: dict) -> None:
    assert rms_db(steady("classroom", **kw)) < rms_db(steady("stage", **kw)) - 3


def test_pressure_beats() -> None:
    calm = steady(rate_bps=50 * MIB)
    pressed = steady(rate_bps=50 * MIB, psi_some=0.3, psi_full=0.2)

    def env_spread(x: np.ndarray) -> float:  # spread of 20 ms RMS windows, in dB
        w = SR // 50
        levels = [rms_db(x[i : i + w]) for i in range(0, len(x) - w, w)]
        return float(np.percentile(levels, 90) - np.percentile(levels, 10))

    assert env_spread(pressed) > env_spread(calm) + 6


def test_manual_kill_uses_the_sting() -> None:
    steps = []
    for i in range(300):
        t = i / FPS
        cues = Cues(t_s=t, manual_kill=t >= 1.0, kill_t_s=1.0 if t >= 1.0 else None)
        steps.append((frame_for(t, rate_bps=20 * MIB, alive=t < 1.0), cues))
    x = render_show(steps)
    onset = first_above(x, 0.75 * STING_PEAK * PRESET_BY_NAME["stage"].master, SR // 2)
    assert onset is not None and abs(onset - SR) < 512


def test_pure_and_deterministic() -> None:
    frame = frame_for(1.0, rate_bps=10 * MIB)
    a, sa = map_frame(frame, Cues(t_s=1.0), "stage", None)
    b, sb = map_frame(frame, Cues(t_s=1.0), "stage", None)
    assert a == b and sa == sb


def test_unknown_preset_warns_and_uses_stage(caplog: pytest.LogCaptureFixture) -> None:
    frame = frame_for(0.0, rate_bps=10 * MIB)
    with caplog.at_level(logging.WARNING):
        p, _ = map_frame(frame, Cues(t_s=0.0), "no-such-preset", None)
    assert p == map_frame(frame, Cues(t_s=0.0), "stage", None)[0]
    assert "no-such-preset" in caplog.text


def test_presets_named() -> None:
    assert {"stage", "classroom"} <= set(PRESETS)


_num = hs.one_of(hs.none(), hs.floats(allow_nan=True, allow_infinity=True))


@settings(max_examples=60, deadline=None)
@given(rate=_num, out=_num, inn=_num, some=_num, full=_num, used=hs.floats(-1, 5))
def test_mapping_of_odd_frames_stays_in_range(rate, out, inn, some, full, used) -> None:
    frame = frame_for(
        1.0,
        rate_bps=rate if rate is not None else 0.0,
        swapout_bps=out,
        swapin_bps=inn,
        psi_some=some,
        psi_full=full,
        used_frac=used,
    )
    p, _ = map_frame(frame, Cues(t_s=1.0), "stage", None)
    vals = p.to_array()
    assert np.isfinite(vals).all()
    assert ((vals >= LOW) & (vals <= HIGH)).all()


def test_a_key_press_kill_in_a_show_is_one_sting_not_one_a_frame() -> None:
    """The director's cues for a manual kill carry its time, so the mapping counts one
    kill (one sting) instead of a new one on every frame after it."""
    from oomphony.commands import KillNow
    from oomphony.show.director import Director
    from oomphony.show.library import load_setlist
    from oomphony.sources.sim import SimSource

    source = SimSource(memory_b=256 * MIB, swap_b=128 * MIB, seed=1)
    source.start()
    director = Director(load_setlist("speedrun"), has_swap=True, key_wait_s=1.0)
    state = None
    for i in range(150):  # 3 s at 50 Hz, the K key at 2 s
        if i == 100:
            source.command(KillNow())
        frame, events = source.step(i / 50)
        cues, commands, _ = director.step(frame, events, 0.02, ())
        for command in commands:
            source.command(command)
        _, state = map_frame(frame, cues, "stage", state)
    assert state is not None and cues.manual_kill
    assert state.kills == 1 and state.kill_t_s == pytest.approx(2.0, abs=0.03)
