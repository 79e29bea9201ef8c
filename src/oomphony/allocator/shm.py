"""What the show and its cage processes share: a progress block and a command line protocol.

Progress lives in one page of a memfd mapped by the show (reader), the allocator and the
sleeper (writers, each its own fields). Every field is an aligned 8-byte word written
whole, so a reader sees each value either old or new; reading costs no syscall.

Commands travel as text lines over a pipe to the allocator: `rate BPS`, `ramp FROM TO S`,
`hold`, `release BYTES|all`, `cache BYTES`, `stop`.
"""

from __future__ import annotations

import math
import mmap
import struct

from oomphony import commands as c
from oomphony.units import PAGE_B

# allocator's fields, then the sleeper's (sleeper_pid is written by the show).
_LAYOUT = struct.Struct("<QdQQqQQQ")  # allocated_b, rate_bps, cache_b, phase, sleeper
ALLOCATED, RATE, CACHE, PHASE, SLEEPER_PID, SLEEPER_B, SLEEPER_WAKES, SLEEPER_SWAPIN = range(8)
_CODES = "QdQQqQQQ"  # every field is 8 bytes: field i lives at offset 8 * i

PHASES = ("starting", "cache", "allocating", "holding", "stopping", "caged-failed")


def create() -> tuple[int, mmap.mmap]:
    """A fresh memfd of one page and its shared mapping (the fd is inheritable)."""
    import os

    fd = os.memfd_create("oomphony-progress", 0)
    os.ftruncate(fd, PAGE_B)
    os.set_inheritable(fd, True)
    return fd, mmap.mmap(fd, PAGE_B, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)


def attach(fd: int) -> mmap.mmap:
    return mmap.mmap(fd, PAGE_B, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)


def put(buf: mmap.mmap, field: int, value: float) -> None:
    struct.pack_into("<" + _CODES[field], buf, 8 * field, value)


def read_all(buf: mmap.mmap) -> tuple:
    return _LAYOUT.unpack_from(buf, 0)


def encode(cmd: c.Command) -> bytes | None:
    """The wire line for an allocator command; None for commands the show handles itself."""
    if isinstance(cmd, c.SetRate):
        return f"rate {_num(cmd.rate_bps)}\n".encode()
    if isinstance(cmd, c.Ramp):
        return f"ramp {_num(cmd.from_bps)} {_num(cmd.to_bps)} {cmd.over_s!r}\n".encode()
    if isinstance(cmd, c.Hold):
        return b"hold\n"
    if isinstance(cmd, c.Release):
        return f"release {'all' if cmd.size_b is None else int(cmd.size_b)}\n".encode()
    if isinstance(cmd, c.FillCache):
        return f"cache {int(cmd.size_b)}\n".encode()
    return None


def _num(x: float) -> str:
    return "inf" if math.isinf(x) else repr(float(x))


def decode(line: str) -> tuple[str, list[float]] | None:
    """Parse one wire line into (verb, numbers); None if malformed. `all` becomes -1."""
    parts = line.split()
    if not parts:
        return None
    try:
        nums = [-1.0 if p == "all" else float(p) for p in parts[1:]]
    except ValueError:
        return None
    return parts[0], nums
