"""What one block of the show's sound costs here: `render_into` timed per block, for the
scenes of perf/bench_sound.py, at the device's 512 frames and at 4096 (is it a per-call
overhead or a per-sample cost?). Printed as the median and 99th percentile in µs and
as a share of the block's duration (over 100 %: this CPU cannot keep real time).

    python dspcost.py [BLOCKS]
"""

from __future__ import annotations

import sys
import time

import numpy as np

from oomphony.sound.params import SAMPLE_RATE_HZ, SoundParams
from oomphony.sound.synth import new_state, render_into

SCENES = {
    "quiet bed": SoundParams(master=0.8, bed_gain=0.01, bed_cutoff_hz=6000.0),
    "every voice at once": SoundParams(
        master=0.8, bed_gain=0.1, bed_cutoff_hz=400.0, bed_q=3.0, sweep_gain=0.1,
        sweep_hz=300.0, click_out_ps=150.0, click_in_ps=40.0, click_gain=0.3,
        beat_depth=0.5, beat_hz=8.0, stutter=0.5, drone_gain=0.1,
    ),
}  # fmt: skip


def main(blocks: int) -> None:
    for frames in (512, 1024, 4096):
        out = np.zeros((frames, 2), np.float32)
        block_us = frames / SAMPLE_RATE_HZ * 1e6
        for name, params in SCENES.items():
            st, arr = new_state(), params.to_array()
            for _ in range(10):
                render_into(st, arr, out)
            times = np.empty(blocks)
            for i in range(blocks):
                t0 = time.perf_counter()
                render_into(st, arr, out)
                times[i] = (time.perf_counter() - t0) * 1e6
            med, p99 = np.median(times), np.percentile(times, 99)
            share = 100 * med / block_us
            print(
                f"{frames} frames, {name}: median {med:.0f} µs ({share:.1f} % of the "
                f"block's {block_us / 1000:.2f} ms), p99 {p99:.0f} µs",
                flush=True,
            )


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 200)
