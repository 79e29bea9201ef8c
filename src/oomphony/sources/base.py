"""The one source interface: live, sim and replay all look like this to the show.

The runner owns the show clock and calls `step(t_s)` once per frame with the show time
in seconds (scaled by `--speed` for sim and replay; live always runs at 1×). A step never
blocks: it returns the newest frame and the events that happened since the last step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from oomphony.commands import Command
from oomphony.frame import Event, MemoryFrame


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a show's frames come from, so the picture can say so on screen."""

    kind: str  # "live", "sim" or "replay"
    simulated: bool = False  # the simulator played the kernel (sim, or a replay of a sim show)
    host: str = ""  # replay: the machine the trace was recorded on (its header's host)
    recorded: str = ""  # replay: when, the header's `started` (ISO-8601)


class Source(Protocol):
    name: str  # "live", "sim" or "replay"
    origin: Origin  # what the picture labels the show as (the runner hands it to the view)
    fallbacks: list[str]  # one line each: what this source could not provide, and instead

    def start(self) -> None: ...

    def step(self, t_s: float) -> tuple[MemoryFrame, list[Event]]: ...

    def command(self, cmd: Command) -> None: ...

    @property
    def done(self) -> bool:
        """True when the source has nothing more to give (replay at its end)."""
        ...

    @property
    def has_swap(self) -> bool:
        """Whether this show can swap (the director skips the swap acts if not)."""
        ...

    def describe_cage(self) -> dict[str, object] | None:
        """The trace header's `cage` (None: no cage)."""
        ...

    def wake_fds(self) -> list[int]:
        """Descriptors that become readable on an OOM kill ([] if none)."""
        ...

    def close(self) -> None: ...
