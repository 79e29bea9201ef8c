"""The in-process encoder: PyAV (`av`, a wheel with FFmpeg's libraries bundled).

Frames are copied from the pygame surface into an FFmpeg frame, converted to yuv420p by
libswscale and encoded by libx264 (or libvpx-vp9) in this process; the sound goes to
AAC (or Opus) in the same container, interleaved by libavformat.
"""

from __future__ import annotations

import contextlib
import os
from fractions import Fraction

import av
import numpy as np
import pygame

from oomphony.errors import OomphonyError, UsageError
from oomphony.render.encoders import (
    AAC_BPS,
    CRF,
    OPUS_BPS,
    VP9_CRF,
    X264_PRESET,
    Target,
    pixel_format,
    surface_bytes,
    temp_path,
)

_CODECS = {"mp4": ("libx264", "aac", AAC_BPS), "webm": ("libvpx-vp9", "libopus", OPUS_BPS)}
_VIDEO_OPTIONS = {
    "mp4": {"crf": str(CRF), "preset": X264_PRESET},
    "webm": {"crf": str(VP9_CRF), "b": "0", "deadline": "realtime", "cpu-used": "8",
             "row-mt": "1"},
}  # fmt: skip


class PyAVEncoder:
    def __init__(self, target: Target) -> None:
        if target.kind not in _CODECS:
            raise OomphonyError(f"the PyAV encoder does not write {target.kind}")
        self.target = target
        self.tmp = temp_path(target.path)
        vcodec, acodec, abps = _CODECS[target.kind]
        options = {"movflags": "+faststart"} if target.kind == "mp4" else {}
        try:
            self.out = av.open(str(self.tmp), mode="w", format=target.kind, options=options)
        except OSError as err:
            raise UsageError(f"cannot write {target.path}: {err.strerror}") from err
        w, h = target.size
        self.v = self.out.add_stream(vcodec, rate=target.fps, options=_VIDEO_OPTIONS[target.kind])
        self.v.width, self.v.height, self.v.pix_fmt = w, h, "yuv420p"
        self.v.codec_context.thread_type = "AUTO"
        self.a = self.out.add_stream(acodec, rate=target.sample_rate, layout="stereo")
        self.a.bit_rate = abps
        self._fmt: str | None = None
        self._frames = 0
        self._samples = 0

    def video(self, surface: pygame.Surface) -> None:
        if self._fmt is None:
            self._fmt = pixel_format(surface)
        w, h = self.target.size
        pixels = surface_bytes(surface)
        try:
            arr = np.frombuffer(pixels, np.uint8).reshape(h, w, 4)
            frame = av.VideoFrame.from_ndarray(arr, format=self._fmt)  # a copy
        finally:
            pixels.release()  # the surface stays locked while a view of it lives
        frame.pts = self._frames
        frame.time_base = Fraction(1, self.target.fps)
        self._frames += 1
        self.out.mux(self.v.encode(frame))

    def audio(self, block: np.ndarray) -> None:
        data = np.ascontiguousarray(block, np.float32).reshape(1, -1)
        frame = av.AudioFrame.from_ndarray(data, format="flt", layout="stereo")
        frame.sample_rate = self.target.sample_rate
        frame.pts = self._samples
        frame.time_base = Fraction(1, self.target.sample_rate)
        self._samples += block.shape[0]
        self.out.mux(self.a.encode(frame))

    def finish(self) -> None:
        self.out.mux(self.v.encode(None))
        self.out.mux(self.a.encode(None))
        self.out.close()
        os.replace(self.tmp, self.target.path)

    def abort(self) -> None:
        with contextlib.suppress(OSError, av.FFmpegError):
            self.out.close()
        self.tmp.unlink(missing_ok=True)
