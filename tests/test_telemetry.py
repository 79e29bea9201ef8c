"""Telemetry: /proc parsers (fixture text, hypothesis), the open-fd reader, the Sampler
against fixture /proc trees (no PSI, old meminfo, vanished pid) and against the real /proc.

The cgroup side is in test_telemetry_cgroup.py.
"""

from __future__ import annotations

import os
import subprocess
import textwrap
import time
from pathlib import Path

import psutil
import pytest
from hypothesis import given
from hypothesis import strategies as st

from oomphony.errors import TelemetryError
from oomphony.frame import AllocState
from oomphony.telemetry import (
    PreadFile,
    PsiTotals,
    Sampler,
    machine_from_meminfo,
    meminfo_fields,
    parse_meminfo,
    parse_pid_status,
    parse_psi,
    pressure_between,
    rates_between,
    read_meminfo,
    vmstat_fields,
)
from oomphony.telemetry.cgroupfs import CgroupRef

KB = 1024

# A modern kernel's meminfo (values in kB, as the kernel writes them).
MEMINFO = {
    "MemTotal": 8_151_000,
    "MemFree": 1_234_560,
    "MemAvailable": 4_567_890,
    "Buffers": 12_340,
    "Cached": 2_345_670,
    "SwapCached": 1_110,
    "Active(file)": 1_000_001,
    "Inactive(file)": 999_999,
    "SwapTotal": 2_097_148,
    "SwapFree": 1_987_654,
    "AnonPages": 3_210_000,
}
VMSTAT = {"nr_free_pages": 300_000, "pswpin": 1_000, "pswpout": 5_000, "pgmajfault": 777}
VMSTAT.update({"pgmajfault_extra_not_a_key": 5, "oom_kill": 2, "nr_swapcached": 9})

# A 2.6.32-era meminfo: no MemAvailable (added in 3.14), no AnonPages line either.
OLD_MEMINFO = textwrap.dedent("""\
    MemTotal:        2056836 kB
    MemFree:          156444 kB
    Buffers:           92128 kB
    Cached:          1304500 kB
    SwapCached:            0 kB
    Active:          1143904 kB
    Inactive:         579788 kB
    SwapTotal:       4128760 kB
    SwapFree:        4128760 kB
    Dirty:                28 kB
    HugePages_Total:       0
    Hugepagesize:       2048 kB
    """)

PSI = textwrap.dedent("""\
    some avg10=1.50 avg60=0.20 avg300=0.05 total=123456
    full avg10=0.75 avg60=0.10 avg300=0.02 total=65432
    """)

PID_STATUS = textwrap.dedent("""\
    Name:\tpython3
    State:\tS (sleeping)
    Pid:\t4242
    VmPeak:\t  412340 kB
    VmSize:\t  412340 kB
    VmHWM:\t  290000 kB
    VmRSS:\t  262144 kB
    VmData:\t  300000 kB
    VmSwap:\t   65536 kB
    Threads:\t1
    """)
ZOMBIE_STATUS = "Name:\tpython3\nState:\tZ (zombie)\nPid:\t4242\nThreads:\t1\n"


def meminfo_text(fields: dict[str, int]) -> str:
    return "".join(f"{k + ':':<16}{v:>10} kB\n" for k, v in fields.items())


def vmstat_text(fields: dict[str, int]) -> str:
    return "".join(f"{k} {v}\n" for k, v in fields.items())


def write_tree(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def proc_tree(root: Path, *, drop: tuple[str, ...] = (), **overrides: str) -> Path:
    """A fixture /proc: meminfo, vmstat, pressure/memory, minus `drop`, plus overrides."""
    files = {
        "meminfo": meminfo_text(MEMINFO),
        "vmstat": vmstat_text(VMSTAT),
        "pressure/memory": PSI,
    }
    files.update({k.replace("__", "/"): v for k, v in overrides.items()})
    return write_tree(root, {k: v for k, v in files.items() if k not in drop})


def alloc(pid: int | None = None) -> AllocState:
    return AllocState(
        pid=pid, alive=pid is not None, allocated_b=0, rss_b=None, swap_b=None, rate_bps=0.0
    )


# --- parsers ----------------------------------------------------------------------------


def test_meminfo_fields_convert_kb_to_bytes() -> None:
    got = meminfo_fields(meminfo_text(MEMINFO))
    assert got == {k: MEMINFO[k] * KB for k in got}
    assert set(got) == {
        "MemTotal",
        "MemFree",
        "MemAvailable",
        "Cached",
        "AnonPages",
        "SwapTotal",
        "SwapFree",
    }


def test_parse_meminfo_keeps_unitless_counts() -> None:
    got = parse_meminfo(OLD_MEMINFO)
    assert got["HugePages_Total"] == 0
    assert got["Hugepagesize"] == 2048 * KB
    assert got["MemTotal"] == 2056836 * KB
    assert "MemAvailable" not in got


@pytest.mark.parametrize(
    ("drop", "none_field", "reason_word"),
    [
        ("MemAvailable", "available_b", "MemAvailable"),
        ("AnonPages", "anon_b", "AnonPages"),
    ],
)
def test_machine_from_meminfo_missing_optional_fields(
    drop: str, none_field: str, reason_word: str
) -> None:
    fields = {k: v * KB for k, v in MEMINFO.items() if k != drop}
    machine, reasons = machine_from_meminfo(fields)
    assert machine is not None
    assert getattr(machine, none_field) is None
    assert machine.total_b == MEMINFO["MemTotal"] * KB
    assert len(reasons) == 1 and reason_word in reasons[0]


@pytest.mark.parametrize("drop", ["SwapTotal", "SwapFree", "Cached"])
def test_machine_from_meminfo_missing_fields_shown_as_zero_with_reason(drop: str) -> None:
    machine, reasons = machine_from_meminfo({k: v for k, v in MEMINFO.items() if k != drop})
    assert machine is not None and reasons and drop[:4] in " ".join(reasons)


@pytest.mark.parametrize("drop", ["MemTotal", "MemFree"])
def test_machine_from_meminfo_without_totals_is_none(drop: str) -> None:
    machine, reasons = machine_from_meminfo({k: v for k, v in MEMINFO.items() if k != drop})
    assert machine is None and reasons


@pytest.mark.parametrize(
    ("text", "key", "expected"),
    [
        ("oom_kill_disable 0\nunder_oom 0\noom_kill 3\n", "oom_kill", 3),  # prefix of another
        ("nr_swapcached 9\npswpin 7\n", "pswpin", 7),
        ("pswpin 7", "pswpin", 7),  # first line, no trailing newline
        ("xpswpin 7\n", "pswpin", None),  # key must start its line
        ("pswpin\n", "pswpin", None),
        ("pswpin abc\n", "pswpin", None),  # malformed: left out, not a crash
    ],
)
def test_vmstat_fields_table(text: str, key: str, expected: int | None) -> None:
    assert vmstat_fields(text, (key,)).get(key) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (PSI, PsiTotals(123456, 65432)),
        ("some avg10=0.00 avg60=0.00 avg300=0.00 total=42\n", PsiTotals(42, None)),  # no full
        ("", PsiTotals(None, None)),
        ("some avg10=0.00\nfull total=x\n", PsiTotals(None, None)),
    ],
)
def test_parse_psi_table(text: str, expected: PsiTotals) -> None:
    assert parse_psi(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [(PID_STATUS, (262144 * KB, 65536 * KB)), (ZOMBIE_STATUS, (None, None)), ("", (None, None))],
)
def test_parse_pid_status_table(text: str, expected: tuple[int | None, int | None]) -> None:
    assert parse_pid_status(text) == expected


_NAMES = st.sampled_from(
    [
        "MemTotal",
        "MemFree",
        "MemAvailable",
        "Cached",
        "AnonPages",
        "SwapTotal",
        "SwapFree",
        "Buffers",
        "Shmem",
        "Active(file)",
    ]
)
_KB = st.integers(min_value=0, max_value=2**50)


@given(st.dictionaries(_NAMES, _KB, min_size=1), st.integers(1, 12))
def test_meminfo_property_any_order_and_padding(fields: dict[str, int], pad: int) -> None:
    text = "".join(f"{k}:{' ' * pad}{v} kB\n" for k, v in fields.items())
    assert parse_meminfo(text) == {k: v * KB for k, v in fields.items()}
    wanted = tuple(k for k in fields if k.isalpha())
    assert meminfo_fields(text, wanted) == {k: fields[k] * KB for k in wanted}


@given(
    st.dictionaries(
        st.sampled_from(
            ["pswpin", "pswpout", "pgmajfault", "oom_kill", "pswpin_x", "nr_pswpout", "pgfault"]
        ),
        st.integers(0, 2**63),
    )
)
def test_vmstat_property_only_exact_keys(counters: dict[str, int]) -> None:
    got = vmstat_fields(vmstat_text(counters))
    assert got == {k: v for k, v in counters.items() if k in got}
    assert set(got) == {k for k in counters if k in ("pswpin", "pswpout", "pgmajfault", "oom_kill")}


@given(st.integers(0, 2**63), st.integers(0, 2**63), st.booleans())
def test_psi_property(some: int, full: int, with_full: bool) -> None:
    text = f"some avg10=0.00 avg60=0.00 avg300=0.00 total={some}\n"
    if with_full:
        text += f"full avg10=0.00 avg60=0.00 avg300=0.00 total={full}\n"
    assert parse_psi(text) == PsiTotals(some, full if with_full else None)


# --- differentiation --------------------------------------------------------------------


@given(
    st.integers(0, 2**40),
    st.integers(0, 2**20),
    st.floats(1e-3, 100.0),
    st.sampled_from([4096, 16384, 65536]),
)
def test_rates_between_property(start: int, delta: int, dt_s: float, page: int) -> None:
    prev = {"pswpout": start, "pswpin": start, "pgmajfault": start}
    cur = {"pswpout": start + delta, "pswpin": start, "pgmajfault": start + delta}
    rates = rates_between(prev, cur, dt_s, page)
    assert rates.swapout_bps == pytest.approx(delta * page / dt_s)
    assert rates.swapin_bps == 0.0
    assert rates.majfault_ps == pytest.approx(delta / dt_s)


def test_rates_between_reset_and_missing_counters_give_none() -> None:
    rates = rates_between({"pswpout": 10, "pswpin": 5}, {"pswpout": 3, "pswpin": 6}, 1.0, 4096)
    assert rates.swapout_bps is None  # went backwards
    assert rates.swapin_bps == 4096.0
    assert rates.majfault_ps is None  # never present


@given(st.integers(0, 2**40), st.integers(0, 10**8), st.floats(1e-3, 10.0))
def test_pressure_between_is_a_clamped_fraction(start: int, delta_us: int, dt_s: float) -> None:
    p = pressure_between(PsiTotals(start, None), PsiTotals(start + delta_us, None), dt_s)
    assert p.full is None
    assert p.some is not None and 0.0 <= p.some <= 1.0
    assert p.some == pytest.approx(min(1.0, delta_us / 1e6 / dt_s))


# --- the open-fd reader -----------------------------------------------------------------


def test_pread_file_sees_new_content_through_the_same_fd(tmp_path: Path) -> None:
    path = write_tree(tmp_path, {"f": "one\n"}) / "f"
    f = PreadFile(path)
    assert f.read() == "one\n"
    path.write_text("two, longer\n")  # truncate and rewrite the same inode
    assert f.read() == "two, longer\n"
    f.close()
    assert f.read() is None


def test_pread_file_missing_is_a_state(tmp_path: Path) -> None:
    f = PreadFile(tmp_path / "nope")
    assert not f.is_open and f.read() is None and "nope" in (f.reason or "")


def test_pread_file_vanished_pid_reads_none_and_does_not_reopen() -> None:
    proc = subprocess.Popen(["sleep", "30"])
    try:
        f = PreadFile(f"/proc/{proc.pid}/status", reopen=False)
        assert parse_pid_status(f.read() or "")[0] is not None
    finally:
        proc.kill()
        proc.wait()
    assert f.read() is None  # reaped: ESRCH through the old fd
    assert f.reason is not None and not f.is_open


# --- the sampler over fixture trees -------------------------------------------------------


def test_sampler_fixture_full_tree(tmp_path: Path) -> None:
    root = proc_tree(tmp_path, **{"4242__status": PID_STATUS})
    with Sampler(proc_root=root, page_size_b=4096) as s:
        assert s.fallbacks == [] and s.psi_source == "machine"
        frame = s.sample(5.0, alloc(4242))
    assert frame.machine.total_b == MEMINFO["MemTotal"] * KB
    assert frame.machine.available_b == MEMINFO["MemAvailable"] * KB
    assert frame.machine.cache_b == MEMINFO["Cached"] * KB
    assert frame.machine.swap_free_b == MEMINFO["SwapFree"] * KB
    assert (frame.alloc.rss_b, frame.alloc.swap_b) == parse_pid_status(PID_STATUS)
    assert frame.alloc.pid == 4242 and frame.alloc.alive
    assert frame.cage is None and frame.sleeper is None
    # First sample: nothing to differentiate against yet.
    assert frame.rates.swapout_bps is None and frame.psi.some is None


@pytest.mark.parametrize("page", [4096, 65536])
def test_sampler_rates_and_psi_from_deltas(tmp_path: Path, page: int) -> None:
    root = proc_tree(tmp_path)
    s = Sampler(proc_root=root, page_size_b=page)
    s.sample(10.0, alloc())
    later = dict(VMSTAT, pswpout=VMSTAT["pswpout"] + 250, pgmajfault=VMSTAT["pgmajfault"] + 30)
    (root / "vmstat").write_text(vmstat_text(later))
    some_us, full_us = 200_000, 3_000_000  # full stalls longer than the interval: clamped
    (root / "pressure/memory").write_text(
        PSI.replace("total=123456", f"total={123456 + some_us}").replace(
            "total=65432", f"total={65432 + full_us}"
        )
    )
    dt_s = 0.5
    frame = s.sample(10.0 + dt_s, alloc())
    assert frame.rates.swapout_bps == pytest.approx(250 * page / dt_s)
    assert frame.rates.swapin_bps == 0.0
    assert frame.rates.majfault_ps == pytest.approx(30 / dt_s)
    assert frame.psi.some == pytest.approx(some_us / 1e6 / dt_s)
    assert frame.psi.full == 1.0
    # The show clock did not move: the same rates, not a division by zero.
    again = s.sample(10.0 + dt_s, alloc())
    assert again.rates == frame.rates and again.psi == frame.psi
    s.close()


def test_sampler_without_psi(tmp_path: Path) -> None:
    root = proc_tree(tmp_path, drop=("pressure/memory",))
    s = Sampler(proc_root=root)
    assert s.psi_source is None
    assert any("no PSI" in line for line in s.fallbacks)
    s.sample(0.0, alloc())
    frame = s.sample(1.0, alloc())
    assert frame.psi.some is None and frame.psi.full is None
    assert frame.rates.swapin_bps == 0.0  # the rest still works
    s.close()


def test_sampler_without_vmstat(tmp_path: Path) -> None:
    s = Sampler(proc_root=proc_tree(tmp_path, drop=("vmstat",)))
    s.sample(0.0, alloc())
    frame = s.sample(1.0, alloc())
    assert frame.rates.swapout_bps is None and frame.rates.majfault_ps is None
    assert frame.psi.some == 0.0
    assert any("vmstat" in line for line in s.fallbacks)
    s.close()


def test_sampler_old_meminfo(tmp_path: Path) -> None:
    s = Sampler(proc_root=proc_tree(tmp_path, meminfo=OLD_MEMINFO))
    frame = s.sample(0.0, alloc())
    assert frame.machine.available_b is None and frame.machine.anon_b is None
    assert frame.machine.total_b == parse_meminfo(OLD_MEMINFO)["MemTotal"]
    joined = "\n".join(s.fallbacks)
    assert "MemAvailable" in joined and "AnonPages" in joined
    s.sample(1.0, alloc())
    assert len(s.fallbacks) == 2  # said once, not once per sample
    s.close()


@pytest.mark.parametrize(
    ("overrides", "drop"),
    [({"meminfo": "MemFree: 1 kB\n"}, ()), ({}, ("meminfo",)), ({"meminfo": ""}, ())],
)
def test_sampler_without_machine_memory_raises(
    tmp_path: Path, overrides: dict[str, str], drop: tuple[str, ...]
) -> None:
    root = proc_tree(tmp_path, drop=drop, **overrides)
    with pytest.raises(TelemetryError):
        Sampler(proc_root=root)


def test_sampler_vanished_and_unknown_pids(tmp_path: Path) -> None:
    root = proc_tree(tmp_path, **{"77__status": PID_STATUS, "78__status": ZOMBIE_STATUS})
    s = Sampler(proc_root=root)
    s.set_pids(999_999, 77)
    frame = s.sample(0.0, alloc(999_999), alloc(77))
    assert frame.alloc.rss_b is None and frame.alloc.swap_b is None
    assert frame.sleeper is not None and frame.sleeper.rss_b == parse_pid_status(PID_STATUS)[0]
    # A pid the caller passes without set_pids is followed; a zombie has no RSS.
    frame = s.sample(1.0, alloc(78))
    assert frame.alloc.rss_b is None and frame.alloc.pid == 78
    assert s.fallbacks == []  # a process that is gone is not a degradation
    s.close()


def test_read_meminfo_fixture_and_missing(tmp_path: Path) -> None:
    assert read_meminfo(proc_tree(tmp_path)) == {k: v * KB for k, v in MEMINFO.items()}
    with pytest.raises(TelemetryError):
        read_meminfo(tmp_path / "nowhere")


# --- the sampler over the real /proc ----------------------------------------------------------


def test_sampler_real_proc_agrees_with_psutil() -> None:
    with Sampler() as s:
        s.set_pids(os.getpid())
        frame = s.sample(0.0, alloc(os.getpid()))
        vm, sw = psutil.virtual_memory(), psutil.swap_memory()
        rss_b = psutil.Process().memory_info().rss
        time.sleep(0.05)
        second = s.sample(0.05, alloc(os.getpid()))
    assert frame.machine.total_b == vm.total
    assert frame.machine.swap_total_b == sw.total
    assert frame.machine.available_b is not None
    assert abs(frame.machine.available_b - vm.available) < 256 * 2**20
    assert frame.alloc.rss_b is not None and abs(frame.alloc.rss_b - rss_b) < 64 * 2**20
    assert frame.alloc.swap_b is not None
    for rate in (second.rates.swapout_bps, second.rates.swapin_bps, second.rates.majfault_ps):
        assert rate is not None and rate >= 0.0
    if Path("/proc/pressure/memory").exists():
        assert second.psi.some is not None and 0.0 <= second.psi.some <= 1.0
    assert read_meminfo()["MemTotal"] == vm.total


def test_sampler_real_process_dies_midway() -> None:
    proc = subprocess.Popen(["sleep", "30"])
    s = Sampler()
    try:
        s.set_pids(proc.pid)
        alive = s.sample(0.0, alloc(proc.pid))
        assert alive.alloc.rss_b is not None and alive.alloc.rss_b > 0
    finally:
        proc.kill()
        proc.wait()
    gone = s.sample(0.1, AllocState(proc.pid, False, 0, None, None, 0.0))
    assert gone.alloc.rss_b is None and gone.alloc.swap_b is None and not gone.alloc.alive
    s.close()


def test_sampler_with_unreadable_cage_degrades(tmp_path: Path) -> None:
    s = Sampler(proc_root=proc_tree(tmp_path), cgroup=CgroupRef(2, tmp_path / "no-such-cage"))
    assert s.read_cage() is None
    assert s.sample(0.0, alloc()).cage is None
    assert any("memory.current" in line for line in s.fallbacks)
    assert s.psi_source == "machine"
    s.close()


def test_psutil_fallback_builds_a_machine_frame() -> None:
    # Used only where /proc has no meminfo (another OS); on Linux it must agree too.
    from oomphony.telemetry.machine import psutil_machine, psutil_process

    machine = psutil_machine()
    assert machine is not None and machine.total_b == psutil.virtual_memory().total
    assert machine.anon_b is None
    rss_b, swap_b = psutil_process(os.getpid())
    assert rss_b is not None and rss_b > 0 and swap_b is None
    assert psutil_process(2**22 + 12345) == (None, None)  # above pid_max: no such process
