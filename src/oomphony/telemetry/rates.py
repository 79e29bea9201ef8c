"""Counters into rates: swap traffic and faults from two vmstats, PSI stall fractions from
two `total=` readings. Pure functions of two readings and the interval between them."""

from __future__ import annotations

from oomphony.frame import Pressure, Rates
from oomphony.telemetry.procfs import PsiTotals


def _per_s(prev: int | None, cur: int | None, dt_s: float, scale: float) -> float | None:
    if prev is None or cur is None or cur < prev:
        return None
    return (cur - prev) * scale / dt_s


def rates_between(
    prev: dict[str, int], cur: dict[str, int], dt_s: float, page_size_b: int
) -> Rates:
    """Swap traffic (pages → bytes) and major faults per second between two vmstats."""
    if dt_s <= 0:
        raise ValueError("dt_s must be > 0")
    return Rates(
        swapout_bps=_per_s(prev.get("pswpout"), cur.get("pswpout"), dt_s, page_size_b),
        swapin_bps=_per_s(prev.get("pswpin"), cur.get("pswpin"), dt_s, page_size_b),
        majfault_ps=_per_s(prev.get("pgmajfault"), cur.get("pgmajfault"), dt_s, 1.0),
    )


def _stall(prev: int | None, cur: int | None, dt_s: float) -> float | None:
    frac = _per_s(prev, cur, dt_s, 1e-6)
    return None if frac is None else min(1.0, max(0.0, frac))


def pressure_between(prev: PsiTotals, cur: PsiTotals, dt_s: float) -> Pressure:
    """Stall time (`total=` µs) over the wall interval, as fractions clamped to 0..1."""
    if dt_s <= 0:
        raise ValueError("dt_s must be > 0")
    return Pressure(
        some=_stall(prev.some_us, cur.some_us, dt_s),
        full=_stall(prev.full_us, cur.full_us, dt_s),
    )
