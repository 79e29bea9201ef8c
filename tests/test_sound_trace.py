"""The WAV of a real show must follow its trace: louder while allocating, crackles while
swapping, the sting at the kill (±50 ms), silence after. Two real shows: the shipped trace
(a 256 MiB cage recorded on the real kernel) replayed into the WAV sink, and a fresh
`oomphony record … --audio-out` run in a cage here (needs root, a cgroup and swap)."""

from __future__ import annotations

import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
import pytest

from oomphony.cues import Act, Cues
from oomphony.frame import OomKill
from oomphony.sound.output import AudioOutput
from oomphony.sound.params import SAMPLE_RATE_HZ
from oomphony.sound.presets import PRESET_BY_NAME
from oomphony.sound.voices import STING_PEAK
from oomphony.support.analysis import count_clicks, first_above, rms_db
from oomphony.trace.reader import read_trace

SR = SAMPLE_RATE_HZ
TRACE = Path(__file__).resolve().parents[1] / "assets" / "traces" / "cage-256MiB.jsonl"


def spans(frames, pred) -> tuple[float, float]:
    """The first run of frames satisfying pred, as (start, end) show time."""
    ts = [f.t_s for f in frames if pred(f)]
    assert ts, "the trace lacks this phase"
    return ts[0], ts[-1]


def read_wav(path: Path) -> np.ndarray:
    with wave.open(str(path), "rb") as w:
        return np.frombuffer(w.readframes(w.getnframes()), np.int16).reshape(-1, 2) / 32767.0


def recorded_live(tmp: Path):
    """`oomphony record` on the real kernel, with the sound written to a WAV."""
    trace_path, wav_path = tmp / "t.jsonl", tmp / "t.wav"
    out = subprocess.run(
        [sys.executable, "-m", "oomphony", "record", str(trace_path), "--memory", "192MiB",
         "--swap", "64MiB", "--cache", "64MiB", "--rate", "150MiB/s", "--audio-out",
         str(wav_path)],
        capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    trace = read_trace(trace_path)
    kill = next(ev for ev in trace.events if isinstance(ev, OomKill))
    return trace, kill, read_wav(wav_path)


@pytest.fixture(
    scope="module",
    params=[
        "replayed trace",
        pytest.param("live record", marks=[pytest.mark.cgroup, pytest.mark.swap]),
    ],
)
def replayed(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    if request.param == "live record":
        return recorded_live(tmp_path_factory.mktemp("live"))
    assert TRACE.exists(), f"the shipped real trace is missing: {TRACE}"
    trace = read_trace(TRACE)
    kill = next(ev for ev in trace.events if isinstance(ev, OomKill))
    path = tmp_path_factory.mktemp("wav") / "show.wav"
    out = AudioOutput.open(no_audio=True, wav_path=path, preset="stage")
    pending = sorted(trace.events, key=lambda ev: ev.t_s)
    for frame in trace.frames:
        new = tuple(ev for ev in pending if ev.t_s <= frame.t_s)
        pending = [ev for ev in pending if ev.t_s > frame.t_s]
        known = frame.t_s >= kill.t_s
        cues = Cues(
            t_s=frame.t_s,
            act=Act.KILL if known else Act.OVERTURE,
            kill=kill if known else None,
            kill_t_s=kill.t_s if known else None,
            new_events=new,
        )
        out.update(frame.t_s, frame, cues)
    end = trace.frames[-1].t_s
    out.close(end)
    return trace, kill, read_wav(path)


def cut(x: np.ndarray, a: float, b: float) -> np.ndarray:
    return x[int(a * SR) : int(b * SR)]


def test_louder_while_allocating(replayed) -> None:
    trace, _kill, x = replayed
    a0, _a1 = spans(trace.frames, lambda f: f.alloc.alive and f.alloc.rate_bps > 0)
    rest = [f.t_s for f in trace.frames if f.t_s < a0]
    assert rest, "the trace starts allocating at once"
    assert rms_db(cut(x, a0 + 0.2, a0 + 1.2)) > rms_db(cut(x, 0.0, max(rest))) + 10


def test_crackles_while_swapping(replayed) -> None:
    trace, kill, x = replayed
    s0, _s1 = spans(trace.frames, lambda f: (f.rates.swapout_bps or 0) > 1 << 20)
    swapping = cut(x, s0 + 0.1, kill.t_s - 0.05)
    before = cut(x, s0 - 1.0, s0 - 0.05)  # memory full, the cache drains, no swap yet
    # clicks are sharp: count them on the sample-to-sample difference (a high-pass)
    per_s_swap = count_clicks(np.diff(swapping, axis=0), 0.05) / (len(swapping) / SR)
    per_s_before = count_clicks(np.diff(before, axis=0), 0.05) / (len(before) / SR)
    assert per_s_swap > 50 and per_s_before < 5


def test_sting_at_the_kill_then_silence(replayed) -> None:
    _trace, kill, x = replayed
    stage = PRESET_BY_NAME["stage"]
    onset = first_above(x, 0.75 * STING_PEAK * stage.master, int((kill.t_s - 1.0) * SR))
    assert onset is not None and abs(onset / SR - kill.t_s) <= 0.05
    sting = rms_db(x[onset : onset + SR // 5])
    assert sting - rms_db(cut(x, kill.t_s + 1.3, kill.t_s + 1.5)) >= 30
