"""The live telemetry sampler: one `sample()` per show frame, everything else is state.

Per sample it reads /proc/meminfo, /proc/vmstat, the PSI file, the cage's cgroup files and
/proc/PID/status of the allocator (and the sleeper) through descriptors kept open, and
builds one `MemoryFrame`. Rates and PSI stall fractions are differentiated against the
previous sample on the caller's clock (`t_s`, the show clock in seconds).

Choices:
- The first sample has no rates and no PSI (`None`): a counter needs two readings.
- A sample whose `t_s` does not advance repeats the previous rates and PSI.
- A counter that goes backwards (reset) gives `None` for that rate, once.
- PSI comes from the cage's v2 `memory.pressure` when there is one, else the machine's
  /proc/pressure/memory; `psi_source` says which ('cage', 'machine' or None).
- What is missing is data: `None` in the frame and one line in `fallbacks`.
- psutil serves only where /proc itself is absent (another OS), and only for the real
  root: it cannot be pointed at a fixture tree (`machine.py`).

The processes' status files are `procs.py`, the differentiation `rates.py`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from oomphony.errors import TelemetryError
from oomphony.frame import (
    NO_PRESSURE,
    NO_RATES,
    AllocState,
    CageMem,
    MachineMem,
    MemoryFrame,
)
from oomphony.telemetry.cgroup import CageReader
from oomphony.telemetry.cgroupfs import CgroupRef
from oomphony.telemetry.machine import is_real_proc, psutil_machine
from oomphony.telemetry.procfs import (
    PreadFile,
    PsiTotals,
    machine_from_meminfo,
    meminfo_fields,
    note_once,
    parse_psi,
    vmstat_fields,
)
from oomphony.telemetry.procs import ProcStatus
from oomphony.telemetry.rates import pressure_between, rates_between
from oomphony.units import PAGE_B

log = logging.getLogger(__name__)


# --- the sampler ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Baseline:
    t_s: float
    vm: dict[str, int]
    psi: PsiTotals | None


class Sampler:
    """Live telemetry. Open at construction, `sample()` per frame, `close()` at the end.

    Raises TelemetryError only when the machine's memory cannot be read at all.
    """

    def __init__(
        self,
        *,
        proc_root: str | Path = "/proc",
        cgroup: CgroupRef | None = None,
        page_size_b: int | None = None,
    ) -> None:
        self.proc_root = Path(proc_root)
        self.page_size_b = page_size_b or PAGE_B
        self.fallbacks: list[str] = []
        self._meminfo = PreadFile(self.proc_root / "meminfo")
        self._vmstat = PreadFile(self.proc_root / "vmstat")
        self._psi_file = PreadFile(self.proc_root / "pressure" / "memory")
        self._use_psutil = is_real_proc(self.proc_root) and not self._meminfo.is_open
        self._cage = CageReader(cgroup, fallbacks=self.fallbacks) if cgroup else None
        self._procs = ProcStatus(self.proc_root, use_psutil=self._use_psutil, note=self._note)
        self._base: _Baseline | None = None
        self._rates = NO_RATES
        self._psi = NO_PRESSURE
        self._last_machine: MachineMem | None = None

        self.psi_source: str | None = None  # 'cage', 'machine' or None (no PSI)

        if self._use_psutil:
            self._note("no /proc/meminfo: machine memory from psutil (no anon, no PSI)")
        self._last_machine = self._read_machine()  # fails early on an unusable meminfo
        if self._last_machine is None:
            reason = self._meminfo.reason or f"no MemTotal/MemFree in {self._meminfo.path}"
            self.close()
            raise TelemetryError(f"cannot read machine memory: {reason}")
        if not self._vmstat.is_open:
            self._note(f"no vmstat ({self._vmstat.path} missing): swap and fault rates not shown")
        if self._cage is not None and self._cage.has_pressure:
            self.psi_source = "cage"
        elif self._psi_file.is_open:
            self.psi_source = "machine"
        else:
            self._note(f"no PSI ({self._psi_file.path} missing): pressure not shown")

    # -- bookkeeping

    def _note(self, line: str) -> None:
        note_once(self.fallbacks, line, log)

    def __enter__(self) -> Sampler:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- processes

    def set_pids(self, alloc_pid: int | None, sleeper_pid: int | None = None) -> None:
        """(Re)open /proc/PID/status for the allocator and the sleeper (None: no process).

        `sample()` also follows a pid that differs from the one opened, so calling this is
        only needed to reopen for a pid that was reused.
        """
        self._procs.open("alloc", alloc_pid, force=True)
        self._procs.open("sleeper", sleeper_pid, force=True)

    # -- machine and cage

    def _read_machine(self) -> MachineMem | None:
        if self._use_psutil:
            return psutil_machine()
        text = self._meminfo.read()
        if text is None:
            return None
        machine, reasons = machine_from_meminfo(meminfo_fields(text))
        for reason in reasons:
            self._note(reason)
        return machine

    def read_cage(self) -> CageMem | None:
        """One read of the cage's cgroup files; None without a cage or once it is gone."""
        return self._cage.read() if self._cage is not None else None

    def _read_psi(self) -> PsiTotals | None:
        if self.psi_source == "cage" and self._cage is not None:
            return self._cage.pressure()
        if self.psi_source == "machine":
            text = self._psi_file.read()
            if text is None:
                self._note(f"PSI unreadable ({self._psi_file.reason}): pressure not shown")
                return None
            return parse_psi(text)
        return None

    # -- the frame

    def sample(
        self, t_s: float, alloc: AllocState, sleeper: AllocState | None = None
    ) -> MemoryFrame:
        """Read everything once and build the frame for show time `t_s` (seconds)."""
        machine = self._read_machine()
        if machine is None:
            self._note(f"meminfo unreadable ({self._meminfo.reason}): machine memory frozen")
            machine = self._last_machine
        else:
            self._last_machine = machine
        assert machine is not None  # set at construction
        cage = self.read_cage()
        vm_text = self._vmstat.read()
        vm = vmstat_fields(vm_text) if vm_text is not None else {}
        psi = self._read_psi()
        self._differentiate(t_s, vm, psi)
        return MemoryFrame(
            t_s=t_s,
            machine=machine,
            cage=cage,
            alloc=self._procs.fill("alloc", alloc),
            rates=self._rates,
            psi=self._psi,
            sleeper=self._procs.fill("sleeper", sleeper) if sleeper is not None else None,
        )

    def _differentiate(self, t_s: float, vm: dict[str, int], psi: PsiTotals | None) -> None:
        base = self._base
        if base is not None and t_s <= base.t_s:
            return  # no time passed: keep the previous rates and baseline
        if base is not None:
            dt_s = t_s - base.t_s
            self._rates = rates_between(base.vm, vm, dt_s, self.page_size_b)
            if psi is not None and base.psi is not None:
                self._psi = pressure_between(base.psi, psi, dt_s)
            else:
                self._psi = NO_PRESSURE
        self._base = _Baseline(t_s=t_s, vm=vm, psi=psi)

    def close(self) -> None:
        for f in (self._meminfo, self._vmstat, self._psi_file):
            f.close()
        if self._cage is not None:
            self._cage.close()
        self._procs.close()
