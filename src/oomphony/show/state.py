"""The director's state: one frozen record per step (show/director.py), and the small
helpers that update it."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace

from oomphony.commands import Command, Hold, Ramp, SetRate
from oomphony.frame import OomKill
from oomphony.show.recognise import RecogState
from oomphony.show.setlist import ActSpec, Setlist

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RampState:
    from_bps: float
    to_bps: float
    over_s: float
    elapsed_s: float = 0.0

    @property
    def rate_bps(self) -> float:
        f = min(1.0, self.elapsed_s / self.over_s) if self.over_s > 0 else 1.0
        return self.from_bps + (self.to_bps - self.from_bps) * f


@dataclass(frozen=True, slots=True)
class DirectorState:
    setlist: Setlist
    has_swap: bool
    t_s: float = 0.0
    act_index: int = -1  # -1 before the first step
    act_clock_s: float = 0.0  # how long the act has run (frozen while paused)
    waiting_for_kill: bool = False  # a kill act entered before the kill: its clock waits
    between: bool = False  # pause_between_acts: the act is over, waiting for a key
    finished: bool = False
    paused: bool = False
    rate_bps: float = 0.0  # the rate the director wants (when no ramp runs)
    ramp: RampState | None = None
    kill: OomKill | None = None
    kill_t_s: float | None = None
    manual_kill: bool = False
    other_death: str | None = None  # the allocator died, but not by the OOM killer
    kill_timed_out: bool = False  # an act waited for the kill in vain: do not wait again
    key_wait_s: float | None = None  # headless: a wait for a key ends after this long
    wait_clock_s: float = 0.0  # how long the show has waited for a key between acts
    notes: tuple[str, ...] = ()
    recog: RecogState = field(default_factory=RecogState)

    @property
    def act(self) -> ActSpec | None:
        if 0 <= self.act_index < len(self.setlist.acts):
            return self.setlist.acts[self.act_index]
        return None

    @property
    def current_rate_bps(self) -> float:
        return self.ramp.rate_bps if self.ramp is not None else self.rate_bps


def initial_state(
    setlist: Setlist, *, has_swap: bool, key_wait_s: float | None = None
) -> DirectorState:
    """`key_wait_s`: for a show nobody can press keys in (`--display none`), waits for a
    key (between classroom acts, `until = "key"`) end after this many seconds."""
    return DirectorState(setlist=setlist, has_swap=has_swap, key_wait_s=key_wait_s)


def _note(state: DirectorState, text: str) -> DirectorState:
    if text in state.notes:
        return state
    log.info("%s", text)
    return replace(state, notes=(*state.notes, text))


def _resume(state: DirectorState) -> list[Command]:
    if state.ramp is not None and state.ramp.elapsed_s < state.ramp.over_s:
        r = state.ramp
        return [Ramp(r.rate_bps, r.to_bps, r.over_s - r.elapsed_s)]
    rate = state.current_rate_bps
    return [SetRate(rate)] if rate > 0 else [Hold()]
