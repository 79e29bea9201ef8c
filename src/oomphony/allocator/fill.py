"""Resident, incompressible anonymous memory, filled and given back in page steps.

Pages are written, not read (a read maps the shared zero page), with a random 1 MiB
block tiled across them plus a unique 8-byte stamp at the start of each page, so neither
zswap/zram (same-filled pages) nor compression gets them for free. `MADV_NOHUGEPAGE`
keeps charges and swap-outs in 4 KiB steps. Memory is reserved in 64 MiB mappings that
cost nothing until touched; `release` hands pages back with `MADV_DONTNEED`.
"""

from __future__ import annotations

import mmap
import os

import numpy as np

from oomphony.units import PAGE_B, MiB

REGION_B = 64 * MiB
PATTERN_B = MiB
# Not MADV_POPULATE_WRITE: measured here it made the memcg OOM-kill at the memory limit
# without swapping first (peak 386 of 448 MiB), which would skip the show's swap act.
_STAMP_STRIDE = PAGE_B // 8


class Filler:
    def __init__(self, seed: int | None = None) -> None:
        rng = np.random.default_rng(seed)
        self._pattern = rng.integers(0, 256, PATTERN_B, dtype=np.uint8)
        self._salt = np.uint64(int(rng.integers(1, 2**62)) << 1)
        self._regions: list[tuple[mmap.mmap, np.ndarray]] = []
        self.filled_b = 0
        self._stamp = 0

    def _region(self, index: int) -> tuple[mmap.mmap, np.ndarray]:
        while len(self._regions) <= index:
            mm = mmap.mmap(-1, REGION_B, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
            if hasattr(mmap, "MADV_NOHUGEPAGE"):
                mm.madvise(mmap.MADV_NOHUGEPAGE)
            self._regions.append((mm, np.frombuffer(mm, dtype=np.uint8)))
        return self._regions[index]

    def fill(self, size_b: int) -> int:
        """Write `size_b` more (rounded up to pages); returns the bytes added."""
        todo = -(-size_b // PAGE_B) * PAGE_B
        done = 0
        while done < todo:
            index, start = divmod(self.filled_b, REGION_B)
            _mm, arr = self._region(index)
            n = min(todo - done, REGION_B - start)
            off = 0
            while off < n:  # tile the random block; the pattern offset follows the address
                p = (start + off) % PATTERN_B
                m = min(n - off, PATTERN_B - p)
                arr[start + off : start + off + m] = self._pattern[p : p + m]
                off += m
            pages = n // PAGE_B
            words = arr[start : start + n].view(np.uint64)
            stamps = np.arange(self._stamp, self._stamp + pages, dtype=np.uint64)
            words[::_STAMP_STRIDE] = stamps ^ self._salt
            self._stamp += pages
            self.filled_b += n
            done += n
        return done

    def release(self, size_b: int | None = None) -> int:
        """Give back `size_b` (all when None) from the top; returns the bytes freed."""
        want = self.filled_b if size_b is None else min(self.filled_b, max(0, size_b))
        want = want // PAGE_B * PAGE_B
        freed = 0
        while freed < want:
            top = self.filled_b
            index = (top - 1) // REGION_B
            base = index * REGION_B
            lo = max(base, top - (want - freed))
            self._regions[index][0].madvise(mmap.MADV_DONTNEED, lo - base, top - lo)
            freed += top - lo
            self.filled_b = lo
        return freed

    def touch(self) -> int:
        """Read one word of every page (swap-ins for pages out on swap); returns the sum."""
        total = 0
        for index in range(len(self._regions)):
            _mm, arr = self._regions[index]
            n = min(REGION_B, self.filled_b - index * REGION_B)
            if n <= 0:
                break
            total ^= int(np.bitwise_xor.reduce(arr[:n].view(np.uint64)[::_STAMP_STRIDE]))
        return total


def read_into_cache(fd: int, start_b: int, stop_b: int, buf: bytearray) -> int:
    """Read [start_b, stop_b) of the file so its pages land in the page cache (charged to
    this process's cgroup when not cached yet). Returns bytes read."""
    view = memoryview(buf)
    pos = start_b
    while pos < stop_b:
        n = os.preadv(fd, [view[: min(len(buf), stop_b - pos)]], pos)
        if n <= 0:
            break
        pos += n
    return pos - start_b


def write_file(fd: int, start_b: int, stop_b: int, seed: int = 1) -> None:
    """Write [start_b, stop_b) of pseudo-random data, flush it to disk, and drop it from
    the page cache, so a later read charges it to whoever reads it."""
    block = np.random.default_rng(seed).integers(0, 256, PATTERN_B, dtype=np.uint8).tobytes()
    pos = start_b
    while pos < stop_b:
        pos += os.pwrite(fd, block[: min(PATTERN_B, stop_b - pos)], pos)
    os.fsync(fd)
    os.posix_fadvise(fd, start_b, stop_b - start_b, os.POSIX_FADV_DONTNEED)
