"""Shared memory between the show and the audio process: parameters in, counters out.

One shared buffer of doubles (a memfd both processes map), no locks. The show is the
only writer of the parameter region and guards it with a sequence counter (odd while
writing); the audio callback
copies the region and keeps its previous parameters if the counter moved or was odd —
it never waits. The audio process is the only writer of the counter region.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from oomphony.sound.params import N_PARAMS, SoundParams

_SEQ, _T = 0, 1
_P0 = 2
_STATS0 = _P0 + N_PARAMS
UNDERFLOWS, WORST_MS, CALLBACKS, ERRORS = range(4)
_N_STATS = 4
SIZE = _STATS0 + _N_STATS


class SharedParams:
    """A view over a shared buffer of `SIZE` doubles (an mmap, or any writable buffer
    for in-process use)."""

    def __init__(self, raw: Any) -> None:
        self.raw = raw
        self._a = np.frombuffer(raw, dtype=np.float64, count=SIZE)
        self.params = self._a[_P0:_STATS0]
        self.stats = self._a[_STATS0:]

    @classmethod
    def in_process(cls) -> SharedParams:
        shared = cls(bytearray(SIZE * 8))
        SoundParams().to_array(shared.params)
        return shared

    # --- the show's side ---
    def write(self, t_s: float, params: np.ndarray) -> None:
        a = self._a
        a[_SEQ] += 1.0  # odd: writing
        a[_T] = t_s
        a[_P0:_STATS0] = params
        a[_SEQ] += 1.0  # even: consistent

    def counters(self) -> tuple[int, float, int, int]:
        """(underflows, worst callback ms, callbacks, callback errors)."""
        s = self.stats
        return int(s[UNDERFLOWS]), float(s[WORST_MS]), int(s[CALLBACKS]), int(s[ERRORS])

    # --- the audio callback's side: no allocation beyond scalars, never waits ---
    def read(self, out: np.ndarray) -> bool:
        a = self._a
        seq = a[_SEQ]
        if seq % 2.0:
            return False
        np.copyto(out, self.params)
        return bool(a[_SEQ] == seq)
