"""One run's configuration, built once from the command line (`cli/runargs.py`) and read
by the show's assembly (`show/assembly.py`), the source factory and the runner. Plain
frozen records: no parsing, no I/O, no defaults resolved against the machine."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

BACKENDS = ("auto", "live", "sim", "replay")


@dataclass(frozen=True, slots=True)
class CageRequest:
    """The cage the user asked for: None means the setlist's size, else the default."""

    memory_b: int | None = None
    swap_b: int | None = None  # 0: no swap
    global_: bool = False  # no cage: the machine-wide show (confirmed by the CLI)
    # --global where the show cannot protect itself (no mlockall, no oom_score_adj -1000)
    unprotected: bool = False


@dataclass(frozen=True, slots=True)
class PictureConfig:
    display: str = "none"  # window, fullscreen, kiosk, console or none
    palette: str = "default"
    screenshots: str | None = None  # a directory for one PNG per act


@dataclass(frozen=True, slots=True)
class AudioConfig:
    no_audio: bool = False
    device: str | None = None  # PortAudio device name or index
    wav_path: str | None = None  # --audio-out
    latency: str | float = "high"
    # `record` plays to a device only when one is named; `run` plays to the default one.
    device_by_default: bool = True

    @property
    def wants_device(self) -> bool:
        return not self.no_audio and (self.device is not None or self.device_by_default)


@dataclass(frozen=True, slots=True)
class OscConfig:
    """Open Sound Control (docs/osc.md): where the show's state goes (`--osc-out`, any
    number of (host, port)), and where it listens for cues (`--osc-in`, or None)."""

    out: tuple[tuple[str, int], ...] = ()
    listen: tuple[str, int] | None = None

    @property
    def wanted(self) -> bool:
        return bool(self.out) or self.listen is not None


@dataclass(frozen=True, slots=True)
class PlainFill:
    """`record` without a setlist: fill the cache, then allocate at one rate (None: the
    default, resolved against the cage by the assembly)."""

    cache_b: int | None = None
    rate_bps: float | None = None
    sleeper_b: int | None = None


@dataclass(frozen=True, slots=True)
class RunConfig:
    """Everything `oomphony run` (or `record`) was asked to do, checked and typed."""

    command: str = "run"  # "run" or "record": the trace header says which
    backend: str = "auto"  # one of BACKENDS; "auto" with a trace is already "replay"
    setlist: str | None = None  # a bundled name or a file; None: the trace's, else talk
    replay_path: str | None = None  # --trace: the trace a replay plays
    record_path: str | None = None  # --record, or record's FILE: the trace to write
    cage: CageRequest = field(default_factory=CageRequest)
    picture: PictureConfig = field(default_factory=PictureConfig)
    audio: AudioConfig = field(default_factory=AudioConfig)
    speed: float = 1.0
    seed: int = 0
    duration_s: float | None = None
    shows: int | None = None  # stop a looping show after N shows; N > 1 loops any setlist
    fill: PlainFill | None = None  # record without a setlist: the plain fill
    osc: OscConfig = field(default_factory=OscConfig)

    def header_options(self, backend: str) -> dict[str, Any]:
        """The trace header's `options` (docs/trace-format.md): what was asked (None: the
        default applied), with `backend` the backend the run used. The keys are the
        command's options: `run`'s, the plain fill's for `record`, both for `record`
        with a setlist."""
        opts: dict[str, Any] = {"command": self.command, "backend": backend}
        c, a, p = self.cage, self.audio, self.picture
        runs_setlist = self.fill is None
        for key, value, setlist_only in (
            ("memory_b", c.memory_b, False), ("swap_b", c.swap_b, False),
            ("global", c.global_, False), ("speed", self.speed, True),
            ("seed", self.seed, True), ("duration_s", self.duration_s, False),
            ("shows", self.shows, True), ("display", p.display, True),
            ("palette", p.palette, True), ("no_audio", a.no_audio, False),
            ("audio_device", a.device, False), ("audio_out", a.wav_path, False),
            ("latency", a.latency, False), ("screenshots", p.screenshots, True),
            ("trace", self.replay_path, True),
            ("unprotected", c.unprotected, False),
            ("osc_out", [f"{h}:{p}" for h, p in self.osc.out] or None, False),
            ("osc_in", "{}:{}".format(*self.osc.listen) if self.osc.listen else None, False),
        ):  # fmt: skip
            if runs_setlist or not setlist_only:
                opts[key] = value
        if self.command == "record":
            fill = self.fill or PlainFill()
            opts.update(rate_bps=fill.rate_bps, cache_b=fill.cache_b, sleeper_b=fill.sleeper_b)
        return opts
