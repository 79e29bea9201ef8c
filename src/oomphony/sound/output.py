"""`AudioOutput`: what the show holds. Maps each frame and feeds the sinks.

Sinks: the device (an audio process, see process.py) and/or a WAV file (sinks.py).
A missing capability (no PortAudio, no device, a device that fails) is never an error:
the output goes silent and `.notice` carries one line for the user. Only what the user
asked for and can fix raises `UsageError`: a named device that does not exist (while
other outputs do), an unwritable WAV path.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from oomphony.cues import Cues
from oomphony.errors import UsageError
from oomphony.frame import MemoryFrame
from oomphony.sound.mapping import MappingState, map_frame
from oomphony.sound.params import IDX, SoundParams
from oomphony.sound.presets import PRESET_BY_NAME
from oomphony.sound.process import AudioProcess
from oomphony.sound.shm import SharedParams
from oomphony.sound.sinks import WavSink

log = logging.getLogger(__name__)

_NOTICES = {
    "no_portaudio": "no PortAudio (install libportaudio2): the show goes on silent",
    "no_device": "no audio output device: the show goes on silent",
}
_STATUS = {"no_portaudio": "silent: no PortAudio", "no_device": "silent: no audio device"}


def _short_hostapi(name: str) -> str:
    low = name.lower()
    return "jack" if "jack" in low else low.split()[0] if low else "audio"


def _check_latency(latency: str | float) -> str | float:
    """PortAudio's "low" / "high", or seconds (a number, or a string of one)."""
    if latency in ("low", "high"):
        return latency
    try:
        seconds = float(latency)
    except (TypeError, ValueError):
        seconds = math.nan
    if not 0.0 < seconds <= 2.0:
        raise UsageError(f"audio latency {latency!r}: expected low, high or seconds (0–2)")
    return seconds


class AudioOutput:
    def __init__(
        self,
        proc: AudioProcess | None,
        wav: WavSink | None,
        preset: str,
        notice: str | None,
        status: str,
        mlock: str | None = None,
        shared: SharedParams | None = None,
        oom_score_adj: str | None = None,
    ) -> None:
        self._proc = proc
        # where the device stream's counters come from: the audio process's shared
        # memory, or (in-process use) an engine's own
        self._shared = proc.shared if proc is not None else shared
        self._wav = wav
        self.preset = preset
        self.notice = notice
        self.status = status
        self.mlock = mlock  # "locked", "refused: …" (for doctor), None without a device
        self.oom_score_adj = oom_score_adj  # the audio process's, as it reported it
        self._mapping: MappingState | None = None
        self._arr = SoundParams().to_array()
        self._muted = False
        self._t_s = 0.0
        self._closed = False
        self._lost = False  # the audio process ended during the show

    @classmethod
    def open(
        cls,
        *,
        device: str | int | None = None,
        latency: str | float = "high",
        wav_path: str | Path | None = None,
        no_audio: bool = False,
        preset: str = "stage",
        shield: bool = False,
    ) -> AudioOutput:
        """`shield` (--global): the audio process also sets its oom_score_adj to −1000."""
        if preset not in PRESET_BY_NAME:
            raise UsageError(
                f"unknown sound preset {preset!r} (known: {', '.join(PRESET_BY_NAME)})"
            )
        latency = _check_latency(latency)
        wav = WavSink(wav_path) if wav_path is not None else None
        if no_audio:
            status = "wav only" if wav else "off (--no-audio)"
            return cls(None, wav, preset, None, status)
        proc = AudioProcess(device, latency, shield=shield)
        kind, info = proc.handshake()
        if kind == "ok":
            status = (
                f"{_short_hostapi(info['hostapi'])}: {info['device']} "
                f"({info['samplerate'] / 1000:g} kHz, {info['blocksize']})"
            )
            if wav:
                status += f" + wav {wav.path.name}"
            log.info(
                "audio: %s, latency %.1f ms, %s", status, info["latency_s"] * 1e3, info["mlock"]
            )
            score = info.get("oom_score_adj")
            return cls(proc, wav, preset, None, status, info["mlock"], oom_score_adj=score)
        proc.stop()
        if kind == "unknown_device":
            if wav:
                wav.close(0.0)
            raise UsageError(str(info))
        notice = _NOTICES.get(kind, f"audio failed ({info}): the show goes on silent")
        status = _STATUS.get(kind, "silent: audio failed")
        if wav:
            status += " (wav still written)"
        return cls(None, wav, preset, notice, status)

    def update(self, t_s: float, frame: MemoryFrame, cues: Cues) -> None:
        """Map this frame and hand the parameters to the sinks. Cheap (tens of µs plus
        the WAV's share of rendering); call once per show frame."""
        if self._closed:
            return
        name = cues.sound_preset if cues.sound_preset in PRESET_BY_NAME else self.preset
        params, self._mapping = map_frame(frame, cues, name, self._mapping)
        if self._muted:
            params = replace(params, muted=1.0)
        params.to_array(self._arr)
        self._push(t_s)

    def _push(self, t_s: float) -> None:
        self._t_s = max(self._t_s, t_s)
        if self._proc is not None:
            self._proc.shared.write(self._t_s, self._arr)
            if not self._lost and not self._proc.alive():  # a waitpid(WNOHANG): cheap
                self._lost = True
                self.status = "silent: the audio device stopped"
                self.notice = "the audio device stopped: the show goes on silent"
                log.warning("audio process ended during the show: the show goes on silent")
        if self._wav is not None:
            self._wav.advance(self._t_s, self._arr)

    def set_muted(self, muted: bool) -> None:
        self._muted = muted
        self._arr[IDX["muted"]] = 1.0 if muted else 0.0
        if not self._closed:
            self._push(self._t_s)

    def counters(self) -> tuple[int, float]:
        """(underflows, worst callback ms) of the device stream; (0, 0.0) without one."""
        if self._shared is None:
            return 0, 0.0
        underflows, worst_ms, _calls, _errors = self._shared.counters()
        return underflows, worst_ms

    def callback_errors(self) -> int:
        """Callbacks that raised and played a block of silence instead (0 without a
        device stream). The callback only counts them; the show reports them."""
        if self._shared is None:
            return 0
        return self._shared.counters()[3]

    def end_notice(self) -> str | None:
        """One line for the end of the show when the device stream had failures."""
        errors = self.callback_errors()
        if not errors:
            return None
        return (
            f"audio: {errors} callback{'s' if errors != 1 else ''} failed and played "
            "silence instead (see the trace's audio event)"
        )

    @property
    def pid(self) -> int | None:
        """The audio process's pid, while it runs."""
        return self._proc.proc.pid if self._proc is not None and not self._lost else None

    def footprint_b(self) -> tuple[int, int] | None:
        """(resident bytes not counting shared memory such as JACK's segment, locked
        bytes) of the audio process; None without one. Reads its /proc status."""
        from oomphony.cage.protect import footprint

        pid = self.pid
        fp = footprint(pid) if pid is not None else {}
        if "VmRSS" not in fp:
            return None
        return fp["VmRSS"] - fp.get("RssShmem", 0), fp.get("VmLck", 0)

    @property
    def params(self) -> np.ndarray:
        """The parameter vector last sent (a copy)."""
        return self._arr.copy()

    def close(self, end_t_s: float | None = None) -> None:
        """Finish the WAV up to end_t_s (+ a short tail), stop the audio process.
        Idempotent."""
        if self._closed:
            return
        self._closed = True
        if self._wav is not None:
            self._wav.close(end_t_s if end_t_s is not None else self._t_s)
        if self._proc is not None:
            if self._proc.alive():
                # fade out rather than cut: master to 0, give it a few blocks
                self._arr[IDX["master"]] = 0.0
                self._proc.shared.write(self._t_s, self._arr)
                time.sleep(0.15)
            self._proc.stop()
