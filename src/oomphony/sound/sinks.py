"""Show-clock rendering and the WAV sink.

`ClockedRenderer` renders the synth keyed to show time: sample 0 is t = 0 of the show
clock (DESIGN.md "Trace"), and each `advance(t_s, params)` renders up to t_s, so audio
is paced by the show rather than by a sound card. New parameters take effect from the
previous update's time, except a kill: its sting is placed at the kill's own time
(`kill_t_s`) when that lies in the span being rendered, so the WAV's sting lands where
the trace's kill is (to the sample, or late by the detection delay if the kill was only
known after its time had been rendered).

`WavSink` writes what the renderer makes as 16-bit stereo PCM.
"""

from __future__ import annotations

import logging
import wave
from collections.abc import Callable
from pathlib import Path

import numpy as np

from oomphony.errors import UsageError
from oomphony.sound.params import BLOCK_FRAMES, CHANNELS, IDX, SAMPLE_RATE_HZ, SoundParams
from oomphony.sound.synth import new_state, render_into

log = logging.getLogger(__name__)

TAIL_S = 0.5  # rendered after the show's end, so the last sound decays instead of cutting
_KILL_SEQ, _KILL_T = IDX["kill_seq"], IDX["kill_t_s"]


class ClockedRenderer:
    def __init__(
        self, write: Callable[[np.ndarray], None], sr: int = SAMPLE_RATE_HZ, seed: int = 0
    ) -> None:
        self.sr = sr
        self.pos = 0  # samples rendered so far
        self._write = write
        self._synth = new_state(sr, seed)
        self._params = SoundParams().to_array()
        self._held = self._params.copy()  # params with the kill held back until its time
        self._buf = np.zeros((BLOCK_FRAMES, CHANNELS), np.float32)

    @property
    def t_s(self) -> float:
        return self.pos / self.sr

    def advance(self, t_s: float, params: np.ndarray) -> None:
        end = round(t_s * self.sr)
        kill_t = float(params[_KILL_T])
        if params[_KILL_SEQ] != self._params[_KILL_SEQ] and kill_t >= 0.0:
            kill_at = round(kill_t * self.sr)
            if self.pos < kill_at < end:
                np.copyto(self._held, params)
                self._held[_KILL_SEQ] = self._params[_KILL_SEQ]
                self._held[_KILL_T] = self._params[_KILL_T]
                self._render_to(kill_at, self._held)
        np.copyto(self._params, params)
        self._render_to(end, self._params)

    def finish(self, end_t_s: float | None, tail_s: float = TAIL_S) -> None:
        end = max(self.t_s, end_t_s if end_t_s is not None else 0.0) + tail_s
        self._render_to(round(end * self.sr), self._params)

    def _render_to(self, end: int, params: np.ndarray) -> None:
        while self.pos < end:
            # stay on the device's block grid, except where a split is asked for
            n = min(BLOCK_FRAMES - self.pos % BLOCK_FRAMES, end - self.pos)
            out = self._buf[:n]
            render_into(self._synth, params, out)
            self._write(out)
            self.pos += n


class WavSink:
    """16-bit stereo PCM at the renderer's rate. Opens at once: an unwritable path is a
    UsageError before the show starts."""

    def __init__(self, path: str | Path, sr: int = SAMPLE_RATE_HZ, seed: int = 0) -> None:
        self.path = Path(path)
        try:
            self._fh = open(self.path, "wb")  # noqa: SIM115 (closed in close())
        except OSError as err:
            raise UsageError(f"cannot write audio file {self.path}: {err.strerror}") from err
        self._wav: wave.Wave_write | None = wave.open(self._fh, "wb")  # noqa: SIM115
        self._wav.setnchannels(CHANNELS)
        self._wav.setsampwidth(2)
        self._wav.setframerate(sr)
        self._pcm = np.zeros((BLOCK_FRAMES, CHANNELS), np.int16)
        self._scaled = np.zeros((BLOCK_FRAMES, CHANNELS), np.float32)
        self.renderer = ClockedRenderer(self._write, sr, seed)
        self._failed = False

    def _write(self, block: np.ndarray) -> None:
        if self._wav is None or self._failed:
            return
        n = block.shape[0]
        np.multiply(block, 32767.0, out=self._scaled[:n])
        np.rint(self._scaled[:n], out=self._scaled[:n])
        np.copyto(self._pcm[:n], self._scaled[:n], casting="unsafe")
        try:
            self._wav.writeframesraw(self._pcm[:n].tobytes())
        except OSError as err:
            self._failed = True
            log.warning("audio file %s: write failed (%s); it stops here", self.path, err)

    def advance(self, t_s: float, params: np.ndarray) -> None:
        self.renderer.advance(t_s, params)

    def close(self, end_t_s: float | None = None) -> None:
        if self._wav is None:
            return
        self.renderer.finish(end_t_s)
        try:
            self._wav.close()
            self._fh.close()
        except OSError as err:
            log.warning("audio file %s: close failed (%s)", self.path, err)
        self._wav = None
