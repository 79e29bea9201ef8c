"""How big the cage is: the defaults, the checks, page alignment (docs/architecture.md
"The cage")."""

from __future__ import annotations

from oomphony.errors import UsageError
from oomphony.units import PAGE_B, GiB, MiB, format_size

MIN_MEMORY_B = 16 * MiB  # below this the Python allocator itself does not fit
# Without a cage the deliberate cache fill is capped: a machine-wide show fills the real
# page cache, and a large fill only lengthens the overture.
GLOBAL_CACHE_CAP_B = 1 * GiB


def default_sizes(meminfo: dict[str, int]) -> tuple[int, int]:
    """(memory_b, swap_b): min(1 GiB, 25 % of MemAvailable); min(512 MiB, half of free
    swap) when swap exists, else 0. Page-aligned down. `meminfo` values in bytes."""
    avail = meminfo.get("MemAvailable", meminfo.get("MemFree", 0))
    memory_b = min(GiB, avail // 4)
    swap_b = 0
    if meminfo.get("SwapTotal", 0) > 0:
        swap_b = min(512 * MiB, meminfo.get("SwapFree", 0) // 2)
    return page_down(memory_b), page_down(swap_b)


def cache_default_b(memory_b: int) -> int:
    """The deliberate page-cache fill: about 40 % of the cage."""
    return page_down(memory_b * 2 // 5)


def check_sizes(memory_b: int, swap_b: int, meminfo: dict[str, int]) -> None:
    """UsageError (one line) for sizes no cage can have on this machine."""
    total = meminfo.get("MemTotal", 0)
    if total and memory_b > total:
        raise UsageError(
            f"--memory {format_size(memory_b)} is more than this machine has ({format_size(total)})"
        )
    if memory_b < MIN_MEMORY_B:
        raise UsageError(f"--memory must be at least {format_size(MIN_MEMORY_B)}")
    if swap_b < 0:
        raise UsageError("--swap must not be negative")


def page_down(n: int) -> int:
    return max(0, n) // PAGE_B * PAGE_B


def resolve_sizes(
    memory_b: int | None,
    swap_b: int | None,
    *,
    global_: bool,
    meminfo: dict[str, int] | None = None,
) -> tuple[int | None, int]:
    """The cage's memory and swap: the user's, else the defaults of
    docs/architecture.md "The cage". None = no cage."""
    if global_:
        if memory_b is not None or swap_b is not None:
            raise UsageError("--global has no cage: --memory and --swap do not apply")
        return None, 0
    if meminfo is None:
        from oomphony.telemetry import read_meminfo

        meminfo = read_meminfo()
    d_mem, d_swap = default_sizes(meminfo)
    mem = d_mem if memory_b is None else memory_b
    swap = d_swap if swap_b is None else swap_b
    check_sizes(mem, swap, meminfo)  # before anything is opened or started
    return mem, swap
