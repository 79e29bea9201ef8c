"""Sizes and rates as people type them: `256MiB`, `1GiB`, `1.5G`, `50MiB/s`.

Binary and decimal suffixes are both accepted; a bare `G`/`M`/`K` means the binary
unit (as `free -g` and the kernel's own tools do). A bare number is bytes.

The cage's swap has one grammar on the command line (`--swap`) and in a setlist
(`swap =`): `auto`, `none` (also `0`, `0MiB`: no swap), or a size of at least 1 MiB.
"""

from __future__ import annotations

import mmap
import re
from fractions import Fraction

from oomphony.errors import UsageError

KiB = 1024
MiB = 1024 * KiB
GiB = 1024 * MiB
PAGE_B = mmap.PAGESIZE  # the one page size: 4 KiB here

_FACTORS = {
    "": 1,
    "b": 1,
    "k": KiB,
    "kib": KiB,
    "kb": 1000,
    "m": MiB,
    "mib": MiB,
    "mb": 1000**2,
    "g": GiB,
    "gib": GiB,
    "gb": 1000**3,
    "t": 1024 * GiB,
    "tib": 1024 * GiB,
    "tb": 1000**4,
}
_SIZE_RE = re.compile(r"^\s*([0-9]+(?:\.[0-9]*)?|\.[0-9]+)\s*([a-zA-Z]*)\s*$")


def parse_size(text: str, *, what: str = "size") -> int:
    """Parse a human size into bytes; raise UsageError with one clear line otherwise."""
    m = _SIZE_RE.match(str(text))
    unit = m.group(2).lower() if m else ""
    if not m or unit not in _FACTORS:
        raise UsageError(f"{what} must look like 256MiB, 1GiB or 1.5G, got {text!r}")
    value = Fraction(m.group(1)) * _FACTORS[unit]  # exact: no float rounding of big sizes
    if value > 2**62:
        raise UsageError(f"{what} is too large: {text!r}")
    return int(value)


MIN_SWAP_B = MiB  # below this a size is a forgotten unit ("64" is 64 bytes), not a swap
SWAP_HELP = '"auto", "none" (or 0) or a size of at least 1MiB like 256MiB'


def parse_swap(text: str, *, what: str = "--swap") -> int | None:
    """The cage's swap in bytes: None for `auto` (the default size), 0 for `none`, `0` or
    any zero size, else a size of at least MIN_SWAP_B. UsageError with one line otherwise."""
    word = str(text).strip().lower()
    if word == "auto":
        return None
    if word == "none":
        return 0
    try:
        size = parse_size(text, what=what)
    except UsageError:
        size = -1
    if size == 0:
        return 0
    if size < MIN_SWAP_B:
        raise UsageError(f"{what} must be {SWAP_HELP}, got {text!r}")
    return size


def parse_rate(text: str, *, what: str = "rate") -> float:
    """Parse `50MiB/s` (or `50MiB`, per second implied) into bytes per second, > 0."""
    s = str(text).strip()
    if s.lower().endswith("/s"):
        s = s[:-2]
    try:
        value = parse_size(s, what=what)
    except UsageError:
        raise UsageError(f"{what} must look like 50MiB/s, got {text!r}") from None
    if value <= 0:
        raise UsageError(f"{what} must be more than zero, got {text!r}")
    return float(value)


def format_size(n_b: float | None) -> str:
    """Short human form: 1.5 GiB, 192 MiB, 64 KiB, 12 B; '—' for None."""
    if n_b is None:
        return "—"
    n = float(n_b)
    for unit, factor in (("GiB", GiB), ("MiB", MiB), ("KiB", KiB)):
        if abs(n) >= factor:
            v = n / factor
            return f"{v:.1f} {unit}" if v < 10 else f"{v:.0f} {unit}"
    return f"{n:.0f} B"
