"""The director of `record` without a setlist: one long act, filling memory at one rate
until the allocator ends, then a short tail for the aftermath. It still tells the
picture and the sound about the kill."""

from __future__ import annotations

from dataclasses import dataclass, replace

from oomphony.commands import Command, Pressed
from oomphony.cues import Act, Cues
from oomphony.frame import ActEvent, AllocatorExit, Event, MemoryFrame, OomKill
from oomphony.units import MiB

# The plain fill's allocation rate when `record` is given no --rate.
DEFAULT_RATE_BPS = 100.0 * MiB

# After the allocator's end, keep recording this long: the calm after the kill is part of
# the show (the sound's silence, the cage emptying), and 1.5 s keeps `record` under 30 s.
TAIL_S = 1.5
# The kill screen holds this long before the epilogue.
KILL_HOLD_S = 3.0


@dataclass
class PlainDirector:
    """The director for a run without a setlist: one long act until the allocator ends.

    It still tells the picture and the sound about the kill, and finishes `tail_s` after
    the allocator's exit."""

    tail_s: float = TAIL_S
    finished: bool = False
    _cues: Cues | None = None
    _exit_t: float | None = None

    def step(
        self,
        frame: MemoryFrame,
        events: list[Event],
        dt_s: float,
        actions: tuple[Pressed, ...] = (),
    ) -> tuple[Cues, list[Command], list[ActEvent]]:
        cues = self._cues or Cues(
            t_s=frame.t_s,
            act=Act.OVERTURE,
            act_name="record",
            title="Filling memory",
            caption="A program is eating memory at a steady pace inside its cage.",
        )
        acts: list[ActEvent] = []
        for ev in events:
            if isinstance(ev, OomKill) and cues.kill is None:
                cues = replace(
                    cues,
                    act=Act.KILL,
                    title="The OOM killer",
                    caption="Memory and swap are full: the kernel killed the hog.",
                    kill=ev,
                    kill_t_s=ev.t_s,
                )
                acts.append(ActEvent(ev.t_s, "kill", Act.KILL.value, recognised=True))
            elif isinstance(ev, AllocatorExit):
                self._exit_t = ev.t_s
                if ev.how == "manual_kill":
                    cues = replace(cues, manual_kill=True, kill_t_s=ev.t_s, act=Act.KILL)
        if (
            cues.act is Act.KILL
            and cues.kill_t_s is not None
            and frame.t_s - cues.kill_t_s >= KILL_HOLD_S
        ):
            cues = replace(cues, act=Act.EPILOGUE)
        if self._exit_t is not None and frame.t_s - self._exit_t >= self.tail_s:
            self.finished = True
        self._cues = replace(cues, t_s=frame.t_s, new_events=tuple(events))
        return self._cues, [], acts
