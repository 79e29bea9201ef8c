"""The page-cache fill's file: on a real disk, named after the show that made it.

It is not an unlinked temporary file on purpose. Whoever drops the last reference to an
unlinked file pays for evicting its page cache and freeing its blocks; measured here that
is ~300 ms for 64 MiB, and when a SIGKILLed show leaves the allocator as the last holder,
that cost lands in the allocator's exit and keeps it alive long after its show. Kept
linked, the file is unlinked by the show's own close, by the reaper after a SIGKILL, or,
failing both (no cage, so no reaper), by the next show's start.
"""

from __future__ import annotations

import contextlib
import re
from pathlib import Path

from oomphony.cage.lifeline import pid_alive

CACHE_DIRS = (Path("/var/tmp"), Path.home() / ".cache", Path.cwd())
_NAME = re.compile(r"^oomphony-cache-(\d+)-\d+\.bin$")


def cache_file_path(directory: Path, show_pid: int) -> Path:
    """A fresh name for `show_pid`'s cache file in `directory`."""
    n = 0
    while (path := directory / f"oomphony-cache-{show_pid}-{n}.bin").exists():
        n += 1
    return path


def remove_cache_files(
    *, owner_pid: int | None = None, dirs: tuple[Path, ...] = CACHE_DIRS
) -> list[Path]:
    """Unlink the cache files of `owner_pid`, or (None) of every show no longer alive."""
    removed = []
    for d in dirs:
        with contextlib.suppress(OSError):
            for entry in d.iterdir():
                m = _NAME.match(entry.name)
                if not m:
                    continue
                pid = int(m.group(1))
                if (owner_pid is None and not pid_alive(pid)) or pid == owner_pid:
                    with contextlib.suppress(OSError):
                        entry.unlink()
                        removed.append(entry)
    return removed
