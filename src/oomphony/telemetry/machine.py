"""Memory without a sampler: the one-shot `read_meminfo` (for sizing and `doctor`), and
psutil where the real /proc is absent (another OS). psutil cannot be pointed at a fixture
tree, so it serves only for the real root."""

from __future__ import annotations

from pathlib import Path

from oomphony.errors import TelemetryError
from oomphony.frame import MachineMem
from oomphony.telemetry.procfs import parse_meminfo

REAL_PROC = Path("/proc")


def is_real_proc(root: Path) -> bool:
    return root == REAL_PROC


def read_meminfo(proc_root: str | Path = "/proc") -> dict[str, int]:
    """All of /proc/meminfo in bytes (for sizing and doctor).

    Where the real /proc has no meminfo (another OS), psutil fills the main fields under
    the meminfo names. Raises TelemetryError when nothing can be read.
    """
    root = Path(proc_root)
    try:
        return parse_meminfo((root / "meminfo").read_text())
    except OSError as err:
        if not is_real_proc(root):
            raise TelemetryError(f"cannot read {root / 'meminfo'}: {err.strerror}") from err
        machine = psutil_machine()
        if machine is None:
            raise TelemetryError(f"cannot read {root / 'meminfo'}: {err.strerror}") from err
    out = {
        "MemTotal": machine.total_b,
        "MemFree": machine.free_b,
        "Cached": machine.cache_b,
        "SwapTotal": machine.swap_total_b,
        "SwapFree": machine.swap_free_b,
    }
    if machine.available_b is not None:
        out["MemAvailable"] = machine.available_b
    return out


def psutil_machine() -> MachineMem | None:
    """The machine's memory from psutil (no anon), or None where psutil cannot tell."""
    try:
        import psutil

        vm = psutil.virtual_memory()
        sw = psutil.swap_memory()
    except (ImportError, OSError, RuntimeError):
        return None
    return MachineMem(
        total_b=int(vm.total),
        free_b=int(vm.free),
        available_b=int(vm.available),
        cache_b=int(getattr(vm, "cached", 0)),
        anon_b=None,
        swap_total_b=int(sw.total),
        swap_free_b=int(sw.free),
    )


def psutil_process(pid: int) -> tuple[int | None, int | None]:
    """(RSS, swap) of a process from psutil; swap is never known there."""
    try:
        import psutil

        return int(psutil.Process(pid).memory_info().rss), None
    except Exception:  # psutil.Error, ImportError, or a platform without the call
        return None, None
