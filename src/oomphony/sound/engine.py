"""The audio callback's side: read the shared parameters, render a block, count.

`Engine.callback` is what PortAudio calls. It reads parameters (keeping the previous
ones if the show was mid-write), renders straight into `outdata` with the synth's
preallocated buffers, and updates the counters. No locks, logging, file access or
waiting; an exception renders silence and is counted, never raised into PortAudio.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from oomphony.sound.params import MAX_BLOCK_FRAMES, SoundParams
from oomphony.sound.shm import CALLBACKS, ERRORS, UNDERFLOWS, WORST_MS, SharedParams
from oomphony.sound.synth import copy_state, new_state, render_into


class Engine:
    def __init__(self, shared: SharedParams, sr: int, seed: int = 0) -> None:
        self.shared = shared
        self.synth = new_state(sr, seed)
        self.params = SoundParams().to_array()
        self._stats = shared.stats
        self._clock = time.perf_counter
        self.warm_up()

    def warm_up(self) -> None:
        """Run every voice once on a throwaway copy (first calls import and allocate)."""
        st = copy_state(self.synth)
        loud = SoundParams(
            master=0.5, bed_gain=0.1, sweep_gain=0.1, click_out_ps=500.0, click_in_ps=500.0,
            click_gain=0.3, beat_depth=0.5, kill_seq=1.0, drone_gain=0.1,
        ).to_array()  # fmt: skip
        out = np.zeros((512, 2), np.float32)
        for p in (self.params, loud, loud, self.params):
            render_into(st, p, out)

    def callback(self, outdata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
        t0 = self._clock()
        stats = self._stats
        try:
            if status.output_underflow:
                stats[UNDERFLOWS] += 1.0
            self.shared.read(self.params)
            for start in range(0, frames, MAX_BLOCK_FRAMES):
                render_into(self.synth, self.params, outdata[start : start + MAX_BLOCK_FRAMES])
        except Exception:  # never into PortAudio: play silence, count it
            outdata.fill(0.0)
            stats[ERRORS] += 1.0
        stats[CALLBACKS] += 1.0
        ms = (self._clock() - t0) * 1000.0
        if ms > stats[WORST_MS]:
            stats[WORST_MS] = ms
