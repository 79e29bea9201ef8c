"""Screenshots written beside the show, not inside a frame.

`pygame.image.save` of a 1920×1080 frame took about 95 ms of CPU (the noise compresses
badly) and holds the GIL throughout, so each act's screenshot was a visible hitch, also
from a thread. Here the frame is copied (about 2 ms at 1080p) and a worker thread writes
the PNG itself: the pixels go out in strips of rows (short holds of the GIL) and zlib,
which releases the GIL, does the compressing on the other core. A write that fails stops
the screenshots with one warning; the show goes on.
"""

from __future__ import annotations

import logging
import queue
import struct
import threading
import zlib
from pathlib import Path

import numpy as np
import pygame

log = logging.getLogger(__name__)

STRIP_ROWS = 64  # rows handed to zlib at a time
SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bytes(surface: pygame.Surface, level: int = 6) -> bytes:
    """The surface as an 8-bit RGB PNG (no filtering: each row starts with filter 0)."""
    w, h = surface.get_size()
    z = zlib.compressobj(level)
    parts = []
    rows = np.zeros((STRIP_ROWS, 1 + 3 * w), dtype=np.uint8)
    px = pygame.surfarray.pixels3d(surface)  # (w, h, 3), locks the surface until deleted
    try:
        for y0 in range(0, h, STRIP_ROWS):
            n = min(STRIP_ROWS, h - y0)
            rows[:n, 1:] = px[:, y0 : y0 + n].transpose(1, 0, 2).reshape(n, 3 * w)
            parts.append(z.compress(rows[:n].tobytes()))
    finally:
        del px
    parts.append(z.flush())
    header = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)  # 8-bit RGB, no interlace
    idat = b"".join(parts)
    return SIGNATURE + _chunk(b"IHDR", header) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")


class ShotWriter:
    """Takes a copy of the frame now and writes it as a PNG in a worker thread."""

    def __init__(self) -> None:
        self._queue: queue.Queue[tuple[pygame.Surface, Path] | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self.failed = False  # a write failed: no more screenshots

    def save(self, surface: pygame.Surface, path: Path) -> None:
        if self.failed:
            return
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="screenshots", daemon=True)
            self._thread.start()
        self._queue.put((surface.copy(), path))

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            surface, path = item
            if self.failed:
                continue
            try:
                data = png_bytes(surface)
                path.write_bytes(data)
            except (OSError, pygame.error) as err:  # e.g. the disk filled up mid-show
                self.failed = True
                log.warning("screenshots stop, the show goes on: cannot write %s: %s", path, err)
                continue
            log.info("screenshot %s", path)

    def close(self, timeout_s: float = 30.0) -> None:
        """Write what is queued, then stop the worker."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(timeout_s)
            self._thread = None
