"""The cage's memory cgroup, v1 or v2, read through file descriptors kept open.

Which file gives which value (docs/architecture.md "cgroup files"):

| CageMem     | cgroup v1                                      | cgroup v2                 |
| ----------- | ---------------------------------------------- | ------------------------- |
| usage_b     | memory.usage_in_bytes                          | memory.current            |
| limit_b     | memory.limit_in_bytes (≈2^63 → None)           | memory.max ('max' → None) |
| swap_limit_b| memory.memsw.limit_in_bytes − limit            | memory.swap.max           |
| cache_b     | memory.stat total_cache                        | memory.stat file          |
| anon_b      | memory.stat total_rss                          | memory.stat anon          |
| swap_b      | memory.stat total_swap, else memsw − usage     | memory.swap.current       |
| oom_kills   | memory.oom_control oom_kill                    | memory.events oom_kill    |

v2 also has memory.pressure, the cage's own PSI (`pressure()`).
The builders are pure functions over the files' texts; `CageReader` owns the fds.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from oomphony.frame import CageMem
from oomphony.telemetry.cgroupfs import CgroupRef
from oomphony.telemetry.procfs import PreadFile, PsiTotals, line_rest, note_once, parse_psi

log = logging.getLogger(__name__)

# v1 "no limit" is PAGE_COUNTER_MAX pages: 0x7FFFFFFFFFFFF000 with 4 KiB pages, a little
# less with bigger pages. Anything at or above 2^60 bytes (1 EiB) is no real limit.
V1_UNLIMITED_B = 2**60

V1_FILES = (
    "memory.usage_in_bytes",
    "memory.limit_in_bytes",
    "memory.memsw.usage_in_bytes",
    "memory.memsw.limit_in_bytes",
    "memory.stat",
    "memory.oom_control",
)
V2_FILES = (
    "memory.current",
    "memory.max",
    "memory.swap.current",
    "memory.swap.max",
    "memory.stat",
    "memory.events",
)
USAGE_FILE = {1: "memory.usage_in_bytes", 2: "memory.current"}

# What the show loses when an optional file is absent (the usage file is not optional).
_LOSSES = {
    "memory.memsw.usage_in_bytes": "cage swap from memory.stat total_swap only "
    "(no swap accounting: boot with swapaccount=1)",
    "memory.memsw.limit_in_bytes": "cage swap limit unknown (no swap accounting)",
    "memory.limit_in_bytes": "cage limit unknown",
    "memory.stat": "cage cache/anon not shown",
    "memory.oom_control": "cage OOM kills not counted",
    "memory.max": "cage limit unknown",
    "memory.swap.current": "cage swap not shown",
    "memory.swap.max": "cage swap limit unknown",
    "memory.events": "cage OOM kills not counted",
}


def _int(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        return int(text.split()[0])
    except (ValueError, IndexError):
        return None


def _stat(text: str | None, key: str) -> int | None:
    """One `key value` line of memory.stat / memory.events / memory.oom_control."""
    if text is None:
        return None
    return _int(line_rest(text, key + " "))


def _v1_limit(text: str | None) -> int | None:
    value = _int(text)
    return None if value is None or value >= V1_UNLIMITED_B else value


def _v2_limit(text: str | None) -> int | None:
    if text is None or text.strip() == "max":
        return None
    return _int(text)


def cage_from_v1(files: Mapping[str, str | None]) -> CageMem | None:
    """Build CageMem from v1 file texts (None for a file that could not be read)."""
    usage = _int(files.get("memory.usage_in_bytes"))
    if usage is None:
        return None
    limit = _v1_limit(files.get("memory.limit_in_bytes"))
    memsw_limit = _v1_limit(files.get("memory.memsw.limit_in_bytes"))
    if memsw_limit is None:
        swap_limit = None
    elif limit is None:
        swap_limit = memsw_limit  # memory itself unlimited: memsw bounds swap alone
    else:
        swap_limit = max(0, memsw_limit - limit)
    stat = files.get("memory.stat")
    swap = _stat(stat, "total_swap")  # present only with swap accounting
    if swap is None:
        memsw = _int(files.get("memory.memsw.usage_in_bytes"))
        swap = None if memsw is None else max(0, memsw - usage)
    return CageMem(
        limit_b=limit,
        swap_limit_b=swap_limit,
        usage_b=usage,
        cache_b=_stat(stat, "total_cache"),
        anon_b=_stat(stat, "total_rss"),
        swap_b=swap,
        oom_kills=_stat(files.get("memory.oom_control"), "oom_kill"),
    )


def cage_from_v2(files: Mapping[str, str | None]) -> CageMem | None:
    """Build CageMem from v2 file texts (None for a file that could not be read)."""
    usage = _int(files.get("memory.current"))
    if usage is None:
        return None
    stat = files.get("memory.stat")
    return CageMem(
        limit_b=_v2_limit(files.get("memory.max")),
        swap_limit_b=_v2_limit(files.get("memory.swap.max")),
        usage_b=usage,
        cache_b=_stat(stat, "file"),
        anon_b=_stat(stat, "anon"),
        swap_b=_int(files.get("memory.swap.current")),
        oom_kills=_stat(files.get("memory.events"), "oom_kill"),
    )


class CageReader:
    """Keeps the cage's files open; `read()` gives a CageMem or None (cage gone).

    `fallbacks` (a list the caller may share) gets one line per file missing at open and
    one when the cage disappears; nothing here raises for a missing file.
    """

    def __init__(self, ref: CgroupRef, *, fallbacks: list[str] | None = None) -> None:
        if ref.version not in (1, 2):
            raise ValueError(f"cgroup version must be 1 or 2, got {ref.version}")
        self.ref = ref
        self.fallbacks: list[str] = fallbacks if fallbacks is not None else []
        self.gone = False
        names = V1_FILES if ref.version == 1 else V2_FILES
        self._files = {name: PreadFile(ref.path / name) for name in names}
        self._build = cage_from_v1 if ref.version == 1 else cage_from_v2
        self._pressure = PreadFile(ref.path / "memory.pressure") if ref.version == 2 else None
        for name, f in self._files.items():
            if not f.is_open:
                loss = _LOSSES.get(name, "cage not readable")
                self._note(f"cgroup v{ref.version} {name} missing at {ref.path}: {loss}")
        if self._pressure is not None and not self._pressure.is_open:
            self._note(f"no memory.pressure in the cage {ref.path}: machine PSI shown instead")

    def _note(self, line: str) -> None:
        note_once(self.fallbacks, line, log)

    def read(self) -> CageMem | None:
        texts = {name: f.read() for name, f in self._files.items()}
        cage = self._build(texts)
        if cage is None and not self.gone:
            self.gone = True
            usage = self._files[USAGE_FILE[self.ref.version]]
            self._note(f"cage unreadable ({usage.reason}): cage values not shown")
        elif cage is not None and self.gone:
            self.gone = False
            log.info("cage %s readable again", self.ref.path)
        return cage

    @property
    def has_pressure(self) -> bool:
        return self._pressure is not None and self._pressure.is_open

    def pressure(self) -> PsiTotals | None:
        """The cage's PSI totals (v2 memory.pressure), or None."""
        if self._pressure is None:
            return None
        text = self._pressure.read()
        return parse_psi(text) if text is not None else None

    def close(self) -> None:
        for f in self._files.values():
            f.close()
        if self._pressure is not None:
            self._pressure.close()
