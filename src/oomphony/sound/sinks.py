"""Show-clock rendering and the WAV sink.

`ClockedRenderer` renders the synth keyed to show time: sample 0 is t = 0 of the show
clock (docs/trace-format.md), and each `advance(t_s, params)` renders up to t_s, so audio
is paced by the show rather than by a sound card. New parameters take effect from the
previous update's time, except a kill: its sting is placed at the kill's own time
(`kill_t_s`) when that lies in the span being rendered, so the WAV's sting lands where
the trace's kill is (to the sample, or late by the detection delay if the kill was only
known after its time had been rendered).

`WavSink` writes what the renderer makes as 16-bit stereo PCM. Its header's sizes are
rewritten every `HEADER_EVERY_S` of wall time (and of rendered audio), from the show
loop, never from an audio callback: a show killed with SIGKILL leaves a file that plays
up to within a second of the kill.
"""

from __future__ import annotations

import logging
import struct
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from oomphony.errors import UsageError
from oomphony.sound.params import BLOCK_FRAMES, CHANNELS, IDX, SAMPLE_RATE_HZ, SoundParams
from oomphony.sound.synth import new_state, render_into

log = logging.getLogger(__name__)

TAIL_S = 0.5  # rendered after the show's end, so the last sound decays instead of cutting
# The header's sizes are rewritten this often (wall seconds, and seconds of audio): well
# inside the one second a killed show may lose, and a few syscalls each time.
HEADER_EVERY_S = 0.5
_HEADER_B = 44
_MAX_DATA_B = 0xFFFFFFFF - _HEADER_B  # a RIFF file's sizes are 32-bit: ~6 h of 48 kHz stereo
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


def wav_header(data_b: int, sr: int, channels: int = CHANNELS, width: int = 2) -> bytes:
    """A canonical 44-byte PCM WAV header for `data_b` bytes of samples."""
    return struct.pack(
        "<4sI4s4sIHHIIHH4sI",
        b"RIFF",
        36 + data_b,
        b"WAVE",
        b"fmt ",
        16,
        1,  # PCM
        channels,
        sr,
        sr * channels * width,
        channels * width,
        8 * width,
        b"data",
        data_b,
    )


class WavSink:
    """16-bit stereo PCM at the renderer's rate. Opens at once: an unwritable path is a
    UsageError before the show starts."""

    def __init__(self, path: str | Path, sr: int = SAMPLE_RATE_HZ, seed: int = 0) -> None:
        self.path = Path(path)
        try:
            self._fh = open(self.path, "wb")  # noqa: SIM115 (closed in close())
            self._fh.write(wav_header(0, sr))
        except OSError as err:
            raise UsageError(f"cannot write audio file {self.path}: {err.strerror}") from err
        self.sr = sr
        self.data_b = 0  # bytes of samples written
        self._header_b = 0  # the data size the header on disk says
        self._header_wall = time.monotonic()
        self._open = True
        self._pcm = np.zeros((BLOCK_FRAMES, CHANNELS), np.int16)
        self._scaled = np.zeros((BLOCK_FRAMES, CHANNELS), np.float32)
        self.renderer = ClockedRenderer(self._write, sr, seed)
        self._failed = False

    def _write(self, block: np.ndarray) -> None:
        if not self._open or self._failed:
            return
        n = block.shape[0]
        if self.data_b + n * CHANNELS * 2 > _MAX_DATA_B:
            self._failed = True
            log.warning("audio file %s: a WAV holds at most 4 GiB; it stops here", self.path)
            return
        np.multiply(block, 32767.0, out=self._scaled[:n])
        np.rint(self._scaled[:n], out=self._scaled[:n])
        np.copyto(self._pcm[:n], self._scaled[:n], casting="unsafe")
        try:
            self._fh.write(self._pcm[:n].tobytes())
        except OSError as err:
            self._failed = True
            log.warning("audio file %s: write failed (%s); it stops here", self.path, err)
            return
        self.data_b += n * CHANNELS * 2

    def _patch_header(self) -> None:
        """Write what is buffered, then the header's sizes for it; back to the end."""
        try:
            self._fh.flush()
            self._fh.seek(0)
            self._fh.write(wav_header(self.data_b, self.sr))
            self._fh.seek(0, 2)
            self._fh.flush()
        except OSError as err:
            self._failed = True
            log.warning("audio file %s: header update failed (%s); it stops here", self.path, err)
            return
        self._header_b = self.data_b
        self._header_wall = time.monotonic()

    def advance(self, t_s: float, params: np.ndarray) -> None:
        self.renderer.advance(t_s, params)
        if self._failed or self.data_b == self._header_b:
            return
        behind_s = (self.data_b - self._header_b) / (self.sr * CHANNELS * 2)
        if behind_s >= HEADER_EVERY_S or time.monotonic() - self._header_wall >= HEADER_EVERY_S:
            self._patch_header()

    def close(self, end_t_s: float | None = None) -> None:
        if not self._open:
            return
        self.renderer.finish(end_t_s)
        if self.data_b != self._header_b:
            self._patch_header()
        self._open = False
        try:
            self._fh.close()
        except OSError as err:
            log.warning("audio file %s: close failed (%s)", self.path, err)
