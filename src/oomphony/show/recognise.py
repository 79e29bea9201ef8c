"""Recognise the talk's acts from telemetry alone: the cache gives way while the allocator
grows, pages go out to swap, the kill, the aftermath.

A pure function of (state, frame, events): the same frames and kill events give the same
act sequence, whether they come live, from the simulator or from a replayed trace. The
tests are on levels (how far the cache fell from its peak, how much swap was added since
the allocator started), not on rates, so a replay sampled at another frame rate agrees.
Each allocator life (a new pid) runs overture → cache → swap → kill → epilogue once; a
phase the machine skips (no cache to speak of, no swap) is simply not announced.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from oomphony.cues import Act
from oomphony.frame import ActEvent, AllocatorExit, Event, MemoryFrame, OomKill
from oomphony.units import MiB

# A drop smaller than this is noise (the allocator's own page-table and interpreter
# growth moves the cache by a few MiB).
CACHE_DROP_MIN_B = 8 * MiB
CACHE_DROP_FRACTION = 0.25  # of the cache's peak in this life
SWAP_MIN_B = 4 * MiB  # swap added since the allocator started
EPILOGUE_AFTER_S = 3.0  # after the kill

ORDER = {Act.ATTRACT: 0, Act.OVERTURE: 1, Act.CACHE: 2, Act.SWAP: 3, Act.KILL: 4, Act.EPILOGUE: 5}


@dataclass(frozen=True, slots=True)
class RecogState:
    phase: Act | None = None  # None before the first frame
    pid: int | None = None
    peak_cache_b: int = 0
    alloc_at_peak_b: int = 0
    swap_base_b: int = 0
    oom_kills_base: int | None = None  # the cage's counter when this life began
    kill_t_s: float | None = None


def _new_life(frame: MemoryFrame) -> RecogState:
    return RecogState(
        phase=Act.OVERTURE,
        pid=frame.alloc.pid,
        peak_cache_b=frame.cache_b,
        alloc_at_peak_b=frame.alloc.allocated_b,
        swap_base_b=frame.swap_b,
        oom_kills_base=frame.cage.oom_kills if frame.cage is not None else None,
    )


def _act(t_s: float, kind: Act) -> ActEvent:
    return ActEvent(t_s=t_s, name=kind.value, kind=kind.value, recognised=True)


def _killed(state: RecogState, frame: MemoryFrame, events: list[Event]) -> float | None:
    """Show time of an OOM kill of this life in this step, else None."""
    for ev in events:
        if isinstance(ev, OomKill) or (isinstance(ev, AllocatorExit) and ev.how == "oom_kill"):
            return ev.t_s
    kills = frame.cage.oom_kills if frame.cage is not None else None
    if kills is not None and state.oom_kills_base is not None and kills > state.oom_kills_base:
        return frame.t_s
    return None


def recognise(
    state: RecogState, frame: MemoryFrame, events: list[Event]
) -> tuple[RecogState, list[ActEvent]]:
    out: list[ActEvent] = []
    pid = frame.alloc.pid
    if state.phase is None or (
        pid is not None and state.pid is not None and pid != state.pid and frame.alloc.alive
    ):
        state = _new_life(frame)
        out.append(_act(frame.t_s, Act.OVERTURE))
    elif state.pid is None and pid is not None:
        state = replace(state, pid=pid)
    assert state.phase is not None
    phase = ORDER[state.phase]

    if phase < ORDER[Act.KILL]:
        kill_t = _killed(state, frame, events)
        if kill_t is not None:
            return replace(state, phase=Act.KILL, kill_t_s=kill_t), [*out, _act(kill_t, Act.KILL)]
    if phase == ORDER[Act.KILL]:
        if state.kill_t_s is not None and frame.t_s >= state.kill_t_s + EPILOGUE_AFTER_S:
            return replace(state, phase=Act.EPILOGUE), [*out, _act(frame.t_s, Act.EPILOGUE)]
        return state, out
    if phase >= ORDER[Act.KILL]:
        return state, out

    if frame.swap_b - state.swap_base_b >= SWAP_MIN_B and phase < ORDER[Act.SWAP]:
        return replace(state, phase=Act.SWAP), [*out, _act(frame.t_s, Act.SWAP)]
    if state.phase == Act.OVERTURE:
        cache = frame.cache_b
        if cache >= state.peak_cache_b:
            return replace(state, peak_cache_b=cache, alloc_at_peak_b=frame.alloc.allocated_b), out
        drop = state.peak_cache_b - cache
        if (
            drop >= max(CACHE_DROP_MIN_B, CACHE_DROP_FRACTION * state.peak_cache_b)
            and frame.alloc.allocated_b > state.alloc_at_peak_b
        ):
            return replace(state, phase=Act.CACHE), [*out, _act(frame.t_s, Act.CACHE)]
    return state, out
