"""The one place a show's `Source` is made: live (a cage and the allocator), sim or
replay, started and ready. `--backend auto` tries the live source and, when no cage can be
made, falls back to the simulator once, for this and every later show of the run.

What the runner and the picture need from a source travels on the `Source` protocol
(`name`, `origin`, `fallbacks`, `has_swap`, `describe_cage`, `wake_fds`), not through
the factory. What a person should read (a fallback) goes to the `notice` callable the
command line gives: this module never prints."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from oomphony.cage.sizing import GLOBAL_CACHE_CAP_B, resolve_sizes
from oomphony.errors import CageError
from oomphony.sources.base import Source
from oomphony.sources.live import LivePlan
from oomphony.trace.reader import Trace
from oomphony.units import MiB

log = logging.getLogger(__name__)

# The simulator's cage when neither the command line nor the setlist gives one: the size
# the talk was tried at on the developers' machines (a 512 MiB cage, 256 MiB of swap).
SIM_MEMORY_B = 512 * MiB
SIM_SWAP_B = 256 * MiB


@dataclass(frozen=True, slots=True)
class SourceSpec:
    """What the shows' sources are made from."""

    backend: str  # "auto", "live", "sim" or "replay"
    memory_b: int | None = None  # the cage asked for (None: the default)
    swap_b: int | None = None
    global_: bool = False  # no cage (live), an uncaged machine (sim)
    seed: int = 0  # sim: show n of a run is seeded `seed + n - 1`
    replay: Trace | None = None  # the trace a replay plays, already read
    replay_path: str | None = None
    # live: a fixed plan (record's plain fill); else one per show, with the cache file
    # `cache_file_b(cage memory)` bytes long for the setlist's cache act
    live_plan: LivePlan | None = None
    cache_file_b: Callable[[int], int] | None = None


def check_spec(spec: SourceSpec) -> None:
    """Fail now, before anything starts, on sizes no cage can have (UsageError)."""
    if spec.backend in ("auto", "live") and spec.live_plan is None:
        resolve_sizes(spec.memory_b, spec.swap_b, global_=spec.global_)


def _silent(_text: str) -> None:
    return None


class SourceFactory:
    """Makes one started source per show. `backend` is the backend the shows really run
    on: the spec's, with "auto" resolved by the first show ("live", or "sim" after a
    fallback)."""

    def __init__(
        self,
        spec: SourceSpec,
        notice: Callable[[str], None] = _silent,
        *,
        protections: dict | None = None,
    ) -> None:
        self.spec = spec
        self.protections = protections  # --global: what protects the show (show/shield.py)
        self.backend = spec.backend
        self.shows = 0
        self._notice = notice

    def make(self) -> Source:
        """The next show's source, started."""
        self.shows += 1
        if self.backend in ("auto", "live"):
            source = self._live()
            if source is not None:
                return source
        if self.backend == "replay":
            return self._replay()
        return self._sim()

    def _live(self) -> Source | None:
        """A started live source; under "auto", a cage that cannot be made falls back to
        the simulator (None, once, with a notice)."""
        from oomphony.sources.live import LiveSource

        try:
            source = LiveSource(self._live_plan(), protections=self.protections)
            source.start()
        except CageError as err:
            if self.backend != "auto":
                raise
            self._notice(f"{err}. Running the simulator instead (--backend sim)")
            self.backend = "sim"
            return None
        self.backend = "live"
        for line in source.fallbacks:
            self._notice(line)
        return source

    def _live_plan(self) -> LivePlan:
        spec = self.spec
        if spec.live_plan is not None:
            return spec.live_plan
        memory_b, swap_b = resolve_sizes(spec.memory_b, spec.swap_b, global_=spec.global_)
        cache_file = spec.cache_file_b(memory_b or GLOBAL_CACHE_CAP_B) if spec.cache_file_b else 0
        return LivePlan(
            memory_b=memory_b, swap_b=swap_b, cache_b=0, rate_bps=0.0, cache_file_b=cache_file
        )

    def _sim(self) -> Source:
        from oomphony.sources.sim import SimSource

        spec = self.spec
        source = SimSource(
            memory_b=spec.memory_b or SIM_MEMORY_B,
            swap_b=SIM_SWAP_B if spec.swap_b is None else spec.swap_b,
            seed=spec.seed + self.shows - 1,
            caged=not spec.global_,
        )
        source.start()
        return source

    def _replay(self) -> Source:
        from oomphony.sources.replay import ReplaySource

        assert self.spec.replay_path is not None
        source = ReplaySource(self.spec.replay_path, self.spec.replay)
        source.start()
        return source
