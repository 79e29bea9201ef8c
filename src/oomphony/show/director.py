"""The director: a pure state machine that runs a setlist against telemetry.

`step(state, frame, events, dt_s, actions=...) -> (state, cues, commands, act_events)`.
It enters acts (issuing their allocator commands), ends them on their `until` trigger,
owns the allocator's rate (so the pause and rate keys become commands), and recognises the
acts from telemetry (`recognise.py`), emitting both kinds of `act` events for the trace.

What the machine cannot do becomes a caption, never a hang: with no swap the swap acts
are skipped with a note; an act waiting on the kill (or on memory) ends on its timeout
with a note saying the kill never came; an allocator killed by something other than the
kernel's OOM killer (systemd-oomd) is said to be so. No pygame here.
"""

from __future__ import annotations

import logging
from dataclasses import replace

from oomphony.commands import (
    Action,
    Command,
    FillCache,
    Hold,
    Pressed,
    Ramp,
    RateCue,
    Release,
    SetRate,
    StartSleeper,
    WakeSleeper,
)
from oomphony.cues import Act, Cues
from oomphony.frame import ActEvent, AllocatorExit, Event, MemoryFrame, OomKill
from oomphony.show.recognise import ORDER, recognise
from oomphony.show.setlist import Condition, Setlist
from oomphony.show.state import DirectorState, RampState, _note, _resume, initial_state

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT_S = 120.0  # an act waiting on memory or the kill, with no `timeout`
RATE_STEP = 1.5  # one press of rate up / rate down
RATE_FIRST_FRACTION = 0.01  # rate up from zero: 1 % of the cage per second
NO_SWAP_NOTE = "No swap on this machine: the swap act is skipped; the cache goes, then the kill."
NEXT_HINT = "Press → (next) to continue."


def _enter(
    state: DirectorState, index: int, frame: MemoryFrame, out: list[Command], acts: list[ActEvent]
) -> DirectorState:
    """Enter act `index` (skipping swap acts on a machine without swap)."""
    spec_acts = state.setlist.acts
    while index < len(spec_acts) and spec_acts[index].kind == Act.SWAP and not state.has_swap:
        state = _note(state, NO_SWAP_NOTE)
        index += 1
    if index >= len(spec_acts):
        return replace(state, finished=True, between=False)
    a = spec_acts[index]
    acts.append(ActEvent(t_s=frame.t_s, name=a.name, kind=a.kind.value))
    resume_needed = state.between or state.paused
    state = replace(
        state,
        act_index=index,
        act_clock_s=0.0,
        between=False,
        paused=False,
        waiting_for_kill=(
            a.kind == Act.KILL
            and state.kill is None
            and state.other_death is None
            and not state.kill_timed_out
        ),
    )
    limit = frame.limit_b
    if a.release:
        size = None if a.release_amount is None else int(a.release_amount.resolve(limit))
        out.append(Release(size))
    if a.fill_cache is not None:
        out.append(FillCache(int(a.fill_cache.resolve(limit))))
    if a.sleeper is not None:
        out.append(StartSleeper(int(a.sleeper.resolve(limit))))
    if a.wake:
        out.append(WakeSleeper())
    if a.hold:
        state = replace(state, rate_bps=0.0, ramp=None)
        out.append(Hold())
    if a.rate is not None:
        state = replace(state, rate_bps=a.rate.resolve(limit), ramp=None)
        out.append(SetRate(state.rate_bps))
    if a.ramp is not None:
        r = RampState(a.ramp.from_bps.resolve(limit), a.ramp.to_bps.resolve(limit), a.ramp.over_s)
        state = replace(state, ramp=r, rate_bps=r.to_bps)
        out.append(Ramp(r.from_bps, r.to_bps, r.over_s))
    if resume_needed and not (a.hold or a.rate is not None or a.ramp is not None):
        out.extend(_resume(state))
    return state


def _holds(cond: Condition, frame: MemoryFrame) -> bool:
    if cond.metric == "pressure":
        value, limit = frame.psi.some, 1.0
    elif cond.metric == "sleeper_swap":
        if frame.sleeper is None:
            return False
        value, limit = frame.sleeper.swap_b, frame.sleeper.allocated_b
    else:
        value, limit = {
            "cache": (frame.cache_b, frame.limit_b),
            "swap": (frame.swap_b, frame.swap_limit_b),
            "used": (frame.used_b, frame.limit_b),
            "allocated": (frame.alloc.allocated_b, frame.limit_b),
        }[cond.metric]
    if value is None:
        return False
    threshold = cond.value.resolve(limit)
    return value < threshold if cond.op == "<" else value > threshold


def _end_act(
    state: DirectorState, frame: MemoryFrame, out: list[Command], acts: list[ActEvent]
) -> DirectorState:
    last = state.act_index >= len(state.setlist.acts) - 1
    if state.setlist.pause_between_acts and not last:
        out.append(Hold())
        return replace(state, between=True, wait_clock_s=0.0)
    return _enter(state, state.act_index + 1, frame, out, acts)


def _check_triggers(
    state: DirectorState, frame: MemoryFrame, out: list[Command], acts: list[ActEvent]
) -> DirectorState:
    a = state.act
    assert a is not None
    timeout_s = a.timeout_s if a.timeout_s is not None else DEFAULT_TIMEOUT_S
    if state.waiting_for_kill:
        if state.kill is not None or state.other_death is not None:
            return replace(state, waiting_for_kill=False, act_clock_s=0.0)
        if state.act_clock_s >= timeout_s:
            state = replace(_note(state, _no_kill_note(timeout_s)), kill_timed_out=True)
            return _end_act(state, frame, out, acts)
        return state
    u = a.until
    key_timeout = u.on_key and state.key_wait_s is not None
    done = (
        (u.seconds is not None and state.act_clock_s >= u.seconds)
        or (key_timeout and state.act_clock_s >= (state.key_wait_s or 0.0))
        or (u.on_kill and (state.kill is not None or state.other_death is not None))
        or any(_holds(c, frame) for c in u.conditions)
    )
    if not done and u.waits_on_world and state.act_clock_s >= timeout_s:
        if u.on_kill:
            state = replace(_note(state, _no_kill_note(timeout_s)), kill_timed_out=True)
        else:
            state = _note(
                state,
                f"'{a.name}' ended on its {timeout_s:.0f} s timeout: {u.text} did not happen.",
            )
        done = True
    return _end_act(state, frame, out, acts) if done else state


def _no_kill_note(timeout_s: float) -> str:
    return (
        f"The OOM kill never came within {timeout_s:.0f} s (systemd-oomd may have stepped in, "
        "or the limit was never reached); the show moves on."
    )


def _on_events(
    state: DirectorState,
    events: list[Event],
    frame: MemoryFrame,
    out: list[Command],
    acts: list[ActEvent],
) -> DirectorState:
    for ev in events:
        if isinstance(ev, OomKill) and state.kill is None:
            state = replace(state, kill=ev, kill_t_s=ev.t_s)
            a = state.act
            if a is not None and not a.until.on_kill:
                state = _follow_kernel(state, Act.KILL, frame, out, acts)
        elif isinstance(ev, AllocatorExit) and state.kill is None:
            if ev.how == "manual_kill":
                state = replace(state, manual_kill=True, other_death=ev.how, kill_t_s=ev.t_s)
            elif ev.how != "oom_kill" and state.other_death is None:
                state = replace(state, other_death=ev.how)
                state = _note(
                    state,
                    "The allocator died, but not by the kernel's OOM killer"
                    f" ({ev.how}{': ' + ev.detail if ev.detail else ''}).",
                )
    return state


def _follow_kernel(
    state: DirectorState,
    kind: Act,
    frame: MemoryFrame,
    out: list[Command],
    acts: list[ActEvent],
) -> DirectorState:
    """The kernel is ahead of the script (it reached `kind` before the act's trigger
    fired): go to the next act of that kind, so the caption says what the audience sees.
    Measured on the real kernel: in a v1 cage the page cache starts to drain at ~60 % of
    the limit, long before a "used > 98 %" trigger. Not while the show waits between acts
    or in an act that waits for a key: that is the presenter's pace."""
    a = state.act
    if a is None or state.between or state.finished or a.until.on_key:
        return state
    if ORDER[a.kind] >= ORDER[kind]:
        return state
    later = [
        i
        for i in range(state.act_index + 1, len(state.setlist.acts))
        if state.setlist.acts[i].kind == kind
    ]
    return _enter(state, later[0], frame, out, acts) if later else state


def _new_rate(state: DirectorState, action: Action | RateCue, frame: MemoryFrame) -> float:
    """The rate a rate key or a remote rate cue asks for."""
    rate = state.current_rate_bps
    if isinstance(action, RateCue):
        if action.rate_bps is not None:
            return action.rate_bps
        factor = action.factor if action.factor is not None else 1.0
        base = rate if rate > 0 else RATE_FIRST_FRACTION * frame.limit_b
        return base * factor
    if action is Action.RATE_UP:
        return rate * RATE_STEP if rate > 0 else RATE_FIRST_FRACTION * frame.limit_b
    return rate / RATE_STEP


def _on_actions(
    state: DirectorState,
    actions: tuple[Pressed, ...],
    frame: MemoryFrame,
    out: list[Command],
    acts: list[ActEvent],
) -> DirectorState:
    for action in actions:
        if state.finished:
            break
        if action is Action.NEXT_ACT:
            state = _enter(state, state.act_index + 1, frame, out, acts)
        elif (
            action is Action.PAUSE
            or (action is Action.PAUSE_ON and not state.paused)
            or (action is Action.RESUME and state.paused)
        ) and not state.between:
            state = replace(state, paused=not state.paused)
            out.extend([Hold()] if state.paused else _resume(state))
        elif isinstance(action, RateCue) or action in (Action.RATE_UP, Action.RATE_DOWN):
            rate = _new_rate(state, action, frame)
            state = replace(state, rate_bps=rate, ramp=None)
            if not (state.paused or state.between):
                out.append(SetRate(rate))
        else:
            log.debug("action %r ignored by the director", action)
    return state


def step(
    state: DirectorState,
    frame: MemoryFrame,
    events: list[Event],
    dt_s: float,
    *,
    actions: tuple[Pressed, ...] = (),
) -> tuple[DirectorState, Cues, list[Command], list[ActEvent]]:
    out: list[Command] = []
    acts: list[ActEvent] = []
    recog, recognised = recognise(state.recog, frame, events)
    state = replace(state, t_s=frame.t_s, recog=recog)
    acts.extend(recognised)
    if state.act_index < 0:
        state = _enter(state, 0, frame, out, acts)
    elif not (state.finished or state.paused or state.between):
        # The interval (previous frame, this frame] ran before any key pressed now.
        ramp = state.ramp
        if ramp is not None:
            ramp = replace(ramp, elapsed_s=ramp.elapsed_s + dt_s)
        state = replace(state, act_clock_s=state.act_clock_s + dt_s, ramp=ramp)
    elif state.between and state.key_wait_s is not None:
        state = replace(state, wait_clock_s=state.wait_clock_s + dt_s)
        if state.wait_clock_s >= state.key_wait_s:
            actions = (*actions, Action.NEXT_ACT)
    state = _on_events(state, events, frame, out, acts)
    for ev in recognised:
        if ev.kind in (Act.CACHE.value, Act.SWAP.value):
            state = _follow_kernel(state, Act(ev.kind), frame, out, acts)
    state = _on_actions(state, actions, frame, out, acts)
    if not (state.finished or state.paused or state.between):
        state = _check_triggers(state, frame, out, acts)
    return state, _cues(state, frame, events, acts), out, acts


def _cues(
    state: DirectorState, frame: MemoryFrame, events: list[Event], acts: list[ActEvent]
) -> Cues:
    a = state.act
    show = state.setlist
    notes = state.notes + ((NEXT_HINT,) if state.between else ())
    return Cues(
        t_s=frame.t_s,
        act=a.kind if a is not None else Act.EPILOGUE,
        act_name=a.name if a is not None else "",
        act_index=state.act_index if a is not None else -1,
        title=a.title if a is not None else show.title,
        caption=a.caption if a is not None else "",
        explanation=a.explanation if a is not None else "",
        kill=state.kill,
        kill_t_s=state.kill_t_s,
        manual_kill=state.manual_kill,
        new_events=(*events, *acts),
        paused=state.paused or state.between,
        sound_preset=(a.sound_preset if a is not None else None) or show.sound_preset,
        picture_preset=(a.picture_preset if a is not None else None) or show.picture_preset,
        notes=notes,
    )


class Director:
    """The object the runner holds: the pure `step` with its state kept inside."""

    def __init__(
        self, setlist: Setlist, *, has_swap: bool, key_wait_s: float | None = None
    ) -> None:
        self.state = initial_state(setlist, has_swap=has_swap, key_wait_s=key_wait_s)

    @property
    def finished(self) -> bool:
        return self.state.finished

    def step(
        self,
        frame: MemoryFrame,
        events: list[Event],
        dt_s: float,
        actions: tuple[Pressed, ...] = (),
    ) -> tuple[Cues, list[Command], list[ActEvent]]:
        self.state, cues, commands, acts = step(self.state, frame, events, dt_s, actions=actions)
        return cues, commands, acts
