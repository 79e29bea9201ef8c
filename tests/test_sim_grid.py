"""The simulator against a grid of real shows: every trace in assets/traces/grid/.

Each trace was recorded on this project's test machine with `oomphony record` in a real
cgroup cage (three cage sizes, no swap or some, two rates; the conditions are read from
the trace itself, so a trace added to the folder is checked too). The simulator is run
with the same cage, swap, cache fill and rate, and must hold the three milestones — the
cache drained, the first swap-out, the kill, in seconds from the first allocation —
within 10 % of the real run.

Re-record the grid (root, swap on; a few minutes):

    sudo .venv/bin/python tests/record_grid.py

and print the table of the simulator's errors on it:

    .venv/bin/python -m oomphony.support.calibrate assets/traces/grid/*.jsonl
"""

from __future__ import annotations

from pathlib import Path

import pytest

from oomphony.support.calibrate import MILESTONES, conditions, errors, measure
from oomphony.trace.reader import read_trace
from oomphony.units import MiB

GRID = Path(__file__).resolve().parents[1] / "assets/traces/grid"
TRACES = sorted(GRID.glob("*.jsonl"))
TOLERANCE = 0.10


def test_the_grid_spans_cages_swap_and_rates() -> None:
    # Read from the traces, not their names: the grid must really vary all three.
    runs = [conditions(read_trace(p).frames) for p in TRACES]
    assert len({r.memory_b for r in runs}) >= 3, "at least three cage sizes"
    assert {r.swap_b > 0 for r in runs} == {True, False}, "with and without swap"
    assert len({round(r.rate_bps / MiB) for r in runs}) >= 2, "at least two rates"
    assert all(r.memory_b <= 512 * MiB for r in runs)


@pytest.mark.parametrize("path", TRACES, ids=lambda p: p.stem)
def test_the_sim_holds_each_milestone_within_10_percent(path: Path) -> None:
    trace = read_trace(path)
    real = measure(trace.frames, trace.events)
    assert real.kill_t_s is not None and real.cache_drained_t_s is not None
    swap = conditions(trace.frames).swap_b
    assert (real.first_swapout_t_s is not None) == (swap > 0), "swap-out iff the cage has swap"
    off = {
        name: err for name, err in errors(path).items() if err is not None and abs(err) > TOLERANCE
    }
    assert not off, ", ".join(f"{n}: {e:+.1%}" for n, e in off.items())
    assert set(errors(path)) == set(MILESTONES)
