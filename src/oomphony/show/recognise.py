"""Recognise the talk's acts from telemetry alone: the cache gives way while the allocator
grows, pages go out to swap, the kill, the aftermath.

A pure function of (state, frame, events): the same frames and kill events give the same
act sequence, whether they come live, from the simulator or from a replayed trace. The
acts follow the story's facts (`trace/story.py`: the cache gives way, the first swap-out,
the kill), which are levels, not rates, so a replay sampled at another frame rate agrees.
Each allocator life (a new pid) runs overture → cache → swap → kill → epilogue once; a
phase the machine skips (no cache to speak of, no swap) is simply not announced.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from oomphony.cues import Act
from oomphony.frame import ActEvent, Event, MemoryFrame
from oomphony.trace.story import Story, advance

EPILOGUE_AFTER_S = 3.0  # after the kill

ORDER = {Act.ATTRACT: 0, Act.OVERTURE: 1, Act.CACHE: 2, Act.SWAP: 3, Act.KILL: 4, Act.EPILOGUE: 5}


@dataclass(frozen=True, slots=True)
class RecogState:
    phase: Act | None = None  # None before the first frame
    story: Story | None = None  # the facts of this allocator life (trace/story.py)
    kill_t_s: float | None = None  # when the kill act was recognised


def _act(t_s: float, kind: Act) -> ActEvent:
    return ActEvent(t_s=t_s, name=kind.value, kind=kind.value, recognised=True)


def recognise(
    state: RecogState, frame: MemoryFrame, events: list[Event]
) -> tuple[RecogState, list[ActEvent]]:
    out: list[ActEvent] = []
    story = advance(state.story, frame, events)
    if state.story is None or story.life != state.story.life:
        state = RecogState(phase=Act.OVERTURE, story=story)
        out.append(_act(frame.t_s, Act.OVERTURE))
    else:
        state = replace(state, story=story)
    assert state.phase is not None
    phase = ORDER[state.phase]

    if phase < ORDER[Act.KILL] and story.kill_t_s is not None:
        kill_t = story.kill_t_s
        return replace(state, phase=Act.KILL, kill_t_s=kill_t), [*out, _act(kill_t, Act.KILL)]
    if phase == ORDER[Act.KILL]:
        if state.kill_t_s is not None and frame.t_s >= state.kill_t_s + EPILOGUE_AFTER_S:
            return replace(state, phase=Act.EPILOGUE), [*out, _act(frame.t_s, Act.EPILOGUE)]
        return state, out
    if phase >= ORDER[Act.KILL]:
        return state, out

    if story.first_swapout_t_s is not None and phase < ORDER[Act.SWAP]:
        return replace(state, phase=Act.SWAP), [*out, _act(frame.t_s, Act.SWAP)]
    if state.phase == Act.OVERTURE and story.cache_giving_t_s is not None:
        return replace(state, phase=Act.CACHE), [*out, _act(frame.t_s, Act.CACHE)]
    return state, out
