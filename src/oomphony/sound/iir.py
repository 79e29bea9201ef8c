"""A biquad (second-order IIR) filter over whole blocks, in numpy, with carried state.

The same filter and state convention as scipy's `lfilter(b, a, x, axis=-1, zi=zi)`
(transposed direct form II, a[0] = 1), so the audio process need not load scipy (about
75 MB of resident memory and a second OpenBLAS, measured with `/proc/self/status`; in a
machine-wide OOM every megabyte the audio process holds is taken from the show).

How: the filter as a state space, s' = A s + B x, y = C s + D x with
A = [[-a1, 1], [-a2, 0]], B = [b1 - a1 b0, b2 - a2 b0], C = [1, 0], D = b0. A block is cut
into chunks of `CHUNK` samples; every chunk's zero-state response is one matrix product
with the chunk's impulse-response (Toeplitz) matrix, and only the two-value state is
carried from chunk to chunk in Python (n / CHUNK small steps). float64 throughout.
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

import numpy as np

CHUNK = 64  # 512 frames = 8 chunks; a 64 × 64 Toeplitz product per channel and chunk
SEGMENT = 8 * CHUNK  # longer inputs go segment by segment (the plan's matrices stay small)


def _powers(a1: float, a2: float, n: int) -> np.ndarray:
    """A^0 … A^(n-1) as an (n, 2, 2) array, by doubling (a few batched products)."""
    out = np.empty((n, 2, 2))
    out[0] = np.eye(2)
    step, k = np.array([[-a1, 1.0], [-a2, 0.0]]), 1
    while k < n:
        take = min(k, n - k)
        np.matmul(out[:take], step, out=out[k : k + take])  # A^(k+i) = A^i · A^k
        step, k = step @ step, k + take
    return out


class _Plan(NamedTuple):
    """What filtering n samples with one set of coefficients needs, computed once."""

    toeplitz_t: np.ndarray  # (L in, L out): a chunk's zero-state response, transposed
    ge_t: np.ndarray  # (L, 2): each input's share in the chunk's end state
    ca_t: np.ndarray  # (2, L): each sample's response to the state at the chunk's start
    p0: np.ndarray  # (2, 2(m+1)): the state at each chunk start (and the end) from zi
    k: np.ndarray  # (2m, 2(m+1)): … from each chunk's zero-state end state
    chunk: int
    chunks: int  # m


@lru_cache(maxsize=8)
def _plan(b0: float, b1: float, b2: float, a1: float, a2: float, n: int) -> _Plan:
    L = min(CHUNK, n)
    m = n // L
    pw = _powers(a1, a2, L + 1)  # A^0 … A^L
    ab = pw[:L] @ np.array([b1 - a1 * b0, b2 - a2 * b0])  # A^k B, (L, 2)
    h = np.empty(L)  # impulse response: D, C B, C A B, …
    h[0] = b0
    h[1:] = ab[: L - 1, 0]
    lag = np.subtract.outer(np.arange(L), np.arange(L))  # output index − input index
    toeplitz = np.where(lag >= 0, h[np.clip(lag, 0, L - 1)], 0.0)
    al = _powers_of(pw[L], m + 1)  # (A^L)^0 … (A^L)^m
    p0 = np.concatenate([al[j].T for j in range(m + 1)], axis=1)
    k = np.zeros((2 * m, 2 * (m + 1)))
    for i in range(m):  # chunk i's end state reaches chunk j's start through (A^L)^(j-1-i)
        for j in range(i + 1, m + 1):
            k[2 * i : 2 * i + 2, 2 * j : 2 * j + 2] = al[j - 1 - i].T
    return _Plan(toeplitz.T.copy(), ab[::-1].copy(), pw[:L, 0, :].T.copy(), p0, k, L, m)


def _powers_of(mat: np.ndarray, n: int) -> np.ndarray:
    out = np.empty((n, 2, 2))
    out[0] = np.eye(2)
    for j in range(1, n):
        out[j] = out[j - 1] @ mat
    return out


def biquad(
    b: np.ndarray, a: np.ndarray, x: np.ndarray, zi: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Filter x (channels, n) along its last axis; zi (channels, 2) the state before it.
    Returns (y, zf) as fresh float64 arrays, like `lfilter(b, a, x, axis=-1, zi=zi)`."""
    x = np.asarray(x, np.float64)
    ch, n = x.shape
    s = np.array(zi, np.float64).reshape(ch, 2)
    a0 = float(a[0])
    coeffs = (float(b[0]) / a0, float(b[1]) / a0, float(b[2]) / a0)
    coeffs += (float(a[1]) / a0, float(a[2]) / a0)
    if n <= SEGMENT:
        return _segment(coeffs, x, s)
    y = np.empty((ch, n))
    for start in range(0, n, SEGMENT):
        y[:, start : start + SEGMENT], s = _segment(coeffs, x[:, start : start + SEGMENT], s)
    return y, s


def _segment(
    coeffs: tuple[float, float, float, float, float], x: np.ndarray, s: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    b0, b1, b2, a1, a2 = coeffs
    ch, n = x.shape
    if n == 0:
        return np.empty((ch, 0)), s
    L = min(CHUNK, n)
    m, r = divmod(n, L)
    plan = _plan(b0, b1, b2, a1, a2, m * L)
    xr = x[:, : m * L].reshape(ch * m, L)
    ends = (xr @ plan.ge_t).reshape(ch, 2 * m)  # each chunk's zero-state end state
    starts = s @ plan.p0 + ends @ plan.k  # (ch, 2(m+1)): each chunk's start, and the end
    yr = xr @ plan.toeplitz_t
    yr += starts[:, : 2 * m].reshape(ch * m, 2) @ plan.ca_t
    y = np.empty((ch, n))
    y[:, : m * L] = yr.reshape(ch, m * L)
    s = starts[:, 2 * m :]
    if r:  # a last, shorter chunk: the first r samples of a whole one
        xt = x[:, m * L :]
        y[:, m * L :] = xt @ plan.toeplitz_t[:r, :r] + s @ plan.ca_t[:, :r]
        pw = _powers(a1, a2, r + 1)
        s = s @ pw[r].T + xt @ plan.ge_t[L - r :]
    return y, s
