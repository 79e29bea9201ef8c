"""Assembling a run from its `RunConfig`, in two steps so that nothing starts before every
input is known good:

1. `plan_show(config)` reads and checks: the replayed trace, the setlist, the cage's
   sizes, the plain fill. Nothing is opened or started (a bad input is one `UsageError`).
2. `open_show(plan, notice)` opens the trace, the picture and the sound, and returns a
   `Show` whose shows each get a started source from the `SourceFactory` and a director.

Between the two, the command line may ask for the --global confirmation. What a person
should read goes to `notice` (the command line's voice); this module never prints."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from oomphony.cage.sizing import cache_default_b, resolve_sizes
from oomphony.cues import OscCounters
from oomphony.errors import DisplayError, TraceError, UsageError
from oomphony.show.config import PlainFill, RunConfig
from oomphony.show.library import choose_setlist
from oomphony.show.plain import DEFAULT_RATE_BPS, PlainDirector
from oomphony.show.runner import Director, Remote, Runner, RunOptions, ShowResult
from oomphony.show.setlist import Setlist
from oomphony.show.shield import (
    check_global,
    lean_display,
    oomd_notice,
    service_notice,
    shield_show,
)
from oomphony.sources.base import Source
from oomphony.sources.factory import SourceFactory, SourceSpec, check_spec
from oomphony.sources.live import LivePlan
from oomphony.trace.reader import Trace, read_trace
from oomphony.trace.writer import TraceWriter
from oomphony.units import format_size

log = logging.getLogger(__name__)

Notice = Callable[[str], None]

# Live sampling rate: 100 Hz is what a full tick was measured at (~77 µs,
# docs/architecture.md "Measured facts"), and twice the trace contract's 50 Hz minimum.
# `--backend auto` samples at the headless 50 Hz (docs/trace-format.md).
LIVE_SAMPLE_HZ = 100.0
HEADLESS_SAMPLE_HZ = 50.0
# Headless, nobody can press a key: a setlist's "until key" waits this long instead.
HEADLESS_KEY_WAIT_S = 5.0


@dataclass(frozen=True)
class ShowPlan:
    """A checked run, nothing started yet."""

    config: RunConfig
    source: SourceSpec
    setlist: Setlist | None  # None: record's plain fill
    setlist_record: dict[str, str] | None  # the trace header's `setlist`
    setlist_from_trace: bool  # a replay plays the setlist its trace recorded
    loop: bool  # shows follow each other (kiosk, a looping setlist, --shows N > 1)
    options: dict[str, Any]  # the trace header's `options`


def setlist_cache_b(setlist: Setlist, memory_b: int) -> int:
    """The largest page-cache fill a setlist asks for, in bytes of this cage."""
    wants = [a.fill_cache for a in setlist.acts if a.fill_cache is not None]
    sizes = [int(w.resolve(memory_b)) for w in wants]
    # never more than 90 % of the cage: the file is made outside it, at this size
    return min(max(sizes, default=0), int(memory_b * 0.9))


def _read_replay(path: str) -> Trace:
    trace = read_trace(path)  # an unreadable or broken trace fails now, with one line
    if not trace.frames:
        raise TraceError(f"{path}: the trace holds no frames to replay")
    return trace


def plan_show(config: RunConfig) -> ShowPlan:
    """Check every input (one line, exit status 2), start nothing."""
    if config.fill is not None:
        return _plan_plain(config, config.fill)
    replayed = None
    if config.backend == "replay" and config.replay_path is not None:
        replayed = _read_replay(config.replay_path)
    setlist, record, from_trace = choose_setlist(config.setlist, replayed, config.replay_path)
    # --shows N plays any setlist N times; kiosk and looping setlists go on until then.
    loop = config.picture.display == "kiosk" or setlist.loop or (config.shows or 1) > 1
    cage = config.cage
    spec = SourceSpec(
        backend=config.backend,
        memory_b=cage.memory_b if cage.memory_b is not None else setlist.memory_b,
        swap_b=cage.swap_b if cage.swap_b is not None else setlist.swap_b,
        global_=cage.global_,
        seed=config.seed,
        replay=replayed,
        replay_path=config.replay_path,
        cache_file_b=lambda memory_b: setlist_cache_b(setlist, memory_b),
    )
    check_spec(spec)  # sizes fail now, not at the first show
    check_global(cage.global_, cage.unprotected, config.backend)
    options = config.header_options(config.backend)
    return ShowPlan(config, spec, setlist, record, from_trace, loop, options)


def _plan_plain(config: RunConfig, fill: PlainFill) -> ShowPlan:
    """`record` without a setlist: the sizes and the fill resolved once, now."""
    cage = config.cage
    memory_b, swap_b = resolve_sizes(cage.memory_b, cage.swap_b, global_=cage.global_)
    if fill.cache_b is not None:
        cache_b = fill.cache_b
    elif memory_b is not None:
        cache_b = cache_default_b(memory_b)
    else:
        from oomphony.cage.sizing import GLOBAL_CACHE_CAP_B

        cache_b = GLOBAL_CACHE_CAP_B
    if memory_b is not None and cache_b >= memory_b:
        raise UsageError(f"--cache {format_size(cache_b)} must be smaller than the cage")
    plan = LivePlan(
        memory_b=memory_b,
        swap_b=swap_b,
        cache_b=cache_b,
        rate_bps=fill.rate_bps if fill.rate_bps is not None else DEFAULT_RATE_BPS,
        sleeper_b=fill.sleeper_b or 0,
    )
    spec = SourceSpec(backend="live", global_=cage.global_, live_plan=plan)
    check_global(cage.global_, cage.unprotected, "live")
    # what the plain fill really used (the defaults resolved), so the trace says it
    options = config.header_options("live")
    options.update(cache_b=plan.cache_b, rate_bps=plan.rate_bps, sleeper_b=plan.sleeper_b)
    return ShowPlan(config, spec, None, None, False, False, options)


@dataclass
class Show:
    """An opened run: its runner (trace, sound, picture) and where its shows come from."""

    plan: ShowPlan
    runner: Runner
    factory: SourceFactory
    interactive: bool  # a person at the keyboard can press keys
    osc_counts: OscCounters | None = None  # the OSC link's counts, once the run is over

    @property
    def backend(self) -> str:
        """The backend the shows ran on ("auto" resolved once a show started)."""
        return self.factory.backend

    def make_show(self) -> tuple[Source, Director]:
        """The next show: a started source and a fresh director."""
        source = self.factory.make()
        setlist = self.plan.setlist
        if setlist is None:
            return source, PlainDirector()
        from oomphony.show.director import Director as SetlistDirector

        director = SetlistDirector(
            setlist,
            has_swap=source.has_swap,
            key_wait_s=None if self.interactive else HEADLESS_KEY_WAIT_S,
        )
        return source, director

    def run(self) -> list[ShowResult]:
        """Run the show(s), then close the picture, the trace and the sound."""
        try:
            return self.runner.run_loop(self.make_show, loop=self.plan.loop)
        finally:
            self.close()

    def close(self) -> None:
        if self.runner.remote is not None:
            self.osc_counts = self.runner.remote.counters()  # for the command line's report
            self.runner.remote.close()
            self.runner.remote = None
        if self.runner.view is not None:
            self.runner.view.close()
        if self.runner.trace is not None:
            self.runner.trace.close()
        if self.runner.audio is not None:
            self.runner.audio.close()


def open_show(plan: ShowPlan, notice: Notice) -> Show:
    """Open the trace, the picture and the sound; the sources start show by show."""
    config = plan.config
    trace = None
    if config.record_path:
        trace = TraceWriter(config.record_path)
        trace.setlist = plan.setlist_record
        trace.options = plan.options
    setlist = plan.setlist
    remote = _open_osc(config, notice)  # a port in use fails before a window opens
    view = audio = None
    shield = config.cage.global_ and config.backend in ("auto", "live")
    if shield:
        lean_display(config.picture.display)
    protections = None
    try:
        view = _open_view(config, setlist.picture_preset if setlist else "stage", notice)
        interactive = view is not None and view.interactive
        audio = _open_audio(config, setlist.sound_preset if setlist else "stage", notice, shield)
        if shield:
            unprotected = check_global(True, config.cage.unprotected, config.backend)
            for line in (unprotected, oomd_notice(), service_notice()):
                if line:
                    notice(line)
            protections = shield_show(audio)  # after the picture and the sound are up
            if trace is not None:
                trace.protections = protections
    except BaseException:
        for part in (view, audio, remote):
            if part is not None:
                part.close()
        raise
    live = config.backend == "live"
    runner = Runner(
        trace=trace,
        audio=audio,
        view=view,
        options=RunOptions(
            speed=config.speed,
            sample_hz=LIVE_SAMPLE_HZ if live else HEADLESS_SAMPLE_HZ,
            duration_s=config.duration_s,
            max_shows=config.shows,
        ),
        remote=remote,
    )
    runner.rec.protect(protections)
    factory = SourceFactory(plan.source, notice, protections=protections)
    return Show(plan, runner, factory, interactive)


def _open_osc(config: RunConfig, notice: Notice) -> Remote | None:
    """The OSC link (show/osc.py), or None without --osc-out and --osc-in."""
    if not config.osc.wanted:
        return None
    from oomphony.show.osc import OscLink

    return OscLink(config.osc, notice)


def _open_view(config: RunConfig, preset: str, notice: Notice) -> Any | None:
    pic = config.picture
    if pic.display == "none" and not pic.screenshots:
        return None
    from oomphony.picture.view import View

    try:
        return View.open(
            pic.display,
            preset=preset,
            palette=pic.palette,
            seed=config.seed,
            screenshots=pic.screenshots,
        )
    except DisplayError as err:
        notice(f"{err}; the show goes on without a picture")
        return None


def _open_audio(config: RunConfig, preset: str, notice: Notice, shield: bool) -> Any | None:
    """The sound output, or None. `record` plays to a device only when one is named."""
    audio = config.audio
    if not audio.wants_device and not audio.wav_path:
        return None
    from oomphony.sound import AudioOutput

    out = AudioOutput.open(
        device=audio.device,
        latency=audio.latency,
        wav_path=audio.wav_path,
        no_audio=not audio.wants_device,
        preset=preset,
        shield=shield,
    )
    if out.notice:
        notice(out.notice)
    return out
