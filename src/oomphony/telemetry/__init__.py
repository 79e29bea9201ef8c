"""Live telemetry: /proc and the cage's cgroup, read through descriptors kept open.

`Sampler` builds one `MemoryFrame` per show frame (with `procs` for the processes and
`rates` for the differentiation); `read_meminfo` (`machine`) is a one-shot for sizing and
`doctor`. The parsers (`procfs`, `cgroup`) are pure functions over text.
"""

from oomphony.telemetry.cgroup import CageReader, cage_from_v1, cage_from_v2
from oomphony.telemetry.machine import read_meminfo
from oomphony.telemetry.procfs import (
    PreadFile,
    PsiTotals,
    machine_from_meminfo,
    meminfo_fields,
    parse_meminfo,
    parse_pid_status,
    parse_psi,
    vmstat_fields,
)
from oomphony.telemetry.rates import pressure_between, rates_between
from oomphony.telemetry.sampler import Sampler

__all__ = [
    "CageReader",
    "PreadFile",
    "PsiTotals",
    "Sampler",
    "cage_from_v1",
    "cage_from_v2",
    "machine_from_meminfo",
    "meminfo_fields",
    "parse_meminfo",
    "parse_pid_status",
    "parse_psi",
    "pressure_between",
    "rates_between",
    "read_meminfo",
    "vmstat_fields",
]
