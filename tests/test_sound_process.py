"""The sound's sinks: the WAV file, the audio process on a real (dummy, real-time paced)
JACK device, and the fallbacks when PortAudio or a device is missing."""

from __future__ import annotations

import gc
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import wave
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from oomphony.cues import Act, Cues
from oomphony.errors import AudioError, UsageError
from oomphony.frame import OomKill
from oomphony.sound.output import AudioOutput
from oomphony.sound.params import SAMPLE_RATE_HZ
from oomphony.sound.presets import PRESET_BY_NAME
from oomphony.sound.sinks import HEADER_EVERY_S, TAIL_S
from oomphony.sound.voices import STING_PEAK
from oomphony.support import jackdummy
from oomphony.support.analysis import count_clicks, first_above, frame_for, rms_db
from oomphony.units import PAGE_B
from oomphony.units import MiB as MIB

SR = SAMPLE_RATE_HZ
STAGE = PRESET_BY_NAME["stage"]


def read_wav(path: Path) -> np.ndarray:
    with wave.open(str(path), "rb") as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (2, 2, SR)
        raw = w.readframes(w.getnframes())
    return np.frombuffer(raw, np.int16).reshape(-1, 2).astype(np.float32) / 32767.0


# --- a scripted show: idle, allocating, swapping, the kill, the aftermath ------------

IDLE, ALLOC, SWAP, KILL_T, END = (0.0, 1.0), (1.0, 2.0), (2.0, 3.0), 3.4567, 6.0
SWAP_BPS = 24 * MIB
KILL = OomKill(KILL_T, 999, "python3", 200 * MIB, "sim", None)


def show_step(t: float) -> tuple:
    """(frame, cues) at show time t; telemetry at 100 Hz, the kill known 4 ms late."""
    tf = int(t * 100) / 100
    known = tf >= KILL_T + 0.004
    alloc = ALLOC[0] <= tf < ALLOC[1]
    swap = SWAP[0] <= tf < KILL_T
    frame = frame_for(
        tf,
        rate_bps=80 * MIB if alloc else 0.0,
        swapout_bps=SWAP_BPS if swap else 0.0,
        used_frac=0.9 if swap else 0.5,
        alive=not known,
    )
    cues = Cues(
        t_s=t,
        act=Act.KILL if known else Act.OVERTURE,
        kill=KILL if known else None,
        kill_t_s=KILL_T if known else None,
    )
    return frame, cues


def play(out: AudioOutput, fps: float = 60.0, end: float = END, pace: bool = False) -> None:
    t0 = time.monotonic()
    for i in range(int(end * fps) + 1):
        t = i / fps
        if pace:
            time.sleep(max(0.0, t0 + t - time.monotonic()))
        frame, cues = show_step(t)
        out.update(t, frame, cues)


def window(x: np.ndarray, span: tuple[float, float]) -> np.ndarray:
    return x[int(span[0] * SR) : int(span[1] * SR)]


@pytest.mark.parametrize("fps", [30.0, 60.0, 144.0])
def test_wav_follows_the_show(tmp_path: Path, fps: float) -> None:
    path = tmp_path / "t.wav"
    out = AudioOutput.open(no_audio=True, wav_path=path)
    assert out.status == "wav only" and out.notice is None
    play(out, fps)
    out.close(END)
    out.close(END)  # idempotent
    x = read_wav(path)
    assert len(x) == round((END + TAIL_S) * SR)  # sample 0 is t = 0 of the show clock
    # louder while allocating
    assert rms_db(window(x, (1.2, 1.9))) > rms_db(window(x, (0.2, 0.9))) + 10
    # crackles while swapping, at the swap rate
    clicks = count_clicks(window(x, (2.2, 3.2)), threshold=0.05)
    expected = SWAP_BPS / PAGE_B / STAGE.pages_per_click
    assert abs(clicks - expected) <= 0.1 * expected
    # the sting at the kill time
    onset = first_above(x, 0.75 * STING_PEAK * STAGE.master, int(3.0 * SR))
    assert onset is not None and abs(onset / SR - KILL_T) <= 0.05
    # then silence
    sting = rms_db(x[onset : onset + SR // 5])
    assert sting - rms_db(window(x, (KILL_T + 1.3, KILL_T + 2.3))) >= 30


def wav_length_s(path: Path) -> float:
    """The length a player sees: the header's frame count, every frame of it on disk."""
    with wave.open(str(path), "rb") as w:
        n = w.getnframes()
        assert len(w.readframes(n)) == n * 4, "the header claims more than the file holds"
        return n / w.getframerate()


def test_an_unclosed_wav_plays_up_to_its_last_half_second(tmp_path: Path) -> None:
    """What a SIGKILLed show leaves: the file as written so far, never closed. Rendered
    faster than real time here, so the header follows the audio written, not the clock."""
    path = tmp_path / "t.wav"
    out = AudioOutput.open(no_audio=True, wav_path=path)
    try:
        play(out, end=3.3)
        left = tmp_path / "left.wav"
        left.write_bytes(path.read_bytes())  # the bytes a killed process leaves behind
        assert 3.3 - HEADER_EVERY_S <= wav_length_s(left) <= 3.3
    finally:
        out.close(3.3)
    assert wav_length_s(path) == pytest.approx(3.3 + TAIL_S, abs=1 / SR)


def last_frame_t(trace: Path) -> float:
    t = 0.0
    for line in trace.read_text().splitlines()[1:]:
        try:
            obj = json.loads(line)
        except json.JSONDecodeError:
            break  # cut off mid-line by the kill
        if "machine" in obj:
            t = obj["t"]
    return t


@pytest.mark.slow
def test_a_wav_of_a_sigkilled_show_plays_to_within_a_second_of_the_kill(tmp_path: Path):
    wav_path, trace = tmp_path / "show.wav", tmp_path / "show.jsonl"
    show = subprocess.Popen(
        [sys.executable, "-m", "oomphony", "run", "speedrun", "--backend", "sim",
         "--display", "none", "--no-audio", "--audio-out", str(wav_path),
         "--record", str(trace)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "SDL_VIDEODRIVER": "dummy"},
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while (not trace.exists() or last_frame_t(trace) < 3.0) and time.monotonic() < deadline:
            assert show.poll() is None, "the show ended before it was killed"
            time.sleep(0.1)
        show.send_signal(signal.SIGKILL)
        show.wait(10)
    finally:
        if show.poll() is None:
            show.kill()
            show.wait(10)
    reached = last_frame_t(trace)  # the show time the killed show had reached
    assert reached >= 3.0
    length = wav_length_s(wav_path)
    assert reached - 1.0 <= length <= reached + 0.1, (length, reached)
    assert rms_db(read_wav(wav_path)) > -60  # the show's sound, not silence


def test_wav_unwritable_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="cannot write audio file"):
        AudioOutput.open(no_audio=True, wav_path=tmp_path / "no" / "such" / "dir.wav")


def test_no_audio_is_silent_and_cheap() -> None:
    out = AudioOutput.open(no_audio=True)
    assert out.status.startswith("off") and out.notice is None
    frame, cues = show_step(1.5)
    out.update(1.5, frame, cues)
    out.set_muted(True)
    assert out.counters() == (0, 0.0)
    out.close()


def test_unknown_preset_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="preset"):
        AudioOutput.open(no_audio=True, preset="disco")


@pytest.mark.parametrize("latency", ["fast", "-1", 0, 5.0, "nan"])
def test_bad_latency_is_a_usage_error(latency: object) -> None:
    with pytest.raises(UsageError, match="latency"):
        AudioOutput.open(no_audio=True, latency=latency)


def test_muted_wav_is_silent(tmp_path: Path) -> None:
    path = tmp_path / "m.wav"
    out = AudioOutput.open(no_audio=True, wav_path=path)
    out.set_muted(True)
    play(out, end=2.0)
    out.close(2.0)
    assert float(np.abs(read_wav(path)).max()) < 1e-3


# --- fallbacks: a PortAudio-less machine, a machine without devices -------------------


@pytest.fixture
def no_portaudio(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """What `import sounddevice` does where libportaudio2 is missing (a fixture for
    what this machine cannot be): raise OSError."""
    fake = tmp_path / "fake_site"
    fake.mkdir()
    (fake / "sounddevice.py").write_text(
        'raise OSError("PortAudio library not found")\n', encoding="utf-8"
    )
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(fake), os.environ.get("PYTHONPATH", "")]))


_COUNT_OUTPUTS = (
    "import sounddevice as sd; print(sum(d['max_output_channels'] > 0 for d in sd.query_devices()))"
)


@pytest.fixture
def no_devices(monkeypatch: pytest.MonkeyPatch) -> None:
    """The real PortAudio with nothing to play on: no JACK server by that name (and no
    autostart), and a machine without a sound card (else: skip)."""
    monkeypatch.setenv("JACK_DEFAULT_SERVER", f"oomphony-none-{os.getpid()}")
    monkeypatch.setenv("JACK_NO_START_SERVER", "1")
    probe = subprocess.run(
        [sys.executable, "-c", _COUNT_OUTPUTS], capture_output=True, text=True, timeout=30
    )
    if probe.returncode != 0:
        pytest.skip("PortAudio is not usable here")
    if int(probe.stdout.split()[-1]) > 0:
        pytest.skip("this machine has an audio output device: the no-device path is unreachable")


@pytest.mark.parametrize("device", [None, "system", 3])
def test_no_portaudio_goes_on_silent(no_portaudio: None, device: object, tmp_path: Path) -> None:
    out = AudioOutput.open(device=device, wav_path=tmp_path / "w.wav")
    assert out.notice == "no PortAudio (install libportaudio2): the show goes on silent"
    assert out.status.startswith("silent: no PortAudio")
    play(out, end=0.5)
    assert out.counters() == (0, 0.0)
    out.close()
    assert len(read_wav(tmp_path / "w.wav")) > 0  # the WAV is still written


@pytest.mark.parametrize("device", [None, "system"])
def test_no_device_goes_on_silent(no_devices: None, device: object) -> None:
    out = AudioOutput.open(device=device)
    assert out.notice == "no audio output device: the show goes on silent"
    assert "\n" not in out.notice
    out.close()


# --- the real thing: a JACK dummy device, paced in real time --------------------------


def start_jack(name: str) -> subprocess.Popen:
    try:
        return jackdummy.start(name)
    except AudioError as err:
        pytest.fail(str(err))


stop_jack = jackdummy.stop


@pytest.fixture(scope="module")
def jack_server() -> Iterator[str]:
    name = f"oomphony-test-{os.getpid()}"
    proc = start_jack(name)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("JACK_DEFAULT_SERVER", name)
        mp.setenv("JACK_NO_START_SERVER", "1")
        try:
            yield name
        finally:
            stop_jack(proc, name)


@pytest.mark.audio
def test_device_vanishing_mid_show_goes_silent(monkeypatch: pytest.MonkeyPatch) -> None:
    name = f"oomphony-test-vanish-{os.getpid()}"
    proc = start_jack(name)
    monkeypatch.setenv("JACK_DEFAULT_SERVER", name)
    monkeypatch.setenv("JACK_NO_START_SERVER", "1")
    try:
        out = AudioOutput.open()
        assert out.status.startswith("jack:")
    finally:
        stop_jack(proc, name)
    try:
        deadline = time.monotonic() + 10
        t = 0.0
        while out.notice is None and time.monotonic() < deadline:
            t += 0.1
            out.update(t, *show_step(t)[:2])
            time.sleep(0.1)
        assert out.notice == "the audio device stopped: the show goes on silent"
        assert out.status.startswith("silent")
    finally:
        out.close()


@pytest.mark.audio
def test_device_stream_plays(jack_server: str, tmp_path: Path) -> None:
    out = AudioOutput.open(wav_path=tmp_path / "both.wav")
    try:
        assert out.notice is None
        assert out.status.startswith("jack: system (48 kHz, 512)"), out.status
        assert out.mlock is not None and out.mlock.startswith(("locked", "refused"))
        play(out, end=1.0, pace=True)
        _underflows, worst_ms = out.counters()
        calls = out._proc.shared.counters()[2]
        assert calls > 0 and worst_ms > 0.0  # the device ran the callback (its pace: perf/)
    finally:
        out.close(1.0)
    assert out._proc.proc.poll() is not None  # the audio process is gone
    assert len(read_wav(tmp_path / "both.wav")) == round((1.0 + TAIL_S) * SR)


@pytest.mark.audio
def test_unknown_device_is_a_usage_error(jack_server: str) -> None:
    with pytest.raises(UsageError, match=r"unknown audio device 'no-such-card'.*system"):
        AudioOutput.open(device="no-such-card")


@pytest.mark.audio
@pytest.mark.parametrize("device", ["system", 0, "0"])
def test_named_device(jack_server: str, device: object) -> None:
    out = AudioOutput.open(device=device, latency="low")
    try:
        assert out.status.startswith("jack: system")
    finally:
        out.close()


def _hostile(seconds: float) -> int:
    """A pure-Python loop and large collections over many objects, for `seconds`."""
    junk = [(i, [i]) for i in range(400_000)]  # ~400 k GC-tracked containers
    end, n = time.monotonic() + seconds, 0
    while time.monotonic() < end:
        for i in range(200_000):
            n += i * i % 7
        gc.collect()
    del junk
    return n


@pytest.mark.audio
@pytest.mark.slow
def test_the_callback_keeps_running_in_its_own_process_under_a_hostile_show(
    jack_server: str,
) -> None:
    """While the show's process is busy and collecting garbage, the callback goes on in
    the audio process. How many underflows that saves (0 against ~110 in 10 s) is a
    timing figure: perf/bench_sound.py measures it against an in-process callback."""
    out = AudioOutput.open()
    try:
        assert out._proc is not None and out._proc.proc.pid != os.getpid()
        frame, cues = show_step(1.5)
        out.update(0.0, frame, cues)  # the bed plays (allocating) throughout
        before_calls = out._proc.shared.counters()[2]
        _hostile(3.0)
        calls = out._proc.shared.counters()[2] - before_calls
        underflows, _worst = out.counters()
        assert out._proc.proc.poll() is None
    finally:
        out.close()
    assert calls > 0
    assert isinstance(underflows, int) and underflows >= 0


_PARENT = textwrap.dedent(
    """
    import os, sys, time
    from oomphony.sound.output import AudioOutput
    out = AudioOutput.open()
    print(out._proc.proc.pid if out._proc else -1, flush=True)
    time.sleep(60)
    """
)


@pytest.mark.audio
def test_audio_process_dies_with_its_parent(jack_server: str) -> None:
    parent = subprocess.Popen([sys.executable, "-c", _PARENT], stdout=subprocess.PIPE, text=True)
    try:
        child = int(parent.stdout.readline())
        assert child > 0
        assert not _gone(child)
        parent.send_signal(signal.SIGKILL)
        parent.wait(5)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if _gone(child):
                break
            time.sleep(0.05)
        else:
            os.kill(child, signal.SIGKILL)
            pytest.fail("the audio process outlived its parent")
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait(5)
        parent.stdout.close()


def _gone(pid: int) -> bool:
    """Dead or a zombie (the orphan's new parent may not reap it at once)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] in ("Z", "X")


# --- callback failures: counted by the callback, reported by the show -----------------


def test_failed_callbacks_reach_the_trace_and_one_notice(tmp_path: Path) -> None:
    """A callback that cannot fill its buffer (a mono buffer for a stereo engine) plays
    silence and is counted; the show's end reports the count in the trace's `audio`
    event and in one line for the user."""
    # The callback's status flags as sounddevice passes them (its CallbackFlags). Not
    # imported from sounddevice: that would start PortAudio in pytest's own process, and
    # its JACK host API aborts the interpreter at exit (pa_jack.c Terminate, rc 134).
    flags = SimpleNamespace(output_underflow=False)
    from oomphony.frame import AudioReport
    from oomphony.show.director import Director
    from oomphony.show.library import load_setlist
    from oomphony.show.runner import Runner, RunOptions
    from oomphony.sound.engine import Engine
    from oomphony.sound.shm import SharedParams
    from oomphony.sources.sim import SimSource
    from oomphony.trace.reader import read_trace
    from oomphony.trace.writer import TraceWriter

    shared = SharedParams.in_process()
    engine = Engine(shared, SR)
    good = np.ones((512, 2), np.float32)
    engine.callback(good, 512, None, flags)
    mono = np.ones((512, 1), np.float32)
    for _ in range(3):
        engine.callback(mono, 512, None, flags)
    assert not mono.any()  # silence, not whatever the buffer held
    out = AudioOutput(None, None, "stage", None, "in-process engine", shared=shared)
    assert out.callback_errors() == 3
    assert out.end_notice() == (
        "audio: 3 callbacks failed and played silence instead (see the trace's audio event)"
    )

    source = SimSource(memory_b=64 * MIB, swap_b=32 * MIB)
    source.start()
    director = Director(load_setlist("speedrun"), has_swap=True, key_wait_s=1.0)
    trace = TraceWriter(tmp_path / "t.jsonl")
    Runner(trace=trace, audio=out, options=RunOptions(speed=1e6, duration_s=2.0)).run_loop(
        lambda: (source, director), loop=False
    )
    reports = [e for e in read_trace(tmp_path / "t.jsonl").events if isinstance(e, AudioReport)]
    assert [r.callback_errors for r in reports] == [3]


def test_no_failed_callbacks_no_notice() -> None:
    out = AudioOutput.open(no_audio=True)
    assert out.callback_errors() == 0 and out.end_notice() is None
    out.close()


def test_the_sting_is_rendered_at_minus_half_a_dbfs() -> None:
    """As synth.py and voices.make_sting say: −0.5 dBFS peak before master."""
    from oomphony.sound.voices import make_sting

    peak = float(np.abs(make_sting(SR)).max())
    assert 20 * np.log10(peak) == pytest.approx(-0.5, abs=0.01)
