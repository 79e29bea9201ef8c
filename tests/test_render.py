"""`oomphony render`, end to end through the real command line, and the output decoded
with PyAV (FFmpeg bundled in its wheel): the codecs and pixel format, the frame count,
the sound's length against the picture's, and picture and sound in sync at the kill (the
kill screen's first frame, a white flash, against the sting's onset in the decoded
sound). Small sizes and frame rates, `--speed` for short clips: each render takes a few
seconds.
"""

from __future__ import annotations

import math
import os
import signal
import struct
import subprocess
import sys
import time
import wave
from pathlib import Path

import numpy as np
import pytest

av = pytest.importorskip("av", reason="the render extra (PyAV) decodes the output")

from oomphony.picture.badge import badge_layout  # noqa: E402
from oomphony.picture.layout import compute_layout  # noqa: E402
from oomphony.picture.palette import get_palette  # noqa: E402
from oomphony.picture.text import ensure_init  # noqa: E402
from oomphony.show.library import bundled_names  # noqa: E402
from oomphony.sources.base import Origin  # noqa: E402
from oomphony.sources.replay import recorded_origin  # noqa: E402
from oomphony.trace.reader import read_trace  # noqa: E402

TRACE = Path(__file__).resolve().parents[1] / "assets" / "traces" / "cage-256MiB.jsonl"
# No display at all: a render draws off-screen (no DISPLAY, no SDL video driver chosen).
_NO_DISPLAY = ("DISPLAY", "WAYLAND_DISPLAY", "SDL_VIDEODRIVER")
ENV = {k: v for k, v in os.environ.items() if k not in _NO_DISPLAY}
SR = 48_000
FLASH_LUMA = 160  # the kill screen opens on a white flash; the scene's mean is ~50


def render(*args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    out = subprocess.run(
        [sys.executable, "-m", "oomphony", "render", *args],
        capture_output=True, text=True, timeout=timeout, env=ENV, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert out.stderr == ""  # not a terminal: no progress bar, and nothing went wrong
    return out


def frames_for(duration_s: float, fps: int, speed: float) -> int:
    """Frames drawn at show times i × speed / fps until the first at or past the end."""
    return math.ceil(duration_s * fps / speed - 1e-9) + 1


def _mono(frame) -> np.ndarray:
    x = frame.to_ndarray()
    return x.mean(axis=0) if frame.format.is_planar else x.reshape(-1, 2).mean(axis=1)


def decode(path: Path) -> tuple[dict, list[np.ndarray], np.ndarray]:
    """(stream facts, every frame as RGB, the sound as mono float)."""
    with av.open(str(path)) as c:
        v, a = c.streams.video[0], c.streams.audio[0]
        info = {
            "format": c.format.name, "vcodec": v.codec_context.name,
            "pix_fmt": v.codec_context.pix_fmt, "size": (v.width, v.height),
            "fps": float(v.average_rate), "acodec": a.codec_context.name,
            "sample_rate": a.codec_context.sample_rate,
        }  # fmt: skip
        frames = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
    with av.open(str(path)) as c:
        sound = np.concatenate([_mono(f) for f in c.decode(audio=0)])
    return info, frames, sound


def sting_onset_s(sound: np.ndarray, sr: int = SR) -> float:
    """The sting: the loudest moment of the show; its onset is the first 2 ms window,
    within 0.3 s before the peak, that reaches half the peak's level (RMS)."""
    win = sr // 500
    n = len(sound) // win
    rms = np.sqrt((sound[: n * win].reshape(n, win) ** 2).mean(axis=1))
    peak = int(np.argmax(rms))
    lo = max(0, peak - int(0.3 * sr / win))
    return (lo + int(np.argmax(rms[lo : peak + 1] >= 0.5 * rms[peak]))) * win / sr


def top_level_boxes(path: Path) -> list[str]:
    """The MP4's top-level boxes in file order (`+faststart`: moov before mdat)."""
    data, names, i = path.read_bytes(), [], 0
    while i + 8 <= len(data):
        size, name = struct.unpack(">I4s", data[i : i + 8])
        names.append(name.decode("latin-1"))
        i += size if size > 1 else len(data)
    return names


def first_flash(frames: list[np.ndarray]) -> int | None:
    lit = [i for i, f in enumerate(frames) if f.mean() > FLASH_LUMA]
    return lit[0] if lit else None


def badge_share(frame: np.ndarray, origin: Origin) -> tuple[float, float]:
    """How much of the badge's box (where the layout puts it) is in the badge's colour,
    and of a box of the same size at the left edge (a control)."""
    ensure_init()
    h, w = frame.shape[:2]
    badge = badge_layout(origin, compute_layout((w, h)))
    assert badge is not None
    b = badge.box
    warn = np.array(get_palette("default").warn)

    def share(x: int) -> float:
        box = frame[b.y : b.bottom, x : x + b.w].astype(int)
        return float((np.abs(box - warn).sum(axis=2) < 90).mean())

    return share(b.x), share(0)


def assert_badged(frame: np.ndarray, origin: Origin) -> None:
    there, control = badge_share(frame, origin)
    assert there > 0.02 and there > 4 * control, (there, control)


def test_mp4_is_h264_aac_with_picture_and_sound_in_sync(tmp_path: Path) -> None:
    out = tmp_path / "speedrun.mp4"
    fps, speed, duration = 15, 4.0, 24.0  # the speedrun's kill comes at ~19 s of show
    render(str(out), "speedrun", "--size", "320x180", "--fps", str(fps),
           "--speed", str(speed), "--duration", str(duration))  # fmt: skip
    info, frames, sound = decode(out)
    assert info["format"].startswith("mov,mp4")
    assert (info["vcodec"], info["pix_fmt"], info["size"]) == ("h264", "yuv420p", (320, 180))
    assert (info["acodec"], info["sample_rate"]) == ("aac", SR)
    assert info["fps"] == pytest.approx(fps, rel=1e-3)
    boxes = top_level_boxes(out)
    assert boxes.index("moov") < boxes.index("mdat")  # +faststart: plays while it loads
    assert abs(len(frames) - frames_for(duration, fps, speed)) <= 1
    assert abs(len(sound) / SR - len(frames) / fps) <= 1 / fps  # the same span
    kill = first_flash(frames)
    assert kill is not None, "no kill screen in the picture"
    assert abs(sting_onset_s(sound) - kill / fps) <= 1 / fps
    assert_badged(frames[-1], Origin("sim", simulated=True))  # SIMULATED
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no leftovers


def test_the_pyav_encoder_writes_the_same_kind_of_file(tmp_path: Path) -> None:
    out = tmp_path / "pyav.mp4"
    render(str(out), "speedrun", "--size", "160x90", "--fps", "10", "--speed", "8",
           "--duration", "24", "--encoder", "pyav")  # fmt: skip
    info, frames, sound = decode(out)
    assert (info["vcodec"], info["pix_fmt"], info["acodec"]) == ("h264", "yuv420p", "aac")
    assert abs(len(frames) - frames_for(24, 10, 8)) <= 1
    kill = first_flash(frames)
    assert kill is not None
    assert abs(sting_onset_s(sound) - kill / 10) <= 1 / 10


def test_the_recorded_trace_renders_as_a_replay(tmp_path: Path) -> None:
    """The shipped real trace, with its own setlist; the frames carry the REPLAY badge,
    the kernel's recorded kill is on screen and in the sound at the same time."""
    out = tmp_path / "replay.mp4"
    fps, speed = 10, 2.0
    render(str(out), "--trace", str(TRACE), "--size", "320x180", "--fps", str(fps),
           "--speed", str(speed))  # fmt: skip
    info, frames, sound = decode(out)
    assert (info["vcodec"], info["pix_fmt"]) == ("h264", "yuv420p")
    assert abs(len(sound) / SR - len(frames) / fps) <= 1 / fps
    kill = first_flash(frames)
    assert kill is not None
    assert abs(sting_onset_s(sound) - kill / fps) <= 1 / fps
    assert_badged(frames[-1], recorded_origin(read_trace(TRACE)))  # REPLAY


@pytest.mark.parametrize("name", bundled_names())
def test_every_bundled_setlist_renders(tmp_path: Path, name: str) -> None:
    out = tmp_path / f"{name}.mp4"
    fps = 5
    printed = render(str(out), name, "--size", "160x90", "--fps", str(fps), "--speed", "16")
    info, frames, sound = decode(out)
    assert (info["vcodec"], info["pix_fmt"], info["acodec"]) == ("h264", "yuv420p", "aac")
    assert f"{len(frames)} frames" in printed.stdout
    assert abs(len(sound) / SR - len(frames) / fps) <= 1 / fps
    assert first_flash(frames) is not None  # every bundled show ends in a kill


def test_webm_is_vp9_and_opus(tmp_path: Path) -> None:
    out = tmp_path / "clip.webm"
    render(str(out), "speedrun", "--size", "160x90", "--fps", "10", "--duration", "3")
    info, frames, sound = decode(out)
    assert (info["vcodec"], info["acodec"], info["pix_fmt"]) == ("vp9", "opus", "yuv420p")
    assert abs(len(frames) - frames_for(3, 10, 1)) <= 1
    assert abs(len(sound) / SR - len(frames) / 10) <= 1 / 10


def test_wav_is_the_sound_alone_for_exactly_the_frames_span(tmp_path: Path) -> None:
    out = tmp_path / "sound.wav"
    fps, speed, duration = 25, 2.0, 10.0
    render(str(out), "speedrun", "--fps", str(fps), "--speed", str(speed),
           "--duration", str(duration))  # fmt: skip
    with wave.open(str(out)) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (2, 2, SR)
        n = w.getnframes()
    frames = frames_for(duration, fps, speed)
    assert n in {round(k * SR / fps) for k in (frames - 1, frames, frames + 1)}


def test_gif_is_a_short_animation(tmp_path: Path) -> None:
    out = tmp_path / "clip.gif"
    render(str(out), "speedrun", "--size", "160x90", "--fps", "10", "--duration", "2")
    with av.open(str(out)) as c:
        assert c.streams.video[0].codec_context.name == "gif"
        assert sum(1 for _ in c.decode(video=0)) >= 15


def test_ctrl_c_leaves_no_file(tmp_path: Path) -> None:
    """Interrupted mid-render: exit status 130, nothing under the final name, and the
    temporary files gone."""
    out = tmp_path / "talk.mp4"
    proc = subprocess.Popen(
        [sys.executable, "-m", "oomphony", "render", str(out), "talk", "--size", "640x360"],
        env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not [p for p in tmp_path.iterdir() if p.name.startswith(".")]:
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "the render never started writing"
            time.sleep(0.05)
        time.sleep(0.5)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def test_on_a_terminal_a_progress_bar_shows_show_time_rate_and_time_left(tmp_path: Path) -> None:
    import fcntl
    import pty
    import termios

    out = tmp_path / "bar.mp4"
    cmd = [sys.executable, "-m", "oomphony", "render", str(out), "speedrun",
           "--size", "320x180", "--fps", "15", "--speed", "2"]  # fmt: skip
    pid, fd = pty.fork()
    if pid == 0:  # the child, on the terminal: make it 100 columns wide, then render
        fcntl.ioctl(1, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
        os.execvpe(cmd[0], cmd, ENV)
    seen = b""
    while True:
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        seen += chunk
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    assert os.waitstatus_to_exitcode(status) == 0, seen
    text = seen.decode("utf-8", "replace")
    bars = [line for line in text.replace("\r", "\n").splitlines() if "show s" in line]
    assert any("frames/s" in b and "<" in b and "%" in b for b in bars), text[-2000:]
    assert out.exists()
