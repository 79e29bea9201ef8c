"""The pipe encoder: the `ffmpeg` binary of the `imageio-ffmpeg` wheel (no system
package), fed raw frames over its stdin.

The picture is encoded in a second process, beside the show's drawing, while the sound
is kept in a raw float file beside the output; `finish` then muxes both into the final
container in one more quick pass (the picture copied, the sound encoded). A GIF is made
in one pass with a palette computed for the clip (ffmpeg's palettegen/paletteuse).
Every command is an argument list; ffmpeg's messages go to a file, read only when it
fails.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import subprocess
import tempfile

import imageio_ffmpeg
import numpy as np
import pygame

from oomphony.errors import OomphonyError
from oomphony.render.encoders import (
    AAC_BPS,
    CRF,
    GIF_FPS_MAX,
    OPUS_BPS,
    VP9_CRF,
    X264_PRESET,
    Target,
    pixel_format,
    surface_bytes,
    temp_path,
)

_VIDEO = {
    "mp4": ["-c:v", "libx264", "-preset", X264_PRESET, "-crf", str(CRF), "-pix_fmt", "yuv420p"],
    "webm": ["-c:v", "libvpx-vp9", "-crf", str(VP9_CRF), "-b:v", "0", "-deadline", "realtime",
             "-cpu-used", "8", "-row-mt", "1", "-pix_fmt", "yuv420p"],
}  # fmt: skip
_AUDIO = {
    "mp4": ["-c:a", "aac", "-b:a", str(AAC_BPS), "-movflags", "+faststart"],
    "webm": ["-c:a", "libopus", "-b:a", str(OPUS_BPS)],
}
F_SETPIPE_SZ = getattr(fcntl, "F_SETPIPE_SZ", 1031)  # Linux
PIPE_BYTES = 1 << 20  # the most an unprivileged process may ask (/proc/sys/fs/pipe-max-size)
_GIF_FILTER = "fps={fps},split[a][b];[a]palettegen=stats_mode=diff[p];[b][p]paletteuse=dither=bayer"


def ffmpeg_exe() -> str:
    return imageio_ffmpeg.get_ffmpeg_exe()


class PipeEncoder:
    def __init__(self, target: Target) -> None:
        self.target = target
        self.tmp = temp_path(target.path)
        self.picture = temp_path(target.path, "picture")  # the picture alone, before muxing
        self.sound = temp_path(target.path, "sound")  # raw float32 stereo samples
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 (closed in _cleanup)
        self._sound = open(self.sound, "wb") if target.has_audio else None  # noqa: SIM115
        self._proc: subprocess.Popen[bytes] | None = None
        self._fmt = ""

    def _start(self, surface: pygame.Surface) -> subprocess.Popen[bytes]:
        t = self.target
        w, h = t.size
        cmd = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-nostdin", "-y"]
        cmd += ["-f", "rawvideo", "-pix_fmt", pixel_format(surface), "-s", f"{w}x{h}"]
        cmd += ["-framerate", str(t.fps), "-i", "pipe:0"]
        if t.kind == "gif":
            cmd += ["-vf", _GIF_FILTER.format(fps=min(t.fps, GIF_FPS_MAX)), "-f", "gif"]
            cmd.append(str(self.tmp))
        else:
            cmd += [*_VIDEO[t.kind], "-an", "-f", "matroska", str(self.picture)]
        # the child ignores Ctrl-C: the render stops it (abort) and deletes its file
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=self._log,
            preexec_fn=_ignore_sigint,
        )
        assert proc.stdin is not None
        with contextlib.suppress(OSError):  # a frame in a few writes, not 60 (Linux only)
            fcntl.fcntl(proc.stdin.fileno(), F_SETPIPE_SZ, PIPE_BYTES)
        return proc

    def video(self, surface: pygame.Surface) -> None:
        if self._proc is None:
            self._proc = self._start(surface)
        assert self._proc.stdin is not None
        pixels = surface_bytes(surface)
        try:
            self._proc.stdin.write(pixels)
        except BrokenPipeError:
            raise self._failed() from None
        finally:
            pixels.release()

    def audio(self, block: np.ndarray) -> None:
        if self._sound is not None:
            self._sound.write(np.ascontiguousarray(block, "<f4").tobytes())

    def finish(self) -> None:
        t = self.target
        if self._proc is None:
            raise OomphonyError(f"{t.path}: the show drew no frame")
        assert self._proc.stdin is not None
        with contextlib.suppress(BrokenPipeError):
            self._proc.stdin.close()
        if self._proc.wait() != 0:
            raise self._failed()
        if self._sound is not None:
            self._sound.close()
            cmd = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-nostdin", "-y"]
            cmd += ["-i", str(self.picture)]
            cmd += ["-f", "f32le", "-ar", str(t.sample_rate), "-ac", "2", "-i", str(self.sound)]
            cmd += ["-map", "0:v", "-map", "1:a", "-c:v", "copy", *_AUDIO[t.kind]]
            cmd += ["-f", t.kind, str(self.tmp)]
            if subprocess.run(cmd, stderr=self._log, preexec_fn=_ignore_sigint).returncode:
                raise self._failed()
        os.replace(self.tmp, t.path)
        self._cleanup()

    def _failed(self) -> OomphonyError:
        self._log.seek(0)
        lines = self._log.read().decode("utf-8", "replace").strip().splitlines()
        why = lines[-1] if lines else "it stopped"
        return OomphonyError(f"ffmpeg could not encode {self.target.path}: {why}")

    def abort(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()
        self.tmp.unlink(missing_ok=True)
        self._cleanup()

    def _cleanup(self) -> None:
        if self._sound is not None:
            self._sound.close()
        if self._proc is not None and self._proc.stdin is not None:
            with contextlib.suppress(OSError):
                self._proc.stdin.close()
        for p in (self.picture, self.sound):
            p.unlink(missing_ok=True)
        self._log.close()


def _ignore_sigint() -> None:
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
