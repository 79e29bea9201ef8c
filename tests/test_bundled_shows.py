"""Every bundled show, the way people start it: `python -m oomphony run NAME` on the
simulator with the sound on (a WAV file, and a JACK dummy server where jackd is here) and
the picture on (SDL's dummy driver). Each must exit 0, play its acts in order, kill once
in the act that waits for the kill, and leave a WAV whose loudest moment is the kill.

The setlists are discovered, so one added later is in the matrix without a change here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import wave
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from oomphony.show.library import bundled_names, load_setlist
from oomphony.show.setlist import Setlist
from oomphony.support import jackdummy
from oomphony.support.analysis import rms_db

# Show seconds per real second. The talk's ~3 minutes pass in a few seconds; the picture
# still draws every frame and the WAV still holds every show second.
SPEED = 48
NAMES = bundled_names()
SILENT_DB = -50.0  # the quietest bundled show (classroom) sits near -40 dBFS overall
STING_WINDOW_S = 0.5  # the WAV places the sting at the kill's own show time


@dataclass
class Show:
    setlist: Setlist
    proc: subprocess.CompletedProcess[str]
    events: list[dict]
    wav: Path


def run_show(
    tmp_path: Path, name: str, *, display: str = "window", shows: int = 1, env: dict | None = None
) -> Show:
    setlist = load_setlist(name)
    trace, wav = tmp_path / f"{name}.jsonl", tmp_path / f"{name}.wav"
    cmd = [sys.executable, "-m", "oomphony", "run", name, "--backend", "sim"]
    cmd += ["--speed", str(SPEED), "--display", display]
    cmd += ["--audio-out", str(wav), "--record", str(trace)]
    if setlist.loop or display == "kiosk":
        cmd += ["--shows", str(shows)]
    proc = subprocess.run(
        cmd,
        env={**os.environ, "SDL_VIDEODRIVER": "dummy", **(env or {})},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, f"{' '.join(cmd)}\n{proc.stderr}"
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = [json.loads(line) for line in trace.read_text().splitlines() if line.strip()]
    return Show(setlist, proc, [ln for ln in lines if "event" in ln], wav)


def check_show(show: Show, shows: int = 1) -> None:
    sl, events = show.setlist, show.events
    names = [a.name for a in sl.acts]
    acts = [e for e in events if e["event"] == "act" and not e["recognised"]]
    assert [e["name"] for e in acts] == names * shows, "acts out of order or missing"
    kills = [e for e in events if e["event"] == "oom_kill"]
    assert len(kills) == shows, f"{len(kills)} kills in {shows} show(s)"
    exits = [e for e in events if e["event"] == "allocator_exit"]
    assert [e["how"] for e in exits] == ["oom_kill"] * shows
    end = events[-1]
    assert (end["event"], end["reason"]) == ("end", "finished")
    waiting = next(i for i, a in enumerate(sl.acts) if a.until.on_kill)
    for n, kill in enumerate(kills):
        run = acts[n * len(names) : (n + 1) * len(names)]
        after = run[waiting + 1]["t"] if waiting + 1 < len(run) else end["t"]
        assert run[waiting]["t"] <= kill["t"] <= after, (
            f"the kill at {kill['t']} s is not in act '{names[waiting]}'"
        )
    check_wav(show.wav, [k["t"] for k in kills], end["t"])


def check_wav(path: Path, kills_t: list[float], end_t: float) -> None:
    with wave.open(str(path), "rb") as w:
        sr, n = w.getframerate(), w.getnframes()
        assert (w.getnchannels(), w.getsampwidth()) == (2, 2)
        x = np.frombuffer(w.readframes(n), np.int16).reshape(-1, 2).astype(np.float32) / 32767
    assert n / sr >= end_t, f"the WAV holds {n / sr:.1f} s of a {end_t:.1f} s show"
    assert rms_db(x) > SILENT_DB, f"silent WAV: {rms_db(x):.1f} dBFS"
    peak = float(np.abs(x).max())
    for t in kills_t:
        at_kill = x[int(t * sr) : int((t + STING_WINDOW_S) * sr)]
        assert float(np.abs(at_kill).max()) >= 0.9 * peak, f"no sting at the kill ({t} s)"


@pytest.mark.parametrize("name", NAMES)
def test_bundled_show_runs_to_its_end(tmp_path: Path, name: str) -> None:
    show = run_show(tmp_path, name)
    check_show(show)


def test_kiosk_two_shows_in_kiosk_mode(tmp_path: Path) -> None:
    show = run_show(tmp_path, "kiosk", display="kiosk", shows=2)
    check_show(show, shows=2)


# --- through a real-time-paced audio device (jackd -d dummy) ---------------------------


@pytest.fixture(scope="module")
def jack_env() -> Iterator[dict[str, str]]:
    name = f"oomphony-shows-{os.getpid()}"
    proc = jackdummy.start(name)
    try:
        yield {"JACK_DEFAULT_SERVER": name, "JACK_NO_START_SERVER": "1"}
    finally:
        jackdummy.stop(proc, name)


def check_device_played(show: Show) -> None:
    assert "silent" not in show.proc.stderr, show.proc.stderr
    (audio,) = [e for e in show.events if e["event"] == "audio"]
    assert audio["worst_callback_ms"] > 0, "the device's callback never ran"


@pytest.mark.audio
@pytest.mark.parametrize("name", NAMES)
def test_bundled_show_through_jack(tmp_path: Path, name: str, jack_env: dict[str, str]) -> None:
    show = run_show(tmp_path, name, env=jack_env)
    check_show(show)
    check_device_played(show)


@pytest.mark.audio
def test_kiosk_two_shows_through_jack(tmp_path: Path, jack_env: dict[str, str]) -> None:
    show = run_show(tmp_path, "kiosk", display="kiosk", shows=2, env=jack_env)
    check_show(show, shows=2)
    check_device_played(show)
