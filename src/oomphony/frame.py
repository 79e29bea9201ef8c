"""The show's one data type: a snapshot of memory, and the events between snapshots.

Every source (live, sim, replay) produces `MemoryFrame`s; the director, the picture and
the sound only read them. Units are in the field names (`_b` bytes, `_bps` bytes per
second, `_ps` per second, `_s` seconds); PSI stall values are fractions of the interval
(0..1). A value a machine cannot provide is `None`, never a made-up zero.

The trace format (docs/trace-format.md) is trace/format.py: its dict keys are the
contract, these dataclasses are the code's view.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class MachineMem:
    """Machine-wide memory from /proc/meminfo."""

    total_b: int
    free_b: int
    available_b: int | None
    cache_b: int  # Cached (page cache incl. shmem), as `free` shows it in buff/cache
    anon_b: int | None  # AnonPages
    swap_total_b: int
    swap_free_b: int

    @property
    def swap_used_b(self) -> int:
        return max(0, self.swap_total_b - self.swap_free_b)


@dataclass(frozen=True, slots=True)
class CageMem:
    """The allocator's memory cgroup. Limits of `None` mean unlimited."""

    limit_b: int | None
    swap_limit_b: int | None  # swap allowed on top of limit_b (v1: memsw − mem)
    usage_b: int
    cache_b: int | None
    anon_b: int | None
    swap_b: int | None
    oom_kills: int | None


@dataclass(frozen=True, slots=True)
class AllocState:
    """A process of the show (the allocator, or the sleeper)."""

    pid: int | None
    alive: bool
    allocated_b: int  # what the process has written (its own count, via shared memory)
    rss_b: int | None  # VmRSS
    swap_b: int | None  # VmSwap
    rate_bps: float  # the allocation rate it is currently running at (0 when holding)


@dataclass(frozen=True, slots=True)
class Rates:
    """Per-second rates differentiated from /proc/vmstat between two frames."""

    swapout_bps: float | None
    swapin_bps: float | None
    majfault_ps: float | None


@dataclass(frozen=True, slots=True)
class Pressure:
    """PSI memory stall since the previous frame, as a fraction of the interval."""

    some: float | None
    full: float | None


NO_RATES = Rates(None, None, None)
NO_PRESSURE = Pressure(None, None)


@dataclass(frozen=True, slots=True)
class MemoryFrame:
    t_s: float
    machine: MachineMem
    cage: CageMem | None
    alloc: AllocState
    rates: Rates = NO_RATES
    psi: Pressure = NO_PRESSURE
    sleeper: AllocState | None = None

    # Derived once, here, for every consumer.
    @property
    def limit_b(self) -> int:
        """The memory the allocator competes for: the cage's limit, else the machine's RAM."""
        if self.cage is not None and self.cage.limit_b is not None:
            return self.cage.limit_b
        return self.machine.total_b

    @property
    def swap_limit_b(self) -> int:
        """The swap the allocator can reach: the cage's swap limit, else machine swap."""
        if self.cage is not None and self.cage.swap_limit_b is not None:
            return min(self.cage.swap_limit_b, self.machine.swap_total_b)
        return self.machine.swap_total_b

    @property
    def cache_b(self) -> int:
        """Page cache in the arena (the cage's if caged, else the machine's)."""
        if self.cage is not None and self.cage.cache_b is not None:
            return self.cage.cache_b
        return self.machine.cache_b

    @property
    def swap_b(self) -> int:
        """Swap used in the arena (the cage's if caged, else the machine's)."""
        if self.cage is not None and self.cage.swap_b is not None:
            return self.cage.swap_b
        return self.machine.swap_used_b

    @property
    def used_b(self) -> int:
        """Memory in use in the arena (cage usage, else total − free)."""
        if self.cage is not None:
            return self.cage.usage_b
        return self.machine.total_b - self.machine.free_b


# --- events -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OomKill:
    """The kernel killed a process. `source` says how we know: 'cgroup-eventfd',
    'memory.events', 'kmsg', 'journal', 'vmstat', 'sim' or 'replay'."""

    t_s: float
    pid: int | None
    comm: str | None
    anon_rss_b: int | None
    source: str
    kernel_line: str | None
    # From the kernel's own timestamp of the kill (its /dev/kmsg record) to the moment the
    # show knew; None where the kernel log is not readable. See docs/trace-format.md.
    detect_ms: float | None = None
    # From that moment to the flip of the first kill-screen frame; None without a picture.
    screen_ms: float | None = None
    # --global: what protected the show when the kernel struck (show/shield.py); else None
    protections: dict | None = None
    event: str = field(default="oom_kill", init=False)


@dataclass(frozen=True, slots=True)
class AllocatorExit:
    """The allocator ended. `how` is 'oom_kill', 'sigkill' (a SIGKILL that was not a
    confirmed OOM kill), 'manual_kill', 'exit' or 'signal'; `detail` one readable line."""

    t_s: float
    pid: int | None
    how: str
    returncode: int | None
    detail: str = ""
    event: str = field(default="allocator_exit", init=False)


@dataclass(frozen=True, slots=True)
class Failure:
    """Something the show promised not to do happened. `kind` 'other_oom_kill': the
    kernel's OOM killer took a process other than the allocator (--global)."""

    t_s: float
    kind: str
    detail: str  # one readable line
    pid: int | None = None
    comm: str | None = None
    kernel_line: str | None = None
    event: str = field(default="failure", init=False)


@dataclass(frozen=True, slots=True)
class ActEvent:
    """The show entered an act (scripted or recognised from telemetry)."""

    t_s: float
    name: str
    kind: str  # an `oomphony.cues.Act` value
    recognised: bool = False
    event: str = field(default="act", init=False)


@dataclass(frozen=True, slots=True)
class AudioReport:
    t_s: float
    underflows: int
    worst_callback_ms: float
    callback_errors: int = 0  # callbacks that failed and played silence instead
    event: str = field(default="audio", init=False)


@dataclass(frozen=True, slots=True)
class PictureReport:
    """How a show's picture did: frames drawn, frame times (the work from events to
    flip), frames over the 60 Hz budget, missed frame slots, and where it was shown."""

    t_s: float
    frames: int
    p50_ms: float
    p99_ms: float
    max_ms: float
    over_budget: int  # frames whose work took longer than 1/60 s
    dropped: int  # frame slots missed (a gap between frames of 1.5 periods or more)
    driver: str  # SDL's video driver ("x11", "dummy", "kmsdrm", …) or "none" (off-screen)
    size: tuple[int, int] | list[int]
    # per act kind ("overture", "cache", "swap", …): frames, p50_ms, p99_ms, max_ms
    by_act: dict[str, dict[str, float]] | None = None
    event: str = field(default="picture", init=False)


@dataclass(frozen=True, slots=True)
class EndEvent:
    t_s: float
    reason: str
    event: str = field(default="end", init=False)


@dataclass(frozen=True, slots=True)
class CueEvent:
    """A remote cue (OSC, docs/osc.md) the show acted on: the action, the address and
    who sent it."""

    t_s: float
    action: str  # an `oomphony.commands.Action` value, or "rate"
    address: str
    sender: str  # "HOST:PORT"
    value: float | None = None  # the rate cue's bytes/s or factor
    event: str = field(default="cue", init=False)


@dataclass(frozen=True, slots=True)
class WarningEvent:
    """Something the show ignored and went on: an OSC datagram that was not OSC, an
    unknown address, wrong arguments (`about` "osc"). `count` is how many so far."""

    t_s: float
    about: str
    detail: str
    count: int
    event: str = field(default="warning", init=False)


@dataclass(frozen=True, slots=True)
class OscReport:
    """The OSC link's counts at the end of a run (docs/osc.md)."""

    t_s: float
    sent: int
    send_errors: int
    cues: int
    ignored: int
    event: str = field(default="osc", init=False)


Event = (
    OomKill
    | AllocatorExit
    | Failure
    | ActEvent
    | AudioReport
    | PictureReport
    | EndEvent
    | CueEvent
    | WarningEvent
    | OscReport
)
