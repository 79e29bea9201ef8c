"""The synth's state, shared by `synth.py` (which smooths and mixes) and `voices.py`.

`SynthState` is updated in place, block by block; its scratch buffers are allocated once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from oomphony.sound.params import CHANNELS, MAX_BLOCK_FRAMES, N_PARAMS

CLICK_FRAMES = 96  # 2 ms at 48 kHz
NOISE_TABLE_FRAMES = 1 << 17  # 2.7 s at 48 kHz


def _z(*shape: int) -> np.ndarray:
    return np.zeros(shape, np.float32)


@dataclass
class SynthState:
    sr: int
    rng: np.random.Generator
    sting: np.ndarray  # (2, frames) float32, read-only
    noise_table: np.ndarray  # (2, NOISE_TABLE_FRAMES) float64, read-only
    click_tmpl: tuple[np.ndarray, np.ndarray]  # (swap-out, swap-in), read-only
    cur: np.ndarray = field(default_factory=lambda: np.zeros(N_PARAMS))  # smoothed
    prev: np.ndarray = field(default_factory=lambda: np.zeros(N_PARAMS))  # at block start
    target: np.ndarray = field(default_factory=lambda: np.zeros(N_PARAMS))
    tau: np.ndarray = field(default_factory=lambda: np.zeros(N_PARAMS))  # in samples
    alpha: np.ndarray = field(default_factory=lambda: np.zeros(N_PARAMS))
    started: bool = False
    samples: int = 0
    zi_bed: np.ndarray = field(default_factory=lambda: np.zeros((CHANNELS, 2)))
    b_bed: np.ndarray = field(default_factory=lambda: np.zeros(3))
    a_bed: np.ndarray = field(default_factory=lambda: np.zeros(3))
    sweep_phase: list[float] = field(default_factory=lambda: [0.0, 0.0])
    beat_phase: float = 0.0
    drone_loop: np.ndarray = field(default_factory=lambda: _z(CHANNELS, 1))  # read-only
    drone_pos: int = 0
    swell_phase: float = 0.0
    click_acc: list[float] = field(default_factory=lambda: [0.0, 0.0])
    click_next: list[float] = field(default_factory=lambda: [1.0, 1.0])
    clicks_fired: list[int] = field(default_factory=lambda: [0, 0])  # (out, in), ever
    pend_live: bool = False  # the pending click buffer holds something
    fired_in_block: bool = False
    sting_pos: int = -1
    kill_seen: float = 0.0
    duck: float = 1.0
    duck_left: int = 0
    lim_gain: float = 1.0
    bus_gain: float = 1.0
    # scratch, preallocated (planar: channels × frames)
    mix: np.ndarray = field(default_factory=lambda: _z(CHANNELS, MAX_BLOCK_FRAMES))
    pl: np.ndarray = field(default_factory=lambda: _z(CHANNELS, MAX_BLOCK_FRAMES))
    pl2: np.ndarray = field(default_factory=lambda: _z(CHANNELS, MAX_BLOCK_FRAMES))
    pend: np.ndarray = field(default_factory=lambda: _z(CHANNELS, MAX_BLOCK_FRAMES + CLICK_FRAMES))
    carry: np.ndarray = field(default_factory=lambda: _z(CHANNELS, CLICK_FRAMES))
    k: np.ndarray = field(
        default_factory=lambda: np.arange(1, MAX_BLOCK_FRAMES + 1, dtype=np.float32)
    )
    ramp: np.ndarray = field(default_factory=lambda: _z(MAX_BLOCK_FRAMES))
    g: np.ndarray = field(default_factory=lambda: _z(MAX_BLOCK_FRAMES))
    am: np.ndarray = field(default_factory=lambda: _z(MAX_BLOCK_FRAMES))
    duckbuf: np.ndarray = field(default_factory=lambda: _z(MAX_BLOCK_FRAMES))
    t1: np.ndarray = field(default_factory=lambda: _z(MAX_BLOCK_FRAMES))
