"""Where a render's frames and sound go: a file named by its extension.

| extension | picture | sound |
| --- | --- | --- |
| `.mp4` | H.264, yuv420p, CRF `CRF`, `+faststart` | AAC |
| `.webm` | VP9, yuv420p | Opus |
| `.gif` | a 256-colour palette made for the clip | — |
| `.wav` | — | 16-bit PCM |

Every encoder writes to a hidden temporary name beside the output and renames it at the
end (`finish`); `abort` (an error, Ctrl-C) deletes it, so the final name never holds a
half-written file. The video encoders come from wheels, never the system: PyAV
(`av`, FFmpeg bundled, in process; `pyav.py`) or the `ffmpeg` binary the `imageio-ffmpeg`
wheel ships, fed raw frames over a pipe (`pipe.py`). `perf/bench_render.py` measures
both; the faster is `DEFAULT_ENCODER` (perf/README.md says why).
"""

from __future__ import annotations

import contextlib
import os
import wave
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import pygame

from oomphony.errors import OomphonyError, UsageError

KINDS = {".mp4": "mp4", ".webm": "webm", ".gif": "gif", ".wav": "wav"}
ENCODERS = ("pipe", "pyav")
DEFAULT_ENCODER = "pipe"
# x264's constant quality: 18–20 is "visually lossless" for most video. TV static is
# nearly incompressible; at 20 the grain stays grain (see perf/README.md, "render").
CRF = 20
X264_PRESET = "ultrafast"  # speed over a few per cent of file size: renders beat real time
AAC_BPS = 192_000
OPUS_BPS = 128_000
VP9_CRF = 32
GIF_FPS_MAX = 15  # a GIF is for a README: fewer frames, a smaller file


@dataclass(frozen=True, slots=True)
class Target:
    """What a render writes: where, which kind, the picture's size and rate, the sound's
    rate."""

    path: Path
    kind: str  # one of KINDS' values
    size: tuple[int, int]
    fps: int
    sample_rate: int

    @property
    def has_video(self) -> bool:
        return self.kind != "wav"

    @property
    def has_audio(self) -> bool:
        return self.kind != "gif"


def kind_of(path: str | Path) -> str:
    """The kind of output a file name asks for; UsageError for any other extension."""
    suffix = Path(path).suffix.lower()
    if suffix not in KINDS:
        raise UsageError(
            f"cannot render to {path}: the name must end in {', '.join(KINDS)} "
            "(H.264 + AAC, VP9 + Opus, an animated GIF, or the sound alone)"
        )
    return KINDS[suffix]


def temp_path(path: Path, tag: str = "part") -> Path:
    """A hidden name beside `path` (same file system, so the final rename is atomic)."""
    return path.with_name(f".{path.name}.{tag}-{os.getpid()}")


def pixel_format(surface: pygame.Surface) -> str:
    """FFmpeg's name for the byte order of a 32-bit pygame surface."""
    r, g, b, _a = surface.get_masks()
    order = {(0xFF0000, 0xFF00, 0xFF): "bgra", (0xFF, 0xFF00, 0xFF0000): "rgba"}
    fmt = order.get((r, g, b))
    if fmt is None or surface.get_bytesize() != 4:
        raise OomphonyError(f"unexpected surface layout for video: masks {r:x} {g:x} {b:x}")
    return fmt


def surface_bytes(surface: pygame.Surface) -> memoryview:
    """The surface's pixels, rows packed (pygame's pitch is 4 × width for 32-bit)."""
    return memoryview(surface.get_view("0")).cast("B")


class Encoder(Protocol):
    def video(self, surface: pygame.Surface) -> None: ...
    def audio(self, block: np.ndarray) -> None: ...
    def finish(self) -> None: ...
    def abort(self) -> None: ...


class WavEncoder:
    """`.wav`: the sound alone, 16-bit stereo PCM (the picture is not drawn at all)."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.tmp = temp_path(target.path)
        try:
            self._wav = wave.open(str(self.tmp), "wb")  # noqa: SIM115 (closed in finish)
        except OSError as err:
            raise UsageError(f"cannot write {target.path}: {err.strerror}") from err
        self._wav.setnchannels(2)
        self._wav.setsampwidth(2)
        self._wav.setframerate(target.sample_rate)

    def video(self, surface: pygame.Surface) -> None:
        return None

    def audio(self, block: np.ndarray) -> None:
        pcm = np.clip(np.rint(block * 32767.0), -32768, 32767).astype("<i2")
        self._wav.writeframes(pcm.tobytes())

    def finish(self) -> None:
        self._wav.close()
        os.replace(self.tmp, self.target.path)

    def abort(self) -> None:
        with contextlib.suppress(OSError, wave.Error):
            self._wav.close()
        self.tmp.unlink(missing_ok=True)


def _importable(name: str) -> bool:
    try:
        if name == "pyav":
            import av  # noqa: F401
        else:
            import imageio_ffmpeg  # noqa: F401
    except ImportError:
        return False
    return True


def open_encoder(
    target: Target, name: str = DEFAULT_ENCODER, notice: Callable[[str], None] | None = None
) -> Encoder:
    """The encoder for this target: `name`, else (not installed) the other one, with a
    notice. The video encoders come with the `render` extra."""
    if target.kind == "wav":
        return WavEncoder(target)
    choices = [name] if target.kind != "gif" else ["pipe"]  # GIFs need ffmpeg's filters
    if target.kind != "gif":
        choices += [n for n in ENCODERS if n != name]
    usable = [n for n in choices if _importable(n)]
    if not usable:
        need = "imageio-ffmpeg" if target.kind == "gif" else "PyAV (av) or imageio-ffmpeg"
        raise OomphonyError(
            f"rendering {target.kind} needs {need}: pip install 'oomphony[render]' "
            "(a .wav render needs nothing more)"
        )
    if usable[0] != choices[0] and notice is not None:
        notice(f"the {choices[0]} encoder is not installed; using {usable[0]}")
    if usable[0] == "pyav":
        from oomphony.render.pyav import PyAVEncoder

        return PyAVEncoder(target)
    from oomphony.render.pipe import PipeEncoder

    return PipeEncoder(target)
